package osv

import (
	"fmt"
	"slices"

	"golang.org/x/mod/semver"
)

// EventKind is what an event of a range says happens at its version.
type EventKind int

const (
	// Introduced opens the range ("introduced").
	Introduced EventKind = iota
	// Fixed closes the range at its version ("fixed").
	Fixed
	// LastAffected closes the range after its version ("last_affected").
	LastAffected
)

// Point is one event of a compiled range.
type Point struct {
	// At is the version in canonical semver form ("v1.29.4"); "" is the
	// beginning of time (an introduced "0").
	At   string
	Kind EventKind
}

// Compiled is one affected range ready to be evaluated: its introduced,
// fixed and last_affected events (limit events only bound a search for
// commits and are left out) with canonical versions, in version order.
type Compiled struct {
	Points []Point
}

// Compile reads the events of a range, each version made canonical by
// canonical (which reports false for a version it cannot read). The error
// names the event: "events[2]: …".
func Compile(events []Event, canonical func(string) (string, bool)) (Compiled, error) {
	var c Compiled
	for j, e := range events {
		var p Point
		var raw string
		switch {
		case e.Introduced != "":
			p.Kind, raw = Introduced, e.Introduced
		case e.Fixed != "":
			p.Kind, raw = Fixed, e.Fixed
		case e.LastAffected != "":
			p.Kind, raw = LastAffected, e.LastAffected
		default:
			continue
		}
		if raw == "0" && p.Kind == Introduced {
			c.Points = append(c.Points, p)
			continue
		}
		v, ok := canonical(raw)
		if !ok {
			return Compiled{}, fmt.Errorf("events[%d]: %q is not a semantic version", j, truncate(raw))
		}
		p.At = v
		c.Points = append(c.Points, p)
	}
	slices.SortStableFunc(c.Points, func(a, b Point) int {
		switch {
		case a.At == b.At:
			return 0
		case a.At == "":
			return -1
		case b.At == "":
			return 1
		}
		return semver.Compare(a.At, b.At)
	})
	return c, nil
}

// Affects reports whether v (canonical) is in the range, by OSV's rule:
// walk the events in version order; an introduction at or below v opens
// the range, a fix at or below v or a last_affected below v closes it.
func (r Compiled) Affects(v string) bool {
	in := false
	for _, p := range r.Points {
		c := -1
		if p.At != "" {
			c = semver.Compare(p.At, v)
		}
		switch p.Kind {
		case Introduced:
			if c <= 0 {
				in = true
			}
		case Fixed:
			if c <= 0 {
				in = false
			}
		case LastAffected:
			if c < 0 {
				in = false
			}
		}
	}
	return in
}

// Open reports whether the range ends open: its last event is an
// introduction (every later version is affected).
func (r Compiled) Open() bool {
	return len(r.Points) > 0 && r.Points[len(r.Points)-1].Kind == Introduced
}

// canonicalGo is CanonicalGo as a Compile reader: Go's database is read as
// it is, never refused.
func canonicalGo(v string) (string, bool) { return CanonicalGo(v), true }

// FixedAfter returns the lowest "fixed" event of ranges above version (both
// read as Go versions, CanonicalGo), as written; when version is not a
// semantic version, the first "fixed" event; "" when there is no fix.
func FixedAfter(ranges []Range, version string) string {
	var fixes []string
	for _, r := range ranges {
		for _, ev := range r.Events {
			if ev.Fixed != "" {
				fixes = append(fixes, ev.Fixed)
			}
		}
	}
	if len(fixes) == 0 {
		return ""
	}
	v := CanonicalGo(version)
	if !semver.IsValid(v) {
		return fixes[0]
	}
	best := ""
	for _, fx := range fixes {
		c := CanonicalGo(fx)
		if !semver.IsValid(c) || semver.Compare(c, v) <= 0 {
			continue
		}
		if best == "" || semver.Compare(c, CanonicalGo(best)) < 0 {
			best = fx
		}
	}
	return best
}
