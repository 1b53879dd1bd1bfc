package scan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vexloom/vexloom/internal/source"
)

func cacheFixture(t testing.TB) (*Cache, CacheKey, *Output) {
	c := &Cache{Dir: t.TempDir()}
	k := CacheKey{ContentHash: "h1:abc", Database: "sha256:01", Tool: "vexloom test", Engine: "golang.org/x/vuln v1.9.0", GoVersion: "go1.26.8", ModulePath: "example.com/m"}
	out := &Output{
		GoVersion: "go1.26.8",
		Modules:   []ModuleVersion{{Path: "golang.org/x/net", Version: "v0.35.0"}},
		Findings: []Finding{{
			ID:     "GO-2024-3333",
			Module: "golang.org/x/net", Version: "v0.35.0", FixedVersion: "v0.36.0",
			Level: LevelSymbol,
		}},
	}
	return c, k, out
}

func TestCacheRoundTrip(t *testing.T) {
	t.Parallel()
	c, k, out := cacheFixture(t)
	if got, ok, err := c.Get(k); got != nil || ok || err != nil {
		t.Fatalf("an entry that does not exist: %v %v %v", got, ok, err)
	}
	if err := c.Put(k, out); err != nil {
		t.Fatal(err)
	}
	got, ok, err := c.Get(k)
	if err != nil || !ok {
		t.Fatalf("Get: %v %v", ok, err)
	}
	a, _ := json.Marshal(got)
	b, _ := json.Marshal(out)
	if !bytes.Equal(a, b) {
		t.Errorf("read back %s, wrote %s", a, b)
	}
}

// TestCacheReportsCorruptEntries: an entry that is there but cannot be
// trusted is an error naming its file, never a miss that looks like
// nothing cached and never a result (least of all one with no findings).
func TestCacheReportsCorruptEntries(t *testing.T) {
	t.Parallel()
	c, k, out := cacheFixture(t)
	if err := c.Put(k, out); err != nil {
		t.Fatal(err)
	}
	p := c.path(k)
	valid, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	keyJSON, _ := json.Marshal(k)
	other := k
	other.ModulePath = "example.com/other"
	otherJSON, _ := json.Marshal(other)
	cases := map[string][]byte{
		"empty":            {},
		"random bytes":     []byte("\x8f\x00\x13garbage\xff"),
		"null":             []byte("null"),
		"empty object":     []byte("{}"),
		"no output":        []byte(`{"format":"` + cacheFormat + `","key":` + string(keyJSON) + `}`),
		"null output":      []byte(`{"format":"` + cacheFormat + `","key":` + string(keyJSON) + `,"digest":"sha256:74234e98afe7498fb5daf1f36ac2d78acc339464f950703b8c019892f982b90b","output":null}`),
		"no findings":      []byte(`{"format":"` + cacheFormat + `","key":` + string(keyJSON) + `,"output":{"findings":[]}}`),
		"format 1 entry":   []byte(`{"key":` + string(keyJSON) + `,"output":{"findings":null}}`),
		"another key":      bytes.Replace(valid, keyJSON, otherJSON, 1),
		"findings edited":  bytes.Replace(valid, []byte(`"GO-2024-3333"`), []byte(`"GO-2024-0000"`), 1),
		"findings dropped": bytes.Replace(valid, []byte(`"findings":[`), []byte(`"findings":[],"x":[`), 1),
	}
	// Every cut of a valid entry.
	for i := 0; i < len(valid); i++ {
		cases[fmt.Sprintf("cut at %d", i)] = valid[:i]
	}
	for name, data := range cases {
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		got, ok, err := c.Get(k)
		if ok || got != nil || !errors.Is(err, ErrCacheCorrupt) || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: %v %v %v", name, got, ok, err)
		}
	}
	// A directory in place of the entry.
	os.Remove(p)
	if err := os.Mkdir(p, 0o755); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := c.Get(k); ok || got != nil || !errors.Is(err, ErrCacheCorrupt) || !strings.Contains(err.Error(), p) {
		t.Errorf("directory: %v %v %v", got, ok, err)
	}
	// Writing the entry again repairs it.
	os.Remove(p)
	os.WriteFile(p, nil, 0o644)
	if err := c.Put(k, out); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := c.Get(k); !ok || err != nil {
		t.Errorf("after Put: %v %v", ok, err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(p)); len(entries) != 1 {
		t.Errorf("cache directory holds %d files", len(entries))
	}
}

// FuzzCacheGet: whatever the bytes of an entry, Get never panics, and it
// returns a result only if it is the one that was stored.
func FuzzCacheGet(f *testing.F) {
	c, k, out := cacheFixture(f)
	if err := c.Put(k, out); err != nil {
		f.Fatal(err)
	}
	valid, err := os.ReadFile(c.path(k))
	if err != nil {
		f.Fatal(err)
	}
	want, _ := json.Marshal(out)
	f.Add(valid)
	f.Add([]byte{})
	f.Add([]byte(`{"output":{}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := c.path(k)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		got, ok, err := c.Get(k)
		if ok != (err == nil) || ok != (got != nil) {
			t.Fatalf("inconsistent: %v %v %v", got, ok, err)
		}
		if err != nil && !errors.Is(err, ErrCacheCorrupt) {
			t.Fatalf("error not ErrCacheCorrupt: %v", err)
		}
		if ok {
			b, _ := json.Marshal(got)
			if !bytes.Equal(b, want) {
				t.Fatalf("a damaged entry read as %s", b)
			}
		}
	})
}

// No patterns and ./... are the same analysis: they share a cache key, so
// that a plain scan and a project's update of the same content run the
// engine once. Other patterns keep keys of their own.
func TestCacheKeyDefaultPatterns(t *testing.T) {
	t.Parallel()
	res := &ModuleResult{Path: "example.com/m", ContentHash: "sha256:00", GoVersion: source.GoVersion{Version: "go1.26.8"}}
	key := func(patterns ...string) string {
		return NewScanner(Options{Patterns: patterns, Env: []string{}}).cacheKey(res, "go1.26.8").ID()
	}
	if key() != key("./...") {
		t.Error("no patterns and ./... have different cache keys")
	}
	if key() == key("./cmd/...") {
		t.Error("./cmd/... shares the cache key of ./...")
	}
}
