package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vexloom/vexloom/examples/demo"
	"github.com/vexloom/vexloom/internal/fixture"
	"github.com/vexloom/vexloom/internal/triage"
	"github.com/vexloom/vexloom/internal/vex"
)

// project is a demo project set up for the triage commands: its repository,
// project file and store in a temporary directory.
type testProject struct {
	*env
	repo *demo.Repo
	dir  string
	cfg  string
}

func newTestProject(t *testing.T) *testProject {
	t.Helper()
	warmScans(t)
	e := newEnv(t)
	dir := t.TempDir()
	repo := demoRepo(t, filepath.Join(dir, "repo"))
	p := &testProject{env: e, repo: repo, dir: dir, cfg: filepath.Join(dir, "vexloom.yaml")}
	p.ok("init", "-o", p.cfg, "--module", demo.Module, "--repository", "repo", "--branch", "main", "--branch", "release-*", "--security-team", "demo-security")
	return p
}

// ok runs a command that must succeed and returns its stdout.
func (p *testProject) ok(args ...string) string {
	p.t.Helper()
	out, stderr, code := p.run(args...)
	if code != 0 {
		p.t.Fatalf("vexloom %s: exit %d\n%s\n%s", strings.Join(args, " "), code, out, stderr)
	}
	return out
}

// cmd runs a project command with --config.
func (p *testProject) cmd(args ...string) (string, string, int) {
	p.t.Helper()
	return p.run(append(args, "--config", p.cfg)...)
}

func (p *testProject) update() updateOutput {
	p.t.Helper()
	out := p.ok("update", "--config", p.cfg, "--format", "json", "-q")
	var u updateOutput
	if err := json.Unmarshal([]byte(out), &u); err != nil {
		p.t.Fatalf("update output: %v\n%s", err, out)
	}
	return u
}

func (p *testProject) triage(ref string) triageOutput {
	p.t.Helper()
	out := p.ok("triage", "show", ref, "--format", "json", "--config", p.cfg)
	var tr triageOutput
	if err := json.Unmarshal([]byte(out), &tr); err != nil {
		p.t.Fatal(err)
	}
	return tr
}

func (p *testProject) branch(tr triageOutput, name string) *branchOutput {
	for i := range tr.Branches {
		if tr.Branches[i].Branch == name {
			return &tr.Branches[i]
		}
	}
	return nil
}

// statement returns the status and justification of vuln in a branch's
// latest VEX.
func (p *testProject) statement(branch, vuln string) (string, string) {
	p.t.Helper()
	out := p.ok("vex", "--branch", branch, "--config", p.cfg)
	doc, err := vex.Parse([]byte(out))
	if err != nil {
		p.t.Fatal(err)
	}
	for _, s := range doc.Statements {
		if string(s.Vulnerability.Name) == vuln || string(s.Vulnerability.ID) == vuln {
			return string(s.Status), string(s.Justification)
		}
		for _, a := range s.Vulnerability.Aliases {
			if string(a) == vuln {
				return string(s.Status), string(s.Justification)
			}
		}
	}
	return "", ""
}

func (p *testProject) commit(branch, msg string, files map[string]string) {
	p.t.Helper()
	m := map[string][]byte{}
	for k, v := range files {
		if v == "" {
			m[k] = nil
		} else {
			m[k] = []byte(v)
		}
	}
	if _, err := p.repo.Commit(context.Background(), branch, fixture.Now, msg, m); err != nil {
		p.t.Fatal(err)
	}
}

const htmlVuln = "GO-2024-3333" // CVE-2024-45338, in golang.org/x/net/html

// The main.go files the lifecycle commits import golang.org/x/net/html
// and the standard library's os only: the dependencies the demo's own
// main.go also imports (jwt-go, bcrypt) would triple the cost of each
// scan and change nothing the lifecycle of the html triage shows (their
// triages only fall from imported to required).

// A main.go for the demo that calls html.Parse (symbol level).
const mainCallsParse = `package main

import (
	"os"

	"golang.org/x/net/html"
)

func main() {
	doc, err := html.Parse(os.Stdin)
	if err != nil {
		os.Exit(1)
	}
	os.Stdout.WriteString(doc.Data)
}
`

// A main.go that imports golang.org/x/net/html for EscapeString only
// (package level).
const mainEscapesOnly = `package main

import (
	"os"

	"golang.org/x/net/html"
)

func main() {
	os.Stdout.WriteString(html.EscapeString(os.Args[0]))
}
`

