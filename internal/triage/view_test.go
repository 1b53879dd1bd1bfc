package triage

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/assess"
	"github.com/vexloom/vexloom/internal/scan"
	"github.com/vexloom/vexloom/internal/store"
)

func TestScopeMatches(t *testing.T) {
	cases := []struct {
		scope  []string
		branch string
		want   bool
	}{
		{nil, "main", true},
		{[]string{"main"}, "main", true},
		{[]string{"main"}, "release-1.0", false},
		{[]string{"release-1.*"}, "release-1.0", true},
		{[]string{"release-1.*"}, "release-1.10", true},
		{[]string{"release-1.*"}, "release-2.0", false},
		{[]string{"release-1.*"}, "main", false},
		{[]string{"main", "release-1.?"}, "release-1.1", true},
		{[]string{"release-*"}, "release-1.0/hotfix", false}, // * does not cross "/"
		{[]string{"release-[01].0"}, "release-1.0", true},
		{[]string{"[bad"}, "[bad", true}, // a bad pattern still matches itself
		{[]string{"[bad"}, "main", false},
	}
	for _, c := range cases {
		if got := ScopeMatches(c.scope, c.branch); got != c.want {
			t.Errorf("ScopeMatches(%q, %q) = %v, want %v", c.scope, c.branch, got, c.want)
		}
	}
}

func TestParseState(t *testing.T) {
	for _, s := range States {
		if got, err := ParseState(string(s)); err != nil || got != s {
			t.Errorf("ParseState(%q) = %q, %v", s, got, err)
		}
	}
	if _, err := ParseState("Open"); err == nil {
		t.Error("ParseState accepted a capitalised state")
	}
}

// The whole life of a triage: open, assessed, published, closed and
// reopened, each transition recorded once with its reason.
func TestLifecycle(t *testing.T) {
	st := openStore(t)
	rules := Rules{Approvers: policy(t), Maintained: maintained}
	id := store.TriageID(htmlVuln, netDep)
	reached := in(appModule, htmlFinding(scan.LevelSymbol, "v0.32.0"))
	expect := func(step string, want State, reason string) {
		t.Helper()
		// Apply reconciles by itself; otherwise this records the change.
		if trs := mustReconcile(t, st, maintained); len(trs) > 1 || len(trs) == 1 && (trs[0].To != want || trs[0].TriageID != id) {
			t.Fatalf("%s: transitions %+v, want at most one to %s", step, trs, want)
		}
		v := view(t, st, htmlVuln, netDep, maintained)
		if v.State != want {
			t.Fatalf("%s: state %s, want %s", step, v.State, want)
		}
		if got := RecordedState(v.Events); got != want {
			t.Fatalf("%s: recorded state %s, want %s", step, got, want)
		}
		if reason != "" {
			var last stateChange
			for _, ev := range v.Events {
				if ev.Kind == store.KindState {
					json.Unmarshal(ev.Data, &last)
				}
			}
			if !strings.Contains(last.Reason, reason) {
				t.Errorf("%s: reason %q does not say %q", step, last.Reason, reason)
			}
		}
		if trs := mustReconcile(t, st, maintained); len(trs) != 0 {
			t.Errorf("%s: a second reconcile recorded %+v", step, trs)
		}
	}

	// Reached on main, no decision: open.
	mustObserve(t, st, observed("main", "m1", reached))
	expect("found", Open, "reached on main (golang.org/x/net/html.Parse)")
	v := view(t, st, htmlVuln, netDep, maintained)
	if b := v.Branch("main"); !b.NeedsPerson() || b.Decision == nil || b.Decision.Source != string(assess.SourceAutomatic) {
		t.Fatalf("main before any decision: %+v", b)
	}

	// A maintainer decides for main (Apply reconciles by itself).
	out := mustApply(t, st, rules, comment(id, "alice", "/not_affected:vulnerable_code_cannot_be_controlled_by_adversary branches=main\nOnly trusted pages are parsed."))
	if out.Kind != OutcomeApplied {
		t.Fatalf("decision: %+v", out)
	}
	if got := RecordedState(history(t, st, id)); got != Assessed {
		t.Errorf("Apply left the recorded state at %s, want assessed", got)
	}
	expect("decided", Assessed, "main not_affected by alice")
	v = view(t, st, htmlVuln, netDep, maintained)
	if b := v.Branch("main"); b.NeedsPerson() || b.Decision.Author != "alice" || b.Decision.Impact != "Only trusted pages are parsed." {
		t.Fatalf("main after the decision: %+v (decision %+v)", b, b.Decision)
	}

	// Written into main's VEX.
	publishBranch(t, st, maintained, "main", epoch.Add(time.Hour))
	expect("published", Published, "in its branch's VEX")
	v = view(t, st, htmlVuln, netDep, maintained)
	if b := v.Branch("main"); b.PublishedDecision != b.Decision.Seq {
		t.Errorf("published decision %d, decision in force %d", b.PublishedDecision, b.Decision.Seq)
	}

	// Gone from every branch.
	mustObserve(t, st, observed("main", "m2"))
	expect("gone", Closed, "last found on main")
	v = view(t, st, htmlVuln, netDep, maintained)
	if !slices.Equal(v.LastSeen, []string{"main"}) || len(v.Branches) != 0 {
		t.Errorf("closed: last seen %v, branches %+v", v.LastSeen, v.Branches)
	}

	// Found again, reached on release-1.0, where main's decision does not
	// apply: reopened.
	mustObserve(t, st, observed("release-1.0", "r1", reached))
	expect("found again", Open, "found again: reached on release-1.0")
	v = view(t, st, htmlVuln, netDep, maintained)
	if b := v.Branch("release-1.0"); b == nil || b.Decision == nil || b.Decision.Source != string(assess.SourceAutomatic) {
		t.Errorf("release-1.0 after reopening: %+v", b)
	}

	var path []State
	for _, ev := range history(t, st, id) {
		if ev.Kind == store.KindState {
			var sc stateChange
			json.Unmarshal(ev.Data, &sc)
			path = append(path, sc.To)
		}
	}
	if want := []State{Open, Assessed, Published, Closed, Open}; !slices.Equal(path, want) {
		t.Errorf("recorded transitions %v, want %v", path, want)
	}
}

