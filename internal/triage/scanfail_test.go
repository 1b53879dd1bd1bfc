package triage

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/vexloom/vexloom/examples/demo"
	"github.com/vexloom/vexloom/internal/fixture"
	"github.com/vexloom/vexloom/internal/progress"
	"github.com/vexloom/vexloom/internal/scan"
	"github.com/vexloom/vexloom/internal/source"
	"github.com/vexloom/vexloom/internal/store"
)

// seededRunner is a Runner over the demo repository (with files changed on
// main first, if any) and a store in which main's last complete scan, at
// an earlier commit, found GO-2024-3333 at package level.
func seededRunner(t *testing.T, mainFiles map[string][]byte, cached bool, prog *progress.Reporter) (*Runner, string) {
	t.Helper()
	ctx := context.Background()
	cache := t.TempDir()
	db := fixture.Database(t, cache)
	r, err := demo.Create(ctx, filepath.Join(t.TempDir(), "repo"))
	if err != nil {
		t.Fatal(err)
	}
	if mainFiles != nil {
		if _, err := r.Commit(ctx, demo.MainBranch, fixture.Now, "change main", mainFiles); err != nil {
			t.Fatal(err)
		}
	}
	repo, err := source.OpenRepository(ctx, r.Dir, cache, nil)
	if err != nil {
		t.Fatal(err)
	}
	st := openStore(t)
	const good = "c0ffee000000000000000000000000000000c0de"
	f := htmlFinding(scan.LevelPackage, "v0.32.0")
	sc := &store.Scan{Branch: demo.MainBranch, Commit: good, Modules: []store.ScannedModule{{Path: demo.Module, Dir: "."}}, At: epoch}
	if err := st.RecordScan(ctx, sc, []store.Finding{{Module: demo.Module, Finding: f}}, nil); err != nil {
		t.Fatal(err)
	}
	mustObserve(t, st, observed(demo.MainBranch, good, ModuleFinding{Module: demo.Module, ModuleDir: ".", Finding: f}))
	mustReconcile(t, st, []string{demo.MainBranch})

	sdb := scan.Database{URL: db.URL(), Source: db.Meta.Source, Version: db.Meta.Version, Digest: db.Meta.Digest, Modified: db.Meta.Modified}
	opts := scan.Options{DB: sdb, Progress: prog}
	if cached {
		opts.Cache = &scan.Cache{Dir: filepath.Join(cache, "scans")}
	}
	return &Runner{
		Store: st, Repo: repo, Scanner: scan.NewScanner(opts), DB: sdb, Progress: prog,
		Now: (&clock{t: epoch.Add(48 * 3600e9)}).now, Branches: []string{demo.MainBranch},
		Author: "Demo Security", VEXDir: filepath.Join(t.TempDir(), "vex"),
	}, good
}

// nothingRecorded checks that a run left main as its last complete scan
// left it: the same history, the same latest scan, no document.
func nothingRecorded(t *testing.T, r *Runner, good string, before int) {
	t.Helper()
	ctx := context.Background()
	id := store.TriageID(htmlVuln, netDep)
	evs := history(t, r.Store, id)
	if len(evs) != before || countKind(evs, store.KindGone) != 0 {
		t.Errorf("history %v, want the %d events of the last complete scan", kinds(evs), before)
	}
	scans, err := r.Store.LatestScans(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sc := scans[demo.MainBranch]; sc == nil || sc.Commit != good {
		t.Errorf("main's latest scan is %+v, want the last complete one at %s", sc, good)
	}
	if _, err := r.Store.LatestDocument(ctx, demo.MainBranch); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a document was recorded for main: %v", err)
	}
	if _, err := os.Stat(filepath.Join(r.VEXDir, DocumentFileName(demo.MainBranch))); !os.IsNotExist(err) {
		t.Errorf("main's VEX file was written: %v", err)
	}
	v := view(t, r.Store, htmlVuln, netDep, []string{demo.MainBranch})
	if v.State == Closed || v.Branch(demo.MainBranch) == nil {
		t.Errorf("GO-2024-3333 is %s on %+v, want still on main", v.State, v.Branches)
	}
}

