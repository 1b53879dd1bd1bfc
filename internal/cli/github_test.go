package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v75/github"

	"github.com/vexloom/vexloom/examples/demo"
	"github.com/vexloom/vexloom/internal/config"
	"github.com/vexloom/vexloom/internal/fixture"
	"github.com/vexloom/vexloom/internal/ghfake"
	"github.com/vexloom/vexloom/internal/progress"
	"github.com/vexloom/vexloom/internal/scan"
	"github.com/vexloom/vexloom/internal/triage"
)

const (
	triageRepo = "demo-org/.vexloom"
	// botToken is shaped like a personal access token, so that its
	// redaction from anything printed is exercised too.
	botToken  = "ghp_VexloomBotT0kenxxxxxxxxxxxxxxxxxxxxxx"
	botLogin  = "vexloom-bot"
	openLabel = "needs-assessment"
	// The answers of the demo's people (OWNERS: demo-maintainer approves,
	// demo-reviewer reviews).
	decision     = "/not_affected:vulnerable_code_cannot_be_controlled_by_adversary Only the operator's own pages reach html.Parse."
	unauthorized = "/affected Upgrade golang.org/x/net to v0.33.0."
)

// ghProject is the demo project with GitHub as its triage backend: a fake
// GitHub on loopback holding the triage repository, reached by vexloom's
// real client.
type ghProject struct {
	*testProject
	gh *ghfake.Server
}

func newGitHubProject(t *testing.T) *ghProject {
	t.Helper()
	p := &ghProject{testProject: newTestProject(t), gh: ghfake.New(t)}
	start := time.Now()
	p.gh.SetNow(func() time.Time { return fixture.Now.Add(time.Since(start)) })
	p.gh.CreateRepo(triageRepo)
	p.gh.AddToken(botToken, botLogin)
	data, err := config.Starter(config.InitOptions{
		Repository: "repo", Module: demo.Module, Branches: []string{"main", "release-*"},
		SecurityTeam: []string{"demo-security"}, Triage: config.BackendGitHub, TriageRepository: triageRepo,
	})
	if err != nil {
		t.Fatal(err)
	}
	// The labels come from the project file.
	data = bytes.Replace(data, []byte("open: vex/open"), []byte("open: "+openLabel), 1)
	if err := os.WriteFile(p.cfg, data, 0o644); err != nil {
		t.Fatal(err)
	}
	p.vars = append(p.vars, "GITHUB_TOKEN="+botToken, githubAPIEnv+"="+p.gh.URL())
	return p
}

var requestsLine = regexp.MustCompile(`(?m)^github: (\d+) requests?$`)

// update runs the main job with the GitHub backend and returns its summary
// and the number of requests it reported. It runs `vexloom update`; while
// update.go does not yet hand the github backend to githubBackend, it runs
// the same job with githubBackend directly.
func (p *ghProject) update() (updateOutput, int) {
	p.t.Helper()
	before := p.gh.Requests()
	out, stderr, code := p.run("update", "--config", p.cfg, "--format", "json")
	var u updateOutput
	switch {
	case code != 0 && strings.Contains(stderr, "is not available in this build"):
		u, stderr = p.updateDirect()
	case code != 0:
		p.t.Fatalf("update: exit %d\n%s", code, stderr)
	default:
		if err := json.Unmarshal([]byte(out), &u); err != nil {
			p.t.Fatalf("update output: %v\n%s", err, out)
		}
	}
	if strings.Contains(stderr, botToken) {
		p.t.Errorf("the token is printed:\n%s", stderr)
	}
	m := requestsLine.FindStringSubmatch(stderr)
	if m == nil {
		p.t.Fatalf("update does not report its GitHub requests:\n%s", stderr)
	}
	n, _ := strconv.Atoi(m[1])
	if served := p.gh.Requests() - before; served != n {
		p.t.Errorf("update reports %d requests, GitHub served %d", n, served)
	}
	return u, n
}

