package assess

import (
	"strings"
	"testing"

	"github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/scan"
)

func TestAutomatic(t *testing.T) {
	ev := Evidence{Tool: "vexloom v1.0.0", Engine: "golang.org/x/vuln v1.9.0", Database: "golang.org/x/vulndb@v0.0.0-x", GoVersion: "go1.26.8", Module: "example.com/m", Version: "v1.2.3", Commit: "abc"}
	cases := []struct {
		f             scan.Finding
		status        vex.Status
		justification vex.Justification
		mentions      []string
	}{
		{
			scan.Finding{ID: "GO-1", Module: "golang.org/x/crypto", Version: "v0.30.0", Level: scan.LevelModule, VulnerablePackages: []string{"golang.org/x/crypto/ssh"}},
			vex.StatusNotAffected, vex.VulnerableCodeNotPresent,
			[]string{"golang.org/x/crypto@v0.30.0", "golang.org/x/crypto/ssh", "golang.org/x/vulndb@v0.0.0-x", "golang.org/x/vuln v1.9.0", "symbol-level", "go1.26.8", "commit abc"},
		},
		{
			scan.Finding{ID: "GO-2", Module: "golang.org/x/net", Version: "v0.32.0", Level: scan.LevelPackage, Packages: []string{"golang.org/x/net/html"}, VulnerableSymbols: []string{"golang.org/x/net/html.Parse"}},
			vex.StatusNotAffected, vex.VulnerableCodeNotInExecutePath,
			[]string{"imports golang.org/x/net/html", "golang.org/x/net/html.Parse", "reachable"},
		},
		{
			scan.Finding{ID: "GO-3", Module: "golang.org/x/net", Version: "v0.32.0", Level: scan.LevelSymbol, Symbols: []string{"golang.org/x/net/html.Parse"}},
			vex.StatusUnderInvestigation, "",
			[]string{"reaches golang.org/x/net/html.Parse", "maintainer"},
		},
	}
	for _, c := range cases {
		a := Automatic(c.f, ev)
		if a.Status != c.status || a.Justification != c.justification {
			t.Errorf("%s: %s/%s, want %s/%s", c.f.ID, a.Status, a.Justification, c.status, c.justification)
		}
		if a.Source != SourceAutomatic || a.Author != AutomaticAuthor || a.Evidence == nil || a.Evidence.Level != c.f.Level {
			t.Errorf("%s: provenance %+v", c.f.ID, a)
		}
		if a.NeedsPerson() != (c.status == vex.StatusUnderInvestigation) {
			t.Errorf("%s: NeedsPerson", c.f.ID)
		}
		text := a.ImpactStatement + a.StatusNotes
		for _, m := range c.mentions {
			if !strings.Contains(text, m) {
				t.Errorf("%s: %q does not mention %q", c.f.ID, text, m)
			}
		}
		st := vex.Statement{Vulnerability: vex.Vulnerability{Name: "CVE-1"}, Status: a.Status, Justification: a.Justification, ImpactStatement: a.ImpactStatement, StatusNotes: a.StatusNotes}
		if err := st.Validate(); err != nil {
			t.Errorf("%s: statement does not validate: %v", c.f.ID, err)
		}
	}
}
