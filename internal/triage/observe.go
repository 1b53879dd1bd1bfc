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

// Observed is what a scan of one branch found, per triage key.
type Observed struct {
	Branch string
	Commit string
	// Findings by (vulnerability, dependency), with the module they are in.
	Findings []ModuleFinding
	// Failed lists the modules that could not be scanned: their earlier
	// observations stand, since nothing is known now.
	Failed []string
	// FailedDirs are the directories of the modules that could not be
	// scanned: a go.mod that does not parse names no module path, and
	// what was observed in its directory stands too.
	FailedDirs []string
	// Evidence for automatic assessments (tool, engine, database).
	Evidence assess.Evidence
}

// ModuleFinding is a finding in a module of the branch.
type ModuleFinding struct {
	Module        string
	ModuleDir     string
	ModuleVersion string
	GoVersion     string
	scan.Finding
}

// ObservedFromTarget turns a scanned target into observations.
func ObservedFromTarget(t *scan.Target, ev assess.Evidence) Observed {
	o := Observed{Branch: t.Branch, Commit: t.Commit, Evidence: ev}
	for _, m := range t.Modules {
		if m.Error != "" {
			if m.Path != "" {
				o.Failed = append(o.Failed, m.Path)
			}
			o.FailedDirs = append(o.FailedDirs, m.Dir)
			continue
		}
		for _, f := range m.Findings {
			o.Findings = append(o.Findings, ModuleFinding{Module: m.Path, ModuleDir: m.Dir, ModuleVersion: m.Version, GoVersion: m.GoVersion.Version, Finding: f})
		}
	}
	return o
}

// Change is something an observation changed in a triage.
type Change struct {
	TriageID string
	Created  bool
	Events   []store.Event
}

// Observe records what a branch's scan found: new triages (each created
// with its first observation and automatic assessment in one transaction),
// observations whose level or versions changed, vulnerabilities gone from
// the branch, and automatic assessments whose conclusion changed. It is
// idempotent: observing the same scan again records nothing.
func Observe(ctx context.Context, st *store.Store, o Observed) ([]Change, error) {
	keys, groups := groupFindings(o.Findings)
	var changes []Change
	seen := map[string]bool{}
	for _, k := range keys {
		fs := groups[k]
		proposed := observationEvents(o, fs)
		t, created, err := st.EnsureTriage(ctx, k.vuln, k.dep, proposed)
		if err != nil {
			return nil, err
		}
		seen[t.ID] = true
		if created {
			changes = append(changes, Change{TriageID: t.ID, Created: true, Events: proposed})
			continue
		}
		evs, err := st.AppendIf(ctx, t.ID, func(history []store.Event) ([]store.Event, error) {
			return newObservationEvents(history, o, fs), nil
		})
		if err != nil {
			return nil, err
		}
		if len(evs) > 0 {
			changes = append(changes, Change{TriageID: t.ID, Events: evs})
		}
	}
	// Triages present on this branch before and absent from this scan. The
	// candidates are picked from one read of the histories that name the
	// branch; each is then re-checked inside its own transaction.
	all, err := st.EventsOnBranch(ctx, o.Branch)
	if err != nil {
		return nil, err
	}
	var candidates []string
	for id, history := range all {
		if seen[id] {
			continue
		}
		if len(goneEvents(history, o)) > 0 {
			candidates = append(candidates, id)
		}
	}
	slices.Sort(candidates)
	for _, id := range candidates {
		t := store.Triage{ID: id}
		evs, err := st.AppendIf(ctx, t.ID, func(history []store.Event) ([]store.Event, error) {
			return goneEvents(history, o), nil
		})
		if err != nil {
			return nil, err
		}
		if len(evs) > 0 {
			changes = append(changes, Change{TriageID: t.ID, Events: evs})
		}
	}
	return changes, nil
}

// triageKey names a triage: a vulnerability in a dependency module.
type triageKey struct{ vuln, dep string }

