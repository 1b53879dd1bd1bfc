package store

import (
	"context"
	"testing"
	"time"
)

// History gives one triage's events with the comments they came from, or
// every triage's in the order recorded, from a time on.
func TestHistory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := open(t, t.TempDir())
	a, _, _ := s.EnsureTriage(ctx, "GO-1", "m", nil)
	b, _, _ := s.EnsureTriage(ctx, "GO-2", "m", nil)
	day := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	if _, err := s.Append(ctx,
		Event{TriageID: a.ID, Kind: KindObserved, At: day},
		Event{TriageID: b.ID, Kind: KindObserved, At: day.Add(time.Hour)},
	); err != nil {
		t.Fatal(err)
	}
	c := Comment{Ref: "local:1", TriageID: a.ID, Author: "alice", Body: "/fixed", Outcome: "applied"}
	if _, err := s.RecordComment(ctx, c, []Event{{Kind: KindAssessment, Status: "fixed", Author: "alice", At: day.Add(2 * time.Hour)}}); err != nil {
		t.Fatal(err)
	}

	all, comments, err := s.History(ctx, "", time.Time{})
	if err != nil || len(all) != 3 || len(comments) != 0 {
		t.Fatalf("every history: %v, %d events, %d comments", err, len(all), len(comments))
	}
	for i := 1; i < len(all); i++ {
		if all[i].Seq <= all[i-1].Seq {
			t.Errorf("events out of order: %d after %d", all[i].Seq, all[i-1].Seq)
		}
	}
	later, _, err := s.History(ctx, "", day.Add(time.Hour))
	if err != nil || len(later) != 2 || later[0].TriageID != b.ID {
		t.Fatalf("since an hour later: %v, %+v", err, later)
	}
	one, comments, err := s.History(ctx, a.ID, time.Time{})
	if err != nil || len(one) != 2 {
		t.Fatalf("one triage: %v, %+v", err, one)
	}
	if got := comments[one[1].CommentRef]; got.Body != "/fixed" || got.Author != "alice" {
		t.Errorf("the assessment's comment: %+v", got)
	}
	if none, _, err := s.History(ctx, "vx-none", time.Time{}); err != nil || len(none) != 0 {
		t.Errorf("an unknown triage: %v, %+v", err, none)
	}
}