// A module that could not be scanned (here a go.mod that does not parse,
// so the module has no path) is not a module without findings: nothing is
// observed, the failure is recorded, and the run says which branch and
// module failed.
func TestRunFailedModuleKeepsTheBranch(t *testing.T) {
	r, good := seededRunner(t, map[string][]byte{"go.mod": []byte("this is not a go.mod\n")}, true, nil)
	before := len(history(t, r.Store, store.TriageID(htmlVuln, netDep)))
	sum, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Failing) != 1 || sum.Failing[0].Branch != demo.MainBranch || !strings.Contains(sum.Failing[0].Reason, "go.mod") {
		t.Errorf("failing = %+v", sum.Failing)
	}
	if len(sum.Failures) != 1 || !strings.Contains(sum.Failures[0], demo.MainBranch) || !strings.Contains(sum.Failures[0], "module") {
		t.Errorf("failures = %q", sum.Failures)
	}
	if len(sum.Branches) != 0 || len(sum.Transitions) != 0 {
		t.Errorf("branches %+v, transitions %+v: want none", sum.Branches, sum.Transitions)
	}
	nothingRecorded(t, r, good, before)
	failing, err := r.Store.FailingBranches(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if f := failing[demo.MainBranch]; f == nil || f.Attempts != 1 || f.Latest.Commit == good {
		t.Errorf("failing branches = %+v", failing)
	}
}

// cancelOnEngine cancels a context when govulncheck reports progress: in
// the middle of a module's scan.
type cancelOnEngine struct {
	once   sync.Once
	cancel context.CancelFunc
}

func (c *cancelOnEngine) Write(p []byte) (int, error) {
	if strings.HasPrefix(string(p), "    ") {
		c.once.Do(c.cancel)
	}
	return len(p), nil
}

// A scan interrupted in the middle of a module is an error, never a
// shorter result: the run stops and records nothing of the branch.
func TestRunInterruptedScanIsAnError(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the engine over the demo project until its first progress; run without -short")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := &cancelOnEngine{cancel: cancel}
	r, good := seededRunner(t, nil, false, progress.New(w))
	before := len(history(t, r.Store, store.TriageID(htmlVuln, netDep)))
	sum, err := r.Run(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %+v, %v; want context.Canceled", sum, err)
	}
	nothingRecorded(t, r, good, before)
}

// ReleaseViews refuses a release scan in which a module failed: the views
// would leave out what that module holds.
func TestReleaseViewsRefuseAnIncompleteScan(t *testing.T) {
	st := openStore(t)
	for _, target := range []*scan.Target{
		nil,
		{Commit: "c1", Modules: []scan.ModuleResult{{Dir: ".", Error: "go.mod:1: unknown directive"}}},
		{Commit: "c1", Modules: []scan.ModuleResult{
			{Path: appModule, Dir: ".", Findings: []scan.Finding{htmlFinding(scan.LevelSymbol, "v0.32.0")}},
			{Path: toolsModule, Dir: "tools", Error: "govulncheck: loading packages: \x1b[31mno\x1b[0m"},
		}},
	} {
		views, err := ReleaseViews(context.Background(), st, ReleasePoint{Branch: "release-1.0", Name: "v1.0.0", Target: target, Now: epoch})
		if !errors.Is(err, scan.ErrIncomplete) || views != nil {
			t.Errorf("ReleaseViews(%+v) = %d views, %v; want ErrIncomplete", target, len(views), err)
		}
	}
}

// A module whose go.mod does not parse has no path: what was observed in
// its directory stands all the same.
func TestObserveUnnamedFailedModuleKeepsObservations(t *testing.T) {
	st := openStore(t)
	id := store.TriageID(htmlVuln, netDep)
	mustObserve(t, st, observed("main", "c1",
		ModuleFinding{Module: appModule, ModuleDir: ".", Finding: htmlFinding(scan.LevelPackage, "v0.32.0")},
		ModuleFinding{Module: toolsModule, ModuleDir: "tools", Finding: htmlFinding(scan.LevelPackage, "v0.32.0")}))
	before := len(history(t, st, id))
	target := &scan.Target{Branch: "main", Commit: "c2", Modules: []scan.ModuleResult{
		{Path: appModule, Dir: ".", Findings: []scan.Finding{}},
		{Dir: "tools", Error: "tools/go.mod:1: unknown directive: this"},
	}}
	o := ObservedFromTarget(target, ScanEvidence(scan.Database{}))
	ch := mustObserve(t, st, o)
	evs := history(t, st, id)
	if len(evs) != before+1 || len(ch) != 1 || countKind(ch[0].Events, store.KindGone) != 1 {
		t.Fatalf("changes %+v, want only the root module's observation gone", ch)
	}
	v := view(t, st, htmlVuln, netDep, maintained)
	if b := v.Branch("main"); b == nil || len(b.Observations) != 1 || b.Observations[0].Module != toolsModule {
		t.Errorf("main = %+v, want tools' observation to stand", b)
	}
}
