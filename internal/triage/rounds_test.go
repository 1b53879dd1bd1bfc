package triage_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vexloom/vexloom/examples/demo"
	"github.com/vexloom/vexloom/internal/fixture"
	"github.com/vexloom/vexloom/internal/ghbackend"
	"github.com/vexloom/vexloom/internal/ghfake"
	"github.com/vexloom/vexloom/internal/scan"
	"github.com/vexloom/vexloom/internal/source"
	"github.com/vexloom/vexloom/internal/store"
	"github.com/vexloom/vexloom/internal/store/pgtest"
	"github.com/vexloom/vexloom/internal/triage"
)

// roundBranches are the maintained branches of the round tests: the demo's
// two, and one more at each one's commit (four branches to record, two
// trees for the engine: a scan is cached by content).
var roundBranches = []string{"main", "release-1.0", "release-1.1", "release-1.2"}

func roundNow() time.Time { return demo.Epoch.Add(48 * time.Hour) }

var issueLink = regexp.MustCompile(` http://127\.0\.0\.1:[0-9]+/demo-org/triage/issues/[0-9]+`)

const roundToken = "ghp_RoundRunnerT0kenxxxxxxxxxxxxxxxxxxxxxx"

// roundFixture is what every runner of a round test shares: the demo
// repository with four branches, the vulnerability database, a scan cache.
type roundFixture struct {
	repoDir, cache string
	db             scan.Database
}

func newRoundFixture(t *testing.T) *roundFixture {
	t.Helper()
	ctx := context.Background()
	cache := t.TempDir()
	fdb := fixture.Database(t, cache)
	r, err := demo.Create(ctx, filepath.Join(t.TempDir(), "repo"))
	if err != nil {
		t.Fatal(err)
	}
	for from, to := range map[string]string{"release-1.0": "release-1.1", "main": "release-1.2"} {
		if out, err := exec.Command("git", "-C", r.Dir, "branch", to, from).CombinedOutput(); err != nil {
			t.Fatalf("git branch: %v\n%s", err, out)
		}
	}
	return &roundFixture{repoDir: r.Dir, cache: cache, db: scan.Database{URL: fdb.URL(), Source: fdb.Meta.Source, Version: fdb.Meta.Version, Digest: fdb.Meta.Digest, Modified: fdb.Meta.Modified}}
}

// roundWorld is one store (SQLite or PostgreSQL), its GitHub triage
// repository on a fake GitHub, and the VEX directory its runners write to.
type roundWorld struct {
	open   func(t *testing.T) *store.Store
	gh     *ghfake.Server
	vexDir string
	// afterRounds counts the rounds' remaining shared work (the feed).
	afterRounds atomic.Int32
}

func newRoundWorld(t *testing.T, backend string) *roundWorld {
	t.Helper()
	w := &roundWorld{gh: ghfake.New(t), vexDir: t.TempDir()}
	w.gh.CreateRepo("demo-org/triage")
	w.gh.AddToken(roundToken, "vexloom-bot")
	switch backend {
	case "sqlite":
		dir := t.TempDir()
		w.open = func(t *testing.T) *store.Store {
			st, err := store.Open(context.Background(), dir, roundNow)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		}
	case "postgres":
		url, dir := pgtest.Database(t), t.TempDir()
		w.open = func(t *testing.T) *store.Store {
			st, err := store.OpenPostgres(context.Background(), url, store.Options{Project: demo.Module, Dir: dir, Now: roundNow})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		}
	}
	return w
}

// runner is `vexloom update --branch only` (every branch when only is
// empty) of its own, with its own store connection and GitHub client.
func (w *roundWorld) runner(t *testing.T, f *roundFixture, name string, only ...string) *triage.Runner {
	t.Helper()
	ctx := context.Background()
	st := w.open(t)
	repo, err := source.OpenRepository(ctx, f.repoDir, f.cache, nil)
	if err != nil {
		t.Fatal(err)
	}
	be, err := ghbackend.New(ghbackend.Options{Client: w.gh.Client(t, roundToken), Store: st, Repo: "demo-org/triage", Now: roundNow})
	if err != nil {
		t.Fatal(err)
	}
	return &triage.Runner{
		Store: st, Repo: repo, DB: f.db, Backend: be, Now: roundNow, Name: name,
		Scanner:  scan.NewScanner(scan.Options{DB: f.db, Cache: &scan.Cache{Dir: filepath.Join(f.cache, "scans")}}),
		Branches: []string{"main", "release-*"}, Only: only,
		Author: "Demo Security", VEXDir: w.vexDir,
		AfterRound: func(context.Context, *triage.Summary) error {
			w.afterRounds.Add(1)
			return nil
		},
	}
}

