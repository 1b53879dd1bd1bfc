package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vexloom/vexloom/internal/triage"
	"github.com/vexloom/vexloom/internal/vex"
)

// The README's main command, on the fixture database: the whole loop on
// the demo project.
func TestDemoRunsEndToEnd(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs the whole demo, govulncheck's engine over both branches included; run without -short")
	}
	e := newEnv(t)
	dir := filepath.Join(t.TempDir(), "demo")
	out, stderr, code := e.run("demo", "--dir", dir)
	if code != 0 {
		t.Fatalf("exit %d:\n%s\n%s", code, out, stderr)
	}
	for _, want := range []string{
		"demo repository:", "$ vexloom update", "new → open", "CVE-2024-45338",
		"--as demo-reviewer", "unauthorized", "--as demo-maintainer", "applied",
		"VEX v2 written", "0 open", "0 closed; 1 of the project's own advisories",
		"advisory CVE-2026-0001: main fixed, release-1.0 affected, v1.0.0 affected",
		"release gate for v1.0.0: FAIL", "FAIL     CVE-2026-0001",
		"release gate for main: FAIL", "release gate for main: PASS",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// Each branch's VEX states the maintainer's decision on the
	// vulnerability the demo calls, and the scanner's on the others.
	for _, b := range []string{"main", "release-1.0"} {
		data, err := os.ReadFile(filepath.Join(dir, "vex", b+".openvex.json"))
		if err != nil {
			t.Fatal(err)
		}
		doc, err := vex.Parse(data)
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if doc.Version != 2 {
			t.Errorf("%s: version %d, want 2", b, doc.Version)
		}
		found := false
		for _, s := range doc.Statements {
			if err := s.Validate(); err != nil {
				t.Errorf("%s: %v", b, err)
			}
			if s.Vulnerability.Name == "CVE-2024-45338" {
				found = true
				if s.Status != "not_affected" || s.Justification != "vulnerable_code_cannot_be_controlled_by_adversary" {
					t.Errorf("%s: CVE-2024-45338 is %s/%s", b, s.Status, s.Justification)
				}
			}
		}
		if !found {
			t.Errorf("%s: no statement on CVE-2024-45338", b)
		}
	}
	// Each branch's document is in the local published store and the feed.
	for _, f := range []string{filepath.Join("vex", "feed", "index.json"), filepath.Join(".vexloom", "published", "objects")} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("after the demo: %v", err)
		}
	}
	// The project the demo made is a normal project: the read commands
	// work on it.
	cfg := filepath.Join(dir, "vexloom.yaml")
	out, stderr, code = e.run("status", "--config", cfg, "--format", "json")
	if code != 0 {
		t.Fatalf("status: exit %d: %s", code, stderr)
	}
	var st triage.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err)
	}
	if st.Triages["open"] != 0 || st.Triages["published"] == 0 || len(st.Branches) != 2 {
		t.Errorf("status: %+v", st)
	}
	out, _, _ = e.run("history", "--config", cfg, "CVE-2024-45338")
	if !strings.Contains(out, "demo-maintainer assessment not_affected") || !strings.Contains(out, "> Reviewed the call sites.") || !strings.Contains(out, "demo-reviewer comment") {
		t.Errorf("history lacks the comments:\n%s", out)
	}
	// A second demo in a non-empty directory is refused, not mixed in.
	if _, _, code := e.run("demo", "--dir", dir); code == 0 {
		t.Error("demo reused a non-empty directory")
	}
}
