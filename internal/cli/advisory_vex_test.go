package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vexloom/vexloom/examples/demo"
	"github.com/vexloom/vexloom/internal/vex"
)

// The project's own advisories become "negative VEX": statements about the
// project's module in the branch documents and in release documents.
func TestAdvisoriesInVEX(t *testing.T) {
	t.Parallel()
	p := newTestProject(t)
	p.update()
	dir := filepath.Join(t.TempDir(), "advisories")
	os.MkdirAll(dir, 0o755)
	data, err := demo.Advisories.ReadFile("advisories/CVE-2026-0001.json")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "CVE-2026-0001.json"), data, 0o644)
	p.ok("advisories", "sync", "--osv", dir, "--config", p.cfg, "-q")
	p.update()

	// Branch documents: release-1.0 (at v1.0.0) affected, main fixed.
	if s, _ := p.statement("release-1.0", "CVE-2026-0001"); s != "affected" {
		t.Errorf("release-1.0 VEX: CVE-2026-0001 is %q", s)
	}
	if s, _ := p.statement("main", "CVE-2026-0001"); s != "fixed" {
		t.Errorf("main VEX: CVE-2026-0001 is %q", s)
	}

	// The release document of v1.0.0 says affected, with what to do, about
	// the module at v1.0.0.
	out := p.ok("assemble", "--release", demo.ReleaseTag, "--config", p.cfg, "-q")
	doc, err := vex.Parse([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range doc.Statements {
		if s.Vulnerability.Name != "CVE-2026-0001" {
			continue
		}
		found = true
		if s.Status != "affected" || s.ActionStatement == "" || s.Products[0].ID != "pkg:golang/"+demo.Module+"@v1.0.0" {
			t.Errorf("v1.0.0: %+v", s)
		}
		if err := s.Validate(); err != nil {
			t.Error(err)
		}
		if !strings.Contains(s.StatusNotes, "advisory") {
			t.Errorf("notes do not name the advisory: %s", s.StatusNotes)
		}
	}
	if !found {
		t.Errorf("no statement on CVE-2026-0001 in the release document:\n%s", out)
	}
}
