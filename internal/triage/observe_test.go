package triage

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/assess"
	"github.com/vexloom/vexloom/internal/scan"
	"github.com/vexloom/vexloom/internal/store"
)

func TestObserveNewFindingCreatesOneTriage(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	id := store.TriageID(htmlVuln, netDep)

	changes := mustObserve(t, st, observed("main", "c1", in(appModule, htmlFinding(scan.LevelSymbol, "v0.32.0"))))
	if len(changes) != 1 || !changes[0].Created || changes[0].TriageID != id {
		t.Fatalf("changes = %+v, want one created triage %s", changes, id)
	}
	triages, err := st.Triages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(triages) != 1 || triages[0].VulnID != htmlVuln || triages[0].Dependency != netDep {
		t.Fatalf("triages = %+v", triages)
	}
	evs := history(t, st, id)
	if got := kinds(evs); !slices.Equal(got, []store.Kind{store.KindObserved, store.KindAssessment}) {
		t.Fatalf("history = %v, want observed then assessment", got)
	}
	// One transaction: the store's clock was read once for the triage and
	// both its events (the test clock moves on at every reading).
	if !evs[0].At.Equal(triages[0].Created) || !evs[1].At.Equal(triages[0].Created) || evs[1].Seq != evs[0].Seq+1 {
		t.Errorf("triage created at %v, events at %v (seq %d) and %v (seq %d): not one transaction",
			triages[0].Created, evs[0].At, evs[0].Seq, evs[1].At, evs[1].Seq)
	}
	var o Observation
	if err := json.Unmarshal(evs[0].Data, &o); err != nil {
		t.Fatal(err)
	}
	if o.Branch != "main" || o.Commit != "c1" || o.Module != appModule || o.DependencyVersion != "v0.32.0" || o.Level != scan.LevelSymbol || len(o.Traces) != 1 {
		t.Errorf("observation = %+v", o)
	}
	auto := evs[1]
	if auto.Source != string(assess.SourceAutomatic) || auto.Author != assess.AutomaticAuthor ||
		auto.Status != string(openvex.StatusUnderInvestigation) || !slices.Equal(auto.Branches, []string{"main"}) {
		t.Errorf("automatic assessment = %+v", auto)
	}
	var ev assess.Evidence
	if err := json.Unmarshal(auto.Evidence, &ev); err != nil || ev.Level != scan.LevelSymbol || ev.Commit != "c1" || ev.Database != "fixture@v1" {
		t.Errorf("evidence = %s (%v)", auto.Evidence, err)
	}

	// The same scan again, and the same findings at a new commit: nothing.
	for _, commit := range []string{"c1", "c2"} {
		if ch := mustObserve(t, st, observed("main", commit, in(appModule, htmlFinding(scan.LevelSymbol, "v0.32.0")))); len(ch) != 0 {
			t.Errorf("observing %s again recorded %+v", commit, ch)
		}
	}
	if n := len(history(t, st, id)); n != 2 {
		t.Errorf("%d events after observing the same findings again, want 2", n)
	}
}