// groupFindings groups a branch's findings by triage, keys sorted.
func groupFindings(fs []ModuleFinding) ([]triageKey, map[triageKey][]ModuleFinding) {
	groups := map[triageKey][]ModuleFinding{}
	var keys []triageKey
	for _, f := range fs {
		k := triageKey{f.ID, f.Finding.Module}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], f)
	}
	slices.SortFunc(keys, func(a, b triageKey) int {
		if c := strings.Compare(a.vuln, b.vuln); c != 0 {
			return c
		}
		return strings.Compare(a.dep, b.dep)
	})
	return keys, groups
}

func observation(o Observed, f ModuleFinding) Observation {
	return Observation{
		Branch:            o.Branch,
		Commit:            o.Commit,
		Module:            f.Module,
		ModuleDir:         f.ModuleDir,
		ModuleVersion:     f.ModuleVersion,
		DependencyVersion: f.Version,
		FixedVersion:      f.FixedVersion,
		Level:             f.Level,
		GoVersion:         f.GoVersion,
		Symbols:           f.Symbols,
		Packages:          f.Packages,
		Traces:            f.Traces,
	}
}

func observedEvent(obs Observation) store.Event {
	data, _ := json.Marshal(obs)
	return store.Event{Kind: store.KindObserved, Author: assess.AutomaticAuthor, Source: string(assess.SourceAutomatic), Branches: []string{obs.Branch}, Data: data}
}

// automaticEvent is the scanner's assessment of the vulnerability on a
// branch: the one of its strongest finding.
func automaticEvent(o Observed, fs []ModuleFinding) store.Event {
	strongest := fs[0]
	for _, f := range fs[1:] {
		if f.Level > strongest.Level {
			strongest = f
		}
	}
	ev := o.Evidence
	ev.Module = strongest.Module
	ev.Version = strongest.ModuleVersion
	ev.GoVersion = strongest.GoVersion
	ev.Commit = o.Commit
	a := assess.Automatic(strongest.Finding, ev)
	evidence, _ := json.Marshal(a.Evidence)
	return store.Event{
		Kind:          store.KindAssessment,
		Author:        a.Author,
		Source:        string(a.Source),
		Branches:      []string{o.Branch},
		Status:        string(a.Status),
		Justification: string(a.Justification),
		Impact:        a.ImpactStatement,
		Action:        a.ActionStatement,
		Notes:         a.StatusNotes,
		Evidence:      evidence,
	}
}

func observationEvents(o Observed, fs []ModuleFinding) []store.Event {
	var evs []store.Event
	for _, f := range fs {
		evs = append(evs, observedEvent(observation(o, f)))
	}
	return append(evs, automaticEvent(o, fs))
}

// newObservationEvents compares a scan with a triage's history and returns
// what is new: changed observations, modules where it is gone, and a new
// automatic assessment if the scanner's conclusion changed.
func newObservationEvents(history []store.Event, o Observed, fs []ModuleFinding) []store.Event {
	last := lastObservations(history, o.Branch)
	var evs []store.Event
	inScan := map[string]bool{}
	for _, f := range fs {
		obs := observation(o, f)
		inScan[f.Module] = true
		if prev, ok := last[f.Module]; !ok || prev == nil || !prev.sameEvidence(obs) {
			evs = append(evs, observedEvent(obs))
		}
	}
	for _, mod := range sortedKeys(last) {
		if prev := last[mod]; prev != nil && !inScan[mod] && !o.failed(prev) {
			evs = append(evs, goneEvent(o, mod, "no longer found in "+mod))
		}
	}
	auto := automaticEvent(o, fs)
	if prev := lastAutomatic(history, o.Branch); prev == nil || !sameConclusion(*prev, auto) {
		evs = append(evs, auto)
	}
	return evs
}

func goneEvents(history []store.Event, o Observed) []store.Event {
	var evs []store.Event
	for mod, prev := range lastObservations(history, o.Branch) {
		if prev != nil && !o.failed(prev) {
			evs = append(evs, goneEvent(o, mod, fmt.Sprintf("no longer found in %s on %s at %s", mod, o.Branch, short(o.Commit))))
		}
	}
	slices.SortFunc(evs, func(a, b store.Event) int { return strings.Compare(string(a.Data), string(b.Data)) })
	return evs
}

