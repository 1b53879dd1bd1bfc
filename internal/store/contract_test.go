package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vexloom/vexloom/internal/scan"
	"github.com/vexloom/vexloom/internal/store/pgtest"
)

// backend opens stores of one kind for the contract suite. reopen opens
// another handle on the same store, as another process would.
type backend struct {
	name string
	// open returns a fresh, empty store and a function opening it again.
	open func(t *testing.T) (*Store, func(t *testing.T) (*Store, error))
}

var contractNow = func() time.Time { return time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC) }

func backends() []backend {
	return []backend{
		{name: "sqlite", open: func(t *testing.T) (*Store, func(t *testing.T) (*Store, error)) {
			dir := t.TempDir()
			reopen := func(t *testing.T) (*Store, error) {
				s, err := Open(context.Background(), dir, contractNow)
				if err == nil {
					t.Cleanup(func() { s.Close() })
				}
				return s, err
			}
			s, err := reopen(t)
			if err != nil {
				t.Fatal(err)
			}
			return s, reopen
		}},
		{name: "postgres", open: func(t *testing.T) (*Store, func(t *testing.T) (*Store, error)) {
			u := pgtest.Database(t)
			dir := t.TempDir()
			reopen := func(t *testing.T) (*Store, error) {
				s, err := OpenPostgres(context.Background(), u, Options{Project: "example.com/contract", Dir: dir, Now: contractNow})
				if err == nil {
					t.Cleanup(func() { s.Close() })
				}
				return s, err
			}
			s, err := reopen(t)
			if err != nil {
				t.Fatal(err)
			}
			return s, reopen
		}},
	}
}

// contract runs fn against every backend.
func contract(t *testing.T, fn func(t *testing.T, s *Store, reopen func(t *testing.T) (*Store, error))) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			s, reopen := b.open(t)
			fn(t, s, reopen)
		})
	}
}