func TestObserveLevelChange(t *testing.T) {
	st := openStore(t)
	id := store.TriageID(htmlVuln, netDep)
	lastAuto := func() store.Event {
		t.Helper()
		evs := history(t, st, id)
		for i := len(evs) - 1; i >= 0; i-- {
			if evs[i].Kind == store.KindAssessment {
				return evs[i]
			}
		}
		t.Fatal("no assessment")
		return store.Event{}
	}

	mustObserve(t, st, observed("main", "c1", in(appModule, htmlFinding(scan.LevelModule, "v0.32.0"))))
	if a := lastAuto(); a.Status != string(openvex.StatusNotAffected) || a.Justification != string(openvex.VulnerableCodeNotPresent) {
		t.Fatalf("module level: %s/%s", a.Status, a.Justification)
	}

	// Imported now: a new observation and a new conclusion.
	ch := mustObserve(t, st, observed("main", "c2", in(appModule, htmlFinding(scan.LevelPackage, "v0.32.0"))))
	if len(ch) != 1 || ch[0].Created || !slices.Equal(kinds(ch[0].Events), []store.Kind{store.KindObserved, store.KindAssessment}) {
		t.Fatalf("level rise: changes %+v", ch)
	}
	if a := lastAuto(); a.Status != string(openvex.StatusNotAffected) || a.Justification != string(openvex.VulnerableCodeNotInExecutePath) {
		t.Errorf("package level: %s/%s", a.Status, a.Justification)
	}

	// A second module finds it at a weaker level: a new observation, but
	// the branch's strongest finding, and so the conclusion, is unchanged.
	ch = mustObserve(t, st, observed("main", "c3",
		in(appModule, htmlFinding(scan.LevelPackage, "v0.32.0")),
		in(toolsModule, htmlFinding(scan.LevelModule, "v0.32.0"))))
	if len(ch) != 1 || !slices.Equal(kinds(ch[0].Events), []store.Kind{store.KindObserved}) {
		t.Fatalf("a weaker finding in another module: changes %+v, want one observation", ch)
	}
	v := view(t, st, htmlVuln, netDep, maintained)
	if b := v.Branch("main"); b == nil || len(b.Observations) != 2 || b.Level != scan.LevelPackage {
		t.Errorf("main = %+v, want two observations at package level", b)
	}

	// Called: a new assessment that needs a person.
	ch = mustObserve(t, st, observed("main", "c4",
		in(appModule, htmlFinding(scan.LevelSymbol, "v0.32.0")),
		in(toolsModule, htmlFinding(scan.LevelModule, "v0.32.0"))))
	if len(ch) != 1 || !slices.Equal(kinds(ch[0].Events), []store.Kind{store.KindObserved, store.KindAssessment}) {
		t.Fatalf("symbol level: changes %+v", ch)
	}
	if a := lastAuto(); a.Status != string(openvex.StatusUnderInvestigation) {
		t.Errorf("symbol level: %s", a.Status)
	}
	// The same evidence with another database version is not news.
	o := observed("main", "c5",
		in(appModule, htmlFinding(scan.LevelSymbol, "v0.32.0")),
		in(toolsModule, htmlFinding(scan.LevelModule, "v0.32.0")))
	o.Evidence.Database = "fixture@v2"
	if ch := mustObserve(t, st, o); len(ch) != 0 {
		t.Errorf("a new database that agrees recorded %+v", ch)
	}
}

func TestObserveFailedModuleKeepsObservations(t *testing.T) {
	st := openStore(t)
	id := store.TriageID(htmlVuln, netDep)
	mustObserve(t, st, observed("main", "c1",
		in(appModule, htmlFinding(scan.LevelPackage, "v0.32.0")),
		in(toolsModule, htmlFinding(scan.LevelPackage, "v0.32.0"))))
	before := len(history(t, st, id))

	// tools could not be scanned: its observation stands.
	o := observed("main", "c2", in(appModule, htmlFinding(scan.LevelPackage, "v0.32.0")))
	o.Failed = []string{toolsModule}
	if ch := mustObserve(t, st, o); len(ch) != 0 {
		t.Errorf("a failed module was taken for a fixed one: %+v", ch)
	}
	if n := len(history(t, st, id)); n != before {
		t.Errorf("%d events, want %d", n, before)
	}

	// Gone from the root module while tools still fails: only the root
	// module's observation goes.
	o = observed("main", "c3")
	o.Failed = []string{toolsModule}
	ch := mustObserve(t, st, o)
	if len(ch) != 1 || !slices.Equal(kinds(ch[0].Events), []store.Kind{store.KindGone}) {
		t.Fatalf("changes %+v, want one gone event", ch)
	}
	var g gone
	if err := json.Unmarshal(ch[0].Events[0].Data, &g); err != nil || g.Module != appModule || g.Branch != "main" {
		t.Errorf("gone = %+v (%v)", g, err)
	}
	v := view(t, st, htmlVuln, netDep, maintained)
	b := v.Branch("main")
	if b == nil || len(b.Observations) != 1 || b.Observations[0].Module != toolsModule {
		t.Fatalf("main = %+v, want tools' observation only", b)
	}
	if v.State == Closed {
		t.Error("closed while a module that could not be scanned still has it")
	}
}

