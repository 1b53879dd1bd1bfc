package scanreport

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/package-url/packageurl-go"
)

// FuzzParse: whatever is accepted is a report whose every finding has a
// vulnerability ID without spaces and a package URL that parses, classed by
// its type, in sorted order; whatever is refused is refused with one of the
// two sentinel errors.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"trivy.json", "grype.json", "osv-scanner.json"} {
		f.Add(read(f, name))
	}
	f.Add([]byte(`{"SchemaVersion":2,"Results":[{"Class":"os-pkgs","Type":"alpine","Vulnerabilities":[{"VulnerabilityID":"CVE-1","PkgName":"musl","InstalledVersion":"1"}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Parse(data)
		if err != nil {
			if !errors.Is(err, ErrUnknownFormat) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("refused without a sentinel error: %v", err)
			}
			return
		}
		for _, fd := range r.Findings {
			if fd.ID == "" || strings.ContainsAny(fd.ID, " \t\n") {
				t.Fatalf("finding ID %q", fd.ID)
			}
			p, err := packageurl.FromString(fd.Package)
			if err != nil {
				t.Fatalf("package URL %q does not parse: %v", fd.Package, err)
			}
			if classOf(p.Type) != fd.Class {
				t.Fatalf("%s classed %s", fd.Package, fd.Class)
			}
		}
		if !slices.IsSortedFunc(r.Findings, func(a, b Finding) int { return strings.Compare(a.Name(), b.Name()) }) {
			t.Fatal("findings not sorted")
		}
	})
}