// A main.go (and go.mod, goModWithoutNet) without golang.org/x/net at all.
const mainWithoutNet = `package main

func main() {}
`

func goModWithoutNet(crypto string) string {
	return `module example.com/vexloom-demo

go 1.24.0

require (
	github.com/dgrijalva/jwt-go v3.2.0+incompatible
	golang.org/x/crypto ` + crypto + `
)
`
}

func goMod(branch string) string {
	files, _ := demo.Files(branch)
	return string(files["go.mod"])
}

// The lifecycle of one triage through the commands a maintainer uses:
// opened by a scan, bad and unauthorized answers refused, a scoped
// decision applied and published, kept across a change that lowers the
// finding, flagged when a change raises it, closed when the vulnerability
// is gone from every branch and reopened when it comes back.
func TestTriageLifecycle(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("scans the demo branches at five new commits")
	}
	p := newTestProject(t)

	// 1. The first run opens the triage: reached on main, imported only
	// on release-1.0 (assessed automatically there).
	u := p.update()
	if len(u.Branches) != 2 {
		t.Fatalf("branches: %+v", u.Branches)
	}
	tr := p.triage(htmlVuln)
	if tr.State != "open" || tr.Vulnerability != "CVE-2024-45338" {
		t.Fatalf("after the first run: %s %s", tr.Vulnerability, tr.State)
	}
	if b := p.branch(tr, "main"); b == nil || b.Level != "symbol" || !b.NeedsPerson {
		t.Fatalf("main: %+v", b)
	}
	if b := p.branch(tr, "release-1.0"); b == nil || b.Level != "package" || b.Decision == nil || b.Decision.Justification != "vulnerable_code_not_in_execute_path" {
		t.Fatalf("release-1.0: %+v", b)
	}
	if s, _ := p.statement("main", htmlVuln); s != "under_investigation" {
		t.Fatalf("main VEX says %q", s)
	}
	// One triage per vulnerability and module, not per branch.
	out := p.ok("triage", "list", "--state", "all", "--format", "json", "--config", p.cfg)
	var list struct{ Triages []triageOutput }
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, x := range list.Triages {
		k := x.Vulnerability + " " + x.Dependency
		if seen[k] {
			t.Errorf("two triages for %s", k)
		}
		seen[k] = true
	}
	historyLen := len(tr.History)

	// 2. Answers that change nothing: a malformed command, other bots'
	// commands, someone who is not an approver.
	if out, _, code := p.cmd("triage", "comment", tr.ID, "--as", "demo-maintainer", "/not_affected:because_i_say_so"); code != 1 || !strings.Contains(out, "rejected") || !strings.Contains(out, "/not_affected:<justification>") {
		t.Errorf("a malformed command: exit %d\n%s", code, out)
	}
	if out, _, code := p.cmd("triage", "comment", tr.ID, "--as", "demo-maintainer", "/lgtm\n/assign @someone\n/retest"); code != 0 || !strings.Contains(out, "nothing changed") {
		t.Errorf("Prow commands: exit %d\n%s", code, out)
	}
	if out, _, code := p.cmd("triage", "comment", tr.ID, "--as", "demo-reviewer", "/affected Upgrade golang.org/x/net."); code != 1 || !strings.Contains(out, "unauthorized") {
		t.Errorf("a reviewer: exit %d\n%s", code, out)
	}
	if out, _, code := p.cmd("triage", "comment", tr.ID, "--as", "demo-maintainer", "/affected"); code != 1 || !strings.Contains(out, "rejected") {
		t.Errorf("/affected without an action: exit %d\n%s", code, out)
	}
	after := p.triage(htmlVuln)
	for _, b := range after.Branches {
		before := p.branch(tr, b.Branch)
		if (b.Decision == nil) != (before.Decision == nil) || (b.Decision != nil && b.Decision.Seq != before.Decision.Seq) {
			t.Errorf("%s: a refused comment changed the decision: %+v", b.Branch, b.Decision)
		}
	}
	if after.State != "open" || len(after.History) <= historyLen {
		t.Errorf("refused comments: state %s, history %d → %d (they are kept for the record)", after.State, historyLen, len(after.History))
	}

	// 3. A decision scoped to main by an approver, a multi-line impact
	// statement, and one for release-1.0 by the security team.
	p.ok("triage", "comment", tr.ID, "--as", "Demo-Maintainer", "--config", p.cfg,
		"Looked at it.\n/not_affected:vulnerable_code_cannot_be_controlled_by_adversary branches=main\nOnly the operator's own pages reach html.Parse;\nno remote input does.")
	p.ok("triage", "comment", tr.ID, "--as", "demo-responder", "--config", p.cfg,
		"/not_affected:vulnerable_code_not_in_execute_path branches=release-1.0 EscapeString only.")
	tr = p.triage(htmlVuln)
	if tr.State != "assessed" {
		t.Fatalf("after the decisions: %s", tr.State)
	}
	m := p.branch(tr, "main")
	if m.Decision == nil || m.Decision.Author != "Demo-Maintainer" || m.Decision.Impact != "Only the operator's own pages reach html.Parse;\nno remote input does." {
		t.Fatalf("main decision: %+v", m.Decision)
	}
	p.update()
	tr = p.triage(htmlVuln)
	if tr.State != "published" {
		t.Fatalf("after update: %s", tr.State)
	}
	if s, j := p.statement("main", htmlVuln); s != "not_affected" || j != "vulnerable_code_cannot_be_controlled_by_adversary" {
		t.Fatalf("main VEX: %s %s", s, j)
	}
	// An update with nothing new writes no new version.
	u = p.update()
	for _, b := range u.Branches {
		if b.Changed || b.Version != 2 {
			t.Errorf("an update with nothing new: %+v", b)
		}
	}

	// 4. main stops calling html.Parse but still imports the package: the
	// level falls, the decision holds.
	p.commit("main", "Escape only", map[string]string{"main.go": mainEscapesOnly})
	p.update()
	tr = p.triage(htmlVuln)
	m = p.branch(tr, "main")
	if m.Level != "package" || m.Decision == nil || m.Decision.Author != "Demo-Maintainer" || m.Flagged {
		t.Fatalf("after the level fell: %+v", m)
	}

	// 5. release-1.0 starts calling it: the release decision was made at
	// package level, so it is flagged and the triage reopens.
	p.commit("release-1.0", "Parse pages", map[string]string{"main.go": mainCallsParse})
	u = p.update()
	tr = p.triage(htmlVuln)
	r := p.branch(tr, "release-1.0")
	if tr.State != "open" || !r.Flagged || r.Level != "symbol" {
		t.Fatalf("after the level rose on release-1.0: %s %+v", tr.State, r)
	}
	if !hasTransition(u, tr.ID, "open") {
		t.Errorf("no transition to open recorded: %+v", u.Transitions)
	}
	// main's decision is untouched by release-1.0's change.
	if m := p.branch(tr, "main"); m.Flagged || m.Decision == nil || m.Decision.Author != "Demo-Maintainer" {
		t.Errorf("main after release-1.0 changed: %+v", m)
	}
	// A withdrawal retracts the maintainer's main decision.
	p.ok("triage", "comment", tr.ID, "--as", "demo-maintainer", "--config", p.cfg, "/withdraw branches=main")
	tr = p.triage(htmlVuln)
	if m := p.branch(tr, "main"); m.Decision == nil || m.Decision.Source != "automatic" {
		t.Errorf("main after the withdrawal: %+v", m.Decision)
	}

	// 6. The vulnerability leaves both branches: the triage closes, with a
	// reason, and the VEX no longer names it.
	p.commit("main", "Drop x/net", map[string]string{"main.go": mainWithoutNet, "go.mod": goModWithoutNet("v0.31.0")})
	p.commit("release-1.0", "Drop x/net", map[string]string{"main.go": mainWithoutNet, "go.mod": goModWithoutNet("v0.30.0")})
	u = p.update()
	tr = p.triage(htmlVuln)
	if tr.State != "closed" || len(tr.Branches) != 0 {
		t.Fatalf("after x/net left: %s %+v", tr.State, tr.Branches)
	}
	if !hasTransition(u, tr.ID, "closed") {
		t.Errorf("no transition to closed: %+v", u.Transitions)
	}
	if s, _ := p.statement("main", htmlVuln); s != "" {
		t.Errorf("main VEX still names it: %s", s)
	}

	// 7. It comes back on main: the triage reopens (the decision that was
	// withdrawn stays withdrawn; the call needs a person again).
	p.commit("main", "Parse again", map[string]string{"main.go": mainCallsParse, "go.mod": goMod("main")})
	u = p.update()
	tr = p.triage(htmlVuln)
	if tr.State != "open" || p.branch(tr, "main") == nil {
		t.Fatalf("after it came back: %s %+v", tr.State, tr.Branches)
	}
	if !hasTransition(u, tr.ID, "open") {
		t.Errorf("no transition to open: %+v", u.Transitions)
	}

	// The history holds every step, in order, nothing rewritten.
	out = p.ok("history", tr.ID, "--format", "json", "--config", p.cfg)
	var h struct{ Events []eventOutput }
	if err := json.Unmarshal([]byte(out), &h); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for i, ev := range h.Events {
		if i > 0 && ev.Seq <= h.Events[i-1].Seq {
			t.Errorf("history out of order at %d", i)
		}
		kinds = append(kinds, ev.Kind)
	}
	for _, k := range []string{"observed", "assessment", "comment", "withdrawal", "state", "published", "gone"} {
		if !strings.Contains(strings.Join(kinds, " "), k) {
			t.Errorf("history has no %s event: %v", k, kinds)
		}
	}
}

