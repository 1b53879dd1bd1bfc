package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vexloom/vexloom/internal/vex"
)

// The README's main command, on the fixture database.
func TestDemoRunsEndToEnd(t *testing.T) {
	e := newEnv(t)
	dir := filepath.Join(t.TempDir(), "demo")
	out, stderr, code := e.run("demo", "--dir", dir)
	if code != 0 {
		t.Fatalf("exit %d:\n%s\n%s", code, out, stderr)
	}
	for _, want := range []string{"demo repository:", "main@", "release-1.0@", "GO-2024-3333", "reachable through:"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, b := range []string{"main", "release-1.0"} {
		data, err := os.ReadFile(filepath.Join(dir, "vex", b+".openvex.json"))
		if err != nil {
			t.Fatal(err)
		}
		doc, err := vex.Parse(data)
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if len(doc.Statements) == 0 {
			t.Errorf("%s: no statements", b)
		}
	}
	// A second demo in a non-empty directory is refused, not mixed in.
	if _, _, code := e.run("demo", "--dir", dir); code == 0 {
		t.Error("demo reused a non-empty directory")
	}
}
