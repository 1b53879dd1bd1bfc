package cli

import (
	"io"
	"strings"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/vexformat"
)

// publisherNamespace is the URL written as the CSAF publisher's namespace:
// the project's repository when it is an https URL, else vexformat's
// default.
func publisherNamespace(repository string) string {
	if strings.HasPrefix(repository, "https://") {
		return strings.TrimSuffix(repository, ".git")
	}
	return ""
}

// writeVEXAs writes an OpenVEX document in one of the VEX formats.
func writeVEXAs(w io.Writer, doc *openvex.VEX, format, repository string) error {
	f, err := vexformat.ParseFormat(format)
	if err != nil {
		return usageError("--format: %v", err)
	}
	b, err := vexformat.Marshal(doc, f, vexformat.Options{Namespace: publisherNamespace(repository)})
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// feedFormat is the format of the project feed's documents (vex.feed_format).
func feedFormat(p *project) vexformat.Format {
	return vexformat.Format(p.cfg.VEX.FeedFormat)
}
