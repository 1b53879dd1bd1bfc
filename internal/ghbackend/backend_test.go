package ghbackend

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v75/github"

	"github.com/vexloom/vexloom/internal/assess"
	"github.com/vexloom/vexloom/internal/ghfake"
	"github.com/vexloom/vexloom/internal/owners"
	"github.com/vexloom/vexloom/internal/scan"
	"github.com/vexloom/vexloom/internal/store"
	"github.com/vexloom/vexloom/internal/triage"
)

// testToken is shaped like a real personal access token, so the pattern
// redaction is exercised as well as the known-secret one.
const (
	testToken = "ghp_R3d4ctM3Pl34s3xxxxxxxxxxxxxxxxxxxxxx"
	repoName  = "kubernetes/vex"
	botLogin  = "vexloom-bot"
	branch    = "release-1.33"
)

// env is a fake GitHub, a real store and a settable clock shared by both.
type env struct {
	t    testing.TB
	ctx  context.Context
	srv  *ghfake.Server
	st   *store.Store
	mu   sync.Mutex
	now  time.Time
	logs *bytes.Buffer
}

func newEnv(t testing.TB) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), now: time.Date(2025, 3, 12, 9, 0, 0, 0, time.UTC), logs: &bytes.Buffer{}}
	e.srv = ghfake.New(t)
	e.srv.SetNow(e.clock)
	e.srv.CreateRepo(repoName)
	e.srv.AddToken(testToken, botLogin)
	e.srv.AddToken("ghp_alicealicealicealicealicealice0000", "alice")
	e.st = e.openStore(t.TempDir())
	return e
}

func (e *env) openStore(dir string) *store.Store {
	st, err := store.Open(e.ctx, dir, e.clock)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { st.Close() })
	return st
}

func (e *env) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *env) advance(d time.Duration) {
	e.mu.Lock()
	e.now = e.now.Add(d)
	e.mu.Unlock()
}

// sleep stands in for waiting: it moves the shared clock.
func (e *env) sleep(ctx context.Context, d time.Duration) error {
	e.advance(max(d, 0))
	return ctx.Err()
}

