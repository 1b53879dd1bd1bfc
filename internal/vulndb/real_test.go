package vulndb

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vexloom/vexloom/internal/progress"
)

// TestRealVulnDB builds the database from the real golang.org/x/vulndb
// module through the environment's GOPROXY and checksum database.
func TestRealVulnDB(t *testing.T) {
	if testing.Short() {
		t.Skip("downloads golang.org/x/vulndb (about 25 MB) through GOPROXY")
	}
	if p := os.Getenv("GOPROXY"); p == "off" || p == "direct" {
		t.Skipf("GOPROXY=%s: no module proxy", p)
	}
	src, err := ParseSource("golang.org/x/vulndb", Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var log progressLog
	res, err := Update(ctx, t.TempDir(), src, UpdateOptions{Progress: progress.New(&log)})
	if err != nil {
		t.Fatalf("Update: %v\n%s", err, log.String())
	}
	t.Logf("progress:\n%s", log.String())
	m := res.DB.Meta
	if m.Entries <= 4000 {
		t.Errorf("%d entries, want more than 4000", m.Entries)
	}
	if !strings.Contains(log.String(), "verified golang.org/x/vulndb@") {
		t.Errorf("not verified against the checksum database:\n%s", log.String())
	}
	// The module's entries have no modified time: the version's time
	// stands in for it.
	if m.VersionTime.IsZero() || !m.Modified.Equal(m.VersionTime) {
		t.Errorf("modified %v, version time %v", m.Modified, m.VersionTime)
	}
	e, err := res.DB.Entry("GO-2024-3333")
	if err != nil {
		t.Fatal(err)
	}
	if !e.Modified.Equal(m.VersionTime) {
		t.Errorf("GO-2024-3333 modified %v, want %v", e.Modified, m.VersionTime)
	}
	if ids, err := res.DB.Resolve("CVE-2024-45338"); err != nil || len(ids) != 1 || ids[0] != "GO-2024-3333" {
		t.Errorf("Resolve(CVE-2024-45338) = %v, %v", ids, err)
	}
	if err := res.DB.Verify(); err != nil {
		t.Fatal(err)
	}
	if got := govulncheckQuery(t, res.DB, "golang.org/x/net@v0.32.0"); !contains(got, "GO-2024-3333") {
		t.Errorf("govulncheck on the real database: %v", got)
	}
	t.Logf("%d entries, version %s (%s), skipped %d", m.Entries, m.Version, m.VersionTime, res.Stats.Skipped)
}

func contains(list []string, s string) bool { return slices.Contains(list, s) }
