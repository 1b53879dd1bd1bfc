package scan

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/vexloom/vexloom/internal/progress"
)

// realVulnDB is the golang.org/x/vulndb version the real-data test reads
// (the one bench/README.md measured with).
const realVulnDB = "golang.org/x/vulndb@v0.0.0-20261105234957-e22db6528018"

// On the real Go vulnerability database: the database as it was without
// ten entries (three that affect the demo's dependencies, the seven newest
// others), then with them; the delta analysis of the demo's release gives
// exactly the findings of a full rescan.
func TestDeltaEqualsFullRescanRealVulnDB(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("downloads golang.org/x/vulndb (about 25 MB) through GOPROXY")
	}
	if p := os.Getenv("GOPROXY"); p == "off" {
		t.Skip("GOPROXY=off")
	}
	out, err := exec.Command("go", "mod", "download", "-json", realVulnDB).Output()
	if err != nil {
		t.Skipf("downloading %s: %v", realVulnDB, err)
	}
	var dl struct{ Dir string }
	if err := json.Unmarshal(out, &dl); err != nil || dl.Dir == "" {
		t.Fatalf("go mod download: %s", out)
	}
	osvDir := filepath.Join(dl.Dir, "data", "osv")
	es, err := os.ReadDir(osvDir)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range es {
		ids = append(ids, strings.TrimSuffix(e.Name(), ".json"))
	}
	sort.Strings(ids)
	removed := []string{"GO-2024-3333", "GO-2025-3503", "GO-2025-3487"}
	for i := len(ids) - 1; len(removed) < 10; i-- {
		if !slices.Contains(removed, ids[i]) {
			removed = append(removed, ids[i])
		}
	}
	// The database as it is is built from the module's directory itself;
	// only the older one, without the removed entries, is a copy.
	old := map[string][]byte{}
	for _, e := range es {
		if slices.Contains(removed, strings.TrimSuffix(e.Name(), ".json")) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(osvDir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		old[e.Name()] = b
	}
	if len(old) != len(es)-len(removed) {
		t.Fatalf("%d of %d entries left after removing %v", len(old), len(es), removed)
	}
	db1, db2 := buildDB(t, old), buildDBFromDir(t, osvDir)
	tree := demoWorktree(t)
	cache := &Cache{Dir: t.TempDir()}
	var log bytes.Buffer
	scan := func(db Database, c *Cache, noDelta bool) string {
		t.Helper()
		tg, err := NewScanner(Options{DB: db, Cache: c, Progress: progress.New(&log), NoDelta: noDelta}).ScanTree(context.Background(), tree)
		if err != nil {
			t.Fatal(err)
		}
		return findingsJSON(t, tg)
	}
	before := scan(db1, cache, false)
	log.Reset()
	delta := scan(db2, cache, false)
	if !strings.Contains(log.String(), "database changed in 10 entries (0 removed)") {
		t.Errorf("the delta was not taken:\n%s", log.String())
	}
	rescan := scan(db2, &Cache{Dir: t.TempDir()}, true)
	if delta != rescan {
		t.Errorf("delta and full rescan differ:\ndelta:\n%s\nrescan:\n%s", delta, rescan)
	}
	if before == rescan || !strings.Contains(rescan, "GO-2024-3333") {
		t.Errorf("the change made no difference to the findings:\n%s", rescan)
	}
	t.Logf("%s", log.String())
}
