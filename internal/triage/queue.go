package triage

import (
	"slices"
	"strings"
	"time"
)

// WaitingSince is when a triage started needing a person on a branch: its
// first observation there, or the decision that stopped holding.
func WaitingSince(v View, b BranchState) time.Time {
	since := v.Since
	if fo := b.FirstObserved; !fo.IsZero() && (since.IsZero() || fo.Before(since)) {
		since = fo
	}
	if b.Flagged && b.Decision != nil && b.Decision.At.After(since) {
		since = b.Decision.At
	}
	return since
}

// Waiting reports since when a triage has needed a person: the earliest
// over the branches that need one; false when none does.
func (v *View) Waiting() (time.Time, bool) {
	var since time.Time
	found := false
	for _, b := range v.Branches {
		if !b.NeedsPerson() {
			continue
		}
		s := WaitingSince(*v, b)
		if !found || s.Before(since) {
			since, found = s, true
		}
	}
	return since, found
}

// Queue returns the triages that need a person, the one waiting longest
// first (ties by ID): what `vexloom triage list` and the dashboard show by
// default.
func Queue(views []View) []View {
	type item struct {
		v     View
		since time.Time
	}
	var items []item
	for _, v := range views {
		if v.State != Open {
			continue
		}
		since, ok := v.Waiting()
		if !ok {
			continue
		}
		items = append(items, item{v, since})
	}
	slices.SortStableFunc(items, func(a, b item) int {
		if c := a.since.Compare(b.since); c != 0 {
			return c
		}
		return strings.Compare(a.v.ID, b.v.ID)
	})
	out := make([]View, len(items))
	for i, it := range items {
		out[i] = it.v
	}
	return out
}