func hasTransition(u updateOutput, id, to string) bool {
	for _, tr := range u.Transitions {
		if tr.Triage == id && tr.To == to {
			return true
		}
	}
	return false
}

func TestProjectCommandsBadInputs(t *testing.T) {
	t.Parallel()
	p := newTestProject(t)
	// init refuses to replace a file, and checks its flags.
	if _, stderr, code := p.run("init", "-o", p.cfg, "--module", demo.Module, "--branch", "main"); code != 1 || !strings.Contains(stderr, "exists") {
		t.Errorf("init over a file: exit %d: %s", code, stderr)
	}
	if _, stderr, code := p.run("init", "-o", "-", "--branch", "main"); code != 2 || !strings.Contains(stderr, "module") {
		t.Errorf("init without a module: exit %d: %s", code, stderr)
	}
	// Read commands before any update.
	if _, stderr, code := p.cmd("status"); code != 1 || !strings.Contains(stderr, "vexloom update") {
		t.Errorf("status before update: exit %d: %s", code, stderr)
	}
	// A project file with an unknown key names its line.
	bad := filepath.Join(p.dir, "bad.yaml")
	data, _ := os.ReadFile(p.cfg)
	if err := os.WriteFile(bad, append(data, []byte("\nbranchez: [main]\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := p.run("update", "--config", bad); code != 1 || !strings.Contains(stderr, "bad.yaml:") || !strings.Contains(stderr, "branchez") {
		t.Errorf("unknown key: exit %d: %s", code, stderr)
	}
	if _, stderr, code := p.run("update", "--config", filepath.Join(p.dir, "missing.yaml")); code != 1 || !strings.Contains(stderr, "vexloom init") {
		t.Errorf("missing file: exit %d: %s", code, stderr)
	}
	p.update()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"triage", "show", "vx-nonexistent"}, 1, "no triage"},
		{[]string{"triage", "show", "GO-2024-3333", "--format", "yaml"}, 2, "--format"},
		{[]string{"triage", "comment", "GO-2024-3333", "/fixed"}, 2, "--as"},
		{[]string{"triage", "list", "--state", "sleeping"}, 2, "--state"},
		{[]string{"vex", "--branch", "nope"}, 1, "no VEX written for nope"},
		{[]string{"vex"}, 2, "--branch"},
		{[]string{"history", "--since", "yesterday"}, 2, "--since"},
		{[]string{"update", "--branch", "feature-*"}, 1, "no maintained branch matches"},
	} {
		_, stderr, code := p.cmd(tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, want %d with %q: %s", tc.args, code, tc.code, tc.want, stderr)
		}
	}
	// A comment larger than GitHub allows is refused before anything is
	// read or written.
	big := strings.Repeat("x", triage.MaxCommentSize+1)
	if _, stderr, code := p.cmd("triage", "comment", "GO-2024-3333", "--as", "demo-maintainer", big); code != 1 || !strings.Contains(stderr, "larger") {
		t.Errorf("a huge comment: exit %d: %s", code, stderr)
	}
	// --branch scans only the named branch and leaves the others' state.
	before := p.triage(htmlVuln)
	u := p.update2("--branch", "main")
	if len(u.Branches) != 1 || u.Branches[0].Branch != "main" {
		t.Errorf("--branch main scanned %+v", u.Branches)
	}
	after := p.triage(htmlVuln)
	if len(after.Branches) != len(before.Branches) || after.State != before.State {
		t.Errorf("--branch main changed the other branches: %+v → %+v", before.Branches, after.Branches)
	}
}

func (p *testProject) update2(extra ...string) updateOutput {
	p.t.Helper()
	out := p.ok(append([]string{"update", "--config", p.cfg, "--format", "json", "-q"}, extra...)...)
	var u updateOutput
	if err := json.Unmarshal([]byte(out), &u); err != nil {
		p.t.Fatal(err)
	}
	return u
}