func (e *env) clientOptions() ClientOptions {
	return ClientOptions{
		API: e.srv.URL(), Token: testToken, Sleep: e.sleep, Now: e.clock,
		Logger: slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

// backend is a new client and backend on st, as one run of vexloom makes.
func (e *env) backend(st *store.Store) *Backend {
	e.t.Helper()
	gh, tr, err := NewClient(e.ctx, e.clientOptions())
	if err != nil {
		e.t.Fatal(err)
	}
	b, err := New(Options{
		Client: gh, Transport: tr, Repo: repoName, Store: st, Now: e.clock, Logger: slog.New(slog.NewTextHandler(e.logs, nil)),
		VerifyHint: func(id string) string {
			return "https://example.org/vex/" + id + ".intoto.jsonl (cosign verify-blob-attestation)"
		},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

var maintained = []string{branch}

// finding is a govulncheck finding of golang.org/x/net at a level.
func finding(id, cve string, level scan.Level) triage.ModuleFinding {
	f := scan.Finding{ID: id, Aliases: []string{cve}, Module: "golang.org/x/net", Version: "v0.33.0", FixedVersion: "v0.36.0", Level: level,
		Packages: []string{"golang.org/x/net/http/httpproxy"}}
	if level == scan.LevelSymbol {
		f.Symbols = []string{"httpproxy.config.useProxy"}
		f.Traces = []scan.Trace{{
			{Module: "golang.org/x/net", Package: "golang.org/x/net/http/httpproxy", Function: "useProxy", Receiver: "*config"},
			{Module: "k8s.io/kubernetes", Package: "k8s.io/kubernetes/pkg/proxy", Function: "Dial", Position: &scan.Position{Filename: "pkg/proxy/dial.go", Line: 42, Column: 7}},
		}}
	}
	return triage.ModuleFinding{Module: "k8s.io/kubernetes", ModuleVersion: "v1.33.0", Finding: f}
}

func (e *env) observe(st *store.Store, fs ...triage.ModuleFinding) {
	e.t.Helper()
	obs := triage.Observed{Branch: branch, Commit: "0123456789abcdef0123456789abcdef01234567", Findings: fs,
		Evidence: assess.Evidence{Analysis: "symbol", Tool: "vexloom test"}}
	if _, err := triage.Observe(e.ctx, st, obs); err != nil {
		e.t.Fatal(err)
	}
	for _, f := range fs {
		if err := st.PutVulnerability(e.ctx, scan.Vulnerability{ID: f.ID, Aliases: f.Aliases, Summary: "Proxy bypass using IPv6 zone IDs in golang.org/x/net",
			Details: "Matching of hosts against proxy patterns can improperly treat an IPv6 zone ID as a hostname component. <!-- vexloom:end --> must not break the issue."}); err != nil {
			e.t.Fatal(err)
		}
	}
}

var rules = triage.Rules{Approvers: &owners.Approvers{SecurityTeam: []string{"alice"}}, Maintained: maintained}

// run is one run of the triage loop against the backend, as the update
// command makes it: comments, answers, reconciliation, sync.
func (e *env) run(b *Backend) ([]triage.Outcome, error) {
	e.t.Helper()
	cs, err := b.Comments(e.ctx)
	if err != nil {
		return nil, err
	}
	var outs []triage.Outcome
	for _, c := range cs {
		out, err := triage.Apply(e.ctx, b.st, rules, c)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			e.t.Fatal(err)
		}
		if err := b.Answer(e.ctx, c, out); err != nil {
			return outs, err
		}
		outs = append(outs, out)
	}
	if _, err := triage.Reconcile(e.ctx, b.st, maintained); err != nil {
		e.t.Fatal(err)
	}
	views, err := triage.Views(e.ctx, b.st, maintained)
	if err != nil {
		e.t.Fatal(err)
	}
	return outs, b.Sync(e.ctx, views)
}

func (e *env) mustRun(b *Backend) []triage.Outcome {
	e.t.Helper()
	outs, err := e.run(b)
	if err != nil {
		e.t.Fatal(err)
	}
	return outs
}

// publish records that every decision in force is in its branch's VEX, as
// the update command does after writing the document.
func (e *env) publish(st *store.Store) {
	e.t.Helper()
	views, err := triage.Views(e.ctx, st, maintained)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, v := range views {
		for _, br := range v.Branches {
			if br.Decision == nil || br.PublishedDecision == br.Decision.Seq {
				continue
			}
			data, _ := json.Marshal(map[string]any{"branch": br.Branch, "decision": br.Decision.Seq, "document_version": 1})
			if _, err := st.Append(e.ctx, store.Event{TriageID: v.ID, Kind: store.KindPublished, Author: "vexloom", Source: "automatic", Branches: []string{br.Branch}, Data: data}); err != nil {
				e.t.Fatal(err)
			}
		}
	}
}

func (e *env) onlyIssue() ghfake.Issue {
	e.t.Helper()
	is := e.srv.Issues(repoName)
	if len(is) != 1 {
		e.t.Fatalf("%d issues, want 1", len(is))
	}
	return is[0]
}

// replies counts vexloom's comments on an issue that carry a marker
// starting with prefix.
func (e *env) replies(number int, prefix string) int {
	n := 0
	for _, c := range e.srv.Comments(repoName, number) {
		if c.User == botLogin && strings.HasPrefix(c.Body, "<!-- vexloom:"+prefix) {
			n++
		}
	}
	return n
}

func TestFirstRunOnEmptyRepository(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// One finding needs a person (the vulnerable code is called); the
	// other vexloom settles on its own (only required) and gets no issue.
	e.observe(e.st, finding("GO-2025-3503", "CVE-2025-22870", scan.LevelSymbol), finding("GO-2025-3595", "CVE-2025-22872", scan.LevelModule))
	b := e.backend(e.st)
	e.mustRun(b)
	is := e.onlyIssue()
	if is.Title != "CVE-2025-22870: golang.org/x/net" {
		t.Errorf("title %q", is.Title)
	}
	if strings.Join(is.Labels, ",") != "vex/open" || is.State != "open" || is.User != botLogin {
		t.Errorf("labels %v, state %s, user %s", is.Labels, is.State, is.User)
	}
	d, _, _, err := ParseIssueBody(is.Body)
	if err != nil {
		t.Fatal(err)
	}
	if d.Vuln != "GO-2025-3503" || d.Dependency != "golang.org/x/net" || d.Triage != store.TriageID("GO-2025-3503", "golang.org/x/net") {
		t.Errorf("data %+v", d)
	}
	for _, want := range []string{"release-1.33", "v0.33.0", "v0.36.0", "symbol (called)", "k8s.io/kubernetes/pkg/proxy.Dial (pkg/proxy/dial.go:42:7)", "/not_affected:<justification>", "https://pkg.go.dev/vuln/GO-2025-3503", "Proxy bypass"} {
		if !strings.Contains(is.Body, want) {
			t.Errorf("body lacks %q", want)
		}
	}
	if strings.Count(is.Body, endMarker) != 1 {
		t.Errorf("the advisory text forged an end marker:\n%s", is.Body)
	}
	if got := b.Link(d.Triage); got != is.HTMLURL || got == "" {
		t.Errorf("Link = %q, want %q", got, is.HTMLURL)
	}
	first := b.Requests()
	t.Logf("first run on an empty repository: %d requests", first)

	// Nothing new: the second run asks whether anything changed and is
	// told no.
	e.advance(time.Hour)
	b2 := e.backend(e.st)
	e.mustRun(b2)
	second := b2.Requests()
	t.Logf("second run, nothing new: %d requests", second)
	// The first run's own writes are news once; the run after is quiet.
	e.advance(time.Hour)
	b3 := e.backend(e.st)
	e.mustRun(b3)
	t.Logf("third run, nothing new: %d requests", b3.Requests())
	if b3.Requests() > 2 {
		t.Errorf("a run with nothing new made %d requests:\n%v", b3.Requests(), e.srv.Log())
	}
	if n := len(e.srv.Issues(repoName)); n != 1 {
		t.Errorf("%d issues after three runs", n)
	}
}

func TestMaintainerEditsOutsideTheGeneratedPartSurvive(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.observe(e.st, finding("GO-2025-3503", "CVE-2025-22870", scan.LevelSymbol))
	e.mustRun(e.backend(e.st))
	is := e.onlyIssue()
	alice := e.srv.Client(t, "ghp_alicealicealicealicealicealice0000")
	body := "Maintainer note above.\n\n" + is.Body + "\n\nMaintainer note below."
	if _, _, err := alice.Issues.Edit(e.ctx, "kubernetes", "vex", is.Number, &github.IssueRequest{Body: &body}); err != nil {
		t.Fatal(err)
	}
	// A second branch changes the generated part.
	e.advance(time.Minute)
	obs := triage.Observed{Branch: "release-1.32", Commit: "fedcba9876543210fedcba9876543210fedcba98", Findings: []triage.ModuleFinding{finding("GO-2025-3503", "CVE-2025-22870", scan.LevelSymbol)}}
	if _, err := triage.Observe(e.ctx, e.st, obs); err != nil {
		t.Fatal(err)
	}
	saved := maintained
	maintained = []string{"release-1.32", branch}
	rules.Maintained = maintained
	defer func() { maintained = saved; rules.Maintained = saved }()
	e.mustRun(e.backend(e.st))
	got := e.onlyIssue().Body
	if !strings.HasPrefix(got, "Maintainer note above.") || !strings.HasSuffix(got, "Maintainer note below.") || !strings.Contains(got, "release-1.32") {
		t.Errorf("body after the rewrite:\n%s", got)
	}
}

// comment adds a comment to the issue and moves the clock on.
func (e *env) comment(number int, user, body string) ghfake.Comment {
	c := e.srv.AddComment(repoName, number, user, body)
	e.advance(time.Second)
	return c
}

func TestCommandsPaginatedWithProwAndProblems(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.observe(e.st, finding("GO-2025-3503", "CVE-2025-22870", scan.LevelSymbol))
	e.mustRun(e.backend(e.st))
	is := e.onlyIssue()
	e.advance(time.Hour)
	// 150 comments: chatter and Prow's commands, which vexloom leaves
	// alone; a malformed command and an unauthorized one; and, on the
	// second page, the decision.
	for i := range 147 {
		body := fmt.Sprintf("looking into this (%d)", i)
		switch i % 3 {
		case 1:
			body = "/lgtm"
		case 2:
			body = "/assign @alice\n/cc @bob"
		}
		e.comment(is.Number, "carol", body)
	}
	bad := e.comment(is.Number, "alice", "/not_affected:not_reachable")
	unauth := e.comment(is.Number, "bob", "/not_affected:vulnerable_code_not_in_execute_path the proxy is never used")
	ok := e.comment(is.Number, "alice", "/not_affected:vulnerable_code_not_in_execute_path kube-proxy never calls useProxy")
	b := e.backend(e.st)
	outs := e.mustRun(b)
	kinds := map[string]int{}
	for _, o := range outs {
		kinds[o.Kind]++
	}
	if kinds[triage.OutcomeApplied] != 1 || kinds[triage.OutcomeRejected] != 1 || kinds[triage.OutcomeUnauthorized] != 1 || kinds[triage.OutcomeIgnored] != 147 {
		t.Fatalf("outcomes %v", kinds)
	}
	t.Logf("run reading 150 comments (2 pages) and answering: %d requests", b.Requests())
	if n := e.replies(is.Number, "reply-to"); n != 2 {
		t.Errorf("%d replies, want 2", n)
	}
	for _, c := range []ghfake.Comment{bad, unauth} {
		if e.replies(is.Number, fmt.Sprintf("reply-to %d ", c.ID)) != 1 {
			t.Errorf("comment %d has no reply", c.ID)
		}
	}
	var reply string
	for _, c := range e.srv.Comments(repoName, is.Number) {
		if strings.HasPrefix(c.Body, fmt.Sprintf("<!-- vexloom:reply-to %d ", bad.ID)) {
			reply = c.Body
		}
	}
	if !strings.Contains(reply, "vulnerable_code_not_in_execute_path") || !strings.Contains(reply, "/not_affected:<justification>") {
		t.Errorf("the reply to a malformed command does not show the right form:\n%s", reply)
	}
	if r := e.srv.Reactions(repoName, ok.ID); len(r) != 1 || r[0].Content != "+1" || r[0].User != botLogin {
		t.Errorf("reactions on the applied command: %+v", r)
	}
	if r := e.srv.Reactions(repoName, unauth.ID); len(r) != 0 {
		t.Errorf("reactions on the unauthorized command: %+v", r)
	}
	if got := e.onlyIssue().Labels; strings.Join(got, ",") != "vex/assessed" {
		t.Errorf("labels %v after the decision", got)
	}
	// Running again answers nothing twice, and soon costs almost nothing.
	for range 2 {
		e.advance(time.Hour)
		b := e.backend(e.st)
		e.mustRun(b)
		t.Logf("run after: %d requests", b.Requests())
	}
	if n := e.replies(is.Number, "reply-to"); n != 2 {
		t.Errorf("%d replies after rerunning, want 2", n)
	}
	if r := e.srv.Reactions(repoName, ok.ID); len(r) != 1 {
		t.Errorf("%d reactions after rerunning", len(r))
	}
}

func TestCrashBetweenReplyAndRecord(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.observe(e.st, finding("GO-2025-3503", "CVE-2025-22870", scan.LevelSymbol))
	e.mustRun(e.backend(e.st))
	is := e.onlyIssue()
	c := e.comment(is.Number, "bob", "/affected upgrade golang.org/x/net")

	// Two more stores that never recorded the reply: as if the run that
	// posted it died before acknowledging it.
	lost := []*store.Store{e.openStore(t.TempDir()), e.openStore(t.TempDir())}
	for _, st := range lost {
		e.observe(st, finding("GO-2025-3503", "CVE-2025-22870", scan.LevelSymbol))
	}
	e.mustRun(e.backend(e.st))
	if n := e.replies(is.Number, "reply-to"); n != 1 {
		t.Fatalf("%d replies, want 1", n)
	}
	// A whole run on a store without the record: it finds the issue by its
	// data, and the reply by its marker in the comments it reads.
	e.advance(time.Minute)
	e.mustRun(e.backend(lost[0]))
	// Answering directly, without reading the repository's comments
	// first: the issue's comments are searched for the marker.
	b := e.backend(lost[1])
	if err := b.refreshIssues(e.ctx); err != nil {
		t.Fatal(err)
	}
	tc := triage.Comment{Ref: commentRef(c.ID), TriageID: store.TriageID("GO-2025-3503", "golang.org/x/net"), Author: "bob", Body: c.Body, At: c.CreatedAt}
	out, err := triage.Apply(e.ctx, lost[1], rules, tc)
	if err != nil || out.Kind != triage.OutcomeUnauthorized {
		t.Fatalf("apply: %v %+v", err, out)
	}
	if err := b.Answer(e.ctx, tc, out); err != nil {
		t.Fatal(err)
	}
	if n := e.replies(is.Number, "reply-to"); n != 1 {
		t.Errorf("%d replies after losing the record, want 1", n)
	}
	if ok, _, _ := lost[1].Acked(e.ctx, tc.Ref, "github-reply"); !ok {
		t.Error("the reply found on GitHub was not recorded")
	}
}

func TestPublishCloseReopenAndGone(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.observe(e.st, finding("GO-2025-3503", "CVE-2025-22870", scan.LevelSymbol))
	e.mustRun(e.backend(e.st))
	is := e.onlyIssue()
	e.comment(is.Number, "alice", "/not_affected:vulnerable_code_not_in_execute_path kube-proxy never calls useProxy")
	e.mustRun(e.backend(e.st))
	e.publish(e.st)
	e.advance(time.Minute)
	e.mustRun(e.backend(e.st))
	got := e.onlyIssue()
	if got.State != "closed" || got.StateReason != "completed" || strings.Join(got.Labels, ",") != "vex/published" {
		t.Fatalf("after publishing: state %s (%s), labels %v", got.State, got.StateReason, got.Labels)
	}
	if e.replies(is.Number, "published") != 1 {
		t.Fatal("no published comment")
	}
	var text string
	for _, c := range e.srv.Comments(repoName, is.Number) {
		if strings.HasPrefix(c.Body, "<!-- vexloom:published") {
			text = c.Body
		}
	}
	id := store.TriageID("GO-2025-3503", "golang.org/x/net")
	for _, want := range []string{id, "not_affected", "vulnerable_code_not_in_execute_path", "@alice", "https://example.org/vex/" + id} {
		if !strings.Contains(text, want) {
			t.Errorf("published comment lacks %q:\n%s", want, text)
		}
	}
	e.advance(time.Hour)
	e.mustRun(e.backend(e.st))
	if e.replies(is.Number, "published") != 1 {
		t.Error("published twice")
	}

	// A person reopens it: it stays open, once explained, and is reported.
	e.advance(time.Hour)
	alice := e.srv.Client(t, "ghp_alicealicealicealicealicealice0000")
	if _, _, err := alice.Issues.Edit(e.ctx, "kubernetes", "vex", is.Number, &github.IssueRequest{State: github.Ptr("open")}); err != nil {
		t.Fatal(err)
	}
	e.advance(time.Minute)
	b := e.backend(e.st)
	e.mustRun(b)
	if r := b.Reopened(); len(r) != 1 || r[0].TriageID != id || r[0].Issue != is.Number {
		t.Errorf("Reopened() = %+v", r)
	}
	for range 2 {
		e.advance(time.Hour)
		e.mustRun(e.backend(e.st))
	}
	if got := e.onlyIssue(); got.State != "open" {
		t.Errorf("vexloom closed the reopened issue again")
	}
	if n := e.replies(is.Number, "reopened"); n != 1 {
		t.Errorf("%d reopen notes, want 1", n)
	}
	// A new decision, published, closes it again.
	e.comment(is.Number, "alice", "/affected upgrade golang.org/x/net to v0.36.0")
	e.mustRun(e.backend(e.st))
	e.publish(e.st)
	e.advance(time.Minute)
	e.mustRun(e.backend(e.st))
	if got := e.onlyIssue(); got.State != "closed" || e.replies(is.Number, "published") != 2 {
		t.Errorf("after a new statement: state %s, %d published comments", got.State, e.replies(is.Number, "published"))
	}

	// The vulnerability goes away: the triage closes, reason given once.
	e.advance(time.Hour)
	e.observe(e.st)
	e.mustRun(e.backend(e.st))
	e.advance(time.Hour)
	e.mustRun(e.backend(e.st))
	got = e.onlyIssue()
	if got.State != "closed" || got.StateReason != "not_planned" || strings.Join(got.Labels, ",") != "vex/closed" {
		t.Errorf("after the vulnerability went: state %s (%s), labels %v", got.State, got.StateReason, got.Labels)
	}
	if n := e.replies(is.Number, "closed"); n != 1 {
		t.Errorf("%d closing comments, want 1", n)
	}
}

// TestManyClosedIssues: a repository holding 5,000 closed triage issues
// and nothing new. The first run of a store that knows none of them reads
// them all once; the next asks whether anything changed.
func TestManyClosedIssues(t *testing.T) {
	t.Parallel()
	n := 5000
	if testing.Short() {
		n = 300
	}
	e := newEnv(t)
	var fs []triage.ModuleFinding
	for i := range n {
		f := finding(fmt.Sprintf("GO-2024-%04d", i), fmt.Sprintf("CVE-2024-%05d", i), scan.LevelModule)
		f.Finding.Module = fmt.Sprintf("example.com/dep%04d", i)
		fs = append(fs, f)
	}
	start := time.Now()
	e.observe(e.st, fs...)
	e.advance(24 * time.Hour)
	e.observe(e.st) // every one gone: closed
	if _, err := triage.Reconcile(e.ctx, e.st, maintained); err != nil {
		t.Fatal(err)
	}
	views, err := triage.Views(e.ctx, e.st, maintained)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range views {
		if v.State != triage.Closed {
			t.Fatalf("%s is %s", v.ID, v.State)
		}
		r := render(v)
		is := e.srv.AddIssue(repoName, ghfake.IssueInput{Title: r.title, Body: r.generated, User: botLogin, Labels: []string{"vex/closed"}, State: "closed"})
		sig, _ := closing(v)
		m := marker{what: "closed", key: v.ID + "@" + sig}
		e.srv.AddComment(repoName, is.Number, botLogin, m.String()+"\nvexloom closes triage.")
		// Issues closed over days, not in one instant.
		e.advance(time.Minute)
	}
	// A foreign issue and a malformed one are skipped, not fatal.
	e.srv.AddIssue(repoName, ghfake.IssueInput{Title: "Docs typo", Body: "hello", User: "carol"})
	e.srv.AddIssue(repoName, ghfake.IssueInput{Title: "broken", Body: dataPrefix + "v1 {not json} -->\n" + endMarker, User: botLogin})
	t.Logf("set up %d closed triages and issues in %s", n, time.Since(start).Round(time.Millisecond))

	e.advance(time.Hour)
	b := e.backend(e.st)
	e.mustRun(b)
	t.Logf("first run of a store over %d closed triage issues: %d requests", n, b.Requests())
	hist := map[string]int{}
	for _, r := range e.srv.Log() {
		hist[r.Method+" "+r.Path]++
	}
	if len(hist) > 8 {
		t.Errorf("the first run wrote to the issues: %v", hist)
	}
	if !strings.Contains(e.logs.String(), "skipping a malformed triage issue") {
		t.Error("the malformed issue was not reported")
	}
	e.advance(time.Hour)
	b2 := e.backend(e.st)
	e.srv.ResetLog()
	e.mustRun(b2)
	t.Logf("second run over %d closed triage issues, nothing new: %d requests (%v)", n, b2.Requests(), e.srv.Log())
	if b2.Requests() > 3 {
		t.Errorf("a run with nothing new made %d requests", b2.Requests())
	}
	e.advance(time.Hour)
	b3 := e.backend(e.st)
	e.srv.ResetLog()
	e.mustRun(b3)
	t.Logf("third run over %d closed triage issues, nothing new: %d requests (%v)", n, b3.Requests(), e.srv.Log())
	for _, r := range e.srv.Log() {
		if r.Status != 304 {
			t.Errorf("third run: %s %s answered %d, want 304", r.Method, r.Path, r.Status)
		}
	}
	if got := len(e.srv.Issues(repoName)); got != n+2 {
		t.Errorf("%d issues, want %d", got, n+2)
	}
	for _, is := range e.srv.Issues(repoName)[:3] {
		if len(e.srv.Comments(repoName, is.Number)) != 1 {
			t.Errorf("issue %d has %d comments", is.Number, len(e.srv.Comments(repoName, is.Number)))
		}
	}
}

func TestRateLimitsAndFailuresMidRunConverge(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.observe(e.st, finding("GO-2025-3503", "CVE-2025-22870", scan.LevelSymbol), finding("GO-2025-3487", "CVE-2025-22869", scan.LevelSymbol))
	e.mustRun(e.backend(e.st))
	issues := e.srv.Issues(repoName)
	if len(issues) != 2 {
		t.Fatalf("%d issues", len(issues))
	}
	e.advance(time.Hour)
	var bad []ghfake.Comment
	for _, is := range issues {
		bad = append(bad, e.comment(is.Number, "bob", "/fixed"))
		bad = append(bad, e.comment(is.Number, "alice", "/fixed branches=release-9.9"))
	}
	// The primary limit runs out two requests in, and resets in 10 minutes;
	// then a secondary limit; then the comments listing fails twice.
	e.srv.SetRateLimit(5000, 2, e.clock().Add(10*time.Minute))
	e.srv.SecondaryLimit(1, 30*time.Second)
	e.srv.Fail(ghfake.Fault{Method: "GET", Path: "/repos/kubernetes/vex/issues/comments", Status: 502, Body: `{"message":"Server Error"}`, Times: 2})
	before := e.clock()
	b := e.backend(e.st)
	e.mustRun(b)
	t.Logf("run under rate limits: %d requests, waited %s", b.Requests(), e.clock().Sub(before))
	if e.clock().Sub(before) < 10*time.Minute {
		t.Errorf("the run did not wait for the limit to reset (%s)", e.clock().Sub(before))
	}
	for _, is := range issues {
		if n := e.replies(is.Number, "reply-to"); n != 2 {
			t.Errorf("issue %d: %d replies, want 2", is.Number, n)
		}
	}

	// A POST that fails with 502 may have been done: it is not retried;
	// the run fails, and the next one converges without a second reply.
	e.advance(time.Hour)
	c := e.comment(issues[0].Number, "bob", "/fixed")
	e.srv.Fail(ghfake.Fault{Method: "POST", Path: fmt.Sprintf("/repos/kubernetes/vex/issues/%d/comments", issues[0].Number), Status: 502, Times: 1})
	if _, err := e.run(e.backend(e.st)); err == nil {
		t.Fatal("a failed reply did not fail the run")
	}
	e.mustRun(e.backend(e.st))
	if n := e.replies(issues[0].Number, fmt.Sprintf("reply-to %d ", c.ID)); n != 1 {
		t.Errorf("%d replies to the comment after a failed run, want 1", n)
	}

	// A limit that resets later than vexloom waits fails the run clearly;
	// the next run, after the reset, converges.
	e.advance(time.Hour)
	c2 := e.comment(issues[1].Number, "bob", "/fixed")
	e.srv.SetRateLimit(5000, 0, e.clock().Add(time.Hour))
	_, err := e.run(e.backend(e.st))
	if !errors.Is(err, ErrRateLimited) {
		t.Fatalf("error %v, want ErrRateLimited", err)
	}
	t.Logf("limit too far away: %v", err)
	e.advance(61 * time.Minute)
	e.mustRun(e.backend(e.st))
	if n := e.replies(issues[1].Number, fmt.Sprintf("reply-to %d ", c2.ID)); n != 1 {
		t.Errorf("%d replies after the limit reset, want 1", n)
	}
	if strings.Contains(e.logs.String(), testToken) {
		t.Error("the token is in the logs")
	}
}
