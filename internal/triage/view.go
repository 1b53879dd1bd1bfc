// Package triage is the loop that keeps a project's VEX current: one triage
// per vulnerability and dependency module, listing every branch where the
// vulnerability shows up; automatic assessments from the scanner;
// maintainers' decisions from slash commands; and the state of each triage
// (open, assessed, published, closed) derived from its append-only history.
package triage

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	branchpkg "github.com/vexloom/vexloom/internal/branch"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/assess"
	"github.com/vexloom/vexloom/internal/scan"
	"github.com/vexloom/vexloom/internal/store"
)

// State is where a triage stands.
type State string

// States.
const (
	// Open: the vulnerability is present and some branch needs a person's
	// assessment (it is reached, or a decision's evidence no longer holds).
	Open State = "open"
	// Assessed: every branch has a decision; not all are published yet.
	Assessed State = "assessed"
	// Published: every decision in force is in its branch's VEX document.
	Published State = "published"
	// Closed: the vulnerability is on no maintained branch any more.
	Closed State = "closed"
)

// States lists the states in lifecycle order.
var States = []State{Open, Assessed, Published, Closed}

// ParseState reads a state name.
func ParseState(s string) (State, error) {
	for _, st := range States {
		if string(st) == s {
			return st, nil
		}
	}
	return "", fmt.Errorf("unknown state %q: want open, assessed, published or closed", s)
}

// Observation is where the vulnerability shows up: a module of a branch,
// with the dependency's version and the level of the finding. It is the
// Data of observed events.
type Observation struct {
	Branch            string        `json:"branch"`
	Commit            string        `json:"commit"`
	Module            string        `json:"module"`
	ModuleDir         string        `json:"module_dir,omitempty"`
	ModuleVersion     string        `json:"module_version,omitempty"`
	DependencyVersion string        `json:"dependency_version"`
	FixedVersion      string        `json:"fixed_version,omitempty"`
	Level             scan.Level    `json:"level"`
	GoVersion         string        `json:"go_version,omitempty"`
	Symbols           []string      `json:"symbols,omitempty"`
	Packages          []string      `json:"packages,omitempty"`
	Traces            []scan.Trace  `json:"traces,omitempty"`
	Vulnerability     *scan.Finding `json:"-"`

	// Image is the package URL of the package a scanner reported in a
	// release image (Branch is then "image:RELEASE", Module the image).
	Image string `json:"image,omitempty"`
}

// sameEvidence reports whether two observations would lead to the same
// assessment: level and versions (a new commit alone is not news).
func (o Observation) sameEvidence(p Observation) bool {
	return o.Level == p.Level && o.DependencyVersion == p.DependencyVersion && o.Module == p.Module
}

// gone is the Data of gone events.
type gone struct {
	Branch string `json:"branch"`
	Module string `json:"module,omitempty"`
	Commit string `json:"commit,omitempty"`
	Reason string `json:"reason"`
}

// stateChange is the Data of state events.
type stateChange struct {
	From   State  `json:"from,omitempty"`
	To     State  `json:"to"`
	Reason string `json:"reason"`
}

// publication is the Data of published events.
type publication struct {
	Branch   string `json:"branch"`
	Decision int64  `json:"decision"`
	Version  int    `json:"document_version"`
	Path     string `json:"path,omitempty"`
}

// decisionEvidence is the Evidence of a maintainer's assessment: what the
// scanner had found when the decision was made, so a later, stronger
// finding can flag it.
type decisionEvidence struct {
	Level    scan.Level            `json:"level"`
	Branches map[string]scan.Level `json:"branches,omitempty"`
}

// BranchState is a triage on one branch where the vulnerability is present.
type BranchState struct {
	Branch string `json:"branch"`
	Commit string `json:"commit,omitempty"`
	// Observations, one per module of the branch in which it was found.
	Observations []Observation `json:"observations"`
	// Level is the strongest level over the observations.
	Level scan.Level `json:"level"`
	// Decision is the assessment in force on this branch.
	Decision *store.Event `json:"-"`
	// Automatic is the scanner's latest assessment of this branch.
	Automatic *store.Event `json:"-"`
	// Flagged: a maintainer's decision exists, but its evidence no longer
	// holds (the finding's level rose since).
	Flagged bool `json:"flagged,omitempty"`
	// PublishedDecision is the Seq of the decision last published for this
	// branch (0 if none).
	PublishedDecision int64 `json:"published_decision,omitempty"`
	// FirstObserved is when the vulnerability was first observed on this
	// branch (zero if no observation names it).
	FirstObserved time.Time `json:"-"`
}

