package triage

import (
	"encoding/json"
	"testing"

	"github.com/vexloom/vexloom/internal/store"
)

func TestEventSummary(t *testing.T) {
	data := func(v any) []byte {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, c := range []struct {
		ev         store.Event
		line, note string
	}{
		{store.Event{Kind: store.KindAssessment, Status: "not_affected", Justification: "vulnerable_code_not_in_execute_path", Branches: []string{"main", "release-1.0"}, Impact: "EscapeString only."},
			"assessment not_affected:vulnerable_code_not_in_execute_path [main,release-1.0]", "EscapeString only."},
		{store.Event{Kind: store.KindWithdrawal, Retracts: 7, Branches: []string{"main"}},
			"withdrawal [main] retracts #7", ""},
		{store.Event{Kind: store.KindState, Data: data(stateChange{To: Open, Reason: "a branch needs a person"})},
			"state new → open (a branch needs a person)", ""},
		{store.Event{Kind: store.KindState, Data: data(stateChange{From: Open, To: Assessed, Reason: "decided"})},
			"state open → assessed (decided)", ""},
		{store.Event{Kind: store.KindPublished, Data: data(publication{Branch: "main", Decision: 12, Version: 3})},
			"published #12 in VEX v3", ""},
		// Data that does not decode adds nothing, and loses nothing else.
		{store.Event{Kind: store.KindState, Data: []byte("{"), Notes: "n", Action: "a"}, "state", "n"},
		{store.Event{Kind: store.KindComment, Action: "Upgrade."}, "comment", "Upgrade."},
	} {
		if got := EventSummary(c.ev); got != c.line {
			t.Errorf("EventSummary(%+v) = %q, want %q", c.ev, got, c.line)
		}
		if got := EventNote(c.ev); got != c.note {
			t.Errorf("EventNote(%+v) = %q, want %q", c.ev, got, c.note)
		}
	}
}