func mustReopen(t *testing.T, reopen func(t *testing.T) (*Store, error)) *Store {
	t.Helper()
	s, err := reopen(t)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var allTables = []string{"scans", "findings", "vulnerabilities", "aliases", "triages", "events", "comments", "acks", "documents", "cursors", "scan_failures", "scan_outputs", "rounds", "triage_views", "view_marks", "scan_observed"}

func TestContractAppendOnly(t *testing.T) {
	t.Parallel()
	contract(t, func(t *testing.T, s *Store, _ func(t *testing.T) (*Store, error)) {
		ctx := context.Background()
		fill(t, s)
		for _, table := range allTables {
			var n int
			if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil || n == 0 {
				t.Fatalf("%s: %d rows, %v: the test must fill every table", table, n, err)
			}
			stmts := []string{`UPDATE ` + table + ` SET ` + firstColumn(table) + ` = ` + firstColumn(table), `DELETE FROM ` + table}
			if s.Shared() {
				stmts = append(stmts, `TRUNCATE `+table+` CASCADE`)
			}
			for _, stmt := range stmts {
				if _, err := s.db.ExecContext(ctx, stmt); err == nil || !strings.Contains(err.Error(), "append-only") {
					t.Errorf("%s: %v, want a refusal", stmt, err)
				}
			}
			var after int
			if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM `+table).Scan(&after); err != nil || after != n {
				t.Errorf("%s: %d rows after the refusals, want %d (%v)", table, after, n, err)
			}
		}
	})
}

func firstColumn(table string) string {
	switch table {
	case "findings":
		return "module"
	case "aliases":
		return "alias"
	case "acks", "comments":
		return "ref"
	case "events", "cursors":
		return "at"
	case "scan_outputs":
		return "key"
	case "scan_observed":
		return "scan_id"
	case "documents", "scans", "scan_failures":
		return "branch"
	case "rounds":
		return "kind"
	case "triage_views":
		return "triage_id"
	case "view_marks":
		return "format"
	}
	return "id"
}

// fill writes at least one row into every table.
func fill(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	sc := &Scan{Branch: "main", Commit: "c1", At: contractNow(), Modules: []ScannedModule{{Path: "example.com/app", Dir: "."}}}
	f := Finding{Module: "example.com/app", ModuleVersion: "v1.0.0", Finding: scan.Finding{ID: "GO-2024-3333", Module: "golang.org/x/net", Version: "v0.1.0", Level: scan.LevelSymbol}}
	if err := s.RecordScan(ctx, sc, []Finding{f}, []scan.Vulnerability{{ID: "GO-2024-3333", Aliases: []string{"CVE-2024-45338"}, Modified: "2024-12-18"}}); err != nil {
		t.Fatal(err)
	}
	tr, _, err := s.EnsureTriage(ctx, "GO-2024-3333", "golang.org/x/net", []Event{{Kind: KindObserved, Author: "vexloom", Branches: []string{"main"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordComment(ctx, Comment{Ref: "local:1", TriageID: tr.ID, Author: "alice", Body: "/affected upgrade", Outcome: "applied"}, []Event{{Kind: KindAssessment, Author: "alice", Status: "affected", Action: "upgrade"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Ack(ctx, "local:1", "reaction", "r1"); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordDocument(ctx, Document{Branch: "main", Version: 1, ContentHash: "h1", Path: "vex/main.openvex.json", At: contractNow(), Body: []byte("{\x00}")}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCursor(ctx, "github:since", "2026-11-20"); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordScanFailure(ctx, &ScanFailure{Branch: "main", Commit: "c2", At: contractNow(), Reason: "module .: broken"}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutScanOutput(ctx, "k1", []byte(`{"output":{}}`)); err != nil {
		t.Fatal(err)
	}
	id, err := s.BeginRound(ctx, "runner-1")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.EndRound(ctx, id, "runner-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordViews(ctx, 1, lastSeqBodies); err != nil {
		t.Fatal(err)
	}
}

// lastSeqBodies "derives" each history as its triage and last Seq.
func lastSeqBodies(histories map[string][]Event) (map[string][]byte, error) {
	out := map[string][]byte{}
	for id, h := range histories {
		out[id] = fmt.Appendf(nil, "%s@%d", id, h[len(h)-1].Seq)
	}
	return out, nil
}

func TestContractMigrations(t *testing.T) {
	contract(t, func(t *testing.T, s *Store, reopen func(t *testing.T) (*Store, error)) {
		ctx := context.Background()
		if v, err := s.SchemaVersion(ctx); err != nil || v != len(migrations) {
			t.Fatalf("schema version %d, %v; want %d", v, err, len(migrations))
		}
		fill(t, s)
		s.Close()
		// Opening again runs no migration twice and keeps everything.
		s2 := mustReopen(t, reopen)
		if v, _ := s2.SchemaVersion(ctx); v != len(migrations) {
			t.Errorf("version after reopen %d", v)
		}
		var n int
		if err := s2.db.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(migrations) {
			t.Errorf("%d migrations recorded, %v", n, err)
		}
		evs, err := s2.AllEvents(ctx)
		if err != nil || len(evs) != 1 {
			t.Errorf("events after reopen: %v %v", evs, err)
		}
		// A store written by a newer vexloom is refused, and nothing is
		// written to it.
		if _, err := s2.db.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (999, 'x')`); err != nil {
			t.Fatal(err)
		}
		before := countRows(t, s2)
		s2.Close()
		if _, err := reopen(t); !errors.Is(err, ErrNewer) {
			t.Fatalf("a newer schema: %v", err)
		}
		s3 := rawReopen(t, s2, reopen)
		if after := countRows(t, s3); after != before {
			t.Errorf("refusing a newer store wrote to it: %v → %v", before, after)
		}
	})
}

// rawReopen opens the same database without migrating, to look at it.
func rawReopen(t *testing.T, old *Store, reopen func(t *testing.T) (*Store, error)) *Store {
	t.Helper()
	saved := migrations
	migrations = append(append([]string(nil), migrations...), make([]string, 999-len(migrations))...)
	defer func() { migrations = saved }()
	s, err := reopen(t)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func countRows(t *testing.T, s *Store) string {
	t.Helper()
	var parts []string
	for _, table := range append([]string{"schema_migrations"}, allTables...) {
		var n int
		if err := s.db.QueryRowContext(context.Background(), `SELECT count(*) FROM `+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		parts = append(parts, fmt.Sprintf("%s=%d", table, n))
	}
	return strings.Join(parts, " ")
}

// Triages are created exactly once by concurrent runners, each with its
// first events, never half.
func TestContractTriageCreatedOnce(t *testing.T) {
	t.Parallel()
	contract(t, func(t *testing.T, s *Store, reopen func(t *testing.T) (*Store, error)) {
		ctx := context.Background()
		var wg sync.WaitGroup
		var mu sync.Mutex
		created := map[string]int{}
		for i := range 6 {
			st := mustReopen(t, reopen)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range 10 {
					vuln := fmt.Sprintf("GO-2026-%04d", j)
					tr, ok, err := st.EnsureTriage(ctx, vuln, "golang.org/x/net", []Event{
						{Kind: KindState, Author: "vexloom", Status: "open"},
						{Kind: KindObserved, Author: fmt.Sprint("runner", i), Branches: []string{"main"}},
					})
					if err != nil {
						t.Error(err)
						return
					}
					if ok {
						mu.Lock()
						created[tr.ID]++
						mu.Unlock()
					}
				}
			}()
		}
		wg.Wait()
		trs, err := s.Triages(ctx)
		if err != nil || len(trs) != 10 {
			t.Fatalf("%d triages, %v", len(trs), err)
		}
		all, err := s.AllEvents(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, tr := range trs {
			if created[tr.ID] != 1 {
				t.Errorf("%s created %d times", tr.ID, created[tr.ID])
			}
			if evs := all[tr.ID]; len(evs) != 2 || evs[0].Kind != KindState || evs[1].Kind != KindObserved {
				t.Errorf("%s: history %+v, want its two first events", tr.ID, evs)
			}
		}
	})
}

// AppendIf serialises derive-then-write across handles: each transition is
// recorded once however many runners try it.
func TestContractAppendIfOnce(t *testing.T) {
	t.Parallel()
	contract(t, func(t *testing.T, s *Store, reopen func(t *testing.T) (*Store, error)) {
		ctx := context.Background()
		tr, _, err := s.EnsureTriage(ctx, "GO-2026-0001", "example.com/dep", nil)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for range 6 {
			st := mustReopen(t, reopen)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for step := range 5 {
					_, err := st.AppendIf(ctx, tr.ID, func(h []Event) ([]Event, error) {
						if len(h) > step {
							return nil, nil
						}
						return []Event{{Kind: KindState, Author: "vexloom", Notes: fmt.Sprint(step)}}, nil
					})
					if err != nil {
						t.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		evs, err := s.Events(ctx, tr.ID)
		if err != nil || len(evs) != 5 {
			t.Fatalf("%d events, %v; want 5", len(evs), err)
		}
		for i, ev := range evs {
			if ev.Notes != fmt.Sprint(i) {
				t.Errorf("event %d is step %s", i, ev.Notes)
			}
			if i > 0 && ev.Seq <= evs[i-1].Seq {
				t.Errorf("history out of order: %d after %d", ev.Seq, evs[i-1].Seq)
			}
		}
	})
}

// A comment is processed once, with its events, whoever records it.
func TestContractCommentsAndClaims(t *testing.T) {
	t.Parallel()
	contract(t, func(t *testing.T, s *Store, reopen func(t *testing.T) (*Store, error)) {
		ctx := context.Background()
		tr, _, err := s.EnsureTriage(ctx, "GO-2026-0001", "example.com/dep", nil)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		recorded, claimed := 0, 0
		for range 6 {
			st := mustReopen(t, reopen)
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := st.RecordComment(ctx, Comment{Ref: "github:issuecomment:7", TriageID: tr.ID, Author: "alice", Body: "/fixed", Outcome: "applied"},
					[]Event{{Kind: KindAssessment, Author: "alice", Status: "fixed"}})
				if err != nil && !errors.Is(err, ErrDuplicate) {
					t.Error(err)
				}
				first, err2 := st.Claim(ctx, "delivery-1", "webhook", "")
				if err2 != nil {
					t.Error(err2)
				}
				mu.Lock()
				if err == nil {
					recorded++
				}
				if first {
					claimed++
				}
				mu.Unlock()
			}()
		}
		wg.Wait()
		if recorded != 1 || claimed != 1 {
			t.Errorf("comment recorded %d times, delivery claimed %d times; want once each", recorded, claimed)
		}
		evs, _ := s.Events(ctx, tr.ID)
		if len(evs) != 1 || evs[0].CommentRef != "github:issuecomment:7" {
			t.Errorf("events %+v", evs)
		}
		c, err := s.Comment(ctx, "github:issuecomment:7")
		if err != nil || c.Body != "/fixed" {
			t.Errorf("comment %+v, %v", c, err)
		}
		if ok, remote, err := s.Acked(ctx, "delivery-1", "webhook"); !ok || remote != "" || err != nil {
			t.Errorf("acked %v %q %v", ok, remote, err)
		}
		if ok, _, _ := s.Acked(ctx, "delivery-2", "webhook"); ok {
			t.Error("an unknown delivery is acked")
		}
	})
}

// Cursors: the latest value wins; history keeps every value.
func TestContractCursors(t *testing.T) {
	t.Parallel()
	contract(t, func(t *testing.T, s *Store, _ func(t *testing.T) (*Store, error)) {
		ctx := context.Background()
		if v, err := s.Cursor(ctx, "k"); v != "" || err != nil {
			t.Errorf("unset cursor %q %v", v, err)
		}
		for _, v := range []string{"b", "a", "c", "a"} {
			if err := s.SetCursor(ctx, "k", v); err != nil {
				t.Fatal(err)
			}
		}
		s.SetCursor(ctx, "other", "z")
		// Scan outputs: the first stored under a key stays.
		for _, b := range []string{"first", "second"} {
			if err := s.PutScanOutput(ctx, "key", []byte(b)); err != nil {
				t.Fatal(err)
			}
		}
		if b, ok, err := s.ScanOutput(ctx, "key"); string(b) != "first" || !ok || err != nil {
			t.Errorf("scan output %q %v %v", b, ok, err)
		}
		if _, ok, err := s.ScanOutput(ctx, "other"); ok || err != nil {
			t.Errorf("a missing scan output: %v %v", ok, err)
		}
		if v, err := s.Cursor(ctx, "k"); v != "a" || err != nil {
			t.Errorf("cursor %q %v; want the latest, a", v, err)
		}
	})
}

// History order: events come back in the order they were recorded, across
// triages; documents by version; the latest complete scan per branch; the
// latest description of a vulnerability; findings in their order.
func TestContractHistoryOrder(t *testing.T) {
	t.Parallel()
	contract(t, func(t *testing.T, s *Store, _ func(t *testing.T) (*Store, error)) {
		ctx := context.Background()
		a, _, _ := s.EnsureTriage(ctx, "GO-2026-0002", "b.example/dep", nil)
		b, _, _ := s.EnsureTriage(ctx, "GO-2026-0001", "a.example/dep", nil)
		var want []string
		for i := range 20 {
			tr := a
			if i%3 == 0 {
				tr = b
			}
			note := fmt.Sprintf("n%02d", 19-i) // not in text order
			if _, err := s.Append(ctx, Event{TriageID: tr.ID, Kind: KindComment, Author: "x", Notes: note}); err != nil {
				t.Fatal(err)
			}
			want = append(want, tr.ID+note)
		}
		all, err := s.AllEvents(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		var seqs []int64
		for _, tr := range []Triage{a, b} {
			for _, ev := range all[tr.ID] {
				seqs = append(seqs, ev.Seq)
				got = append(got, ev.TriageID+ev.Notes)
			}
		}
		// Merge by seq.
		order := map[int64]string{}
		for i, sq := range seqs {
			order[sq] = got[i]
		}
		var merged []string
		for sq := int64(0); len(merged) < len(seqs) && sq < 1000; sq++ {
			if v, ok := order[sq]; ok {
				merged = append(merged, v)
			}
		}
		if strings.Join(merged, ",") != strings.Join(want, ",") {
			t.Errorf("history by seq\n got %v\nwant %v", merged, want)
		}
		for v := 1; v <= 3; v++ {
			if err := s.RecordDocument(ctx, Document{Branch: "main", Version: v, ContentHash: fmt.Sprint(v), Body: []byte{byte(v)}}, nil); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.RecordDocument(ctx, Document{Branch: "main", Version: 2, Body: []byte{9}}, nil); err == nil {
			t.Error("a document version was recorded twice")
		}
		d, err := s.LatestDocument(ctx, "main")
		if err != nil || d.Version != 3 || string(d.Body) != "\x03" {
			t.Errorf("latest document %+v %v", d, err)
		}
		if _, err := s.LatestDocument(ctx, "other"); !errors.Is(err, ErrNotFound) {
			t.Errorf("a branch without a document: %v", err)
		}
		var fs []Finding
		for _, id := range []string{"GO-3", "GO-1", "GO-2"} {
			fs = append(fs, Finding{Module: "m", Finding: scan.Finding{ID: id, Module: "dep", Level: scan.LevelModule}})
		}
		for _, c := range []string{"c1", "c2"} {
			if err := s.RecordScan(ctx, &Scan{Branch: "main", Commit: c, Modules: []ScannedModule{{Path: "m"}}}, fs, []scan.Vulnerability{{ID: "GO-1", Modified: c, Summary: c}}); err != nil {
				t.Fatal(err)
			}
		}
		latest, err := s.LatestScans(ctx)
		if err != nil || latest["main"] == nil || latest["main"].Commit != "c2" {
			t.Fatalf("latest scans %+v %v", latest, err)
		}
		got2, err := s.Findings(ctx, latest["main"].ID)
		if err != nil || len(got2) != 3 || got2[0].ID != "GO-3" || got2[1].ID != "GO-1" {
			t.Errorf("findings out of order: %+v %v", got2, err)
		}
		v, err := s.Vulnerability(ctx, "GO-1")
		if err != nil || v.Summary != "c2" {
			t.Errorf("latest description %+v %v", v, err)
		}
		if ids, err := s.ResolveAlias(ctx, "go-1"); err != nil || len(ids) != 1 {
			t.Errorf("alias %v %v", ids, err)
		}
	})
}

// The update lock and leases are exclusive across handles and released on
// Close or Release.
func TestContractLocksAndLeases(t *testing.T) {
	t.Parallel()
	contract(t, func(t *testing.T, s *Store, reopen func(t *testing.T) (*Store, error)) {
		ctx := context.Background()
		other := mustReopen(t, reopen)
		if err := s.Lock(ctx); err != nil {
			t.Fatal(err)
		}
		short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		if err := other.Lock(short); !errors.Is(err, ErrLocked) {
			t.Fatalf("a second update lock: %v", err)
		}
		l, err := s.TakeLease(ctx, "branch:main")
		if err != nil || l == nil {
			t.Fatalf("lease: %v", err)
		}
		if l2, err := other.TryLease(ctx, "branch:main"); l2 != nil || err != nil {
			t.Fatalf("a held lease was taken again: %v %v", l2, err)
		}
		l3, err := other.TryLease(ctx, "branch:release-1.0")
		if err != nil || l3 == nil {
			t.Fatalf("another branch's lease: %v", err)
		}
		l3.Release()
		l.Release()
		l4, err := other.TryLease(ctx, "branch:main")
		if err != nil || l4 == nil {
			t.Fatalf("a released lease: %v", err)
		}
		l4.Release()
		s.Close()
		if err := other.Lock(ctx); err != nil {
			t.Errorf("the lock after Close: %v", err)
		}
	})
}

// EventsOnBranch reads the whole histories of the triages that name a
// branch, and only those; LIKE's and JSON's special characters in a branch
// name match only themselves.
func TestContractEventsOnBranch(t *testing.T) {
	t.Parallel()
	contract(t, func(t *testing.T, s *Store, _ func(t *testing.T) (*Store, error)) {
		ctx := context.Background()
		names := []string{"release_1%0", "release-1x0", `a"b<c>`, "main"}
		for i, b := range names {
			tr, _, err := s.EnsureTriage(ctx, fmt.Sprintf("GO-2026-%04d", i), "dep", []Event{{Kind: KindObserved, Author: "vexloom", Branches: []string{b}}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Append(ctx, Event{TriageID: tr.ID, Kind: KindState, Author: "vexloom"}); err != nil {
				t.Fatal(err)
			}
		}
		for i, b := range names {
			got, err := s.EventsOnBranch(ctx, b)
			if err != nil {
				t.Fatal(err)
			}
			id := TriageID(fmt.Sprintf("GO-2026-%04d", i), "dep")
			if len(got) != 1 || len(got[id]) != 2 {
				t.Errorf("%s: %d triages %v; want only %s with its 2 events", b, len(got), got, id)
			}
		}
	})
}

// A scan output one runner put in the shared cache is found by another
// runner whose local cache is empty, and checked like a local entry.
func TestContractSharedScanCache(t *testing.T) {
	t.Parallel()
	contract(t, func(t *testing.T, s *Store, reopen func(t *testing.T) (*Store, error)) {
		key := scan.CacheKey{ContentHash: "tree:abc", Database: "sha256:db", ModulePath: "example.com/app"}
		out := &scan.Output{GoVersion: "go1.26.0", Findings: []scan.Finding{{ID: "GO-2024-3333", Module: "golang.org/x/net", Level: scan.LevelSymbol}}}
		first := &scan.Cache{Dir: t.TempDir(), Shared: s}
		if err := first.Put(key, out); err != nil {
			t.Fatal(err)
		}
		other := &scan.Cache{Dir: t.TempDir(), Shared: mustReopen(t, reopen)}
		got, ok, err := other.Get(key)
		if err != nil || !ok || len(got.Findings) != 1 || got.Findings[0].ID != "GO-2024-3333" {
			t.Fatalf("the other runner's cache: %+v %v %v", got, ok, err)
		}
		key.ContentHash = "tree:def"
		if _, ok, err := other.Get(key); ok || err != nil {
			t.Errorf("another key: %v %v", ok, err)
		}
	})
}

// The derived views kept: recorded for the histories that moved since the
// last record (every one, the first time), with the history's position;
// read back with the histories that moved since; nothing recorded when the
// history did not move or when deriving fails; each format apart; and,
// with runners appending and recording at once, every triage's latest row
// derived from its whole history once the last record is done.
func TestContractViewSnapshot(t *testing.T) {
	t.Parallel()
	contract(t, func(t *testing.T, s *Store, reopen func(t *testing.T) (*Store, error)) {
		ctx := context.Background()
		snapshot := func(format int) *ViewSnapshot {
			t.Helper()
			snap, err := s.ViewSnapshot(ctx, format)
			if err != nil {
				t.Fatal(err)
			}
			return snap
		}
		var derived []string
		record := func(format int) int {
			t.Helper()
			derived = nil
			n, err := s.RecordViews(ctx, format, func(h map[string][]Event) (map[string][]byte, error) {
				for id := range h {
					derived = append(derived, id)
				}
				slices.Sort(derived)
				return lastSeqBodies(h)
			})
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		if snap := snapshot(1); snap.Position != 0 || len(snap.Bodies) != 0 || len(snap.Stale) != 0 {
			t.Fatalf("an empty store's snapshot: %+v", snap)
		}
		if n := record(1); n != 0 || derived != nil {
			t.Fatalf("recording an empty history: %d recorded, %v derived", n, derived)
		}

		a, _, err := s.EnsureTriage(ctx, "GO-2026-0001", "golang.org/x/net", []Event{{Kind: KindObserved, Author: "vexloom", Branches: []string{"main"}}})
		if err != nil {
			t.Fatal(err)
		}
		b, _, err := s.EnsureTriage(ctx, "GO-2026-0002", "golang.org/x/net", []Event{{Kind: KindObserved, Author: "vexloom"}, {Kind: KindAssessment, Author: "vexloom", Source: "automatic"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.EnsureTriage(ctx, "GO-2026-0003", "golang.org/x/net", nil); err != nil {
			t.Fatal(err)
		}
		if snap := snapshot(1); snap.Position != 0 || len(snap.Stale) != 2 || len(snap.Stale[b.ID]) != 2 {
			t.Fatalf("nothing recorded yet: %+v, want every history stale", snap)
		}
		if n := record(1); n != 2 || !slices.Equal(derived, sorted(a.ID, b.ID)) {
			t.Fatalf("first record: %d recorded, %v derived; want %s and %s", n, derived, a.ID, b.ID)
		}
		snap := snapshot(1)
		if snap.Position != 3 || len(snap.Stale) != 0 || string(snap.Bodies[a.ID]) != a.ID+"@1" || string(snap.Bodies[b.ID]) != b.ID+"@3" || len(snap.Bodies) != 2 {
			t.Fatalf("after the first record: position %d, stale %v, bodies %q", snap.Position, snap.Stale, snap.Bodies)
		}
		if other := snapshot(2); other.Position != 0 || len(other.Bodies) != 0 || len(other.Stale) != 2 {
			t.Fatalf("another format: %+v, want nothing recorded", other)
		}
		if n := record(1); n != 0 || derived != nil {
			t.Fatalf("recording an unmoved history: %d recorded, %v derived", n, derived)
		}

		// One history moves: it alone is stale, whole, and derived again.
		if _, err := s.Append(ctx, Event{TriageID: a.ID, Kind: KindGone, Author: "vexloom"}); err != nil {
			t.Fatal(err)
		}
		snap = snapshot(1)
		if snap.Position != 3 || len(snap.Stale) != 1 || len(snap.Stale[a.ID]) != 2 || string(snap.Bodies[a.ID]) != a.ID+"@1" {
			t.Fatalf("after an event: position %d, stale %v, bodies %q", snap.Position, snap.Stale, snap.Bodies)
		}
		// A failed derivation records nothing.
		boom := errors.New("boom")
		if _, err := s.RecordViews(ctx, 1, func(map[string][]Event) (map[string][]byte, error) { return nil, boom }); !errors.Is(err, boom) {
			t.Fatalf("a failed derivation: %v", err)
		}
		if _, err := s.RecordViews(ctx, 1, func(map[string][]Event) (map[string][]byte, error) { return map[string][]byte{}, nil }); err == nil {
			t.Fatal("a derivation missing a triage was recorded")
		}
		if again := snapshot(1); again.Position != 3 || len(again.Stale) != 1 {
			t.Fatalf("after failed records: position %d, stale %v", again.Position, again.Stale)
		}
		if n := record(1); n != 1 || !slices.Equal(derived, []string{a.ID}) {
			t.Fatalf("record after one history moved: %d recorded, %v derived", n, derived)
		}
		if snap := snapshot(1); snap.Position != 4 || len(snap.Stale) != 0 || string(snap.Bodies[a.ID]) != a.ID+"@4" || string(snap.Bodies[b.ID]) != b.ID+"@3" {
			t.Fatalf("after the second record: position %d, stale %v, bodies %q", snap.Position, snap.Stale, snap.Bodies)
		}

		// Runners appending and recording at once.
		var wg sync.WaitGroup
		for i := range 3 {
			st := mustReopen(t, reopen)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range 8 {
					id := []string{a.ID, b.ID}[(i+j)%2]
					if j%3 == 0 {
						tr, _, err := st.EnsureTriage(ctx, fmt.Sprintf("GO-2026-1%d%02d", i, j), "golang.org/x/net", []Event{{Kind: KindObserved, Author: "vexloom"}})
						if err != nil {
							t.Error(err)
							return
						}
						id = tr.ID
					}
					if _, err := st.Append(ctx, Event{TriageID: id, Kind: KindComment, Author: fmt.Sprint("runner", i)}); err != nil {
						t.Error(err)
						return
					}
					if _, err := st.RecordViews(ctx, 1, lastSeqBodies); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		record(1)
		snap = snapshot(1)
		all, err := s.AllEvents(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(snap.Stale) != 0 || len(snap.Bodies) != len(all) {
			t.Fatalf("after the runners: %d stale, %d bodies, %d triages with events", len(snap.Stale), len(snap.Bodies), len(all))
		}
		for id, h := range all {
			if want := fmt.Sprintf("%s@%d", id, h[len(h)-1].Seq); string(snap.Bodies[id]) != want {
				t.Errorf("%s: kept %q, want %q", id, snap.Bodies[id], want)
			}
		}
	})
}

func sorted(xs ...string) []string {
	slices.Sort(xs)
	return xs
}

// FindingCounts counts, in one query, the findings of each branch's latest
// complete scan as FindingCount does one by one.
func TestContractFindingCounts(t *testing.T) {
	t.Parallel()
	contract(t, func(t *testing.T, s *Store, _ func(t *testing.T) (*Store, error)) {
		ctx := context.Background()
		finding := func(id string) Finding {
			return Finding{Module: "example.com/app", Finding: scan.Finding{ID: id, Module: "golang.org/x/net", Version: "v0.1.0", Level: scan.LevelModule}}
		}
		for i, sc := range []struct {
			branch string
			n      int
			broken bool
		}{{"main", 2, false}, {"main", 3, false}, {"release-1.0", 1, false}, {"release-1.0", 4, true}, {"release-1.1", 0, false}} {
			mods := []ScannedModule{{Path: "example.com/app", Dir: "."}}
			if sc.broken {
				mods[0].Error = "broken"
			}
			var fs []Finding
			for j := range sc.n {
				fs = append(fs, finding(fmt.Sprintf("GO-2026-%d%d", i, j)))
			}
			if err := s.RecordScan(ctx, &Scan{Branch: sc.branch, Commit: fmt.Sprint("c", i), At: contractNow(), Modules: mods}, fs, nil); err != nil {
				t.Fatal(err)
			}
		}
		counts, err := s.FindingCounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		latest, err := s.LatestScans(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int{"main": 3, "release-1.0": 1, "release-1.1": 0}
		for b, sc := range latest {
			n, err := s.FindingCount(ctx, sc.ID)
			if err != nil || counts[sc.ID] != n || n != want[b] {
				t.Errorf("%s: %d findings counted at once, %d one by one (%v), want %d", b, counts[sc.ID], n, err, want[b])
			}
		}
		if len(latest) != 3 || len(counts) != 2 {
			t.Errorf("%d latest scans, %d counted; want 3 and the 2 with findings", len(latest), len(counts))
		}
	})
}

// A scan recorded pending is not its branch's latest, nor the base a
// failure heals from, until its findings are marked observed; a runner
// stopped in between leaves the branch at its previous scan.
func TestContractPendingScans(t *testing.T) {
	t.Parallel()
	contract(t, func(t *testing.T, s *Store, reopen func(t *testing.T) (*Store, error)) {
		ctx := context.Background()
		mods := []ScannedModule{{Path: "example.com/app", Dir: "."}}
		first := &Scan{Branch: "main", Commit: "c1", At: contractNow(), Modules: mods}
		if err := s.RecordScan(ctx, first, nil, nil); err != nil {
			t.Fatal(err)
		}
		f := Finding{Module: "example.com/app", Finding: scan.Finding{ID: "GO-2026-1", Module: "golang.org/x/net", Version: "v0.1.0", Level: scan.LevelModule}}
		pending := &Scan{Branch: "main", Commit: "c2", At: contractNow(), Modules: mods, Pending: true}
		if err := s.RecordScan(ctx, pending, []Finding{f}, nil); err != nil {
			t.Fatal(err)
		}
		before, err := s.Revision(ctx)
		if err != nil {
			t.Fatal(err)
		}
		s = mustReopen(t, reopen)
		if p, err := s.PendingBranches(ctx); err != nil || len(p) != 1 || p["main"] == nil || p["main"].ID != pending.ID || p["main"].Commit != "c2" || !p["main"].Pending {
			t.Errorf("pending branches %v %v, want main's scan %d of c2", p, err, pending.ID)
		}
		latest, err := s.LatestScans(ctx)
		if err != nil || latest["main"] == nil || latest["main"].ID != first.ID {
			t.Fatalf("a pending scan counts as the latest: %+v %v", latest["main"], err)
		}
		if counts, err := s.FindingCounts(ctx); err != nil || counts[pending.ID] != 0 {
			t.Errorf("a pending scan's findings are counted: %v %v", counts, err)
		}
		fail := &ScanFailure{Branch: "main", Commit: "c3", At: contractNow(), Reason: "broken", Modules: mods}
		if err := s.RecordScanFailure(ctx, fail); err != nil || fail.AfterScan != first.ID {
			t.Errorf("a failure follows scan %d, want %d (%v)", fail.AfterScan, first.ID, err)
		}
		for range 2 {
			if err := s.MarkObserved(ctx, pending.ID, contractNow()); err != nil {
				t.Fatal(err)
			}
		}
		if after, err := s.Revision(ctx); err != nil || after == before {
			t.Errorf("marking a scan observed leaves the revision at %s (%v)", after, err)
		}
		latest, err = s.LatestScans(ctx)
		if err != nil || latest["main"] == nil || latest["main"].ID != pending.ID {
			t.Fatalf("an observed scan is not the latest: %+v %v", latest["main"], err)
		}
		if failing, err := s.FailingBranches(ctx); err != nil || failing["main"] != nil {
			t.Errorf("the observed scan does not heal the branch: %+v %v", failing["main"], err)
		}
		if p, err := s.PendingBranches(ctx); err != nil || len(p) != 0 {
			t.Errorf("pending branches %v %v once observed, want none", p, err)
		}
		// A pending scan older than the latest observed one is not
		// pending: a later run observed the branch.
		older := &Scan{Branch: "main", Commit: "c4", At: contractNow(), Modules: mods, Pending: true}
		newer := &Scan{Branch: "main", Commit: "c5", At: contractNow(), Modules: mods}
		for _, sc := range []*Scan{older, newer} {
			if err := s.RecordScan(ctx, sc, nil, nil); err != nil {
				t.Fatal(err)
			}
		}
		if p, err := s.PendingBranches(ctx); err != nil || len(p) != 0 {
			t.Errorf("pending branches %v %v after a newer observed scan, want none", p, err)
		}
		// Runners mark their scans in any order: a scan marked after a
		// newer one (of another branch) changes the revision all the same.
		first2 := &Scan{Branch: "release-1.0", Commit: "r1", At: contractNow(), Modules: mods, Pending: true}
		second2 := &Scan{Branch: "release-1.1", Commit: "r2", At: contractNow(), Modules: mods, Pending: true}
		for _, sc := range []*Scan{first2, second2} {
			if err := s.RecordScan(ctx, sc, nil, nil); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.MarkObserved(ctx, second2.ID, contractNow()); err != nil {
			t.Fatal(err)
		}
		rev, err := s.Revision(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.MarkObserved(ctx, first2.ID, contractNow()); err != nil {
			t.Fatal(err)
		}
		if after, err := s.Revision(ctx); err != nil || after == rev {
			t.Errorf("marking an older scan observed after a newer one leaves the revision at %s (%v)", after, err)
		}
	})
}

// A store written before scans were marked observed keeps every scan it
// has: migrating it marks them all.
func TestContractObservedBackfill(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			saved := migrations
			migrations = migrations[:7]
			restore := func() { migrations = saved }
			defer restore() // b.open may skip the test
			s, reopen := b.open(t)
			restore()
			if _, err := s.db.ExecContext(ctx, `INSERT INTO scans (branch, commit_hash, commit_time, tool, engine, db_source, db_version, db_digest, at, modules) VALUES ('main','c1','','','','','','','2026-11-20T12:00:00Z','[]')`); err != nil {
				t.Fatal(err)
			}
			s.Close()
			s = mustReopen(t, reopen)
			if v, err := s.SchemaVersion(ctx); err != nil || v != len(migrations) {
				t.Fatalf("schema version %d, %v", v, err)
			}
			latest, err := s.LatestScans(ctx)
			if err != nil || latest["main"] == nil || latest["main"].Commit != "c1" {
				t.Errorf("a scan recorded before migration 8 is lost as the latest: %+v %v", latest, err)
			}
		})
	}
}