// NeedsPerson reports whether the branch waits for a person's assessment.
func (b *BranchState) NeedsPerson() bool {
	return b.Decision == nil || b.Flagged || b.Decision.Status == string(openvex.StatusUnderInvestigation)
}

// View is a triage with everything derived from its history.
type View struct {
	store.Triage
	Vulnerability scan.Vulnerability `json:"vulnerability"`
	State         State              `json:"state"`
	// Branches where the vulnerability is present, by name.
	Branches []BranchState `json:"branches"`
	// Events is the whole history (nil in the views ListViews returns).
	Events []store.Event `json:"-"`
	// Since is when the triage entered its current state.
	Since time.Time `json:"since"`
	// LastSeen names the branches it was last found on (closed triages).
	LastSeen []string `json:"last_seen,omitempty"`
	// FromAdvisory: some event of the history comes from an advisory.
	FromAdvisory bool `json:"-"`
}

// Branch returns the state on a branch, or nil if it is not present there.
func (v *View) Branch(name string) *BranchState {
	for i := range v.Branches {
		if v.Branches[i].Branch == name {
			return &v.Branches[i]
		}
	}
	return nil
}

// Name is the vulnerability's CVE if it has one, else its ID.
func (v *View) Name() string {
	if v.Vulnerability.ID == "" {
		return v.VulnID
	}
	return v.Vulnerability.Name()
}

// MaxLevel is the strongest level on any branch.
func (v *View) MaxLevel() scan.Level {
	max := scan.LevelNone
	for _, b := range v.Branches {
		if b.Level > max {
			max = b.Level
		}
	}
	return max
}

// ScopeMatches reports whether an event's branch scope covers branch: an
// empty scope covers every branch; entries may be glob patterns.
func ScopeMatches(scope []string, branch string) bool {
	if len(scope) == 0 {
		return true
	}
	return branchpkg.MatchAny(scope, branch)
}

// Derive computes a triage's view from its history. maintained lists the
// branches currently maintained; commits gives each one's latest scanned
// commit.
func Derive(t store.Triage, events []store.Event, maintained []string, commits map[string]string) View {
	v := derive(events).view(t, maintained, commits)
	v.Events = events
	return v
}

// derivation is what a triage's history says whichever branches are
// maintained: the state on every branch where the vulnerability is present
// (Commit is the one of its first observation there), the branches it was
// ever seen on, and its last recorded state. view finishes it for the
// maintained branches. It is what the store keeps of each triage between
// runs (snapshot.go), so that reading every view does not derive every
// history again.
type derivation struct {
	// Branches, by name, where the vulnerability is present.
	Branches []BranchState
	// EverSeen lists the branches it was ever observed on, in the order
	// first observed.
	EverSeen []string
	// Recorded is the state last recorded, at RecordedAt ("" if none).
	Recorded   State
	RecordedAt time.Time
	// FromAdvisory: some event of the history comes from an advisory.
	FromAdvisory bool
}

