package store

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/vexloom/vexloom/internal/store/pgtest"
)

// Read in parts, the history is AllEvents', on both backends.
func TestContractAllEventsParallel(t *testing.T) {
	old := parallelHistory
	parallelHistory = 1
	t.Cleanup(func() { parallelHistory = old })
	contract(t, func(t *testing.T, s *Store, _ func(t *testing.T) (*Store, error)) {
		ctx := context.Background()
		fill(t, s)
		for i := range 40 {
			tr, _, err := s.EnsureTriage(ctx, fmt.Sprintf("GO-2025-%04d", i%7), "example.com/dep", []Event{{Kind: KindObserved, Author: "vexloom", Branches: []string{"main"}, Data: []byte(`{"branch":"main"}`)}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Append(ctx, Event{TriageID: tr.ID, Kind: KindAssessment, Author: "alice", Status: "not_affected", Notes: fmt.Sprint(i)}); err != nil {
				t.Fatal(err)
			}
		}
		want, err := s.AllEvents(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.AllEventsParallel(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(want) < 2 || !reflect.DeepEqual(got, want) {
			t.Errorf("read in parts:\n%v\nwant\n%v", got, want)
		}
	})
}

// The README's way of shortening how long a vanished machine's leases are
// held: the server's keepalive settings in the store's URL apply to
// vexloom's sessions.
func TestPostgresKeepaliveFromURL(t *testing.T) {
	u := pgtest.Database(t)
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	s, err := OpenPostgres(context.Background(), u+sep+"tcp_keepalives_idle=60&tcp_keepalives_interval=10&tcp_keepalives_count=3", Options{Project: "example.com/app", Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var idle, interval, count string
	if err := s.db.QueryRowContext(context.Background(), `SELECT current_setting('tcp_keepalives_idle'), current_setting('tcp_keepalives_interval'), current_setting('tcp_keepalives_count')`).Scan(&idle, &interval, &count); err != nil {
		t.Fatal(err)
	}
	if idle != "60" || interval != "10" || count != "3" {
		t.Errorf("keepalive idle %s, interval %s, count %s; want 60, 10, 3 (seconds)", idle, interval, count)
	}
}
