package triage

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/vexloom/vexloom/internal/store"
)

// EventSummary says in one line what an event records: its kind, an
// assessment's status and justification, the branches it names, what it
// retracts, a state change (from → to, and why) or a publication (which
// decision, in which VEX version). The text the event carries is EventNote.
// Outside text (branches, reasons) is as it was written: callers escape it
// for where they print it.
func EventSummary(ev store.Event) string {
	var b strings.Builder
	b.WriteString(string(ev.Kind))
	if ev.Status != "" {
		fmt.Fprintf(&b, " %s", ev.Status)
	}
	if ev.Justification != "" {
		fmt.Fprintf(&b, ":%s", ev.Justification)
	}
	if len(ev.Branches) > 0 {
		fmt.Fprintf(&b, " [%s]", strings.Join(ev.Branches, ","))
	}
	if ev.Retracts != 0 {
		fmt.Fprintf(&b, " retracts #%d", ev.Retracts)
	}
	switch ev.Kind {
	case store.KindState:
		var sc stateChange
		if json.Unmarshal(ev.Data, &sc) == nil {
			from := sc.From
			if from == "" {
				from = "new"
			}
			fmt.Fprintf(&b, " %s → %s (%s)", from, sc.To, sc.Reason)
		}
	case store.KindPublished:
		var pb publication
		if json.Unmarshal(ev.Data, &pb) == nil {
			fmt.Fprintf(&b, " #%d in VEX v%d", pb.Decision, pb.Version)
		}
	}
	return b.String()
}

// EventNote is the text an event carries: its notes, else the impact
// statement, else the action ("" when none).
func EventNote(ev store.Event) string {
	switch {
	case ev.Notes != "":
		return ev.Notes
	case ev.Impact != "":
		return ev.Impact
	}
	return ev.Action
}
