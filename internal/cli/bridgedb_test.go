package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A vulnerability database that is there but unreadable stops the bridge
// with an error naming it; it is never taken for "no database".
func TestBridgeRefusesADamagedDatabase(t *testing.T) {
	t.Parallel()
	p := newGitHubProject(t)
	p.update()
	p.gh.CreateRepo("demo-org/demo")
	ptrs, err := filepath.Glob(filepath.Join(p.cache, "vulndb", "current"))
	if err != nil || len(ptrs) != 1 {
		t.Fatalf("the database pointer in %s: %v %v", p.cache, ptrs, err)
	}
	if err := os.WriteFile(ptrs[0], []byte("not a generation\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := p.cmd("bridge", "--from", "demo-org/demo", "--label", "vex-unaffected-feed")
	if code != 1 || !strings.Contains(stderr, "vulnerability database") || !strings.Contains(stderr, ptrs[0]) {
		t.Fatalf("bridge over a damaged database: exit %d\n%s\n%s", code, out, stderr)
	}
}
