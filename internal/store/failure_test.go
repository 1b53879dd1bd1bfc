package store

import (
	"context"
	"testing"
	"time"
)

// A failed scan is recorded apart from the scans: the branch's latest scan
// stays its last complete one, the branch fails since its first failure
// after it, and a complete scan (even at the same commit) heals it. A scan
// with a failed module written by an earlier version never counts as
// latest.
func TestScanFailures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := open(t, t.TempDir())
	t0 := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	good := &Scan{Branch: "main", Commit: "c1", At: t0, Modules: []ScannedModule{{Path: "example.com/app", Dir: "."}}}
	if err := s.RecordScan(ctx, good, nil, nil); err != nil {
		t.Fatal(err)
	}
	// What an earlier version recorded for a scan whose go.mod did not
	// parse, with hostile text in the error.
	legacy := &Scan{Branch: "main", Commit: "c2", At: t0.Add(time.Minute), Modules: []ScannedModule{{Dir: ".", Error: "go.mod:1: unknown directive: \"error\":\x1b[31m"}}}
	if err := s.RecordScan(ctx, legacy, nil, nil); err != nil {
		t.Fatal(err)
	}
	// A module path can hold the pattern's text without being an error.
	odd := &Scan{Branch: "odd", Commit: "o1", At: t0, Modules: []ScannedModule{{Path: `example.com/"error":`, Dir: "."}}}
	if err := s.RecordScan(ctx, odd, nil, nil); err != nil {
		t.Fatal(err)
	}
	latest := func() map[string]*Scan {
		t.Helper()
		m, err := s.LatestScans(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	if l := latest(); l["main"] == nil || l["main"].ID != good.ID || l["odd"] == nil {
		t.Fatalf("latest scans %+v, want main's complete scan %d and odd's", l, good.ID)
	}
	failing := func() map[string]*BranchFailure {
		t.Helper()
		m, err := s.FailingBranches(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	if f := failing(); len(f) != 0 {
		t.Fatalf("failing before any failure: %+v", f)
	}
	for i, at := range []time.Time{t0.Add(time.Hour), t0.Add(2 * time.Hour)} {
		f := &ScanFailure{Branch: "main", Commit: "c3", At: at, Reason: "module example.com/app: no", Modules: []ScannedModule{{Path: "example.com/app", Dir: ".", Error: "no"}}}
		if err := s.RecordScanFailure(ctx, f); err != nil {
			t.Fatal(err)
		}
		if f.AfterScan != good.ID {
			t.Errorf("failure after scan %d, want %d", f.AfterScan, good.ID)
		}
		bf := failing()["main"]
		if bf == nil || !bf.Since.Equal(t0.Add(time.Hour)) || bf.Attempts != i+1 || bf.Latest.ID != f.ID || bf.Latest.Modules[0].Error != "no" {
			t.Errorf("attempt %d: failing %+v", i+1, bf)
		}
	}
	// A branch that never had a complete scan fails too.
	if err := s.RecordScanFailure(ctx, &ScanFailure{Branch: "new", Commit: "n1", At: t0, Reason: "r"}); err != nil {
		t.Fatal(err)
	}
	if bf := failing()["new"]; bf == nil || bf.Latest.AfterScan != 0 {
		t.Errorf("new: %+v", bf)
	}
	if l := latest(); l["main"].ID != good.ID || l["new"] != nil {
		t.Errorf("failures changed the latest scans: %+v", l)
	}
	// A complete scan at the same commit as before heals the branch.
	healed := &Scan{Branch: "main", Commit: "c1", At: t0.Add(3 * time.Hour), Modules: good.Modules}
	if err := s.RecordScan(ctx, healed, nil, nil); err != nil {
		t.Fatal(err)
	}
	if f := failing(); f["main"] != nil || f["new"] == nil {
		t.Errorf("after the complete scan: %+v", f)
	}
	if l := latest(); l["main"].ID != healed.ID {
		t.Errorf("latest %+v, want the healing scan", l["main"])
	}
	// The table is append-only like the others.
	if _, err := s.db.ExecContext(ctx, `DELETE FROM scan_failures`); err == nil {
		t.Error("a scan failure was deleted")
	}
}
