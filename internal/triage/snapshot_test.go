package triage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/vexloom/vexloom/internal/scan"
	"github.com/vexloom/vexloom/internal/store"
	"github.com/vexloom/vexloom/internal/store/pgtest"
)

// snapshotBranches are the branches of the generated histories: four
// maintained, one not any more, and a release image.
var snapshotBranches = []string{"main", "release-1.0", "release-1.1", "release-1.2", "release-0.9", ImageBranchPrefix + "v1.0.0"}

// snapshotMaintained are the maintained ones.
var snapshotMaintained = []string{"main", "release-1.0", "release-1.1", "release-1.2"}

// genHistory appends a generated history to the store: n triages, each with
// a history drawn from r — observations on several branches and modules at
// every level (with symbols, packages and traces), findings gone from a
// branch or a module, automatic, maintainers' and advisories' assessments
// scoped to branches or patterns, with and without evidence, withdrawals,
// publications and recorded states — and the project's own advisories.
// first numbers the triages, so that later calls add new ones.
func genHistory(tb testing.TB, st *store.Store, r *rand.Rand, first, n int) {
	tb.Helper()
	ctx := context.Background()
	for i := first; i < first+n; i++ {
		dep := fmt.Sprintf("example.com/dep%d", i%13)
		if i%17 == 0 {
			dep = appModule // the project's own advisory when nothing observes it
		}
		tr, _, err := st.EnsureTriage(ctx, fmt.Sprintf("GO-2026-%04d", i), dep, nil)
		if err != nil {
			tb.Fatal(err)
		}
		evs := generatedEvents(r, dep == appModule)
		for len(evs) > 0 {
			k := min(len(evs), 1+r.IntN(4))
			batch := evs[:k]
			evs = evs[k:]
			for j := range batch {
				batch[j].TriageID = tr.ID
			}
			if _, err := st.Append(ctx, batch...); err != nil {
				tb.Fatal(err)
			}
		}
		addDerivedEvents(tb, st, tr.ID, r)
	}
}

