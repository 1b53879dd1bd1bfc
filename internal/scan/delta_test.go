package scan

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vexloom/vexloom/examples/demo"
	"github.com/vexloom/vexloom/internal/fixture"
	"github.com/vexloom/vexloom/internal/progress"
	"github.com/vexloom/vexloom/internal/vulndb"
)

// buildDB builds a database from OSV files (name → content) in its own
// cache directory.
func buildDB(t *testing.T, files map[string][]byte) Database {
	t.Helper()
	src := t.TempDir()
	for n, b := range files {
		if err := os.WriteFile(filepath.Join(src, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return buildDBFromDir(t, src)
}

// buildDBFromDir builds a database from the OSV files in src in its own
// cache directory.
func buildDBFromDir(t *testing.T, src string) Database {
	t.Helper()
	now := func() time.Time { return fixture.Now }
	s, err := vulndb.ParseSource("dir:"+src, vulndb.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	res, err := vulndb.Update(context.Background(), t.TempDir(), s, vulndb.UpdateOptions{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return Database{URL: res.DB.URL(), Source: "test", Digest: res.DB.Meta.Digest}
}

func fixtureFiles(t *testing.T) map[string][]byte {
	t.Helper()
	es, err := os.ReadDir(fixture.OSVDir())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, e := range es {
		b, err := os.ReadFile(filepath.Join(fixture.OSVDir(), e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = b
	}
	return out
}

func demoWorktree(t *testing.T) string {
	t.Helper()
	files, err := demo.Files(demo.ReleaseBranch)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for n, b := range files {
		p := filepath.Join(dir, filepath.FromSlash(n))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// smallWorktree is the demo's release without jwt-go in its main package:
// it imports golang.org/x/net/html and golang.org/x/crypto/blowfish, so the
// fixture's x/net and x/crypto entries are relevant as in the demo (at
// symbol level for x/net/html, at module level for x/crypto/ssh), but the
// engine loads a fraction of the demo's packages (jwt-go alone brings
// crypto/x509 and net with it). For tests of what the scanner does around
// the engine; TestDeltaEqualsFullRescanRealVulnDB scans the demo itself.
func smallWorktree(t *testing.T) string {
	t.Helper()
	dir := demoWorktree(t)
	const main = `// Command demo greets its arguments as HTML and enciphers a block.
package main

import (
	"os"
	"strings"

	"golang.org/x/crypto/blowfish"
	"golang.org/x/net/html"
)

func main() {
	name := strings.Join(os.Args[1:], " ")
	os.Stdout.WriteString("<p>Hello, " + html.EscapeString(name) + "</p>\n")
	c, err := blowfish.NewCipher([]byte(name))
	if err != nil {
		os.Exit(1)
	}
	block := make([]byte, blowfish.BlockSize)
	c.Encrypt(block, block)
	os.Stdout.Write(block)
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func findingsJSON(t *testing.T, tg *Target) string {
	t.Helper()
	var out []any
	for _, m := range tg.Modules {
		if m.Error != "" {
			t.Fatalf("module %s: %s", m.Path, m.Error)
		}
		out = append(out, m.Findings, m.Vulnerabilities, m.Build)
	}
	b, err := json.MarshalIndent(out, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// When the database moves, a module scanned before is re-analysed against
// the changed entries only and merged with its stored results: a modified
// entry that now affects the build appears, a new one appears, a removed
// one disappears, the unchanged ones stay — and the result is exactly a
// full rescan's.
func TestDeltaEqualsFullRescan(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: a delta analysis against a full rescan; run without -short")
	}
	t.Parallel()
	ctx := context.Background()
	full := fixtureFiles(t)
	// Release day: x/crypto's entry said fixed in 0.29.0 (so v0.30.0 was
	// not affected), GO-2025-3503 did not exist, and an entry later
	// removed reported x/net/html.
	old := map[string][]byte{}
	for n, b := range full {
		switch n {
		case "GO-2025-3503.json":
			continue
		case "GO-2024-3333.json":
			// Reworded since: modified, in a package the demo imports
			// (analysed at symbol level).
			b = bytes.Replace(b, []byte(`"summary": "`), []byte(`"summary": "Formerly: `), 1)
			if bytes.Equal(b, full[n]) {
				t.Fatal("the fixture entry did not change")
			}
		case "GO-2024-3321.json":
			b = bytes.Replace(b, []byte(`"fixed": "0.31.0"`), []byte(`"fixed": "0.29.0"`), 1)
			if bytes.Equal(b, full[n]) {
				t.Fatal("the fixture entry did not change")
			}
		}
		old[n] = b
	}
	removed := bytes.ReplaceAll(full["GO-2024-3333.json"], []byte("GO-2024-3333"), []byte("GO-2099-0001"))
	removed = bytes.Replace(removed, []byte(`"CVE-2024-45338",`), nil, 1)
	removed = bytes.Replace(removed, []byte(`"GHSA-w32m-9786-jp63"`), []byte(`"GHSA-aaaa-bbbb-cccc"`), 1)
	old["GO-2099-0001.json"] = removed

	db1, db2 := buildDB(t, old), buildDB(t, full)
	tree := smallWorktree(t)
	cache := &Cache{Dir: t.TempDir()}
	var log bytes.Buffer
	scanWith := func(db Database, c *Cache, noDelta bool) *Target {
		t.Helper()
		s := NewScanner(Options{DB: db, Cache: c, Progress: progress.New(&log), NoDelta: noDelta})
		tg, err := s.ScanTree(ctx, tree)
		if err != nil {
			t.Fatal(err)
		}
		return tg
	}
	before := findingsJSON(t, scanWith(db1, cache, false))
	if !strings.Contains(before, "GO-2099-0001") || strings.Contains(before, "GO-2024-3321") {
		t.Fatalf("the release-day scan:\n%s", before)
	}
	log.Reset()
	delta := findingsJSON(t, scanWith(db2, cache, false))
	if l := log.String(); !strings.Contains(l, "database changed in 3 entries (1 removed), 3 relevant") ||
		strings.Contains(l, "(0 at symbol level") || strings.Contains(l, "at symbol level, 0 at module level") {
		t.Errorf("the delta was not taken, or not at both levels:\n%s", l)
	}
	rescan := findingsJSON(t, scanWith(db2, &Cache{Dir: t.TempDir()}, true))
	if delta != rescan {
		t.Errorf("delta and full rescan differ:\ndelta:\n%s\nrescan:\n%s", delta, rescan)
	}
	// Modified (module level), new, unchanged, modified (symbol level).
	for _, want := range []string{"GO-2024-3321", "GO-2025-3503", "GO-2025-3487", "GO-2024-3333"} {
		if !strings.Contains(delta, want) {
			t.Errorf("the merged result lacks %s", want)
		}
	}
	if strings.Contains(delta, "GO-2099-0001") {
		t.Error("the removed entry is still reported")
	}

	// A change touching no module of the build costs no engine run.
	unrelated := map[string][]byte{}
	for n, b := range full {
		unrelated[n] = b
	}
	unrelated["GO-2099-0002.json"] = bytes.ReplaceAll(bytes.ReplaceAll(full["GO-2020-0017.json"], []byte("GO-2020-0017"), []byte("GO-2099-0002")), []byte("github.com/dgrijalva/jwt-go"), []byte("example.org/unused"))
	log.Reset()
	again := findingsJSON(t, scanWith(buildDB(t, unrelated), cache, false))
	if !strings.Contains(log.String(), "database changed in 1 entries (0 removed), 0 relevant (0 at symbol level, 0 at module level)") {
		t.Errorf("unrelated change:\n%s", log.String())
	}
	if again != rescan {
		t.Errorf("an unrelated entry changed the findings:\n%s", again)
	}
}