// updateDirect is runUpdate with githubBackend as the backend.
func (p *ghProject) updateDirect() (updateOutput, string) {
	p.t.Helper()
	ctx := context.Background()
	var errb bytes.Buffer
	g := &globals{cacheDir: p.cache, now: func() time.Time { return fixture.Now }, env: p.vars}
	pf := projectFlags{config: p.cfg}
	pr, err := pf.open(ctx, g, true)
	if err != nil {
		p.t.Fatal(err)
	}
	defer pr.Close()
	prog := progress.New(&errb)
	db, err := openDBFrom(ctx, g, p.cache, pr.cfg.DatabaseSpec(), prog)
	if err != nil {
		p.t.Fatal(err)
	}
	repo, err := pr.openRepository(ctx, g, prog)
	if err != nil {
		p.t.Fatal(err)
	}
	policy, err := pr.policy(ctx, repo, prog)
	if err != nil {
		p.t.Fatal(err)
	}
	backend, err := githubBackend(ctx, g, pr, prog)
	if err != nil {
		p.t.Fatal(err)
	}
	r := &triage.Runner{
		Store: pr.store, Repo: repo, DB: scanDatabase(db), Policy: policy, Backend: backend, Progress: prog, Now: g.now,
		Scanner: scan.NewScanner(scan.Options{
			DB: scanDatabase(db), Cache: &scan.Cache{Dir: filepath.Join(p.cache, "scans")}, Progress: prog, Env: g.env,
			Modules: pr.cfg.Scan.Modules, Patterns: pr.cfg.Scan.Packages, Tags: pr.cfg.Scan.Tags, GoVersion: pr.cfg.Scan.GoVersion,
		}),
		Branches: pr.cfg.Branches, Author: pr.author(), VEXDir: pr.vexDir(),
	}
	sum, err := r.Run(ctx)
	if err != nil {
		p.t.Fatalf("update: %v\n%s", err, errb.String())
	}
	return updateJSON(sum), errb.String()
}

func (p *ghProject) onlyIssue() ghfake.Issue {
	p.t.Helper()
	is := p.gh.Issues(triageRepo)
	if len(is) != 1 {
		p.t.Fatalf("%d issues in %s, want 1: %+v", len(is), triageRepo, is)
	}
	return is[0]
}

// botComments returns vexloom's comments on an issue whose hidden marker
// starts with prefix ("reply-to 12", "published").
func (p *ghProject) botComments(number int, prefix string) []ghfake.Comment {
	var out []ghfake.Comment
	for _, c := range p.gh.Comments(triageRepo, number) {
		if c.User == botLogin && strings.HasPrefix(c.Body, "<!-- vexloom:"+prefix) {
			out = append(out, c)
		}
	}
	return out
}

func (p *ghProject) reactions(commentID int64) []string {
	var out []string
	for _, r := range p.gh.Reactions(triageRepo, commentID) {
		out = append(out, r.User+":"+r.Content)
	}
	return out
}

