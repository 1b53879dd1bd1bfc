package scan

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/vexloom/vexloom/internal/progress"
)

// stdlibEntry is a made-up entry of the standard library: pkg's symbol,
// every version affected.
func stdlibEntry(id, pkg, symbol string) []byte {
	return []byte(`{
  "schema_version": "1.3.1",
  "id": "` + id + `",
  "modified": "2026-11-20T00:00:00Z",
  "published": "2026-11-20T00:00:00Z",
  "summary": "A made-up vulnerability in ` + pkg + `",
  "details": "For tests.",
  "affected": [{
    "package": {"name": "stdlib", "ecosystem": "Go"},
    "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}]}],
    "ecosystem_specific": {"imports": [{"path": "` + pkg + `", "symbols": ["` + symbol + `"]}]}
  }]
}
`)
}

// Releases of one module whose commits differ only in a version string
// share one delta analysis: the first computes the package list and the
// engine's outputs, the next take them, and what they take is exactly a
// full rescan's findings. A release whose code calls something new does
// not share; a kept analysis that was damaged is reported and computed
// again.
func TestDeltaSharedAcrossReleases(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	old := fixtureFiles(t)
	full := fixtureFiles(t)
	// The change: an entry in a package the releases import (analysed at
	// symbol level), one in a package they do not (module level).
	full["GO-2099-0100.json"] = stdlibEntry("GO-2099-0100", "unicode/utf8", "ValidString")
	full["GO-2099-0101.json"] = stdlibEntry("GO-2099-0101", "net/http", "Serve")
	db1, db2 := buildDB(t, old), buildDB(t, full)

	release := func(version, extra string) string {
		dir := t.TempDir()
		for n, c := range map[string]string{
			"go.mod":     "module example.com/shared\n\ngo 1.24\n",
			"main.go":    "package main\n\nimport \"unicode/utf8\"\n\nfunc main() { println(utf8.RuneLen('x'), Version) }\n",
			"version.go": "package main\n\nimport \"unicode/utf8\"\n\n// Version is the release.\nconst Version = \"" + version + "\"\n\nvar _ = utf8.UTFMax\n" + extra,
			"NOTES":      "release notes\n",
		} {
			if err := os.WriteFile(filepath.Join(dir, n), []byte(c), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	a, b, d := release("v1.0.1", ""), release("v1.0.2", ""), release("v1.0.3", "")
	// The same but for a call of the vulnerable function.
	c := release("v1.0.4", "\nfunc init() { println(utf8.ValidString(Version)) }\n")

	cache := &Cache{Dir: t.TempDir()}
	var log bytes.Buffer
	scan := func(tree string, db Database, c *Cache, noDelta bool) string {
		t.Helper()
		log.Reset()
		tg, err := NewScanner(Options{DB: db, Cache: c, Progress: progress.New(&log), NoDelta: noDelta}).ScanTree(ctx, tree)
		if err != nil {
			t.Fatal(err)
		}
		return findingsJSON(t, tg)
	}
	for _, tree := range []string{a, b, c, d} {
		scan(tree, db1, cache, false)
	}

	// The first release computes.
	scan(a, db2, cache, false)
	if l := log.String(); !strings.Contains(l, "2 relevant (1 at symbol level, 1 at module level)") || strings.Contains(l, "shared with") {
		t.Fatalf("the first release's delta:\n%s", l)
	}

	// What it kept is damaged: the next release says so, computes again
	// and keeps its own.
	damaged := 0
	err := filepath.WalkDir(cache.Dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		body, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(body, []byte(`"content_hash":"analysed sha256:`)) {
			damaged++
			return os.WriteFile(p, body[:len(body)/2], 0o600)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if damaged != 3 { // the package list, both levels
		t.Fatalf("%d analyses kept, want 3", damaged)
	}
	fromB := scan(b, db2, cache, false)
	if l := log.String(); strings.Count(l, "scan cache entry is corrupt") != 3 || strings.Count(l, "analysing again") != 3 || strings.Contains(l, "shared with") {
		t.Errorf("a damaged analysis was not reported and computed again:\n%s", l)
	}

	// The next takes all of it.
	fromD := scan(d, db2, cache, false)
	if l := log.String(); !strings.Contains(l, ": package list, module level, symbol level") {
		t.Errorf("the third release did not share the analysis:\n%s", l)
	}
	if rescan := scan(d, db2, &Cache{Dir: t.TempDir()}, true); fromD != rescan {
		t.Errorf("the shared delta and a full rescan differ:\nshared:\n%s\nrescan:\n%s", fromD, rescan)
	}
	if fromB != fromD || !strings.Contains(fromD, "GO-2099-0100") || !strings.Contains(fromD, "GO-2099-0101") {
		t.Errorf("the releases' findings:\n%s\n%s", fromB, fromD)
	}

	// A release whose code differs in a call does not share, and finds
	// more.
	fromC := scan(c, db2, cache, false)
	if l := log.String(); strings.Contains(l, "shared with") {
		t.Errorf("a release with other code took a shared analysis:\n%s", l)
	}
	if rescan := scan(c, db2, &Cache{Dir: t.TempDir()}, true); fromC != rescan {
		t.Errorf("delta and full rescan differ:\ndelta:\n%s\nrescan:\n%s", fromC, rescan)
	}
	if fromC == fromD || !strings.Contains(fromC, "ValidString") {
		t.Errorf("the call made no difference:\n%s", fromC)
	}
}

// A kept package list is read only whole and only for its key: one
// tampered with, or another key's, is reported, never taken; runners
// writing and reading it at once never see part of one.
func TestSharedPackageList(t *testing.T) {
	t.Parallel()
	c := &Cache{Dir: t.TempDir()}
	k := CacheKey{ContentHash: "analysed sha256:aa", Database: "delta packages", ModulePath: "example.com/m"}
	other := k
	other.ContentHash = "analysed sha256:bb"
	if _, ok, err := c.getPackages(k); ok || err != nil {
		t.Fatalf("empty cache: %v %v", ok, err)
	}
	want := []string{"example.com/m", "fmt", "unicode/utf8"}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if err := c.putPackages(k, want); err != nil {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			if got, ok, err := c.getPackages(k); err != nil || (ok && !slices.Equal(got, want)) {
				t.Errorf("a concurrent read: %v %v %v", got, ok, err)
			}
		}()
	}
	wg.Wait()
	if got, ok, err := c.getPackages(k); !ok || err != nil || !slices.Equal(got, want) {
		t.Fatalf("got %v %v %v", got, ok, err)
	}
	body, err := os.ReadFile(c.packagesPath(k))
	if err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string][]byte{
		"tampered":  bytes.Replace(body, []byte(`"fmt"`), []byte(`"fmx"`), 1),
		"truncated": body[:len(body)/2],
		"empty":     nil,
	} {
		if err := os.WriteFile(c.packagesPath(k), bad, 0o600); err != nil {
			t.Fatal(err)
		}
		if got, ok, err := c.getPackages(k); ok || !errors.Is(err, ErrCacheCorrupt) {
			t.Errorf("%s: got %v %v %v, want ErrCacheCorrupt", name, got, ok, err)
		}
	}
	// Another key's entry, at this key's place.
	if err := c.putPackages(other, want); err != nil {
		t.Fatal(err)
	}
	moved, err := os.ReadFile(c.packagesPath(other))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.packagesPath(k), moved, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := c.getPackages(k); ok || !errors.Is(err, ErrCacheCorrupt) {
		t.Errorf("another key's entry: %v %v", ok, err)
	}
}
