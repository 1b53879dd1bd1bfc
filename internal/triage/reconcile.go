package triage

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/vexloom/vexloom/internal/assess"
	"github.com/vexloom/vexloom/internal/scan"
	"github.com/vexloom/vexloom/internal/store"
)

// Transition is a recorded change of a triage's state.
type Transition struct {
	TriageID string
	From, To State
	Reason   string
}

// Views derives every triage's view.
func Views(ctx context.Context, st *store.Store, maintained []string) ([]View, error) {
	triages, err := st.Triages(ctx)
	if err != nil {
		return nil, err
	}
	all, err := st.AllEvents(ctx)
	if err != nil {
		return nil, err
	}
	return viewsOf(ctx, st, triages, func(t store.Triage, commits map[string]string) (View, error) {
		return Derive(t, all[t.ID], maintained, commits), nil
	})
}

// viewsOf makes the view of each of triages with one, given the branches'
// latest commits, and names each view's vulnerability as the store last
// recorded it (its ID alone when it recorded nothing).
func viewsOf(ctx context.Context, st *store.Store, triages []store.Triage, one func(t store.Triage, commits map[string]string) (View, error)) ([]View, error) {
	commits, err := latestCommits(ctx, st)
	if err != nil {
		return nil, err
	}
	vulns, err := st.LatestVulnerabilities(ctx)
	if err != nil {
		return nil, err
	}
	views := make([]View, 0, len(triages))
	for _, t := range triages {
		v, err := one(t, commits)
		if err != nil {
			return nil, err
		}
		if vv, ok := vulns[t.VulnID]; ok {
			v.Vulnerability = vv
		} else {
			v.Vulnerability = scan.Vulnerability{ID: t.VulnID}
		}
		views = append(views, v)
	}
	return views, nil
}

// View derives one triage's view.
func ViewOf(ctx context.Context, st *store.Store, t store.Triage, maintained []string) (View, error) {
	evs, err := st.Events(ctx, t.ID)
	if err != nil {
		return View{}, err
	}
	commits, err := latestCommits(ctx, st)
	if err != nil {
		return View{}, err
	}
	v := Derive(t, evs, maintained, commits)
	if vv, err := st.Vulnerability(ctx, t.VulnID); err == nil {
		v.Vulnerability = vv
	} else {
		v.Vulnerability = scan.Vulnerability{ID: t.VulnID}
	}
	return v, nil
}

func latestCommits(ctx context.Context, st *store.Store) (map[string]string, error) {
	scans, err := st.LatestScans(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for b, sc := range scans {
		out[b] = sc.Commit
	}
	return out, nil
}

// Reconcile records a state event for every triage whose derived state
// differs from the last recorded one. Each check and write is one
// transaction, so concurrent runs record each transition once.
func Reconcile(ctx context.Context, st *store.Store, maintained []string, only ...string) ([]Transition, error) {
	triages, err := st.Triages(ctx)
	if err != nil {
		return nil, err
	}
	commits, err := latestCommits(ctx, st)
	if err != nil {
		return nil, err
	}
	// A first pass over one read of the history finds the triages whose
	// state changed; only those are checked again and written, each in its
	// own transaction. A triage another run changes after this read is
	// reconciled by that run.
	snapshot, err := st.AllEvents(ctx)
	if err != nil {
		return nil, err
	}
	var out []Transition
	for _, t := range triages {
		if len(only) > 0 && !slices.Contains(only, t.ID) {
			continue
		}
		if h := snapshot[t.ID]; !slices.ContainsFunc(h, func(ev store.Event) bool { return ev.Kind == store.KindObserved }) ||
			RecordedState(h) == Derive(t, h, maintained, commits).State {
			continue
		}
		var tr *Transition
		_, err := st.AppendIf(ctx, t.ID, func(history []store.Event) ([]store.Event, error) {
			tr = nil
			if !slices.ContainsFunc(history, func(ev store.Event) bool { return ev.Kind == store.KindObserved }) {
				// Never found by a scan (the project's own advisory, a
				// bridged issue): there is no lifecycle to record yet.
				return nil, nil
			}
			v := Derive(t, history, maintained, commits)
			prev := RecordedState(history)
			if prev == v.State {
				return nil, nil
			}
			reason := transitionReason(prev, v, history)
			tr = &Transition{TriageID: t.ID, From: prev, To: v.State, Reason: reason}
			data, _ := json.Marshal(stateChange{From: prev, To: v.State, Reason: reason})
			return []store.Event{{Kind: store.KindState, Author: assess.AutomaticAuthor, Source: string(assess.SourceAutomatic), Data: data}}, nil
		})
		if err != nil {
			return nil, err
		}
		if tr != nil {
			out = append(out, *tr)
		}
	}
	return out, nil
}

// transitionReason says in a sentence why a triage moved to v.State.
func transitionReason(prev State, v View, history []store.Event) string {
	switch v.State {
	case Closed:
		if len(v.LastSeen) == 0 {
			return "not found on any maintained branch"
		}
		return "no longer found on any maintained branch (last found on " + strings.Join(v.LastSeen, ", ") + ")"
	case Open:
		var parts []string
		for _, b := range v.Branches {
			switch {
			case b.Flagged:
				parts = append(parts, fmt.Sprintf("on %s the finding rose to %s (%s) after a maintainer's decision: it needs re-assessment", b.Branch, b.Level, b.Level.Describe()))
			case b.NeedsPerson() && b.Level == scan.LevelSymbol:
				parts = append(parts, fmt.Sprintf("reached on %s (%s)", b.Branch, strings.Join(symbols(b), ", ")))
			case b.NeedsPerson():
				parts = append(parts, fmt.Sprintf("on %s it waits for an assessment", b.Branch))
			}
		}
		r := strings.Join(parts, "; ")
		if prev == Closed {
			return "found again: " + r
		}
		return r
	case Assessed:
		return "every branch has a decision: " + decisionsSummary(v)
	case Published:
		return "every decision in force is in its branch's VEX document"
	}
	return ""
}

func symbols(b BranchState) []string {
	var out []string
	for _, o := range b.Observations {
		for _, s := range o.Symbols {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	if len(out) == 0 {
		out = append(out, "vulnerable code")
	}
	return out
}

func decisionsSummary(v View) string {
	var parts []string
	for _, b := range v.Branches {
		if b.Decision == nil {
			continue
		}
		who := b.Decision.Author
		parts = append(parts, fmt.Sprintf("%s %s by %s", b.Branch, b.Decision.Status, who))
	}
	return strings.Join(parts, ", ")
}