// A maintainer's decision holds while the finding is no stronger than
// when it was made, per branch; when it rises, the branch is flagged and
// the triage is open again; when it falls back, the decision holds again.
func TestDecisionFlaggedWhenLevelRises(t *testing.T) {
	st := openStore(t)
	rules := Rules{Approvers: policy(t), Maintained: maintained}
	id := store.TriageID(htmlVuln, netDep)
	at := func(l scan.Level) ModuleFinding { return in(appModule, htmlFinding(l, "v0.32.0")) }

	mustObserve(t, st, observed("main", "m1", at(scan.LevelSymbol)))
	mustObserve(t, st, observed("release-1.0", "r1", at(scan.LevelPackage)))
	if out := mustApply(t, st, rules, comment(id, "carol", "/not_affected:vulnerable_code_cannot_be_controlled_by_adversary only trusted input")); out.Kind != OutcomeApplied {
		t.Fatalf("decision: %+v", out)
	}
	v := view(t, st, htmlVuln, netDep, maintained)
	if v.State != Assessed {
		t.Fatalf("state %s after the decision", v.State)
	}
	var de decisionEvidence
	if err := json.Unmarshal(v.Branch("main").Decision.Evidence, &de); err != nil ||
		de.Level != scan.LevelSymbol || de.Branches["main"] != scan.LevelSymbol || de.Branches["release-1.0"] != scan.LevelPackage {
		t.Errorf("decision evidence %+v (%v)", de, err)
	}

	// Weaker on release-1.0: the decision holds.
	mustObserve(t, st, observed("release-1.0", "r2", at(scan.LevelModule)))
	v = view(t, st, htmlVuln, netDep, maintained)
	if b := v.Branch("release-1.0"); b.Flagged || b.Decision.Author != "carol" || v.State != Assessed {
		t.Errorf("weaker: flagged %v, decision by %s, state %s", b.Flagged, b.Decision.Author, v.State)
	}

	// Called on release-1.0, where the decision was made when it was only
	// imported: flagged there, not on main (decided at symbol level).
	mustObserve(t, st, observed("release-1.0", "r3", at(scan.LevelSymbol)))
	v = view(t, st, htmlVuln, netDep, maintained)
	rel, main := v.Branch("release-1.0"), v.Branch("main")
	if !rel.Flagged || !rel.NeedsPerson() || rel.Decision == nil || rel.Decision.Source != string(assess.SourceAutomatic) {
		t.Errorf("release-1.0 after the rise: flagged %v, decision %+v", rel.Flagged, rel.Decision)
	}
	if main.Flagged || main.Decision.Author != "carol" {
		t.Errorf("main after release-1.0's rise: flagged %v, decision by %s", main.Flagged, main.Decision.Author)
	}
	if v.State != Open {
		t.Errorf("state %s, want open", v.State)
	}
	trs := mustReconcile(t, st, maintained)
	if len(trs) != 1 || trs[0].To != Open || !strings.Contains(trs[0].Reason, "on release-1.0 the finding rose to symbol") {
		t.Errorf("transitions %+v", trs)
	}

	// Back to imported: the decision holds again.
	mustObserve(t, st, observed("release-1.0", "r4", at(scan.LevelPackage)))
	v = view(t, st, htmlVuln, netDep, maintained)
	if b := v.Branch("release-1.0"); b.Flagged || b.Decision.Author != "carol" || v.State != Assessed {
		t.Errorf("fallen back: flagged %v, decision by %s, state %s", b.Flagged, b.Decision.Author, v.State)
	}
}

