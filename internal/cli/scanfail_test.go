package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vexloom/vexloom/examples/demo"
	"github.com/vexloom/vexloom/internal/store"
	"github.com/vexloom/vexloom/internal/triage"
)

// storeSnapshot is what a failed scan must leave alone: every event, every
// triage's recorded state, and each branch's latest document.
type storeSnapshot struct {
	events   int
	kinds    map[store.Kind]int
	states   map[string]triage.State
	versions map[string]int
	files    map[string][]byte
}

func snapshot(t *testing.T, p *testProject) storeSnapshot {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(p.dir, ".vexloom"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	all, err := st.AllEvents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s := storeSnapshot{kinds: map[store.Kind]int{}, states: map[string]triage.State{}, versions: map[string]int{}, files: map[string][]byte{}}
	for id, evs := range all {
		s.events += len(evs)
		for _, ev := range evs {
			s.kinds[ev.Kind]++
		}
		s.states[id] = triage.RecordedState(evs)
	}
	for _, b := range []string{"main", demo.ReleaseBranch} {
		d, err := st.LatestDocument(ctx, b)
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		s.versions[b] = d.Version
		s.files[b], err = os.ReadFile(filepath.Join(p.dir, "vex", triage.DocumentFileName(b)))
		if err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func (p *testProject) status() triage.Status {
	p.t.Helper()
	out := p.ok("status", "--format", "json", "--config", p.cfg)
	var st triage.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		p.t.Fatalf("status output: %v\n%s", err, out)
	}
	return st
}

func branchStatusOf(t *testing.T, st triage.Status, name string) triage.BranchStatus {
	t.Helper()
	for _, b := range st.Branches {
		if b.Branch == name {
			return b
		}
	}
	t.Fatalf("status lists no %s: %+v", name, st.Branches)
	return triage.BranchStatus{}
}

// A module that cannot be scanned does not erase its branch (issue 10,
// item 1): whatever the cause, the branch keeps its last complete scan, no
// gone event is recorded, no triage changes state, no document version is
// written, status says the branch fails since when and why, and update
// exits 1 naming the branch and module. Fixing the branch heals it.
func TestScanFailureKeepsTheBranch(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("scans five broken commits; run without -short")
	}
	p := newTestProject(t)
	p.update()
	before := snapshot(t, p)
	good := branchStatusOf(t, p.status(), demo.ReleaseBranch)
	if good.Failing != nil || good.Findings == 0 {
		t.Fatalf("release-1.0 before: %+v", good)
	}
	// Some triage is found on release-1.0 only (x/crypto's fixed on
	// main): a failed scan must not close it.
	if before.kinds[store.KindGone] != 0 {
		t.Fatalf("the first run recorded %d gone events", before.kinds[store.KindGone])
	}
	// Offline from here: a dependency that is not in the module cache
	// cannot be downloaded.
	p.vars = append(p.vars, "GOPROXY=off")

	// The cases that reach the engine's loader break a main.go that
	// imports nothing but what fails: the loader fails as it would on the
	// demo's, without type-checking the demo's dependencies first.
	const smallMain = "// Command demo greets.\npackage main\n\nfunc main() {}\n"
	var since string
	for i, tc := range []struct {
		name  string
		files map[string]string
		// want is in the reason status gives.
		want string
	}{
		{"go.mod does not parse", map[string]string{"go.mod": "this is not a go.mod\n"}, "go.mod"},
		{"go.mod has no module line", map[string]string{"go.mod": "go 1.24.0\n"}, "no module line"},
		{"go.mod with terminal escapes", map[string]string{"go.mod": "module \x1b[31mred\x1b]8;;http://x\x07\n\ngo 1.24.0\nrequire (\n"}, "go.mod"},
		{"a dependency cannot be downloaded", map[string]string{"go.mod": goMod(demo.ReleaseBranch) + "\nrequire example.com/absent v1.0.0\n", "main.go": strings.Replace(smallMain, "package main\n", "package main\n\nimport _ \"example.com/absent\"\n", 1)}, "example.com/absent"},
		{"packages do not load", map[string]string{"go.mod": goMod(demo.ReleaseBranch), "main.go": smallMain + "\nfunc broken( {\n"}, "main.go"},
	} {
		p.commit(demo.ReleaseBranch, "break it: "+tc.name, tc.files)
		out, stderr, code := p.cmd("update", "--format", "json", "-q")
		if code != 1 {
			t.Fatalf("%s: update exit %d, want 1\n%s\n%s", tc.name, code, out, stderr)
		}
		if !strings.Contains(stderr, demo.ReleaseBranch) || !strings.Contains(stderr, "module") {
			t.Errorf("%s: the error does not name the branch and module: %s", tc.name, stderr)
		}
		if strings.ContainsAny(stderr, "\x1b\x07") {
			t.Errorf("%s: the error carries terminal escapes: %q", tc.name, stderr)
		}
		var u updateOutput
		if err := json.Unmarshal([]byte(out), &u); err != nil {
			t.Fatalf("%s: update output: %v\n%s", tc.name, err, out)
		}
		if len(u.Failing) != 1 || u.Failing[0].Branch != demo.ReleaseBranch {
			t.Errorf("%s: failing = %+v", tc.name, u.Failing)
		}
		for _, b := range u.Branches {
			if b.Branch == demo.ReleaseBranch {
				t.Errorf("%s: release-1.0 was published: %+v", tc.name, b)
			}
		}
		if len(u.Transitions) != 0 {
			t.Errorf("%s: transitions %+v", tc.name, u.Transitions)
		}

		after := snapshot(t, p)
		if after.events != before.events || after.kinds[store.KindGone] != 0 || after.kinds[store.KindState] != before.kinds[store.KindState] {
			t.Errorf("%s: events %d (%v), want %d (%v)", tc.name, after.events, after.kinds, before.events, before.kinds)
		}
		for id, s := range before.states {
			if after.states[id] != s {
				t.Errorf("%s: %s went from %s to %s", tc.name, id, s, after.states[id])
			}
		}
		for b, v := range before.versions {
			if after.versions[b] != v || !bytes.Equal(after.files[b], before.files[b]) {
				t.Errorf("%s: the VEX of %s is v%d, want v%d unchanged", tc.name, b, after.versions[b], v)
			}
		}

		bs := branchStatusOf(t, p.status(), demo.ReleaseBranch)
		if bs.Failing == nil {
			t.Fatalf("%s: status does not show release-1.0 failing: %+v", tc.name, bs)
		}
		if !strings.Contains(bs.Failing.Reason, tc.want) || bs.Failing.Attempts != i+1 {
			t.Errorf("%s: failing = %+v, want %q in the reason after %d attempts", tc.name, bs.Failing, tc.want, i+1)
		}
		if i == 0 {
			since = bs.Failing.Since.String()
		} else if bs.Failing.Since.String() != since {
			t.Errorf("%s: failing since %s, want the first failure's %s", tc.name, bs.Failing.Since, since)
		}
		if bs.Commit != good.Commit || bs.Findings != good.Findings || bs.VEXVersion != good.VEXVersion {
			t.Errorf("%s: status shows %+v, want the last complete scan %+v", tc.name, bs, good)
		}
		if m := branchStatusOf(t, p.status(), "main"); m.Failing != nil {
			t.Errorf("%s: main is failing: %+v", tc.name, m.Failing)
		}
		table := p.ok("status", "--config", p.cfg)
		if !strings.Contains(table, "failing: "+demo.ReleaseBranch+" since ") {
			t.Errorf("%s: the status table does not show the failure:\n%s", tc.name, table)
		}
		if strings.ContainsAny(table, "\x1b\x07") {
			t.Errorf("%s: the status table carries terminal escapes: %q", tc.name, table)
		}
	}

	// The branch fixed: the next update heals it, with no gone event and
	// the same findings as before. The fix is release 1.0.1, cut from
	// v1.0.0 (the broken commits dropped): the commit TestAdvisoriesGate
	// scans too, so its scan is computed once for both.
	release101(t, p)
	u := p.update()
	if len(u.Failing) != 0 || len(u.Failures) != 0 {
		t.Fatalf("after the fix: %+v", u)
	}
	healed := branchStatusOf(t, p.status(), demo.ReleaseBranch)
	if healed.Failing != nil || healed.Findings != good.Findings || healed.Commit == good.Commit {
		t.Errorf("after the fix release-1.0 is %+v, want healed with %d findings at the new commit", healed, good.Findings)
	}
	after := snapshot(t, p)
	if after.kinds[store.KindGone] != 0 {
		t.Errorf("after the fix: %d gone events", after.kinds[store.KindGone])
	}
	for id, s := range before.states {
		if after.states[id] != s {
			t.Errorf("after the fix %s went from %s to %s", id, s, after.states[id])
		}
	}
}

// scan --format openvex writes no document when a module could not be
// scanned: it would state nothing about that module as if it had nothing.
// It still exits 1 naming the module; the JSON report, which carries the
// error, is still written.
func TestScanOpenVEXRefusesAFailedModule(t *testing.T) {
	e := newEnv(t)
	for _, gomod := range []string{"this is not a go.mod\n", "go 1.24.0\n", "module \x1b[31mred\n\ngo 1.24.0\nrequire (\n"} {
		dir := t.TempDir()
		writeTree(t, dir, map[string]string{"go.mod": gomod, "main.go": "package main\n\nfunc main() {}\n"})
		out := filepath.Join(t.TempDir(), "vex.json")
		stdout, stderr, code := e.run("scan", "--format", "openvex", "-o", out, "-q", dir)
		if code != 1 || !strings.Contains(stderr, "module") || !strings.Contains(stderr, "go.mod") {
			t.Errorf("%q: exit %d, want 1 naming the module\n%s\n%s", gomod, code, stdout, stderr)
		}
		if strings.ContainsAny(stderr, "\x1b\x07") {
			t.Errorf("%q: the error carries terminal escapes: %q", gomod, stderr)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("%q: a document was written: %v", gomod, err)
		}
		stdout, stderr, code = e.run("scan", "--format", "openvex", "-q", dir)
		if code != 1 || stdout != "" {
			t.Errorf("%q to stdout: exit %d, want 1 and nothing written\n%s\n%s", gomod, code, stdout, stderr)
		}
		stdout, _, code = e.run("scan", "--format", "json", "-q", dir)
		if code != 1 || !strings.Contains(stdout, `"error"`) {
			t.Errorf("%q as JSON: exit %d, want 1 with the error in the report\n%s", gomod, code, stdout)
		}
	}
}

// A branch whose update stopped after recording its scan and before
// observing it says so in status (table and JSON), keeps its last observed
// scan there, and is whole again after its next update.
func TestStatusShowsAnInterruptedBranch(t *testing.T) {
	t.Parallel()
	p := newTestProject(t)
	p.ok("update", "--config", p.cfg, "-q")
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(p.dir, ".vexloom"), nil)
	if err != nil {
		t.Fatal(err)
	}
	scans, err := st.LatestScans(ctx)
	if err != nil || scans["main"] == nil {
		t.Fatalf("latest scans %v %v", scans, err)
	}
	half := *scans["main"]
	half.ID, half.Pending = 0, true
	half.At = half.At.Add(time.Hour)
	err = st.RecordScan(ctx, &half, nil, nil)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	out := p.ok("status", "--config", p.cfg)
	want := "interrupted: main: the scan of " + shortHash(half.Commit) + " recorded at " + half.At.UTC().Format(time.RFC3339) + " was not observed (its update stopped); keeps its last observed scan of " + shortHash(half.Commit) + " until the branch's next update"
	if !strings.Contains(out, want) {
		t.Errorf("status does not say main is interrupted:\n%s\nwant a line %q", out, want)
	}
	var js struct {
		Branches []triage.BranchStatus `json:"branches"`
	}
	if err := json.Unmarshal([]byte(p.ok("status", "--config", p.cfg, "--format", "json")), &js); err != nil {
		t.Fatal(err)
	}
	for _, b := range js.Branches {
		if in := b.Interrupted; (b.Branch == "main") != (in != nil) || in != nil && (in.Commit != half.Commit || !in.At.Equal(half.At)) {
			t.Errorf("status JSON: %s interrupted %+v", b.Branch, in)
		}
	}
	p.ok("update", "--config", p.cfg, "-q")
	if out := p.ok("status", "--config", p.cfg); strings.Contains(out, "interrupted") {
		t.Errorf("main is still interrupted after its update:\n%s", out)
	}
}