// derive reads a triage's history once.
func derive(events []store.Event) derivation {
	var d derivation
	type key struct{ branch, module string }
	present := map[key]*Observation{}
	var order []key
	retracted := retractions(events)
	for i, ev := range events {
		if ev.Source == string(assess.SourceAdvisory) {
			d.FromAdvisory = true
		}
		switch ev.Kind {
		case store.KindObserved:
			var o Observation
			if json.Unmarshal(ev.Data, &o) != nil {
				continue
			}
			k := key{o.Branch, o.Module}
			if _, ok := present[k]; !ok {
				order = append(order, k)
			}
			present[k] = &o
		case store.KindGone:
			var g gone
			if json.Unmarshal(ev.Data, &g) != nil {
				continue
			}
			for k := range present {
				if k.branch == g.Branch && (g.Module == "" || g.Module == k.module) {
					present[k] = nil
				}
			}
		case store.KindState:
			var sc stateChange
			if json.Unmarshal(ev.Data, &sc) == nil {
				d.Recorded = sc.To
				d.RecordedAt = events[i].At
			}
		}
	}
	byBranch := map[string]*BranchState{}
	for _, k := range order {
		if !slices.Contains(d.EverSeen, k.branch) {
			d.EverSeen = append(d.EverSeen, k.branch)
		}
		o := present[k]
		if o == nil {
			continue
		}
		b := byBranch[k.branch]
		if b == nil {
			b = &BranchState{Branch: k.branch, Commit: o.Commit}
			byBranch[k.branch] = b
		}
		b.Observations = append(b.Observations, *o)
		if o.Level > b.Level {
			b.Level = o.Level
		}
	}
	// The decision last published on each branch, in one pass.
	var published map[string]int64
	if len(byBranch) > 0 {
		for _, ev := range events {
			if ev.Kind != store.KindPublished {
				continue
			}
			var p publication
			if json.Unmarshal(ev.Data, &p) == nil {
				if published == nil {
					published = map[string]int64{}
				}
				published[p.Branch] = p.Decision
			}
		}
	}
	for _, b := range byBranch {
		var human, auto *store.Event
		for i := range events {
			ev := &events[i]
			if ev.Kind != store.KindAssessment || retracted.on(ev.Seq, b.Branch) || !ScopeMatches(ev.Branches, b.Branch) {
				continue
			}
			if ev.Source == string(assess.SourceAutomatic) {
				auto = ev
			} else {
				human = ev
			}
		}
		b.Automatic = auto
		switch {
		case human != nil && b.Level <= decisionLevel(human, b.Branch):
			b.Decision = human
		case human != nil:
			b.Flagged = true
			b.Decision = auto
		default:
			b.Decision = auto
		}
		b.PublishedDecision = published[b.Branch]
		for _, ev := range events {
			if ev.Kind == store.KindObserved && slices.Contains(ev.Branches, b.Branch) {
				b.FirstObserved = ev.At
				break
			}
		}
		d.Branches = append(d.Branches, *b)
	}
	slices.SortFunc(d.Branches, func(a, b BranchState) int { return strings.Compare(a.Branch, b.Branch) })
	return d
}

// view is the triage's view on the maintained branches, whose latest
// scanned commits are commits. A release image is tracked for as long as it
// is reported in, whichever branches are maintained.
func (d derivation) view(t store.Triage, maintained []string, commits map[string]string) View {
	v := View{Triage: t, Since: d.RecordedAt, FromAdvisory: d.FromAdvisory}
	for _, b := range d.Branches {
		if !slices.Contains(maintained, b.Branch) && !isImageBranch(b.Branch) {
			continue
		}
		if c := commits[b.Branch]; c != "" {
			b.Commit = c
		}
		v.Branches = append(v.Branches, b)
	}
	v.State = stateOf(v.Branches)
	if v.State == Closed {
		v.LastSeen = d.EverSeen
	}
	if d.Recorded != v.State {
		// The transition is not recorded yet; it happens now.
		v.Since = time.Time{}
	}
	return v
}

// retracted maps a decision's Seq to the scopes of the withdrawals that
// retract it: a withdrawal scoped to some branches retracts the decision
// there only; one without scope, everywhere.
type retracted map[int64][][]string

func retractions(events []store.Event) retracted {
	r := retracted{}
	for _, ev := range events {
		if ev.Kind == store.KindWithdrawal && ev.Retracts != 0 {
			r[ev.Retracts] = append(r[ev.Retracts], ev.Branches)
		}
	}
	return r
}

// on reports whether decision seq is retracted on branch.
func (r retracted) on(seq int64, branch string) bool {
	for _, scope := range r[seq] {
		if ScopeMatches(scope, branch) {
			return true
		}
	}
	return false
}

// decisionLevel is the level a maintainer's decision was made at, for a
// branch: the level then on that branch if recorded, else the strongest
// level then in scope. Decisions without evidence (advisories) hold at
// every level.
func decisionLevel(ev *store.Event, branch string) scan.Level {
	if ev.Source == string(assess.SourceAdvisory) || len(ev.Evidence) == 0 {
		return scan.LevelSymbol
	}
	var de decisionEvidence
	if json.Unmarshal(ev.Evidence, &de) != nil {
		return scan.LevelSymbol
	}
	if l, ok := de.Branches[branch]; ok && l != scan.LevelNone {
		return l
	}
	return de.Level
}

func stateOf(branches []BranchState) State {
	if len(branches) == 0 {
		return Closed
	}
	published := true
	for i := range branches {
		b := &branches[i]
		if b.NeedsPerson() {
			return Open
		}
		if b.Decision == nil || b.PublishedDecision != b.Decision.Seq {
			published = false
		}
	}
	if published {
		return Published
	}
	return Assessed
}

// RecordedState is the state last recorded by a state event ("" if none).
func RecordedState(events []store.Event) State {
	s := State("")
	for _, ev := range events {
		if ev.Kind == store.KindState {
			var sc stateChange
			if json.Unmarshal(ev.Data, &sc) == nil {
				s = sc.To
			}
		}
	}
	return s
}
