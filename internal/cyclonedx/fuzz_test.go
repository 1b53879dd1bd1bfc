package cyclonedx

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/vexloom/vexloom/internal/jsonx"
)

// FuzzRead feeds arbitrary bytes to the reader. Whatever it accepts is valid
// OpenVEX, and writing that back gives a BOM that reads back to
// the same statements.
func FuzzRead(f *testing.F) {
	for _, name := range []string{"release.cdx.json", "vendor.cdx.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"bomFormat":"CycloneDX","specVersion":"1.6","metadata":{"timestamp":"2026-01-01T00:00:00Z"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		bom, err := Parse(data)
		if err != nil {
			return
		}
		doc, err := ToOpenVEX(bom)
		if err != nil {
			return
		}
		for _, st := range doc.Statements {
			if err := st.Validate(); err != nil {
				t.Fatalf("an accepted document gives an invalid statement: %v", err)
			}
		}
		again, err := FromOpenVEX(doc)
		if err != nil {
			if doc.ID == "" {
				return // no @id to derive a serial number from: refused, as it should be
			}
			t.Fatalf("what was read cannot be written: %v", err)
		}
		b, err := jsonx.Marshal(again)
		if err != nil {
			t.Fatal(err)
		}
		bom2, err := Parse(b)
		if err != nil {
			t.Fatalf("what was written does not parse: %v", err)
		}
		back, err := ToOpenVEX(bom2)
		if err != nil {
			t.Fatalf("what was written does not read: %v", err)
		}
		if factStrings(back) != factStrings(doc) {
			t.Fatalf("round trip changed the statements:\n%s\n\n%s", factStrings(doc), factStrings(back))
		}
	})
}