// endState is what the store and GitHub say once the runs are over: each
// triage's state and per-branch decisions, each branch's document, each
// issue's title, state and labels.
func (w *roundWorld) endState(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	st := w.open(t)
	views, err := triage.Views(ctx, st, roundBranches)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, v := range views {
		line := fmt.Sprintf("triage %s %s %s:", v.VulnID, v.Dependency, v.State)
		for _, b := range v.Branches {
			d := "-"
			if b.Decision != nil {
				d = b.Decision.Status
			}
			line += fmt.Sprintf(" %s=%s/%s/published:%v", b.Branch, b.Level, d, b.Decision != nil && b.PublishedDecision == b.Decision.Seq)
		}
		lines = append(lines, line)
	}
	for _, b := range roundBranches {
		d, err := st.LatestDocument(ctx, b)
		if err != nil {
			lines = append(lines, fmt.Sprintf("document %s: %v", b, err))
			continue
		}
		// The issue a statement links to is on this world's GitHub; a
		// document written after the issue was opened links to it.
		body := issueLink.ReplaceAllString(string(d.Body), "")
		lines = append(lines, fmt.Sprintf("document %s v%d %s", b, d.Version, body))
	}
	for _, is := range w.gh.Issues("demo-org/triage") {
		labels := slices.Clone(is.Labels)
		sort.Strings(labels)
		lines = append(lines, fmt.Sprintf("issue %q %s %v", is.Title, is.State, labels))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// writes counts the requests that change GitHub.
func writes(gh *ghfake.Server) int {
	n := 0
	for _, r := range gh.Log() {
		if r.Method != "GET" && r.Method != "HEAD" {
			n++
		}
	}
	return n
}

// Four runners, one per branch, at once: the round's shared work — the
// GitHub sync and the feed — is done once per change of the store, and the
// end state is a sequential update's. On PostgreSQL the four record their
// branches in parallel, and the round (held by the test until all four
// have) is done by one of them; on SQLite runners take turns for the whole
// run, so each of the four changes is followed by its round.
func TestRoundOncePerChange(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: four runners over the demo project; run without -short")
	}
	t.Parallel()
	f := newRoundFixture(t)
	seq := newRoundWorld(t, "sqlite")
	r := seq.runner(t, f, "sequential")
	if _, err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.Store.Close()
	want, wantWrites := seq.endState(t), writes(seq.gh)
	if seq.afterRounds.Load() != 1 || wantWrites == 0 || len(seq.gh.Issues("demo-org/triage")) == 0 {
		t.Fatalf("the sequential update: %d rounds, %d writes to GitHub, %d issues", seq.afterRounds.Load(), wantWrites, len(seq.gh.Issues("demo-org/triage")))
	}

	t.Run("half observed", func(t *testing.T) {
		t.Parallel()
		testRoundKeepsAHalfObservedBranch(t, f)
	})
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			w := newRoundWorld(t, backend)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			var hold *store.Lease
			if backend == "postgres" {
				// The round waits until every branch is recorded.
				var err error
				if hold, err = w.open(t).TakeLease(ctx, "round"); err != nil {
					t.Fatal(err)
				}
			}
			runners := make([]*triage.Runner, len(roundBranches))
			for i, b := range roundBranches {
				runners[i] = w.runner(t, f, "runner-"+b, b)
			}
			var wg sync.WaitGroup
			sums := make([]*triage.Summary, len(runners))
			errs := make([]error, len(runners))
			for i, r := range runners {
				wg.Add(1)
				go func() {
					defer wg.Done()
					sums[i], errs[i] = r.Run(ctx)
					// As `vexloom update` does when it ends: on SQLite,
					// the next runner's turn.
					r.Store.Close()
				}()
			}
			if hold != nil {
				st := w.open(t)
				for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
					scans, err := st.LatestScans(ctx)
					if err != nil {
						t.Fatal(err)
					}
					if len(scans) == len(roundBranches) || time.Now().After(deadline) {
						break
					}
				}
				// The last runner releases its branch after recording
				// its scan and observations; wait for every claim to end.
				for _, b := range roundBranches {
					l, err := st.TakeLease(ctx, "branch:"+b)
					if err != nil {
						t.Fatal(err)
					}
					l.Release()
				}
				hold.Release()
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("runner %s: %v", roundBranches[i], err)
				}
			}
			rounds, err := w.open(t).Rounds(ctx)
			if err != nil {
				t.Fatal(err)
			}
			wantRounds := 1
			if backend == "sqlite" {
				wantRounds = len(roundBranches)
			}
			done := 0
			for _, r := range rounds {
				if r.Done {
					done++
				}
			}
			if done != wantRounds || len(rounds) != wantRounds || int(w.afterRounds.Load()) != wantRounds {
				t.Errorf("%d rounds begun, %d done, %d feeds built; want %d", len(rounds), done, w.afterRounds.Load(), wantRounds)
			}
			if backend == "postgres" {
				left := 0
				for _, s := range sums {
					if s.Round == triage.RoundLeft {
						left++
					}
				}
				if left != len(roundBranches)-1 {
					t.Errorf("%d runners left the round to another, want %d", left, len(roundBranches)-1)
				}
				// One round: GitHub is written to as by one sequential
				// update.
				if got := writes(w.gh); got != wantWrites {
					t.Errorf("%d writes to GitHub, want the sequential update's %d", got, wantWrites)
				}
			}
			if got := w.endState(t); got != want {
				t.Errorf("four runners end elsewhere than one sequential update:\ngot:\n%s\nwant:\n%s", got, want)
				if d := os.Getenv("ROUNDDEBUG"); d != "" {
					exec.Command("cp", "-r", w.vexDir, d+"/"+backend).Run()
					exec.Command("cp", "-r", seq.vexDir, d+"/seq").Run()
				}
			}

			// A second round on the same commits changes nothing: the one
			// runner that does it (its branch recorded, the others done)
			// writes nothing to GitHub.
			before := writes(w.gh)
			again := w.runner(t, f, "again", "main")
			sum, err := again.Run(ctx)
			if err != nil {
				t.Fatal(err)
			}
			again.Store.Close()
			if sum.Round != triage.RoundDone || writes(w.gh) != before {
				t.Errorf("an idle run: round %q, %d writes to GitHub", sum.Round, writes(w.gh)-before)
			}
		})
	}
}