func TestScopedDecision(t *testing.T) {
	st := openStore(t)
	rules := Rules{Approvers: policy(t), Maintained: maintained}
	id := store.TriageID(htmlVuln, netDep)
	for _, b := range maintained {
		mustObserve(t, st, observed(b, b+"-1", in(appModule, htmlFinding(scan.LevelSymbol, "v0.32.0"))))
	}
	out := mustApply(t, st, rules, comment(id, "alice", "/affected branches=release-1.* Upgrade golang.org/x/net to v0.33.0."))
	if out.Kind != OutcomeApplied {
		t.Fatalf("outcome %+v", out)
	}
	v := view(t, st, htmlVuln, netDep, maintained)
	for _, name := range []string{"release-1.0", "release-1.1"} {
		if b := v.Branch(name); b.Decision == nil || b.Decision.Author != "alice" || b.Decision.Status != string(openvex.StatusAffected) {
			t.Errorf("%s: decision %+v", name, b.Decision)
		}
	}
	if b := v.Branch("main"); b.Decision == nil || b.Decision.Source != string(assess.SourceAutomatic) || !b.NeedsPerson() {
		t.Errorf("main: decision %+v", b.Decision)
	}
	if v.State != Open {
		t.Errorf("state %s: main still needs a person", v.State)
	}
	// With main no longer maintained, every branch left is decided.
	if v := view(t, st, htmlVuln, netDep, []string{"release-1.0", "release-1.1"}); v.State != Assessed {
		t.Errorf("state without main: %s", v.State)
	}
}

func TestWithdrawal(t *testing.T) {
	st := openStore(t)
	rules := Rules{Approvers: policy(t), Maintained: maintained}
	id := store.TriageID(htmlVuln, netDep)
	for _, b := range []string{"main", "release-1.0"} {
		mustObserve(t, st, observed(b, b+"-1", in(appModule, htmlFinding(scan.LevelSymbol, "v0.32.0"))))
	}
	decide := func(who, body string) store.Event {
		t.Helper()
		out := mustApply(t, st, rules, comment(id, who, body))
		if out.Kind != OutcomeApplied || len(out.Events) != 1 {
			t.Fatalf("%q: %+v", body, out)
		}
		return out.Events[0]
	}
	decisionOn := func(branch string) *store.Event {
		v := view(t, st, htmlVuln, netDep, maintained)
		return v.Branch(branch).Decision
	}

	first := decide("alice", "/affected Upgrade golang.org/x/net.")
	second := decide("sam", "/not_affected:inline_mitigations_already_exist pages are size-limited")
	if d := decisionOn("main"); d.Seq != second.Seq {
		t.Fatalf("decision in force %d, want the latest %d", d.Seq, second.Seq)
	}
	w := decide("alice", "/withdraw the size limit is not enforced everywhere")
	if w.Kind != store.KindWithdrawal || w.Retracts != second.Seq || w.Notes != "the size limit is not enforced everywhere" {
		t.Errorf("withdrawal %+v, want one retracting %d", w, second.Seq)
	}
	if d := decisionOn("main"); d.Seq != first.Seq {
		t.Errorf("after withdrawing the latest: decision %d, want the earlier %d", d.Seq, first.Seq)
	}
	if w := decide("carol", "/withdraw"); w.Retracts != first.Seq {
		t.Errorf("second withdrawal retracts %d, want %d", w.Retracts, first.Seq)
	}
	if d := decisionOn("main"); d == nil || d.Source != string(assess.SourceAutomatic) {
		t.Errorf("after withdrawing both: decision %+v, want the automatic one", d)
	}
	if v := view(t, st, htmlVuln, netDep, maintained); v.State != Open {
		t.Errorf("state %s after every decision was withdrawn", v.State)
	}

	// Scoped: a withdrawal on main retracts main's decision, even when a
	// later one exists for release-1.0.
	onMain := decide("alice", "/fixed branches=main upgraded")
	onRelease := decide("alice", "/fixed branches=release-1.0 upgraded")
	if w := decide("alice", "/withdraw branches=main"); w.Retracts != onMain.Seq || !slices.Equal(w.Branches, []string{"main"}) {
		t.Errorf("scoped withdrawal %+v, want one retracting %d", w, onMain.Seq)
	}
	if d := decisionOn("release-1.0"); d.Seq != onRelease.Seq {
		t.Errorf("release-1.0's decision %d, want %d", d.Seq, onRelease.Seq)
	}
	if d := decisionOn("main"); d.Source != string(assess.SourceAutomatic) {
		t.Errorf("main's decision %+v, want the automatic one", d)
	}

	// A withdrawal scoped to one branch retracts a decision made for every
	// branch on that branch only; withdrawing there again reaches further
	// back, and a later unscoped withdrawal retracts the rest.
	everywhere := decide("sam", "/fixed upgraded everywhere")
	if w := decide("alice", "/withdraw branches=release-1.0 not on the release yet"); w.Retracts != everywhere.Seq || !slices.Equal(w.Branches, []string{"release-1.0"}) {
		t.Errorf("scoped withdrawal of an unscoped decision: %+v", w)
	}
	if d := decisionOn("main"); d.Seq != everywhere.Seq {
		t.Errorf("main lost the decision withdrawn on release-1.0 only: %+v", d)
	}
	if d := decisionOn("release-1.0"); d.Seq != onRelease.Seq {
		t.Errorf("release-1.0's decision %+v, want the earlier %d", d, onRelease.Seq)
	}
	if w := decide("alice", "/withdraw"); w.Retracts != everywhere.Seq {
		t.Errorf("an unscoped withdrawal retracts %d, want %d", w.Retracts, everywhere.Seq)
	}
	if d := decisionOn("main"); d.Source != string(assess.SourceAutomatic) {
		t.Errorf("main's decision after withdrawing everywhere: %+v", d)
	}
}