// moreHistory appends events to existing triages (every k-th), as later
// runs do: new observations, gone findings, decisions and withdrawals.
func moreHistory(tb testing.TB, st *store.Store, r *rand.Rand, k int) []string {
	tb.Helper()
	ctx := context.Background()
	triages, err := st.Triages(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	var moved []string
	for i, tr := range triages {
		if i%k != 0 {
			continue
		}
		evs := generatedEvents(r, false)
		evs = evs[:min(len(evs), 1+r.IntN(3))]
		for j := range evs {
			evs[j].TriageID = tr.ID
		}
		if _, err := st.Append(ctx, evs...); err != nil {
			tb.Fatal(err)
		}
		addDerivedEvents(tb, st, tr.ID, r)
		moved = append(moved, tr.ID)
	}
	return moved
}

func generatedEvents(r *rand.Rand, advisory bool) []store.Event {
	pick := func(xs []string) string { return xs[r.IntN(len(xs))] }
	var evs []store.Event
	if advisory && r.IntN(3) > 0 {
		evs = append(evs, store.Event{Kind: store.KindAssessment, Author: "security-team", Source: "advisory", Status: "affected", Action: "upgrade"})
		return evs
	}
	for range 1 + r.IntN(8) {
		b := pick(snapshotBranches)
		switch x := r.IntN(12); {
		case x < 4:
			o := Observation{Branch: b, Commit: fmt.Sprintf("c%d", r.IntN(9)), Module: pick([]string{appModule, toolsModule}),
				DependencyVersion: fmt.Sprintf("v0.%d.0", r.IntN(5)), Level: scan.Level(1 + r.IntN(3))}
			if r.IntN(2) == 0 {
				o.ModuleDir, o.FixedVersion, o.GoVersion = "tools", "v0.9.0", "go1.24.1"
			}
			if o.Level >= scan.LevelPackage {
				o.Packages = []string{"golang.org/x/net/html"}
			}
			if o.Level == scan.LevelSymbol {
				o.Symbols = []string{"golang.org/x/net/html.Parse"}
				o.Traces = []scan.Trace{{
					{Module: netDep, Version: "v0.32.0", Package: "golang.org/x/net/html", Function: "Parse"},
					{Module: appModule, Package: appModule + "/cmd/app", Function: "main", Receiver: "*T", Position: &scan.Position{Filename: "cmd/app/main.go", Line: 12, Column: 7}},
				}, {}}
			}
			if isImageBranch(b) {
				o.Image = "pkg:golang/golang.org/x/net@v0.32.0"
			}
			data, _ := json.Marshal(o)
			evs = append(evs, store.Event{Kind: store.KindObserved, Author: "vexloom", Branches: []string{b}, Data: data})
		case x < 5:
			g := gone{Branch: b, Reason: "fixed"}
			if r.IntN(2) == 0 {
				g.Module = toolsModule
			}
			data, _ := json.Marshal(g)
			evs = append(evs, store.Event{Kind: store.KindGone, Author: "vexloom", Branches: []string{b}, Data: data})
		case x < 7:
			evs = append(evs, store.Event{Kind: store.KindAssessment, Author: "vexloom", Source: "automatic", Branches: []string{b},
				Status: pick([]string{"not_affected", "under_investigation", "affected"}), Justification: "vulnerable_code_not_in_execute_path"})
		case x < 10:
			ev := store.Event{Kind: store.KindAssessment, Author: "alice", Source: "maintainer", Status: pick([]string{"not_affected", "affected", "under_investigation"}),
				Justification: "vulnerable_code_not_in_execute_path", Impact: "not reachable", Command: "/not-affected", CommentRef: fmt.Sprintf("local:%d", r.IntN(1000))}
			switch r.IntN(3) {
			case 0:
				ev.Branches = []string{b}
			case 1:
				ev.Branches = []string{"release-*"}
			}
			if r.IntN(3) > 0 {
				ev.Evidence, _ = json.Marshal(decisionEvidence{Level: scan.Level(1 + r.IntN(3)), Branches: map[string]scan.Level{b: scan.Level(1 + r.IntN(3))}})
			}
			evs = append(evs, ev)
		default:
			evs = append(evs, store.Event{Kind: store.KindComment, Author: "mallory", Notes: "unauthorized"})
		}
	}
	return evs
}

// addDerivedEvents adds what depends on the history so far: a withdrawal
// of one of its decisions, a publication of the decision in force, a
// recorded state (not always the derived one).
func addDerivedEvents(tb testing.TB, st *store.Store, id string, r *rand.Rand) {
	tb.Helper()
	ctx := context.Background()
	evs, err := st.Events(ctx, id)
	if err != nil {
		tb.Fatal(err)
	}
	var decisions []int64
	for _, ev := range evs {
		if ev.Kind == store.KindAssessment && ev.Source != "automatic" {
			decisions = append(decisions, ev.Seq)
		}
	}
	var more []store.Event
	if len(decisions) > 0 && r.IntN(4) == 0 {
		w := store.Event{TriageID: id, Kind: store.KindWithdrawal, Author: "alice", Retracts: decisions[r.IntN(len(decisions))]}
		if r.IntN(2) == 0 {
			w.Branches = []string{snapshotMaintained[r.IntN(len(snapshotMaintained))]}
		}
		more = append(more, w)
	}
	if len(more) > 0 {
		if _, err := st.Append(ctx, more...); err != nil {
			tb.Fatal(err)
		}
		more = nil
		if evs, err = st.Events(ctx, id); err != nil {
			tb.Fatal(err)
		}
	}
	v := Derive(store.Triage{ID: id}, evs, snapshotMaintained, nil)
	for _, b := range v.Branches {
		if b.Decision != nil && r.IntN(2) == 0 {
			data, _ := json.Marshal(publication{Branch: b.Branch, Decision: b.Decision.Seq, Version: 1 + r.IntN(3)})
			more = append(more, store.Event{TriageID: id, Kind: store.KindPublished, Author: "vexloom", Source: "automatic", Branches: []string{b.Branch}, Data: data})
		}
	}
	if r.IntN(3) > 0 {
		to := v.State
		if r.IntN(4) == 0 {
			to = States[r.IntN(len(States))]
		}
		data, _ := json.Marshal(stateChange{From: RecordedState(evs), To: to, Reason: "generated"})
		more = append(more, store.Event{TriageID: id, Kind: store.KindState, Author: "vexloom", Source: "automatic", Data: data})
	}
	if len(more) > 0 {
		if _, err := st.Append(ctx, more...); err != nil {
			tb.Fatal(err)
		}
	}
}

// fullViews is the full derivation, without histories.
func fullViews(tb testing.TB, st *store.Store) []View {
	tb.Helper()
	views, err := Views(context.Background(), st, snapshotMaintained)
	if err != nil {
		tb.Fatal(err)
	}
	for i := range views {
		views[i].Events = nil
	}
	return views
}

// checkListViews checks that ListViews gives what the full derivation
// gives, view by view.
func checkListViews(t *testing.T, st *store.Store, when string) {
	t.Helper()
	got, err := ListViews(context.Background(), st, snapshotMaintained)
	if err != nil {
		t.Fatalf("%s: %v", when, err)
	}
	want := fullViews(t, st)
	if len(got) != len(want) {
		t.Fatalf("%s: %d views, want %d", when, len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("%s: triage %s:\ngot  %+v\nwant %+v", when, want[i].ID, got[i], want[i])
		}
	}
}

func recordViews(t *testing.T, st *store.Store) int {
	t.Helper()
	n, err := RecordViews(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// snapshotStores opens an empty store of each backend.
func snapshotStores(t *testing.T) map[string]func(t *testing.T) *store.Store {
	return map[string]func(t *testing.T) *store.Store{
		"sqlite": func(t *testing.T) *store.Store { return openStore(t) },
		"postgres": func(t *testing.T) *store.Store {
			st, err := store.OpenPostgres(context.Background(), pgtest.Database(t), store.Options{Project: appModule, Dir: t.TempDir(), Now: (&clock{t: epoch}).now})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
	}
}

// ListViews, from the derivations kept in the store and the histories that
// moved since, gives exactly the views of the full derivation — before
// anything is kept, once it is, after more events are appended (to old
// triages and new ones), once those are kept, and when what is kept is
// damaged — on both backends.
func TestListViewsEqualFullDerivation(t *testing.T) {
	t.Parallel()
	for name, open := range snapshotStores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			st := open(t)
			ctx := context.Background()
			r := rand.New(rand.NewPCG(13, 2026))
			genHistory(t, st, r, 0, 160)
			if _, _, err := st.EnsureTriage(ctx, "GO-2026-9999", "example.com/quiet", nil); err != nil {
				t.Fatal(err) // a triage without any event
			}
			checkListViews(t, st, "nothing kept")

			withEvents := 0
			all, err := st.AllEvents(ctx)
			if err != nil {
				t.Fatal(err)
			}
			withEvents = len(all)
			if n := recordViews(t, st); n != withEvents {
				t.Errorf("first record: %d derivations kept, want one per triage with events (%d)", n, withEvents)
			}
			if n := recordViews(t, st); n != 0 {
				t.Errorf("record with the history unmoved: %d kept, want 0", n)
			}
			checkListViews(t, st, "all kept")

			moved := moreHistory(t, st, r, 7)
			genHistory(t, st, r, 160, 20)
			checkListViews(t, st, "history moved")
			if n := recordViews(t, st); n != len(moved)+20 {
				t.Errorf("record after the history moved: %d kept, want the %d moved and 20 new", n, len(moved)+20)
			}
			checkListViews(t, st, "moved kept")

			// Kept derivations that cannot be read are derived again from
			// the history.
			moreHistory(t, st, r, 11)
			if _, err := st.RecordViews(ctx, viewFormat, func(h map[string][]store.Event) (map[string][]byte, error) {
				out := map[string][]byte{}
				for id := range h {
					out[id] = append(derive(h[id]).encode()[:3], 0xff)
				}
				return out, nil
			}); err != nil {
				t.Fatal(err)
			}
			checkListViews(t, st, "damaged derivations kept")

			// The views reach every state, flagged decisions, images and
			// the project's own advisories.
			views := fullViews(t, st)
			states := map[State]int{}
			flagged, images, advisories := 0, 0, 0
			p := Project{Module: appModule}
			for _, v := range views {
				states[v.State]++
				for _, b := range v.Branches {
					if b.Flagged {
						flagged++
					}
					if isImageBranch(b.Branch) {
						images++
					}
				}
				if p.IsAdvisory(v) {
					advisories++
				}
			}
			for _, s := range States {
				if states[s] == 0 {
					t.Errorf("no %s triage in the generated history: %v", s, states)
				}
			}
			if flagged == 0 || images == 0 || advisories == 0 {
				t.Errorf("generated history: %d flagged decisions, %d image branches, %d advisories; want some of each", flagged, images, advisories)
			}
		})
	}
}

// A failed derivation records nothing: the next record derives the same
// histories.
func TestRecordViewsAllOrNothing(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	ctx := context.Background()
	genHistory(t, st, rand.New(rand.NewPCG(1, 2)), 0, 10)
	if _, err := st.RecordViews(ctx, viewFormat, func(h map[string][]store.Event) (map[string][]byte, error) {
		out := map[string][]byte{}
		for id := range h {
			out[id] = derive(h[id]).encode()
			break // one missing
		}
		return out, nil
	}); err == nil {
		t.Fatal("recording without every derivation succeeded")
	}
	if n := recordViews(t, st); n != 10 {
		t.Errorf("after a failed record: %d kept, want 10", n)
	}
	checkListViews(t, st, "after a failed record")
}

// fixed holds the histories of a fixed generated history, by triage ID,
// generated once for the tests of the encoding.
var fixed struct {
	once      sync.Once
	histories map[string][]store.Event
}

func histories(tb testing.TB) map[string][]store.Event {
	tb.Helper()
	fixed.once.Do(func() {
		// The clock starts once the store is open: its times do not
		// depend on how many migrations opening it ran.
		c := &clock{t: epoch}
		st, err := store.Open(context.Background(), tb.TempDir(), c.now)
		if err != nil {
			tb.Fatal(err)
		}
		defer st.Close()
		c.mu.Lock()
		c.t = epoch
		c.mu.Unlock()
		genHistory(tb, st, rand.New(rand.NewPCG(7, 7)), 0, 120)
		all, err := st.AllEvents(context.Background())
		if err != nil {
			tb.Fatal(err)
		}
		fixed.histories = all
	})
	if fixed.histories == nil {
		tb.Fatal("the fixed history could not be generated (see the first test that generated it)")
	}
	return fixed.histories
}

// Every derivation reads back as it was written, and every cut-short or
// damaged one is an error, never a panic or a different derivation taken
// for it.
func TestDerivationEncoding(t *testing.T) {
	t.Parallel()
	for id, h := range histories(t) {
		want := derive(h)
		body := want.encode()
		got, err := decodeDerivation(body)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: read back\n%+v\nwant\n%+v", id, got, want)
		}
		// Cut short anywhere (every cut of the first bodies, a few of
		// each other).
		step := 1
		if len(body) > 64 {
			step = len(body)/16 + 1
		}
		for n := 0; n < len(body); n += step {
			if _, err := decodeDerivation(body[:n]); err == nil {
				t.Fatalf("%s: cut to %d of %d bytes, read without an error", id, n, len(body))
			}
		}
		if _, err := decodeDerivation(append(slices.Clone(body), 0)); err == nil {
			t.Fatalf("%s: read with a trailing byte", id)
		}
	}
	for _, bad := range [][]byte{nil, {}, {viewFormat + 1}, {viewFormat, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}} {
		if _, err := decodeDerivation(bad); err == nil {
			t.Errorf("%x read without an error", bad)
		}
	}
}

