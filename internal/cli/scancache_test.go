package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vexloom/vexloom/examples/demo"
	"github.com/vexloom/vexloom/internal/report"
)

// tinyModule is the smallest module with a finding: no dependency, one
// package that imports nothing, on a Go version the fixture database's
// GO-2026-6604 affects (a finding at module level, stdlib). Its scan costs
// a small part of the demo's.
var tinyModule = map[string]string{
	"go.mod":      "module example.com/tiny\n\ngo 1.24.0\n",
	".go-version": "1.26.8\n",
	"main.go":     "// Command tiny does nothing.\npackage main\n\nfunc main() {}\n",
}

// tinyTree writes tinyModule, with extra files, into a new directory.
func tinyTree(t *testing.T, extra map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	writeTree(t, dir, tinyModule)
	writeTree(t, dir, extra)
	return dir
}

// TestADamagedScanCacheEntryIsReportedAndRescanned: a cache entry that was
// cut short, or rewritten to say there is nothing, is never taken for the
// module's result: the scan says so and scans the module again. (A tiny
// module: each damage costs a real rescan.)
func TestADamagedScanCacheEntryIsReportedAndRescanned(t *testing.T) {
	t.Parallel()
	dir := tinyTree(t, nil)
	// The first result is put in (or, with -count, comes from) the shared
	// cache, and its entry is copied into a cache of this test's own: it
	// damages the cache, never the shared one.
	first, stderr, code := newEnv(t).run("scan", "--format", "json", dir)
	if code != 0 || !strings.Contains(first, "GO-2026-6604") {
		t.Fatalf("first scan: exit %d\n%s\n%s", code, first, stderr)
	}
	var rep report.Scan
	if err := json.Unmarshal([]byte(first), &rep); err != nil || len(rep.Targets) != 1 || len(rep.Targets[0].Modules) != 1 {
		t.Fatalf("first scan: %v\n%s", err, first)
	}
	e := newColdEnv(t)
	copySharedEntries(t, rep.Targets[0].Modules[0].ContentHash, filepath.Join(e.cache, "scans"))
	if out, stderr, code := e.run("scan", "--format", "json", dir); code != 0 || out != first || !strings.Contains(stderr, "cached") {
		t.Fatalf("the copied entry is not used: exit %d\n%s", code, stderr)
	}
	entries := func() []string {
		var out []string
		filepath.WalkDir(filepath.Join(e.cache, "scans"), func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".json") {
				out = append(out, p)
			}
			return nil
		})
		if len(out) == 0 {
			t.Fatal("no scan cache entry")
		}
		return out
	}
	damage := map[string]func([]byte) []byte{
		"cut short": func(b []byte) []byte { return b[:len(b)/2] },
		"emptied":   func([]byte) []byte { return nil },
		"says nothing was found": func(b []byte) []byte {
			var entry map[string]json.RawMessage
			if err := json.Unmarshal(b, &entry); err != nil {
				t.Fatal(err)
			}
			entry["output"] = json.RawMessage(`{"findings":[]}`)
			out, _ := json.Marshal(entry)
			return out
		},
	}
	for name, f := range damage {
		for _, p := range entries() {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, f(b), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		out, stderr, code := e.run("scan", "--format", "json", dir)
		if code != 0 || out != first {
			t.Errorf("%s: exit %d, output differs from the first scan:\n%s\n%s", name, code, out, stderr)
		}
		if !strings.Contains(stderr, "scan cache entry is corrupt") || strings.Contains(stderr, "cached") {
			t.Errorf("%s: the damaged entry is not reported, or was used:\n%s", name, stderr)
		}
		// The engine ran again, and the progress says on what.
		if !strings.Contains(stderr, "scanning "+dir+" (1 module)") || !strings.Contains(stderr, "with go1.26.8 (from .go-version)") {
			t.Errorf("%s: progress does not say what is scanned:\n%s", name, stderr)
		}
		// The new result replaced it.
		if _, stderr, _ := e.run("scan", "--format", "json", dir); !strings.Contains(stderr, "cached") || strings.Contains(stderr, "corrupt") {
			t.Errorf("%s: the entry was not rewritten:\n%s", name, stderr)
		}
	}
}

// copySharedEntries copies the shared scan cache's entries for content
// hash into the scan cache directory dst.
func copySharedEntries(t *testing.T, hash, dst string) {
	t.Helper()
	src := sharedScans(t)
	n := 0
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "base" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".json") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var entry struct {
			Key struct {
				ContentHash string `json:"content_hash"`
			} `json:"key"`
		}
		if json.Unmarshal(b, &entry) != nil || entry.Key.ContentHash != hash {
			return nil
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(dst, filepath.Dir(rel)), 0o755); err != nil {
			return err
		}
		n++
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatalf("the shared scan cache has no entry for %s", hash)
	}
}

// A tag added to a commit already scanned (a release tagged after its
// branch's scan) changes the module's version in the report, not the
// scan: the engine's result for the same content is taken from the cache.
func TestATagDoesNotMakeAScanStale(t *testing.T) {
	t.Parallel()
	warmScans(t)
	repo := demoRepo(t, filepath.Join(t.TempDir(), "repo"))
	scan := func(e *env) (report.Scan, string) {
		t.Helper()
		out, stderr, code := e.run("scan", "--format", "json", "--branch", demo.ReleaseBranch, repo.Dir)
		var rep report.Scan
		if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || len(rep.Targets) != 1 || len(rep.Targets[0].Modules) != 1 {
			t.Fatalf("scan: exit %d\n%s\n%s", code, out, stderr)
		}
		return rep, stderr
	}
	// The branch's entry (the warming update's) copied into a cache of
	// this test's own.
	first, _ := scan(newEnv(t))
	e := newColdEnv(t)
	copySharedEntries(t, first.Targets[0].Modules[0].ContentHash, filepath.Join(e.cache, "scans"))
	if got := first.Targets[0].Modules[0].Version; got != demo.ReleaseTag {
		t.Fatalf("release-1.0 is at %s, want %s", got, demo.ReleaseTag)
	}
	gitIn(t, repo.Dir, "2026-01-20T00:00:00Z", "tag", "v1.0.1", demo.ReleaseBranch)
	again, stderr := scan(e)
	if got := again.Targets[0].Modules[0].Version; got != "v1.0.1" {
		t.Errorf("after the tag, the module's version is %s, want v1.0.1", got)
	}
	if !strings.Contains(stderr, "cached") || strings.Contains(stderr, "with go1.26.8") {
		t.Errorf("the tagged commit was scanned again:\n%s", stderr)
	}
	if a, b := findingsOf(first), findingsOf(again); a != b {
		t.Errorf("the findings differ after the tag:\n%s\n%s", a, b)
	}
}

// findingsOf is what a scan found: each finding's ID, dependency and
// level (its evidence names the module's version).
func findingsOf(rep report.Scan) string {
	var out []string
	for _, f := range rep.Targets[0].Modules[0].Findings {
		out = append(out, fmt.Sprint(f.ID, " ", f.Module, "@", f.Version, " ", f.Level))
	}
	return strings.Join(out, "\n")
}
