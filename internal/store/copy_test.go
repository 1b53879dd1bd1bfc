package store

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/vexloom/vexloom/internal/store/pgtest"
)

// A history copied from SQLite to PostgreSQL and back is the same history:
// every row in order with its sequence numbers, the same digest; the copy
// goes on numbering after the copied events; a non-empty destination is
// refused.
func TestCopyRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bs := backends()
	sqliteA, _ := bs[0].open(t)
	pg, _ := bs[1].open(t)
	sqliteB, _ := bs[0].open(t)

	fill(t, sqliteA)
	tr, _, err := sqliteA.EnsureTriage(ctx, "GO-2026-0009", "example.com/dep", []Event{{Kind: KindObserved, Author: "vexloom", Branches: []string{"release-1.0"}, Evidence: []byte(`{"level":"symbol"}`)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sqliteA.Append(ctx, Event{TriageID: tr.ID, Kind: KindComment, Author: "mallory\x1b[31m", Notes: "ünïcode\n"}); err != nil {
		t.Fatal(err)
	}
	want, err := sqliteA.Digest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want.Events() != 4 {
		t.Fatalf("%d events in the source", want.Events())
	}

	got, err := Copy(ctx, sqliteA, pg)
	if err != nil {
		t.Fatalf("sqlite → postgres: %v", err)
	}
	if d, _ := pg.Digest(ctx); !d.Equal(want) || !got.Equal(want) {
		t.Fatalf("postgres digest %+v, want %+v", d, want)
	}
	if _, err := Copy(ctx, sqliteB, pg); !errors.Is(err, ErrNotEmpty) {
		t.Errorf("copying into a store with history: %v", err)
	}
	if _, err := Copy(ctx, pg, sqliteB); err != nil {
		t.Fatalf("postgres → sqlite: %v", err)
	}
	if d, _ := sqliteB.Digest(ctx); !d.Equal(want) {
		t.Fatalf("round-trip digest %+v, want %+v", d, want)
	}
	srcEvents, _ := sqliteA.AllEvents(ctx)
	for _, s := range []*Store{pg, sqliteB} {
		evs, err := s.AllEvents(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for id, h := range srcEvents {
			if len(evs[id]) != len(h) {
				t.Fatalf("%s: %d events, want %d", id, len(evs[id]), len(h))
			}
			for i := range h {
				if evs[id][i].Seq != h[i].Seq || evs[id][i].Author != h[i].Author || string(evs[id][i].Evidence) != string(h[i].Evidence) {
					t.Errorf("%s event %d: %+v, want %+v", id, i, evs[id][i], h[i])
				}
			}
		}
		// New events are numbered after the copied ones.
		out, err := s.Append(ctx, Event{TriageID: tr.ID, Kind: KindComment, Author: "x"})
		if err != nil {
			t.Fatal(err)
		}
		if last := srcEvents[tr.ID][len(srcEvents[tr.ID])-1].Seq; out[0].Seq <= last {
			t.Errorf("new event numbered %d after copied %d", out[0].Seq, last)
		}
		// The digest sees the new event.
		if d, _ := s.Digest(ctx); d.Equal(want) {
			t.Error("the digest did not change with the history")
		}
	}
}

// Projects in one PostgreSQL database are isolated: each sees only its own
// history, and the database lists them all.
func TestPostgresProjectsIsolated(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := pgtest.Database(t)
	open := func(project string) *Store {
		s, err := OpenPostgres(ctx, u, Options{Project: project, Now: contractNow})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	a, b := open("k8s.io/kubernetes"), open(`example.com/"quoted"; DROP SCHEMA public`)
	if _, _, err := a.EnsureTriage(ctx, "GO-2026-0001", "golang.org/x/net", []Event{{Kind: KindObserved, Author: "vexloom"}}); err != nil {
		t.Fatal(err)
	}
	if trs, err := b.Triages(ctx); err != nil || len(trs) != 0 {
		t.Errorf("another project sees %d triages, %v", len(trs), err)
	}
	if _, _, err := b.EnsureTriage(ctx, "GO-2026-0001", "golang.org/x/net", nil); err != nil {
		t.Fatal(err)
	}
	if n, _ := a.EventCount(ctx); n != 1 {
		t.Errorf("project a has %d events", n)
	}
	// The same advisory lock names do not collide across projects.
	la, _ := a.TryLease(ctx, "round")
	lb, _ := b.TryLease(ctx, "round")
	if la == nil || lb == nil {
		t.Error("one project's lease blocks another's")
	}
	la.Release()
	lb.Release()
	ps, err := Projects(ctx, u)
	if err != nil || len(ps) != 2 || ps[0].Module != `example.com/"quoted"; DROP SCHEMA public` || ps[1].Module != "k8s.io/kubernetes" {
		t.Fatalf("projects %+v %v", ps, err)
	}
	if _, err := OpenPostgres(ctx, u, Options{Project: "example.com/none", MustExist: true}); !errors.Is(err, ErrNoStore) {
		t.Errorf("a project without a store: %v", err)
	}
}

// Runners opening a project's store for the first time at the same moment
// all get it, migrated once; a schema that holds other tables is refused
// and left as it was.
func TestPostgresFirstOpenConcurrentAndForeignSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := pgtest.Database(t)
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			s, err := OpenPostgres(ctx, u, Options{Project: "example.com/race"})
			if err == nil {
				s.Close()
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Errorf("a concurrent first open: %v", err)
		}
	}
	s, err := OpenPostgres(ctx, u, Options{Project: "example.com/race"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(migrations) {
		t.Errorf("%d migrations recorded, %v", n, err)
	}
	schema, _ := SchemaName("example.com/foreign")
	if _, err := s.db.DB.ExecContext(ctx, `CREATE SCHEMA `+schema+`; CREATE TABLE `+schema+`.accounts (id int)`); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenPostgres(ctx, u, Options{Project: "example.com/foreign"}); err == nil || !strings.Contains(err.Error(), "not a vexloom store") {
		t.Errorf("a foreign schema: %v", err)
	}
	var tables int
	s.db.DB.QueryRowContext(ctx, `SELECT count(*) FROM information_schema.tables WHERE table_schema = $1`, schema).Scan(&tables)
	if tables != 1 {
		t.Errorf("the foreign schema now holds %d tables", tables)
	}
}