// failed reports whether an earlier observation is in a module that could
// not be scanned now, by path or by directory.
func (o Observed) failed(prev *Observation) bool {
	return slices.Contains(o.Failed, prev.Module) || slices.Contains(o.FailedDirs, prev.ModuleDir)
}

func goneEvent(o Observed, module, reason string) store.Event {
	data, _ := json.Marshal(gone{Branch: o.Branch, Module: module, Commit: o.Commit, Reason: reason})
	return store.Event{Kind: store.KindGone, Author: assess.AutomaticAuthor, Source: string(assess.SourceAutomatic), Branches: []string{o.Branch}, Data: data}
}

// Unmaintained records that branches dropped from the configuration no
// longer count: their observations are gone.
func Unmaintained(ctx context.Context, st *store.Store, maintained []string) ([]Change, error) {
	triages, err := st.Triages(ctx)
	if err != nil {
		return nil, err
	}
	// The candidates are picked from one read of the history; each is then
	// re-checked inside its own transaction.
	snapshot, err := st.AllEvents(ctx)
	if err != nil {
		return nil, err
	}
	var changes []Change
	for _, t := range triages {
		if len(unmaintainedEvents(snapshot[t.ID], maintained)) == 0 {
			continue
		}
		evs, err := st.AppendIf(ctx, t.ID, func(history []store.Event) ([]store.Event, error) {
			return unmaintainedEvents(history, maintained), nil
		})
		if err != nil {
			return nil, err
		}
		if len(evs) > 0 {
			changes = append(changes, Change{TriageID: t.ID, Events: evs})
		}
	}
	return changes, nil
}

// unmaintainedEvents are the gone events of a triage's observations on
// branches no longer maintained.
func unmaintainedEvents(history []store.Event, maintained []string) []store.Event {
	var out []store.Event
	branches := map[string]bool{}
	for _, ev := range history {
		if ev.Kind == store.KindObserved && len(ev.Branches) == 1 {
			branches[ev.Branches[0]] = true
		}
	}
	var names []string
	for b := range branches {
		names = append(names, b)
	}
	slices.Sort(names)
	for _, b := range names {
		if slices.Contains(maintained, b) || isImageBranch(b) {
			continue
		}
		last := lastObservations(history, b)
		for _, mod := range sortedKeys(last) {
			if last[mod] != nil {
				out = append(out, goneEvent(Observed{Branch: b}, mod, b+" is no longer a maintained branch"))
			}
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// lastObservations returns, per module, the last observation on a branch
// (nil when it was last recorded gone).
func lastObservations(history []store.Event, branch string) map[string]*Observation {
	out := map[string]*Observation{}
	for _, ev := range history {
		switch ev.Kind {
		case store.KindObserved:
			var o Observation
			if json.Unmarshal(ev.Data, &o) == nil && o.Branch == branch {
				oo := o
				out[o.Module] = &oo
			}
		case store.KindGone:
			var g gone
			if json.Unmarshal(ev.Data, &g) == nil && g.Branch == branch {
				for mod := range out {
					if g.Module == "" || g.Module == mod {
						out[mod] = nil
					}
				}
			}
		}
	}
	return out
}

func lastAutomatic(history []store.Event, branch string) *store.Event {
	var last *store.Event
	for i := range history {
		ev := &history[i]
		if ev.Kind == store.KindAssessment && ev.Source == string(assess.SourceAutomatic) && len(ev.Branches) == 1 && ev.Branches[0] == branch {
			last = ev
		}
	}
	return last
}

// sameConclusion compares two automatic assessments by what they conclude
// and the level they rest on (not by tool or database version: a new
// database that agrees is not news).
func sameConclusion(a, b store.Event) bool {
	if a.Status != b.Status || a.Justification != b.Justification {
		return false
	}
	var ea, eb assess.Evidence
	json.Unmarshal(a.Evidence, &ea)
	json.Unmarshal(b.Evidence, &eb)
	return ea.Level == eb.Level && ea.DependencyVersion == eb.DependencyVersion
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
