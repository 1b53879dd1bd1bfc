package triage

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"syscall"
	"testing"
	"time"

	"github.com/vexloom/vexloom/internal/store"
)

// fillTriages adds n triages with a history like a project's (as
// bench/storebench does): observed on a branch, assessed by the scanner,
// decided by a maintainer, published.
func fillTriages(tb testing.TB, st *store.Store, n int) []string {
	tb.Helper()
	ctx := context.Background()
	var branches []string
	for i := range 38 {
		branches = append(branches, fmt.Sprintf("release-1.%d", 2+i))
	}
	for i := range n {
		b := branches[i%len(branches)]
		obs := fmt.Sprintf(`{"branch":%q,"commit":"c%d","module":"example.com/app","dependency_version":"v1.0.0","level":%q}`, b, i%7, []string{"module", "package", "symbol"}[i%3])
		auto := "not_affected"
		if i%4 == 0 {
			auto = "under_investigation"
		}
		evs := []store.Event{
			{Kind: store.KindObserved, Author: "vexloom", Branches: []string{b}, Data: []byte(obs)},
			{Kind: store.KindAssessment, Author: "vexloom", Source: "automatic", Branches: []string{b}, Status: auto, Justification: "vulnerable_code_not_in_execute_path"},
		}
		if i%3 != 0 {
			evs = append(evs, store.Event{Kind: store.KindAssessment, Author: "alice", Source: "maintainer", Branches: []string{b}, Status: "not_affected", Justification: "vulnerable_code_not_in_execute_path", Impact: "not reachable", Evidence: []byte(`{"level":"package"}`)})
		}
		if i%5 == 0 {
			evs = append(evs, store.Event{Kind: store.KindGone, Author: "vexloom", Branches: []string{b}, Data: []byte(fmt.Sprintf(`{"branch":%q,"reason":"fixed"}`, b))})
		}
		tr, _, err := st.EnsureTriage(ctx, fmt.Sprintf("GO-2020-%04d", i), fmt.Sprintf("example.com/dep%d", i%97), evs)
		if err != nil {
			tb.Fatal(err)
		}
		if i%2 == 0 {
			all, _ := st.Events(ctx, tr.ID)
			var dec int64
			for _, ev := range all {
				if ev.Kind == store.KindAssessment {
					dec = ev.Seq
				}
			}
			if _, err := st.Append(ctx, store.Event{TriageID: tr.ID, Kind: store.KindPublished, Author: "vexloom", Source: "automatic", Branches: []string{b}, Data: []byte(fmt.Sprintf(`{"branch":%q,"decision":%d,"document_version":1}`, b, dec))}); err != nil {
				tb.Fatal(err)
			}
		}
	}
	return branches
}

func BenchmarkViews(b *testing.B) {
	st := openStore(b)
	branches := fillTriages(b, st, 5000)
	ctx := context.Background()
	b.ResetTimer()
	cpu0 := cpuTime()
	for b.Loop() {
		if _, err := Views(ctx, st, branches); err != nil {
			b.Fatal(err)
		}
	}
	// CPU time says more than wall time on a shared machine.
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Views derives exactly what deriving each triage from its own history
// (Events), one after the other, does — on a generated history reaching
// every state.
func TestViewsEqualFullDerivation(t *testing.T) {
	if testing.Short() {
		t.Skip("derives a generated history of 1,500 triages twice; run without -short")
	}
	t.Parallel()
	st := openStore(t)
	branches := fillTriages(t, st, 1500)
	ctx := context.Background()
	got, err := Views(ctx, st, branches[:30])
	if err != nil {
		t.Fatal(err)
	}
	triages, err := st.Triages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	commits, err := latestCommits(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(triages) {
		t.Fatalf("%d views of %d triages", len(got), len(triages))
	}
	states := map[State]int{}
	for i, tr := range triages {
		evs, err := st.Events(ctx, tr.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := Derive(tr, evs, branches[:30], commits)
		want.Vulnerability = got[i].Vulnerability
		if !reflect.DeepEqual(got[i], want) {
			t.Fatalf("triage %s:\ngot  %+v\nwant %+v", tr.ID, got[i], want)
		}
		// Each branch's published decision, as derived before it was
		// derived in one pass: the last publication on that branch.
		for _, br := range got[i].Branches {
			var last int64
			for _, ev := range evs {
				var p publication
				if ev.Kind == store.KindPublished && json.Unmarshal(ev.Data, &p) == nil && p.Branch == br.Branch {
					last = p.Decision
				}
			}
			if br.PublishedDecision != last {
				t.Fatalf("triage %s on %s: published decision %d, want %d", tr.ID, br.Branch, br.PublishedDecision, last)
			}
		}
		states[got[i].State]++
	}
	// The history exercises every state.
	for _, s := range States {
		if states[s] == 0 {
			t.Errorf("no %s triage in the generated history: %v", s, states)
		}
	}
}

func BenchmarkProjectStatus(b *testing.B) {
	st := openStore(b)
	branches := fillTriages(b, st, 5000)
	ctx := context.Background()
	for i, br := range branches {
		sc := &store.Scan{Branch: br, Commit: fmt.Sprintf("c%d", i), At: epoch, Modules: []store.ScannedModule{{Path: "example.com/app", Dir: "."}}}
		if err := st.RecordScan(ctx, sc, []store.Finding{{Module: "example.com/app", Finding: htmlFinding(2, "v0.32.0")}}, nil); err != nil {
			b.Fatal(err)
		}
	}
	p := Project{Module: "example.com/app", Branches: []string{"release-*"}, VEXDir: "vex"}
	// As after an update: every triage's derivation is kept.
	if _, err := RecordViews(ctx, st); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu0 := cpuTime()
	for b.Loop() {
		if _, err := ProjectStatus(ctx, st, p, epoch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// BenchmarkListViews reads every view as status and triage list do, from
// the derivations kept after an update.
func BenchmarkListViews(b *testing.B) {
	st := openStore(b)
	branches := fillTriages(b, st, 5000)
	ctx := context.Background()
	if _, err := RecordViews(ctx, st); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu0 := cpuTime()
	for b.Loop() {
		if _, err := ListViews(ctx, st, branches); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}
