package store

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vexloom/vexloom/internal/scan"
)

func open(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dir, func() time.Time { return time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestMigrationsAndAppendOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	v, err := s.SchemaVersion(ctx)
	if err != nil || v != len(migrations) {
		t.Fatalf("schema version %d, %v", v, err)
	}
	tr, created, err := s.EnsureTriage(ctx, "GO-2024-3333", "golang.org/x/net", []Event{{Kind: KindObserved, Author: "vexloom", Branches: []string{"main"}}})
	if err != nil || !created {
		t.Fatalf("EnsureTriage: %v %v", created, err)
	}
	for _, stmt := range []string{
		`UPDATE events SET author = 'mallory'`,
		`DELETE FROM events`,
		`DELETE FROM triages`,
		`UPDATE triages SET dependency = 'x'`,
	} {
		if _, err := s.db.ExecContext(ctx, stmt); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v", stmt, err)
		}
	}
	evs, _ := s.Events(ctx, tr.ID)
	if len(evs) != 1 || evs[0].Author != "vexloom" {
		t.Errorf("history changed: %+v", evs)
	}
	// Reopening runs no migration twice.
	s.Close()
	s2 := open(t, dir)
	if v, _ := s2.SchemaVersion(ctx); v != len(migrations) {
		t.Errorf("version after reopen %d", v)
	}
	if _, err := s2.db.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (999, 'x')`); err != nil {
		t.Fatal(err)
	}
	s2.Close()
	if _, err := Open(ctx, dir, nil); !errors.Is(err, ErrNewer) {
		t.Errorf("a newer schema: %v", err)
	}
}

func TestEnsureTriageIsUniqueUnderConcurrency(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	var wg sync.WaitGroup
	var mu sync.Mutex
	createdCount := 0
	ids := map[string]bool{}
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Separate connections, as separate processes would have.
			s, err := Open(ctx, dir, nil)
			if err != nil {
				t.Error(err)
				return
			}
			defer s.Close()
			tr, created, err := s.EnsureTriage(ctx, "GO-2025-3503", "golang.org/x/net", []Event{{Kind: KindObserved, Author: "vexloom"}})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			ids[tr.ID] = true
			if created {
				createdCount++
			}
		}()
	}
	wg.Wait()
	if createdCount != 1 || len(ids) != 1 {
		t.Fatalf("created %d times, ids %v", createdCount, ids)
	}
	s := open(t, dir)
	all, _ := s.Triages(ctx)
	evs, _ := s.Events(ctx, all[0].ID)
	if len(all) != 1 || len(evs) != 1 {
		t.Errorf("%d triages, %d events", len(all), len(evs))
	}
}

func TestCommentsAreProcessedOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := open(t, t.TempDir())
	tr, _, _ := s.EnsureTriage(ctx, "GO-1", "m", nil)
	c := Comment{Ref: "local:1", TriageID: tr.ID, Author: "alice", Body: "/fixed", Outcome: "applied"}
	evs, err := s.RecordComment(ctx, c, []Event{{Kind: KindAssessment, Status: "fixed", Author: "alice"}})
	if err != nil || len(evs) != 1 || evs[0].CommentRef != "local:1" {
		t.Fatalf("%v %+v", err, evs)
	}
	if _, err := s.RecordComment(ctx, c, []Event{{Kind: KindAssessment, Status: "fixed"}}); !errors.Is(err, ErrDuplicate) {
		t.Errorf("second record: %v", err)
	}
	all, _ := s.Events(ctx, tr.ID)
	if len(all) != 1 {
		t.Errorf("%d events after a duplicate", len(all))
	}
	// A failing event rolls the comment back too.
	bad := Comment{Ref: "local:2", TriageID: tr.ID, Author: "bob"}
	if _, err := s.RecordComment(ctx, bad, []Event{{Kind: ""}}); err == nil {
		t.Fatal("an invalid event was accepted")
	}
	if _, err := s.Comment(ctx, "local:2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("half-recorded comment: %v", err)
	}
}

func TestScansVulnerabilitiesAndLookups(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := open(t, t.TempDir())
	sc := &Scan{Branch: "main", Commit: "abc", Modules: []ScannedModule{{Path: "example.com/m", Dir: ".", Version: "v1.0.0"}}}
	f := Finding{Module: "example.com/m", ModuleVersion: "v1.0.0", Finding: scan.Finding{ID: "GO-2025-3503", Module: "golang.org/x/net", Version: "v0.32.0", Level: scan.LevelModule}}
	v := scan.Vulnerability{ID: "GO-2025-3503", Aliases: []string{"CVE-2025-22870", "GHSA-qxp5-gwg8-xv66"}, Modified: "2026-01-01T00:00:00Z"}
	if err := s.RecordScan(ctx, sc, []Finding{f}, []scan.Vulnerability{v}); err != nil {
		t.Fatal(err)
	}
	sc2 := &Scan{Branch: "main", Commit: "def"}
	if err := s.RecordScan(ctx, sc2, nil, nil); err != nil {
		t.Fatal(err)
	}
	latest, _ := s.LatestScans(ctx)
	if latest["main"].Commit != "def" {
		t.Errorf("latest = %+v", latest["main"])
	}
	got, _ := s.Findings(ctx, sc.ID)
	if len(got) != 1 || got[0].Finding.Module != "golang.org/x/net" || got[0].Level != scan.LevelModule {
		t.Errorf("findings = %+v", got)
	}
	ids, _ := s.ResolveAlias(ctx, "cve-2025-22870")
	if len(ids) != 1 || ids[0] != "GO-2025-3503" {
		t.Errorf("alias = %v", ids)
	}
	a, _, _ := s.EnsureTriage(ctx, "GO-2025-3503", "golang.org/x/net", nil)
	b, _, _ := s.EnsureTriage(ctx, "GO-2025-3503", "stdlib", nil)
	if _, err := s.FindTriage(ctx, "CVE-2025-22870"); !errors.Is(err, ErrAmbiguous) || !strings.Contains(err.Error(), a.ID) || !strings.Contains(err.Error(), b.ID) {
		t.Errorf("ambiguous alias: %v", err)
	}
	if got, err := s.FindTriage(ctx, strings.ToUpper(a.ID)); err != nil || got.ID != a.ID {
		t.Errorf("by ID: %v %v", got, err)
	}
	if _, err := s.FindTriage(ctx, "CVE-1999-0001"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown: %v", err)
	}
	if !strings.HasPrefix(a.ID, "vx-") || len(a.ID) != 9 || a.ID != TriageID("GO-2025-3503", "golang.org/x/net") {
		t.Errorf("triage id %q", a.ID)
	}
}

func TestDocumentsOnlyGrow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := open(t, t.TempDir())
	if _, err := s.LatestDocument(ctx, "main"); !errors.Is(err, ErrNotFound) {
		t.Errorf("no document yet: %v", err)
	}
	for v := 1; v <= 2; v++ {
		if err := s.RecordDocument(ctx, Document{Branch: "main", Version: v, ContentHash: "h", Body: []byte("{}")}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RecordDocument(ctx, Document{Branch: "main", Version: 2, Body: []byte("{}")}, nil); err == nil {
		t.Error("a version was written twice")
	}
	d, _ := s.LatestDocument(ctx, "main")
	if d.Version != 2 {
		t.Errorf("latest version %d", d.Version)
	}
	all, _ := s.Documents(ctx, "main")
	if len(all) != 2 {
		t.Errorf("%d versions kept", len(all))
	}
}

func TestCursorAndAcks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := open(t, t.TempDir())
	if v, _ := s.Cursor(ctx, "k"); v != "" {
		t.Errorf("empty cursor %q", v)
	}
	s.SetCursor(ctx, "k", "1")
	s.SetCursor(ctx, "k", "2")
	if v, _ := s.Cursor(ctx, "k"); v != "2" {
		t.Errorf("cursor %q", v)
	}
	if ok, _, _ := s.Acked(ctx, "r", "reply"); ok {
		t.Error("acked before")
	}
	s.Ack(ctx, "r", "reply", "123")
	s.Ack(ctx, "r", "reply", "456")
	ok, remote, _ := s.Acked(ctx, "r", "reply")
	if !ok || remote != "123" {
		t.Errorf("ack = %v %q", ok, remote)
	}
}

func TestLock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	a := open(t, dir)
	b := open(t, dir)
	if err := a.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if err := b.Lock(short); !errors.Is(err, ErrLocked) {
		t.Errorf("second lock: %v", err)
	}
	a.Close()
	if err := b.Lock(ctx); err != nil {
		t.Errorf("lock after release: %v", err)
	}
}

func TestClaimIsFirstOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	var wg sync.WaitGroup
	var mu sync.Mutex
	firsts := 0
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Open(ctx, dir, nil)
			if err != nil {
				t.Error(err)
				return
			}
			defer s.Close()
			first, err := s.Claim(ctx, "delivery-1", "webhook", "")
			if err != nil {
				t.Error(err)
				return
			}
			if first {
				mu.Lock()
				firsts++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firsts != 1 {
		t.Fatalf("%d claims were first", firsts)
	}
	s := open(t, dir)
	if ok, _, err := s.Acked(ctx, "delivery-1", "webhook"); !ok || err != nil {
		t.Fatalf("claimed delivery not acknowledged: %v %v", ok, err)
	}
}