func FuzzDecodeDerivation(f *testing.F) {
	for _, h := range histories(f) {
		f.Add(derive(h).encode())
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := decodeDerivation(body)
		if err != nil {
			return
		}
		// What reads encodes back to something that reads the same, by
		// value or else by encoding: with a zone offset of days, the two
		// reads of a time held the same instant and encoded the same, yet
		// reflect.DeepEqual told their *time.Location apart (found by the
		// fuzzer; the input is kept).
		again, err := decodeDerivation(d.encode())
		if err != nil || (!reflect.DeepEqual(again, d) && !bytes.Equal(again.encode(), d.encode())) {
			t.Fatalf("re-encoded derivation reads %+v, %v; want %+v", again, err, d)
		}
	})
}

// The derivations kept in stores are in format viewFormat: a change to
// what derive makes of a history, or to how it is encoded, must come with
// a new format number, or stores would keep serving derivations of the
// old kind. This pins the encoded derivations of a fixed history.
func TestViewFormatPinned(t *testing.T) {
	t.Parallel()
	all := histories(t)
	ids := make([]string, 0, len(all))
	for id := range all {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	h := sha256.New()
	for _, id := range ids {
		fmt.Fprintf(h, "%s %x\n", id, derive(all[id]).encode())
	}
	const pinned = "format 1: 04af097967b8179155559f8f3b7e562babf04d9c9bd3447080f6d8852e5c8332"
	if got := fmt.Sprintf("format %d: %s", viewFormat, hex.EncodeToString(h.Sum(nil))); got != pinned {
		t.Errorf("the derivations of the fixed history changed:\n%s\nwant\n%s\nIf derive or the encoding changed on purpose, increase viewFormat and pin the new line.", got, pinned)
	}
}