// A runner stopped after recording its branch's scan and before observing
// all it found leaves the branch pending: another runner's round keeps
// that branch's document as it is (written now, it would say part of the
// scan), and the branch's next run records and observes its scan again,
// even at the same commit.
// (A subtest of TestRoundOncePerChange, whose fixture has both trees
// scanned already.)
func testRoundKeepsAHalfObservedBranch(t *testing.T, f *roundFixture) {
	ctx := context.Background()
	w := newRoundWorld(t, "postgres")
	if _, err := w.runner(t, f, "first").Run(ctx); err != nil {
		t.Fatal(err)
	}
	st := w.open(t)
	scans, err := st.LatestScans(ctx)
	if err != nil || scans["main"] == nil {
		t.Fatalf("latest scans %v %v", scans, err)
	}
	// What a killed runner of main leaves: its scan, never observed.
	half := *scans["main"]
	half.ID, half.Pending = 0, true
	if err := st.RecordScan(ctx, &half, nil, nil); err != nil {
		t.Fatal(err)
	}
	sum, err := w.runner(t, f, "release", "release-1.0").Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var others []string
	for _, o := range sum.Others {
		others = append(others, o.Branch)
	}
	if sum.Round != triage.RoundDone || !slices.Equal(others, []string{"release-1.1", "release-1.2"}) {
		t.Errorf("the round (%v) wrote the documents of %v, want release-1.1 and release-1.2 (main is half observed)", sum.Round, others)
	}
	if _, err := w.runner(t, f, "main", "main").Run(ctx); err != nil {
		t.Fatal(err)
	}
	if p, err := st.PendingBranches(ctx); err != nil || len(p) != 0 {
		t.Errorf("main's run left pending branches %v (%v)", p, err)
	}
	after, err := st.LatestScans(ctx)
	if err != nil || after["main"] == nil || after["main"].ID <= half.ID || after["main"].Commit != half.Commit {
		t.Errorf("main's latest scan is %+v (%v), want a new one of %s after the half-observed %d", after["main"], err, half.Commit, half.ID)
	}
}
