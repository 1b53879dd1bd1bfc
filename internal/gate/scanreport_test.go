package gate

import (
	"bytes"
	"slices"
	"testing"

	"github.com/vexloom/vexloom/internal/scanreport"
)

// The gate reads OSV-Scanner results through scanreport, the reader of
// image scanner reports: both see the same vulnerabilities in the same
// packages of the same sources, the gate adding what it weighs (level,
// fix, severity).
func TestOSVScannerReadersAgree(t *testing.T) {
	t.Parallel()
	data := readFixture(t, "demo.osv-scanner.json")
	fs, format, err := ReadFindings(bytes.NewReader(data))
	if err != nil || format != FormatOSVScanner {
		t.Fatalf("gate: %v (%s)", err, format)
	}
	r, err := scanreport.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != len(r.Findings) {
		t.Fatalf("gate reads %d findings, scanreport %d", len(fs), len(r.Findings))
	}
	for _, sf := range r.Findings {
		ids := append([]string{sf.ID}, sf.Aliases...)
		i := slices.IndexFunc(fs, func(f Finding) bool { return slices.Contains(ids, f.ID) && f.Product == sf.Where })
		if i < 0 {
			t.Errorf("scanreport's %s in %s (%s): the gate has no such finding", sf.ID, sf.Package, sf.Where)
			continue
		}
		f := fs[i]
		if got := f.DependencyPURL(); got != sf.Package {
			t.Errorf("%s: gate's package %s, scanreport's %s", f.ID, got, sf.Package)
		}
		got := append([]string{f.ID}, f.Aliases...)
		slices.Sort(got)
		slices.Sort(ids)
		if !slices.Equal(got, ids) {
			t.Errorf("%s: gate's IDs %v, scanreport's %v", f.ID, got, ids)
		}
	}
}
