package vulndb

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vexloom/vexloom/internal/progress"
)

// TestEmptiedChecksumDatabaseStateIsReported: the checksum database's
// signed tree head kept in the cache is what a later tree must extend. An
// emptied copy is damage, reported with its name; it is never taken for
// "no tree seen yet", which would trust whatever tree comes next.
func TestEmptiedChecksumDatabaseStateIsReported(t *testing.T) {
	p := newTestProxy(t)
	fx := readFixtures(t, "osv")
	p.add(v1, t1, fx)
	cache := t.TempDir()
	update(t, cache, p.source(t, ""), false)
	var latest []string
	filepath.WalkDir(cache, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == "latest" && !d.IsDir() {
			latest = append(latest, p)
		}
		return nil
	})
	if len(latest) != 1 {
		t.Fatalf("checksum database state files: %v", latest)
	}
	if err := os.WriteFile(latest[0], nil, 0o644); err != nil {
		t.Fatal(err)
	}
	p.add(v2, t2, fx)
	var log progressLog
	_, err := Update(context.Background(), cache, p.source(t, ""), UpdateOptions{Progress: progress.New(&log), Now: fixedNow})
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), latest[0]) {
		t.Fatalf("update over an emptied tree head: %v\n%s", err, log.String())
	}
	if b, _ := os.ReadFile(latest[0]); len(b) != 0 {
		t.Error("the damaged state was overwritten")
	}
}
