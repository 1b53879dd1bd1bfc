package triage

import (
	"context"
	"fmt"
	"testing"

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
		obs := fmt.Sprintf(`{"branch":%q,"commit":"c%d","module":"example.com/app","dependency_version":"v1.0.0","level":%d}`, b, i%7, 1+i%3)
		evs := []store.Event{
			{Kind: store.KindObserved, Author: "vexloom", Branches: []string{b}, Data: []byte(obs)},
			{Kind: store.KindAssessment, Author: "vexloom", Source: "automatic", Branches: []string{b}, Status: "not_affected", Justification: "vulnerable_code_not_in_execute_path"},
		}
		if i%3 != 0 {
			evs = append(evs, store.Event{Kind: store.KindAssessment, Author: "alice", Source: "maintainer", Branches: []string{b}, Status: "not_affected", Justification: "vulnerable_code_not_in_execute_path", Impact: "not reachable", Evidence: []byte(`{"level":3}`)})
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
	for b.Loop() {
		if _, err := Views(ctx, st, branches); err != nil {
			b.Fatal(err)
		}
	}
}
