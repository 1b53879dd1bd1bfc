package cli

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vexloom/vexloom/examples/demo"
	"github.com/vexloom/vexloom/internal/store"
	"github.com/vexloom/vexloom/internal/store/pgtest"
	"github.com/vexloom/vexloom/internal/triage"
)

// fourBranches are the maintained branches of the runner tests: the demo's
// two, and one more like each (same tree, another commit).
var fourBranches = []string{"main", "release-1.0", "release-1.1", "release-1.2"}

// newFourBranchProject is the demo project with four maintained branches.
func newFourBranchProject(t *testing.T) *testProject {
	t.Helper()
	p := newTestProject(t)
	ctx := context.Background()
	for from, to := range map[string]string{"release-1.0": "release-1.1", "main": "release-1.2"} {
		if out, err := exec.Command("git", "-C", p.repo.Dir, "branch", to, from).CombinedOutput(); err != nil {
			t.Fatalf("git branch: %v\n%s", err, out)
		}
		if _, err := p.repo.Commit(ctx, to, demo.Epoch.Add(time.Hour), "Branch "+to, nil); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

var (
	seqField  = regexp.MustCompile(`"(seq|retracts|decision)": [0-9]+`)
	timeField = regexp.MustCompile(`"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z"`)
	daysField = regexp.MustCompile(`\s*"oldest_open_days": -?[0-9]+,`)
)

// endState is what a project's store says once its runs are over: the
// status, every triage with its per-branch decisions, and each branch's VEX
// document, with the store's name, times and event numbers (which depend
// on the order runners wrote in) masked.
func endState(t *testing.T, p *testProject, storeURL string) string {
	t.Helper()
	var b strings.Builder
	status := p.ok("status", "--config", p.cfg, "--store", storeURL, "--format", "json")
	b.WriteString(mask(status, storeURL))
	list := p.ok("triage", "list", "--config", p.cfg, "--store", storeURL, "--format", "json")
	b.WriteString(list)
	var ids []string
	for _, m := range regexp.MustCompile(`"id": "(vx-[a-z0-9]+)"`).FindAllStringSubmatch(list, -1) {
		ids = append(ids, m[1])
	}
	sort.Strings(ids)
	for _, id := range ids {
		show := p.ok("triage", "show", id, "--config", p.cfg, "--store", storeURL, "--format", "json")
		// The history's order depends on which runner wrote first; the
		// triage's current state must not.
		if i := strings.Index(show, `"history": [`); i >= 0 {
			show = show[:i]
		}
		b.WriteString(show)
	}
	for _, br := range fourBranches {
		b.WriteString(p.ok("vex", "--branch", br, "--config", p.cfg, "--store", storeURL))
	}
	// Runners in child processes read the real clock.
	out := daysField.ReplaceAllString(b.String(), "")
	return timeField.ReplaceAllString(seqField.ReplaceAllString(out, `"$1": N`), `TIME`)
}

// checkHistory checks what must hold of a shared store whatever happened to
// its runners: every triage has its first observation (none is half
// created), no observation is recorded twice, no comment is applied twice.
func checkHistory(t *testing.T, storeURL string) {
	t.Helper()
	ctx := context.Background()
	st, err := store.OpenPostgres(ctx, storeURL, store.Options{Project: demo.Module, MustExist: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	trs, err := st.Triages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(trs) == 0 {
		t.Fatal("no triages")
	}
	all, err := st.AllEvents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range trs {
		evs := all[tr.ID]
		if len(evs) == 0 || evs[0].Kind != store.KindObserved {
			t.Errorf("triage %s has no first observation: %+v", tr.ID, evs)
		}
		seen := map[string]bool{}
		for _, ev := range evs {
			k := string(ev.Kind) + string(ev.Data) + ev.CommentRef
			if ev.Kind == store.KindObserved || ev.CommentRef != "" {
				if seen[k] {
					t.Errorf("triage %s: %s recorded twice: %s", tr.ID, ev.Kind, k)
				}
				seen[k] = true
			}
		}
	}
	if _, err := triage.Views(ctx, st, fourBranches); err != nil {
		t.Fatal(err)
	}
}

// startRunner runs `vexloom update --branch B` against a store in a child
// process, as a runner on another machine would.
func startRunner(t *testing.T, p *testProject, storeURL, branch string) (*exec.Cmd, chan error, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "--cache-dir", p.cache, "-q", "update", "--config", p.cfg, "--store", storeURL, "--branch", branch)
	cmd.Env = append(p.vars, "VEXLOOM_TEST_CLI=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	return cmd, done, &stderr
}

// Four runners, one per branch, at once against one PostgreSQL store end
// where one sequential update of the four branches ends: the same triages,
// states, decisions and documents, nothing duplicated.
func TestParallelRunnersEqualSequential(t *testing.T) {
	seqURL, parURL := pgtest.Database(t), pgtest.Database(t)
	p := newFourBranchProject(t)
	p.ok("update", "--config", p.cfg, "--store", seqURL, "-q")
	want := endState(t, p, seqURL)

	var wg sync.WaitGroup
	errs := make([]string, len(fourBranches))
	for i, b := range fourBranches {
		_, done, stderr := startRunner(t, p, parURL, b)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := <-done; err != nil {
				errs[i] = fmt.Sprintf("runner %s: %v\n%s", b, err, stderr)
			}
		}()
	}
	wg.Wait()
	for _, e := range errs {
		if e != "" {
			t.Error(e)
		}
	}
	checkHistory(t, parURL)
	if got := endState(t, p, parURL); got != want {
		t.Errorf("four parallel runners end elsewhere than one sequential update:\n%s", diffLines(want, got))
	}
}

// Runners killed with SIGKILL at random moments while three others run
// lose nothing and duplicate nothing: once every branch has had an
// undisturbed run, the store is where an undisturbed run leaves it.
func TestKillRunnersAtRandom(t *testing.T) {
	if testing.Short() {
		t.Skip("runs vexloom many times")
	}
	seqURL, parURL := pgtest.Database(t), pgtest.Database(t)
	p := newFourBranchProject(t)
	p.ok("update", "--config", p.cfg, "--store", seqURL, "-q")
	want := endState(t, p, seqURL)

	// How long a runner takes with the scan cache warm: the window to
	// kill in.
	begin := time.Now()
	_, done, stderr := startRunner(t, p, pgtest.Database(t), "main")
	if err := <-done; err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	full := time.Since(begin)

	rng := rand.New(rand.NewPCG(13, uint64(time.Now().UnixNano())))
	type runner struct {
		cmd    *exec.Cmd
		done   chan error
		stderr *bytes.Buffer
	}
	running := map[string]*runner{}
	start := func(b string) {
		cmd, done, stderr := startRunner(t, p, parURL, b)
		running[b] = &runner{cmd, done, stderr}
	}
	for _, b := range fourBranches {
		start(b)
	}
	// Every moment, the runners that finished start again (four are
	// always at work) and one of those at work is killed: every turn
	// kills, so twenty kills cost twenty turns.
	kills := 0
	for kills < 20 {
		time.Sleep(time.Duration(rng.Int64N(int64(full) + 1)))
		var busy []string
		for _, b := range fourBranches {
			r := running[b]
			select {
			case err := <-r.done:
				if err != nil {
					t.Fatalf("runner %s: %v\n%s", b, err, r.stderr)
				}
				start(b)
			default:
				busy = append(busy, b)
			}
		}
		if len(busy) == 0 {
			continue
		}
		b := busy[rng.IntN(len(busy))]
		running[b].cmd.Process.Signal(syscall.SIGKILL)
		<-running[b].done
		kills++
		start(b)
	}
	t.Logf("%d runners killed (a runner takes about %v)", kills, full.Round(time.Millisecond))
	for b, r := range running {
		if err := <-r.done; err != nil {
			t.Fatalf("runner %s: %v\n%s", b, err, r.stderr)
		}
	}
	checkHistory(t, parURL)
	// One undisturbed run of every branch, all at once.
	for _, b := range fourBranches {
		start(b)
	}
	for b, r := range running {
		if err := <-r.done; err != nil {
			t.Fatalf("runner %s: %v\n%s", b, err, r.stderr)
		}
	}
	checkHistory(t, parURL)
	if got := endState(t, p, parURL); got != want {
		t.Errorf("after %d kills the store ends elsewhere than an undisturbed run:\n%s", kills, diffLines(want, got))
	}
}
