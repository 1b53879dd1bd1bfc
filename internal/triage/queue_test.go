package triage

import (
	"slices"
	"testing"
	"time"

	"github.com/vexloom/vexloom/internal/scan"
	"github.com/vexloom/vexloom/internal/store"
)

// The queue holds what needs a person, the one waiting longest first.
func TestQueueOldestFirst(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	view := func(id string, seen time.Time, decided bool) View {
		b := BranchState{Branch: "main", Level: scan.LevelSymbol, FirstObserved: seen}
		if decided {
			b.Decision = &store.Event{Seq: 2, Status: "not_affected", Source: "maintainer"}
		}
		v := View{Triage: store.Triage{ID: id}, Branches: []BranchState{b}, State: stateOf([]BranchState{b})}
		v.Events = []store.Event{{Seq: 1, Kind: store.KindObserved, At: seen, Branches: []string{"main"}}}
		return v
	}
	views := []View{
		view("vx-a", t0.Add(48*time.Hour), false),
		view("vx-b", t0, false),
		view("vx-c", t0, true),
		view("vx-d", t0.Add(24*time.Hour), false),
		view("vx-0", t0.Add(24*time.Hour), false),
	}
	var got []string
	for _, v := range Queue(views) {
		got = append(got, v.ID)
	}
	if want := []string{"vx-b", "vx-0", "vx-d", "vx-a"}; !slices.Equal(got, want) {
		t.Errorf("queue %v, want %v", got, want)
	}
	if since, ok := views[0].Waiting(); !ok || !since.Equal(t0.Add(48*time.Hour)) {
		t.Errorf("waiting since %v %v", since, ok)
	}
	if _, ok := views[2].Waiting(); ok {
		t.Error("a decided triage waits")
	}
}