// The main job with GitHub as the backend: the first run opens an issue
// for the one triage that needs a person, none for what vexloom settled;
// an unauthorized answer gets exactly one reply over two runs; an
// approver's answer is applied, acknowledged, published, announced and
// the issue closed; runs with nothing new make a few requests.
func TestGitHubUpdate(t *testing.T) {
	t.Parallel()
	p := newGitHubProject(t)

	// (a) The first run.
	_, first := p.update()
	t.Logf("first run: %d requests", first)
	is := p.onlyIssue()
	tr := p.triage(htmlVuln)
	if is.Title != "CVE-2024-45338: golang.org/x/net" || is.State != "open" || is.User != botLogin {
		t.Errorf("issue: %q %s by %s", is.Title, is.State, is.User)
	}
	if !slices.Equal(is.Labels, []string{openLabel}) {
		t.Errorf("labels %v, want the project file's open label %q", is.Labels, openLabel)
	}
	for _, want := range []string{tr.ID, "main", "release-1.0", "html.Parse", "/not_affected:<justification>"} {
		if !strings.Contains(is.Body, want) {
			t.Errorf("the issue body lacks %q", want)
		}
	}
	out := p.ok("triage", "list", "--state", "all", "--format", "json", "--config", p.cfg)
	var list struct{ Triages []triageOutput }
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Triages) < 4 {
		t.Fatalf("%d triages: the demo has more, settled automatically", len(list.Triages))
	}
	for _, x := range list.Triages {
		if x.State == "open" && x.ID != tr.ID {
			t.Errorf("%s is open too, but has no issue", x.ID)
		}
	}

	// (b) An unauthorized answer and Prow chatter, then two runs: one
	// reply, no reaction, nothing decided.
	bad := p.gh.AddComment(triageRepo, is.Number, "demo-reviewer", unauthorized)
	p.gh.AddComment(triageRepo, is.Number, "demo-reviewer", "/lgtm\n/assign @demo-maintainer")
	p.update()
	p.update()
	replies := p.botComments(is.Number, "reply-to "+strconv.FormatInt(bad.ID, 10)+" ")
	if len(replies) != 1 || !strings.Contains(replies[0].Body, "@demo-reviewer") {
		t.Fatalf("replies to the unauthorized comment: %+v", replies)
	}
	if len(p.botComments(is.Number, "")) != 1 {
		t.Errorf("vexloom commented more than the one reply: %+v", p.gh.Comments(triageRepo, is.Number))
	}
	if r := p.reactions(bad.ID); len(r) != 0 {
		t.Errorf("reactions to the unauthorized comment: %v", r)
	}
	if got := p.triage(htmlVuln); got.State != "open" {
		t.Errorf("after the unauthorized comment: %s", got.State)
	}

	// An approver's answer: applied (a reaction), published, announced,
	// the issue closed.
	good := p.gh.AddComment(triageRepo, is.Number, "demo-maintainer", "Looked at it.\n"+decision)
	u, _ := p.update()
	if r := p.reactions(good.ID); !slices.Equal(r, []string{botLogin + ":+1"}) {
		t.Errorf("reactions to the decision: %v", r)
	}
	if !slices.ContainsFunc(u.Comments, func(c triage.CommentSummary) bool {
		return c.TriageID == tr.ID && c.Author == "demo-maintainer" && c.Outcome == "applied"
	}) {
		t.Errorf("the run's comments: %+v", u.Comments)
	}
	if got := p.triage(htmlVuln); got.State != "published" {
		t.Fatalf("after the decision: %s", got.State)
	}
	if s, j := p.statement("main", htmlVuln); s != "not_affected" || j != "vulnerable_code_cannot_be_controlled_by_adversary" {
		t.Errorf("main VEX: %s %s", s, j)
	}
	is = p.onlyIssue()
	if is.State != "closed" || is.StateReason != "completed" || !slices.Equal(is.Labels, []string{"vex/published"}) {
		t.Errorf("the issue after publishing: %s (%s) %v", is.State, is.StateReason, is.Labels)
	}
	published := p.botComments(is.Number, "published ")
	if len(published) != 1 {
		t.Fatalf("%d closing comments", len(published))
	}
	for _, want := range []string{tr.ID, "@demo-maintainer", "vulnerable_code_cannot_be_controlled_by_adversary", "vex/main.openvex.json", "vexloom vex --branch main"} {
		if !strings.Contains(published[0].Body, want) {
			t.Errorf("the closing comment lacks %q:\n%s", want, published[0].Body)
		}
	}

	// (e) Nothing new: the run after vexloom's own writes reads them
	// once; the next one only asks whether anything changed.
	_, second := p.update()
	_, third := p.update()
	t.Logf("runs with nothing new: %d, then %d requests", second, third)
	if second > 4 || third > 4 {
		t.Errorf("runs with nothing new made %d and %d requests", second, third)
	}
	if n := len(p.botComments(is.Number, "")); n != 2 {
		t.Errorf("vexloom has %d comments on the issue, want the reply and the closing", n)
	}
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// serving is a `vexloom serve` running in the test.
type serving struct {
	base   string
	stderr *syncBuffer
	stop   func() int
}

