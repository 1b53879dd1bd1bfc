package csaf

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/vexloom/vexloom/internal/jsonx"
	"github.com/vexloom/vexloom/internal/vex"
)

// FuzzRead feeds arbitrary bytes to the reader. Whatever it accepts is valid
// OpenVEX, and writing that back as CSAF gives a document that reads back to the same statements. (Schema validation of what is written is left to
// the unit tests: compiling the schemas under the fuzzer's instrumentation
// takes minutes.)
func FuzzRead(f *testing.F) {
	for _, name := range []string{"release.csaf.json", "vendor.csaf.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"document":{"csaf_version":"2.0"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Parse(data)
		if err != nil {
			return
		}
		doc, err := ToOpenVEX(d)
		if err != nil {
			return
		}
		for _, st := range doc.Statements {
			if err := st.Validate(); err != nil {
				t.Fatalf("an accepted document gives an invalid statement: %v", err)
			}
		}
		again, err := FromOpenVEX(doc, Options{})
		if err != nil {
			t.Fatalf("what was read cannot be written: %v", err)
		}
		b, err := jsonx.Marshal(again)
		if err != nil {
			t.Fatal(err)
		}
		d2, err := Parse(b)
		if err != nil {
			t.Fatalf("what was written does not parse: %v", err)
		}
		back, err := ToOpenVEX(d2)
		if err != nil {
			t.Fatalf("what was written does not read: %v", err)
		}
		var want, got []string
		for _, f := range vex.Facts(doc) {
			want = append(want, f.String())
		}
		for _, f := range vex.Facts(back) {
			got = append(got, f.String())
		}
		if !slices.Equal(want, got) {
			t.Fatalf("round trip changed the statements:\n%q\n%q", want, got)
		}
	})
}
