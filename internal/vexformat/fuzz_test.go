package vexformat

import (
	"errors"
	"os"
	"testing"

	"github.com/vexloom/vexloom/internal/csaf"
	"github.com/vexloom/vexloom/internal/cyclonedx"
	"github.com/vexloom/vexloom/internal/vex"
)

// FuzzParse: a document in any format is either refused with one of the
// formats' sentinel errors, or read into statements that are valid OpenVEX
// and that write back in the format it came in.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"../csaf/testdata/release.openvex.json", "../csaf/testdata/release.csaf.json", "../cyclonedx/testdata/release.cdx.json"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, format, err := Parse(data)
		if err != nil {
			if !errors.Is(err, ErrUnknownFormat) && !errors.Is(err, vex.ErrInvalid) && !errors.Is(err, csaf.ErrInvalid) && !errors.Is(err, cyclonedx.ErrInvalid) {
				t.Fatalf("refused without a sentinel error: %v", err)
			}
			return
		}
		for _, st := range doc.Statements {
			if err := st.Validate(); err != nil {
				t.Fatalf("%s: an invalid statement was read: %v", format, err)
			}
		}
		if doc.ID == "" || doc.Timestamp == nil {
			return // nothing to track the document by: the writers refuse it
		}
		if _, err := Marshal(doc, format, Options{}); err != nil {
			t.Fatalf("%s: what was read cannot be written back: %v", format, err)
		}
	})
}
