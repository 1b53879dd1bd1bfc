package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestADamagedScanCacheEntryIsReportedAndRescanned: a cache entry that was
// cut short, or rewritten to say there is nothing, is never taken for the
// module's result: the scan says so and scans the module again.
func TestADamagedScanCacheEntryIsReportedAndRescanned(t *testing.T) {
	e := newColdEnv(t) // it damages the cache: never the shared one
	dir := demoTree(t, "main")
	first, stderr, code := e.run("scan", "--format", "json", dir)
	if code != 0 || !strings.Contains(first, "GO-2024-3333") {
		t.Fatalf("first scan: exit %d\n%s\n%s", code, first, stderr)
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
		// The new result replaced it.
		if _, stderr, _ := e.run("scan", "--format", "json", dir); !strings.Contains(stderr, "cached") || strings.Contains(stderr, "corrupt") {
			t.Errorf("%s: the entry was not rewritten:\n%s", name, stderr)
		}
	}
}
