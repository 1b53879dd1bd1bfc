package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The command line that issue 3 declares stable, checked against what
// the commands accept and print.
func TestIssueCommandLine(t *testing.T) {
	t.Parallel()
	p := newTestProject(t)
	p.update()

	// "vexloom triage list [--state open|assessed|published|closed|all]"
	if _, stderr, code := p.cmd("triage", "list", "--state", "all"); code != 0 {
		t.Errorf("triage list --state all: exit %d: %s", code, strings.TrimSpace(stderr))
	}

	// "vexloom vex --branch NAME [--format openvex|json] [-o FILE]"
	for _, f := range []string{"openvex", "json"} {
		if _, stderr, code := p.cmd("vex", "--branch", "main", "--format", f); code != 0 {
			t.Errorf("vex --branch main --format %s: exit %d: %s", f, code, strings.TrimSpace(stderr))
		}
	}

	// "vexloom status prints, per branch, counts of open/assessed/published
	// and the oldest open triage's age."
	out, _, code := p.cmd("status", "--format", "json")
	if code != 0 {
		t.Fatalf("status: exit %d", code)
	}
	var st struct {
		Branches []map[string]any `json:"branches"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err)
	}
	for _, b := range st.Branches {
		var keys []string
		for k := range b {
			keys = append(keys, k)
		}
		has := func(sub string) bool {
			for _, k := range keys {
				if strings.Contains(k, sub) {
					return true
				}
			}
			return false
		}
		if !has("open") || !has("assessed") || !has("published") {
			t.Errorf("status: branch %v has no per-branch counts of open/assessed/published triages (keys: %v)", b["branch"], keys)
		}
		if !has("oldest") {
			t.Errorf("status: branch %v does not give the oldest open triage's age (keys: %v)", b["branch"], keys)
		}
	}
	table, _, _ := p.cmd("status")
	if !strings.Contains(strings.ToLower(table), "oldest") {
		t.Errorf("status (table) does not show the oldest open triage's age:\n%s", table)
	}
}

// init reads the module path from the repository's go.mod when --module is
// not given.
func TestInitReadsTheModulePath(t *testing.T) {
	t.Parallel()
	p := newTestProject(t)
	cfg := filepath.Join(p.dir, "inferred.yaml")
	p.ok("init", "-o", cfg, "--repository", "repo", "--branch", "main")
	data, err := os.ReadFile(cfg)
	if err != nil || !strings.Contains(string(data), "example.com/vexloom-demo") {
		t.Fatalf("the module was not read from go.mod: %v\n%s", err, data)
	}
	p.ok("update", "--config", cfg, "--store", filepath.Join(p.dir, "inferred-store"), "-q")
}
