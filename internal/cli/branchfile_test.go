package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vexloom/vexloom/examples/demo"
	"github.com/vexloom/vexloom/internal/vex"
)

// Two maintained branches whose names differ only by "/" and "_"
// (release/1.0 and release_1.0) must not share one VEX file: today
// triage.DocumentFileName maps both to release_1.0.openvex.json, so the
// second branch's document silently replaces the first one's on disk.
func TestBranchVEXFilesDoNotCollide(t *testing.T) {
	t.Parallel()
	p := newTestProject(t)
	// release/1.0 is the release branch (no called code); release_1.0 is main
	// (html.Parse called): their documents differ.
	for _, args := range [][]string{
		{"branch", "release/1.0", demo.ReleaseBranch},
		{"branch", "release_1.0", demo.MainBranch},
	} {
		cmd := exec.Command("git", args...)
		cmd.Dir = p.repo.Dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	p.ok("init", "--force", "-o", p.cfg, "--module", demo.Module, "--repository", "repo",
		"--branch", "release/1.0", "--branch", "release_1.0", "--security-team", "demo-security")
	p.update()

	files := map[string]string{}
	for _, b := range []string{"release/1.0", "release_1.0"} {
		want := p.ok("vex", "--branch", b, "--config", p.cfg)
		wantDoc, err := vex.Parse([]byte(want))
		if err != nil {
			t.Fatal(err)
		}
		var file string
		entries, _ := os.ReadDir(filepath.Join(p.dir, "vex"))
		for _, e := range entries {
			if e.IsDir() {
				continue
			}
			data, err := os.ReadFile(filepath.Join(p.dir, "vex", e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if d, err := vex.Parse(data); err == nil && d.ID == wantDoc.ID {
				file = e.Name()
			}
		}
		if file == "" {
			t.Errorf("the VEX document of branch %s (%s) is in no file of the VEX directory: another branch's document overwrote it (files: %v)", b, wantDoc.ID, auditNames(entries))
			continue
		}
		if other, ok := files[file]; ok {
			t.Errorf("branches %s and %s share the VEX file %s", other, b, file)
		}
		files[file] = b
	}
}

func auditNames(es []os.DirEntry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

// A maintained branch deleted upstream does not stop the run for the
// others: it is reported and treated as no longer maintained.
func TestMissingMaintainedBranchDoesNotStopUpdate(t *testing.T) {
	t.Parallel()
	p := newTestProject(t)
	cfg := filepath.Join(p.dir, "missing-branch.yaml")
	p.ok("init", "-o", cfg, "--module", demo.Module, "--repository", "repo", "--branch", "main", "--branch", "release-0.9")
	_, stderr, code := p.run("update", "--config", cfg)
	if code != 0 || !strings.Contains(stderr, `maintained branch "release-0.9" is not in`) {
		t.Fatalf("update with a missing branch: exit %d\n%s", code, stderr)
	}
	bad := filepath.Join(p.dir, "no-branch.yaml")
	p.ok("init", "-o", bad, "--module", demo.Module, "--repository", "repo", "--branch", "release-0.9")
	if _, stderr, code := p.run("update", "--config", bad, "--store", filepath.Join(p.dir, "other-store")); code != 1 || !strings.Contains(stderr, "none of the maintained branches") {
		t.Errorf("update with no branch at all: exit %d: %s", code, stderr)
	}
}
