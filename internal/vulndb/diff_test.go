package vulndb

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Two builds of the same entries at different times (a directory source
// stamps entries with the build time) have the same entry digests; a
// reworded entry differs; Subset keeps what govulncheck reads.
func TestEntriesIgnoreModifiedTime(t *testing.T) {
	src := t.TempDir()
	for _, id := range []string{"GO-2024-3333", "GO-2020-0017"} {
		b, err := os.ReadFile(filepath.Join("..", "fixture", "osv", id+".json"))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(src, id+".json"), b, 0o644)
	}
	build := func(at time.Time) string {
		now := func() time.Time { return at }
		s, err := ParseSource("dir:"+src, Options{Now: now})
		if err != nil {
			t.Fatal(err)
		}
		res, err := Update(context.Background(), t.TempDir(), s, UpdateOptions{Now: now})
		if err != nil {
			t.Fatal(err)
		}
		return res.DB.Dir
	}
	a := build(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	b := build(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
	ea, err := Entries(a)
	if err != nil {
		t.Fatal(err)
	}
	eb, err := Entries(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(ea) != 2 {
		t.Fatalf("entries: %v", ea)
	}
	if d := Diff(ea, eb); len(d.Changed)+len(d.Removed) != 0 {
		t.Errorf("the build time changed entries: %+v", d)
	}
	eb["GO-2020-0017"] = "other"
	delete(eb, "GO-2024-3333")
	if d := Diff(ea, eb); len(d.Changed) != 1 || d.Changed[0] != "GO-2020-0017" || len(d.Removed) != 1 || d.Removed[0] != "GO-2024-3333" {
		t.Errorf("diff: %+v", d)
	}
	out := t.TempDir()
	if err := Subset(a, out, []string{"GO-2020-0017"}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"index/db.json", "index/modules.json", "ID/GO-2020-0017.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("subset lacks %s", f)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "ID", "GO-2024-3333.json")); err == nil {
		t.Error("subset holds an entry not asked for")
	}
}