func TestObserveGone(t *testing.T) {
	st := openStore(t)
	id := store.TriageID(htmlVuln, netDep)
	both := []ModuleFinding{in(appModule, htmlFinding(scan.LevelPackage, "v0.32.0")), in(toolsModule, htmlFinding(scan.LevelModule, "v0.32.0"))}
	mustObserve(t, st, observed("main", "m1", both...))
	mustObserve(t, st, observed("release-1.0", "r1", both[0]))

	// Gone from one module of main.
	ch := mustObserve(t, st, observed("main", "m2", both[0]))
	if len(ch) != 1 || countKind(ch[0].Events, store.KindGone) != 1 {
		t.Fatalf("gone from tools: %+v", ch)
	}
	var g gone
	for _, ev := range ch[0].Events {
		if ev.Kind == store.KindGone {
			json.Unmarshal(ev.Data, &g)
		}
	}
	if g.Branch != "main" || g.Module != toolsModule || !strings.Contains(g.Reason, toolsModule) {
		t.Errorf("gone = %+v", g)
	}
	v := view(t, st, htmlVuln, netDep, maintained)
	if b := v.Branch("main"); b == nil || len(b.Observations) != 1 || b.Observations[0].Module != appModule {
		t.Errorf("main = %+v", b)
	}

	// Gone from the whole of main; release-1.0 still has it.
	ch = mustObserve(t, st, observed("main", "m3"))
	if len(ch) != 1 || ch[0].TriageID != id || !slices.Equal(kinds(ch[0].Events), []store.Kind{store.KindGone}) {
		t.Fatalf("gone from main: %+v", ch)
	}
	if ch := mustObserve(t, st, observed("main", "m4")); len(ch) != 0 {
		t.Errorf("gone twice: %+v", ch)
	}
	v = view(t, st, htmlVuln, netDep, maintained)
	if v.Branch("main") != nil || v.Branch("release-1.0") == nil || v.State == Closed {
		t.Errorf("branches %+v, state %s", v.Branches, v.State)
	}

	// Gone everywhere: closed, naming where it was last found.
	mustObserve(t, st, observed("release-1.0", "r2"))
	v = view(t, st, htmlVuln, netDep, maintained)
	if v.State != Closed || len(v.Branches) != 0 || !slices.Equal(v.LastSeen, []string{"main", "release-1.0"}) {
		t.Errorf("state %s, branches %+v, last seen %v", v.State, v.Branches, v.LastSeen)
	}
}

func TestUnmaintained(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	id := store.TriageID(htmlVuln, netDep)
	f := in(appModule, htmlFinding(scan.LevelPackage, "v0.32.0"))
	mustObserve(t, st, observed("main", "m1", f))
	mustObserve(t, st, observed("release-1.0", "r1", f, in(toolsModule, htmlFinding(scan.LevelModule, "v0.32.0"))))

	// Without a gone event, a branch outside the maintained ones is left
	// out of the view already.
	if v := view(t, st, htmlVuln, netDep, []string{"main"}); v.Branch("release-1.0") != nil || v.Branch("main") == nil {
		t.Errorf("view over main only: %+v", v.Branches)
	}

	ch, err := Unmaintained(ctx, st, []string{"main"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ch) != 1 || ch[0].TriageID != id || countKind(ch[0].Events, store.KindGone) != 2 || len(ch[0].Events) != 2 {
		t.Fatalf("changes %+v, want two gone events (one per module of release-1.0)", ch)
	}
	for _, ev := range ch[0].Events {
		var g gone
		if err := json.Unmarshal(ev.Data, &g); err != nil || g.Branch != "release-1.0" || !strings.Contains(g.Reason, "no longer a maintained branch") {
			t.Errorf("gone = %+v (%v)", g, err)
		}
	}
	if ch, err := Unmaintained(ctx, st, []string{"main"}); err != nil || len(ch) != 0 {
		t.Errorf("a second run recorded %+v (%v)", ch, err)
	}
	// Even if release-1.0 came back into the configuration, its old
	// observations are gone until it is scanned again.
	v := view(t, st, htmlVuln, netDep, maintained)
	if v.Branch("release-1.0") != nil || v.Branch("main") == nil {
		t.Errorf("branches %+v", v.Branches)
	}
}