var servingAddr = regexp.MustCompile(`msg=serving addr=(\S+)`)

// serve starts `vexloom serve` on a loopback port with one more
// environment variable (NAME=value) and more arguments.
func (p *ghProject) serve(env string, args ...string) *serving {
	p.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &serving{stderr: &syncBuffer{}}
	g := &globals{now: func() time.Time { return fixture.Now }, env: append(slices.Clone(p.vars), env)}
	done := make(chan int, 1)
	go func() {
		args := append([]string{"--cache-dir", p.cache, "serve", "--config", p.cfg, "--addr", "127.0.0.1:0"}, args...)
		done <- run(ctx, g, args, strings.NewReader(""), &syncBuffer{}, s.stderr)
	}()
	var once sync.Once
	code := -1
	s.stop = func() int {
		once.Do(func() {
			cancel()
			select {
			case code = <-done:
			case <-time.After(time.Minute):
				p.t.Fatalf("serve did not stop:\n%s", s.stderr.String())
			}
		})
		return code
	}
	p.t.Cleanup(func() { s.stop() })
	deadline := time.Now().Add(time.Minute)
	for {
		if m := servingAddr.FindStringSubmatch(s.stderr.String()); m != nil {
			s.base = "http://" + m[1]
			return s
		}
		select {
		case code := <-done:
			p.t.Fatalf("serve exited %d:\n%s", code, s.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("serve did not start:\n%s", s.stderr.String())
		}
	}
}

// event is the issue_comment event GitHub sends for a comment, built from
// the fake's own API responses.
func (p *ghProject) event(action string, number int, commentID int64) *github.IssueCommentEvent {
	p.t.Helper()
	ctx := context.Background()
	c := p.gh.Client(p.t, botToken)
	owner, name, _ := strings.Cut(triageRepo, "/")
	is, _, err := c.Issues.Get(ctx, owner, name, number)
	if err != nil {
		p.t.Fatal(err)
	}
	cm, _, err := c.Issues.GetComment(ctx, owner, name, commentID)
	if err != nil {
		p.t.Fatal(err)
	}
	r, _, err := c.Repositories.Get(ctx, owner, name)
	if err != nil {
		p.t.Fatal(err)
	}
	return &github.IssueCommentEvent{Action: github.Ptr(action), Issue: is, Comment: cm, Repo: r}
}

func deliver(t *testing.T, url, secret, id string, ev any) (int, string) {
	t.Helper()
	resp, err := ghfake.Deliver(context.Background(), url, secret, "issue_comment", id, ev)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, strings.TrimSpace(b.String())
}

func get(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// The update command and `serve --update-every` with the GitHub backend,
// once update.go hands the github backend to githubBackend.
func TestGitHubUpdateCommand(t *testing.T) {
	t.Parallel()
	p := newGitHubProject(t)
	_, stderr, code := p.cmd("update")
	if code != 0 && strings.Contains(stderr, "is not available in this build") {
		t.Skip("update.go does not call githubBackend yet")
	}
	if code != 0 || !requestsLine.MatchString(stderr) {
		t.Fatalf("update: exit %d\n%s", code, stderr)
	}
	p.onlyIssue()

	// serve runs the update at start: the decision made meanwhile is
	// published and the issue closed without a webhook.
	is := p.onlyIssue()
	p.gh.AddComment(triageRepo, is.Number, "demo-maintainer", decision)
	s := p.serve(config.DefaultWebhookSecretEnv+"=x", "--update-every", "1h")
	deadline := time.Now().Add(time.Minute)
	for p.onlyIssue().State != "closed" {
		if time.Now().After(deadline) {
			t.Fatalf("the update inside serve did not close the issue:\n%s", s.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The VEX feed is served next to the webhook, for trivy vex repo.
	for _, path := range []string{"/feed/.well-known/vex-repository.json", "/feed/index.json", "/feed/vex-repository.tar.gz"} {
		if c := get(t, s.base+path); c != http.StatusOK {
			t.Errorf("%s: %d", path, c)
		}
	}
	if code := s.stop(); code != 0 {
		t.Errorf("serve: exit %d\n%s", code, s.stderr.String())
	}
}

// `vexloom serve`: a signed delivery of a maintainer's comment is applied
// within the request; a bad signature and a replay change nothing.
func TestServeWebhook(t *testing.T) {
	p := newGitHubProject(t)
	p.update()
	is := p.onlyIssue()
	tr := p.triage(htmlVuln)

	// No secret: serve refuses to start.
	if _, stderr, code := p.cmd("serve", "--addr", "127.0.0.1:0"); code != 1 || !strings.Contains(stderr, config.DefaultWebhookSecretEnv) {
		t.Fatalf("serve without a secret: exit %d: %s", code, stderr)
	}

	// An extra endpoint, as the VEX feed will mount itself.
	saved := serveExtras
	t.Cleanup(func() { serveExtras = saved })
	serveExtras = append(slices.Clone(saved), func(pr *project) (string, http.Handler) {
		return "GET /extra/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(pr.cfg.Triage.GitHub.Repository))
		})
	})

	const secret = "It's a Secret to Everybody"
	s := p.serve(config.DefaultWebhookSecretEnv + "=" + secret)
	hook := s.base + "/webhook"
	if c := get(t, s.base+"/extra/x"); c != http.StatusOK {
		t.Errorf("/extra/x: %d", c)
	}
	if c := get(t, s.base+"/healthz"); c != http.StatusOK {
		t.Errorf("/healthz: %d", c)
	}
	if c := get(t, s.base+"/readyz"); c != http.StatusOK {
		t.Errorf("/readyz: %d", c)
	}

	good := p.gh.AddComment(triageRepo, is.Number, "demo-maintainer", decision)
	ev := p.event("created", is.Number, good.ID)
	historyLen := len(tr.History)

	// A bad signature: 401, nothing recorded, nothing done.
	if code, _ := deliver(t, hook, "not the secret", "delivery-1", ev); code != http.StatusUnauthorized {
		t.Errorf("bad signature: %d", code)
	}
	if code, _ := deliver(t, hook, "", "delivery-1", ev); code != http.StatusUnauthorized {
		t.Errorf("no signature: %d", code)
	}
	if got := p.triage(htmlVuln); len(got.History) != historyLen || got.State != "open" {
		t.Errorf("a bad signature changed the triage: %s, %d events", got.State, len(got.History))
	}
	if r := p.reactions(good.ID); len(r) != 0 {
		t.Errorf("a bad signature got reactions: %v", r)
	}

	// The signed delivery: applied within the request.
	if code, body := deliver(t, hook, secret, "delivery-1", ev); code != http.StatusOK || body != "processed" {
		t.Fatalf("signed delivery: %d %s\n%s", code, body, s.stderr.String())
	}
	if r := p.reactions(good.ID); !slices.Equal(r, []string{botLogin + ":+1"}) {
		t.Errorf("reactions after the delivery: %v", r)
	}
	after := p.triage(htmlVuln)
	if after.State != "assessed" {
		t.Errorf("after the delivery: %s", after.State)
	}
	if m := p.branch(after, "main"); m == nil || m.Decision == nil || m.Decision.Author != "demo-maintainer" {
		t.Errorf("main after the delivery: %+v", m)
	}
	if l := p.onlyIssue().Labels; !slices.Equal(l, []string{"vex/assessed"}) {
		t.Errorf("labels after the delivery: %v", l)
	}

	// Replayed, and redelivered under a new ID (an edit): no second effect.
	if code, body := deliver(t, hook, secret, "delivery-1", ev); code != http.StatusOK || body != "duplicate" {
		t.Errorf("replay: %d %s", code, body)
	}
	if code, _ := deliver(t, hook, secret, "delivery-2", p.event("edited", is.Number, good.ID)); code != http.StatusOK {
		t.Errorf("the same comment again: %d", code)
	}
	if got := p.triage(htmlVuln); len(got.History) != len(after.History) {
		t.Errorf("a replay changed the history: %d → %d events", len(after.History), len(got.History))
	}
	if r := p.reactions(good.ID); len(r) != 1 {
		t.Errorf("reactions after the replay: %v", r)
	}

	// An unauthorized comment gets one reply, however often it arrives.
	bad := p.gh.AddComment(triageRepo, is.Number, "demo-reviewer", unauthorized)
	for _, id := range []string{"delivery-3", "delivery-3", "delivery-4"} {
		if code, body := deliver(t, hook, secret, id, p.event("created", is.Number, bad.ID)); code != http.StatusOK {
			t.Errorf("unauthorized comment (%s): %d %s", id, code, body)
		}
	}
	if n := len(p.botComments(is.Number, "reply-to "+strconv.FormatInt(bad.ID, 10)+" ")); n != 1 {
		t.Errorf("%d replies to the unauthorized comment", n)
	}
	// An event from another repository is not applied.
	foreign := p.event("created", is.Number, bad.ID)
	foreign.Repo.FullName = github.Ptr("someone/else")
	if code, _ := deliver(t, hook, secret, "delivery-5", foreign); code != http.StatusOK {
		t.Errorf("foreign event: %d", code)
	}

	if code := s.stop(); code != 0 {
		t.Errorf("serve stopped with exit %d:\n%s", code, s.stderr.String())
	}
	if strings.Contains(s.stderr.String(), botToken) || strings.Contains(s.stderr.String(), secret) {
		t.Errorf("serve printed a secret:\n%s", s.stderr.String())
	}

	// The next update publishes what the webhook applied and closes the
	// issue; nothing is answered twice.
	p.update()
	if got := p.onlyIssue(); got.State != "closed" {
		t.Errorf("after the update: issue %s", got.State)
	}
	if r := p.reactions(good.ID); len(r) != 1 {
		t.Errorf("reactions after the update: %v", r)
	}
	if n := len(p.botComments(is.Number, "reply-to ")); n != 1 {
		t.Errorf("%d replies after the update", n)
	}
}

// `vexloom bridge`: labelled issues of another repository open or update
// triages; only approvers' clean commands are copied.
func TestBridge(t *testing.T) {
	t.Parallel()
	p := newGitHubProject(t)
	p.update()
	tr := p.triage(htmlVuln)
	const from, label = "demo-org/demo", "vex-unaffected-feed"
	p.gh.CreateRepo(from)
	known := p.gh.AddIssue(from, ghfake.IssueInput{
		Title: "CVE-2024-45338: golang.org/x/net", Body: "html.Parse is reachable from the demo's main.", User: "demo-reporter", Labels: []string{label},
	})
	approved := p.gh.AddComment(from, known.Number, "demo-maintainer", "We checked.\n"+decision)
	p.gh.AddComment(from, known.Number, "demo-reviewer", unauthorized)
	p.gh.AddComment(from, known.Number, "demo-maintainer", "/not_affected:because_i_say_so")
	p.gh.AddComment(from, known.Number, "demo-maintainer", "/lgtm")
	fresh := p.gh.AddIssue(from, ghfake.IssueInput{
		Title: "CVE-2025-0001 in github.com/example/parser", User: "demo-reporter", Labels: []string{label}, State: "closed",
	})
	vague := p.gh.AddIssue(from, ghfake.IssueInput{Title: "CVE-2025-0002 somewhere in our dependencies", User: "demo-reporter", Labels: []string{label}})
	p.gh.AddIssue(from, ghfake.IssueInput{Title: "CVE-2025-0003: golang.org/x/text", User: "demo-reporter"}) // not labelled

	bridge := func() bridgeOutput {
		t.Helper()
		out, stderr, code := p.cmd("bridge", "--from", from, "--label", label, "--format", "json")
		if code != 0 {
			t.Fatalf("bridge: exit %d\n%s\n%s", code, out, stderr)
		}
		if !requestsLine.MatchString(stderr) {
			t.Errorf("bridge does not report its requests:\n%s", stderr)
		}
		var b bridgeOutput
		if err := json.Unmarshal([]byte(out), &b); err != nil {
			t.Fatal(err)
		}
		return b
	}
	b := bridge()
	if len(b.Opened) != 1 || b.Opened[0].URL != fresh.HTMLURL || b.Opened[0].Module != "github.com/example/parser" {
		t.Errorf("opened: %+v", b.Opened)
	}
	// The CVE lands in the triage the scanner opened under its GO- ID.
	if len(b.Updated) != 1 || b.Updated[0].Triage != tr.ID || b.Updated[0].URL != known.HTMLURL {
		t.Errorf("updated: %+v (want %s)", b.Updated, tr.ID)
	}
	if len(b.Copied) != 1 || b.Copied[0].URL != approved.HTMLURL || b.Copied[0].Outcome != "applied" || b.Copied[0].Author != "demo-maintainer" {
		t.Errorf("copied: %+v", b.Copied)
	}
	skipped := map[string]string{}
	for _, s := range b.Skipped {
		skipped[s.URL] += s.Reason + "; "
	}
	if len(b.Skipped) != 3 || !strings.Contains(skipped[vague.HTMLURL], "no Go module") {
		t.Errorf("skipped: %+v", b.Skipped)
	}
	for _, s := range b.Skipped {
		if s.URL != vague.HTMLURL && !strings.Contains(s.Reason, "not copied") {
			t.Errorf("skipped %s: %s", s.URL, s.Reason)
		}
	}
	got := p.triage(htmlVuln)
	if m := p.branch(got, "main"); m == nil || m.Decision == nil || m.Decision.Author != "demo-maintainer" || m.Decision.Justification != "vulnerable_code_cannot_be_controlled_by_adversary" {
		t.Errorf("main after the bridge: %+v", m)
	}
	links := func(tr triageOutput) int {
		n := 0
		for _, ev := range tr.History {
			if ev.Source == "bridge" && strings.Contains(string(ev.Data), known.HTMLURL) {
				n++
			}
		}
		return n
	}
	if n := links(got); n != 1 {
		t.Errorf("%d links back to the bridged issue", n)
	}
	opened := p.triage(b.Opened[0].Triage)
	if opened.Vulnerability != "CVE-2025-0001" || opened.Dependency != "github.com/example/parser" {
		t.Errorf("the new triage: %s in %s", opened.Vulnerability, opened.Dependency)
	}

	// Again: nothing new opened, linked or applied.
	b = bridge()
	if len(b.Opened) != 0 || len(b.Updated) != 2 || len(b.Copied) != 1 || b.Copied[0].Outcome != "applied before" {
		t.Errorf("the second run: %+v", b)
	}
	again := p.triage(htmlVuln)
	if len(again.History) != len(got.History) || links(again) != 1 {
		t.Errorf("the second run changed the history: %d → %d events", len(got.History), len(again.History))
	}
	// --github-api wins over $VEXLOOM_GITHUB_API (here a closed port).
	vars := p.vars
	p.vars = append(slices.Clone(vars), githubAPIEnv+"=http://127.0.0.1:1/")
	out := p.ok("bridge", "--from", from, "--label", label, "--config", p.cfg, "--github-api", p.gh.URL())
	p.vars = vars
	if !strings.Contains(out, "0 opened, 2 updated, 1 comment copied, 3 skipped") || !strings.Contains(out, "skipped  "+vague.HTMLURL) {
		t.Errorf("the table:\n%s", out)
	}

	// The update publishes the copied decision and closes the triage's
	// issue.
	p.update()
	if is := p.onlyIssue(); is.State != "closed" {
		t.Errorf("the triage issue after the update: %s", is.State)
	}

	// Bad usage.
	if _, stderr, code := p.cmd("bridge", "--label", label); code != 2 {
		t.Errorf("no --from: exit %d: %s", code, stderr)
	}
	if _, stderr, code := p.cmd("bridge", "--from", "not-a-repo", "--label", label); code != 2 {
		t.Errorf("a bad --from: exit %d: %s", code, stderr)
	}
}

// Credentials: none is one clear line; a GitHub App from the project file
// authenticates with installation tokens.
func TestGitHubBackendCredentials(t *testing.T) {
	t.Parallel()
	p := newGitHubProject(t)
	ctx := context.Background()
	open := func(env []string) (*globals, *project) {
		t.Helper()
		g := &globals{cacheDir: p.cache, now: func() time.Time { return fixture.Now }, env: env}
		pf := projectFlags{config: p.cfg}
		pr, err := pf.open(ctx, g, true)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pr.Close() })
		return g, pr
	}
	if _, stderr, code := p.cmd("bridge", "--from", "a/b", "--label", "x"); code != 1 || !strings.Contains(stderr, "vexloom update") {
		t.Errorf("bridge before any update: exit %d: %s", code, stderr)
	}
	noToken := slices.DeleteFunc(slices.Clone(p.vars), func(v string) bool { return strings.HasPrefix(v, "GITHUB_TOKEN=") })
	g, pr := open(noToken)
	_, err := githubBackend(ctx, g, pr, nil)
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "GITHUB_TOKEN") || !strings.Contains(err.Error(), "triage.github.app_id") {
		t.Errorf("no credentials: %v", err)
	}

	// A GitHub App.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(p.dir, "app.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		t.Fatal(err)
	}
	p.gh.AddApp(4242, &key.PublicKey, 77, "vexloom-app", time.Hour)
	data, err := os.ReadFile(p.cfg)
	if err != nil {
		t.Fatal(err)
	}
	data = bytes.Replace(data, []byte("app_id: 0\n    installation_id: 0\n    private_key: \"\""), []byte("app_id: 4242\n    installation_id: 77\n    private_key: app.pem"), 1)
	if err := os.WriteFile(p.cfg, data, 0o644); err != nil {
		t.Fatal(err)
	}
	g, pr = open(noToken)
	var errb bytes.Buffer
	b, err := githubBackend(ctx, g, pr, progress.New(&errb))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Comments(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Sync(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errb.String(), "github: ") {
		t.Errorf("no request count:\n%s", errb.String())
	}
	var sawToken bool
	for _, r := range p.gh.Log() {
		sawToken = sawToken || strings.HasSuffix(r.Path, "/app/installations/77/access_tokens")
	}
	if !sawToken {
		t.Errorf("no installation token was asked for: %+v", p.gh.Log())
	}
	// A missing key file is named.
	data = bytes.Replace(data, []byte("private_key: app.pem"), []byte("private_key: missing.pem"), 1)
	if err := os.WriteFile(p.cfg, data, 0o644); err != nil {
		t.Fatal(err)
	}
	g, pr = open(noToken)
	if _, err := githubBackend(ctx, g, pr, nil); err == nil || !strings.Contains(err.Error(), "private_key") {
		t.Errorf("a missing key: %v", err)
	}
}
