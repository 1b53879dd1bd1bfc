package store

import (
	"context"
	"fmt"
	"reflect"
	"testing"
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