// An advisory's decision rests on the project's analysis, not on the
// scanner's: it holds at every level. The same evidence on a maintainer's
// decision does not.
func TestAdvisoryDecisionHoldsAtEveryLevel(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	id := store.TriageID(htmlVuln, netDep)
	mustObserve(t, st, observed("main", "m1", in(appModule, htmlFinding(scan.LevelSymbol, "v0.32.0"))))
	moduleLevel, _ := json.Marshal(decisionEvidence{Level: scan.LevelModule, Branches: map[string]scan.Level{"main": scan.LevelModule}})
	base := store.Event{TriageID: id, Kind: store.KindAssessment, Status: string(openvex.StatusNotAffected),
		Justification: string(openvex.VulnerableCodeCannotBeControlledByAdversary), Evidence: moduleLevel}

	maint := base
	maint.Author, maint.Source = "alice", string(assess.SourceMaintainer)
	if _, err := st.Append(ctx, maint); err != nil {
		t.Fatal(err)
	}
	if v := view(t, st, htmlVuln, netDep, maintained); !v.Branch("main").Flagged {
		t.Errorf("a maintainer's decision made at module level holds at symbol level: %+v", v.Branch("main"))
	}

	adv := base
	adv.Author, adv.Source = "advisory:GHSA-xxxx", string(assess.SourceAdvisory)
	evs, err := st.Append(ctx, adv)
	if err != nil {
		t.Fatal(err)
	}
	v := view(t, st, htmlVuln, netDep, maintained)
	b := v.Branch("main")
	if b.Flagged || b.Decision == nil || b.Decision.Seq != evs[0].Seq || b.NeedsPerson() || v.State != Assessed {
		t.Errorf("advisory decision: flagged %v, decision %+v, state %s", b.Flagged, b.Decision, v.State)
	}
}

// Derive reads a history it did not write: events it cannot read are
// skipped, not fatal.
func TestDeriveSkipsUnreadableEvents(t *testing.T) {
	tr := store.Triage{ID: "vx-test", VulnID: htmlVuln, Dependency: netDep}
	obs, _ := json.Marshal(Observation{Branch: "main", Module: appModule, DependencyVersion: "v0.32.0", Level: scan.LevelPackage})
	evs := []store.Event{
		{Seq: 1, Kind: store.KindObserved, Data: []byte(`{"branch":`)},
		{Seq: 2, Kind: store.KindObserved, Data: obs},
		{Seq: 3, Kind: store.KindGone, Data: []byte(`[]`)},
		{Seq: 4, Kind: store.KindState, Data: []byte(`"closed"`)},
		{Seq: 5, Kind: store.KindAssessment, Source: string(assess.SourceMaintainer), Author: "alice", Status: "not_affected", Evidence: []byte(`{`)},
	}
	v := Derive(tr, evs, maintained, nil)
	b := v.Branch("main")
	if b == nil || len(b.Observations) != 1 || b.Decision == nil || b.Decision.Seq != 5 || b.Flagged {
		t.Fatalf("derived %+v", v)
	}
	if v.State != Assessed || !v.Since.IsZero() {
		t.Errorf("state %s since %v", v.State, v.Since)
	}
}
