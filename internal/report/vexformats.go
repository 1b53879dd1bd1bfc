package report

import (
	"io"

	"github.com/vexloom/vexloom/internal/vexformat"
)

// writeVEXFormat writes the scan's OpenVEX statements in another VEX
// format.
func writeVEXFormat(w io.Writer, r *Scan, f Format, opts Options) error {
	doc, err := OpenVEX(r, opts)
	if err != nil {
		return err
	}
	b, err := vexformat.Marshal(doc, vexformat.Format(f), vexformat.Options{Namespace: opts.Namespace})
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}
