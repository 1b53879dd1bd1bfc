package dashboard

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vexloom/vexloom/examples/demo"
	"github.com/vexloom/vexloom/internal/digest"
	"github.com/vexloom/vexloom/internal/fixture"
	"github.com/vexloom/vexloom/internal/owners"
	"github.com/vexloom/vexloom/internal/publish"
	"github.com/vexloom/vexloom/internal/scan"
	"github.com/vexloom/vexloom/internal/source"
	"github.com/vexloom/vexloom/internal/store"
	"github.com/vexloom/vexloom/internal/triage"
)

// tempRoot holds what the package's tests share; removed by TestMain.
var tempRoot string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "vexloom-dashboard-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	tempRoot = dir
	code := m.Run()
	closeBrowser()
	os.RemoveAll(dir)
	os.Exit(code)
}

// The demo store's clock: the first update ten days before fixture.Now,
// the answers two days later, the second update a day after, the
// dashboard read at fixture.Now.
var (
	t0       = fixture.Now.Add(-10 * 24 * time.Hour)
	tAnswer  = t0.Add(2 * 24 * time.Hour)
	tUpdate2 = t0.Add(3 * 24 * time.Hour)
)

// Untrusted text, stored through the normal path (a comment applied by
// triage.Apply) and shown on the triage page.
const (
	xssScript = `<script>window.__pwned = "script"</script>`
	xssImg    = `<img src=x onerror="window.__pwned='img'">`
	xssLink   = `<a id="xss-link" href="javascript:window.__pwned='link'">click</a>`
)

// demoFixture is the store of a real `update` of the demo project, with a
// maintainer's answer carrying hostile text, a second update that
// publishes it, and a release document in the local published store.
type demoFixture struct {
	Store     *store.Store
	Published *publish.Local
	Policy    *owners.Approvers
	Branches  []string
	// Answered is the triage the maintainer answered; Waiting those still
	// needing a person after the run, oldest first.
	Answered string
	Waiting  []string
}

var (
	demoOnce sync.Once
	demoFix  *demoFixture
	demoErr  error
)

// demoStore builds the demo store once per package.
func demoStore(t testing.TB) *demoFixture {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the scanned demo project (two updates of the demo); run without -short")
	}
	demoOnce.Do(func() { demoFix, demoErr = buildDemoStore(t) })
	if demoErr != nil {
		t.Fatal(demoErr)
	}
	return demoFix
}

func buildDemoStore(t testing.TB) (*demoFixture, error) {
	ctx := context.Background()
	root := filepath.Join(tempRoot, "demo")
	cache := filepath.Join(root, "cache")
	db := fixture.Database(t, cache)
	repoDir := filepath.Join(root, "repo")
	if _, err := demo.Create(ctx, repoDir); err != nil {
		return nil, fmt.Errorf("creating the demo: %w", err)
	}
	var clock time.Time
	now := func() time.Time { return clock }
	clock = t0
	st, err := store.Open(ctx, filepath.Join(root, ".vexloom"), now)
	if err != nil {
		return nil, err
	}
	repo, err := source.OpenRepository(ctx, repoDir, cache, nil)
	if err != nil {
		return nil, err
	}
	c, err := repo.ResolveBranch(ctx, demo.MainBranch)
	if err != nil {
		return nil, err
	}
	files, err := repo.Files(ctx, c.Hash)
	if err != nil {
		return nil, err
	}
	tree, _, err := owners.Load(files, func(f string) ([]byte, error) { return repo.ReadFile(ctx, c.Hash, f) })
	if err != nil {
		return nil, err
	}
	policy := &owners.Approvers{Tree: tree, SecurityTeam: []string{"demo-security"}}
	sdb := scan.Database{URL: db.URL(), Source: db.Meta.Source, Version: db.Meta.Version, Digest: db.Meta.Digest, Modified: db.Meta.Modified}
	env := append(os.Environ(), "GOFLAGS=-mod=mod", "SOURCE_DATE_EPOCH=1795000000")
	branches := []string{demo.MainBranch, "release-*"}
	runner := func() *triage.Runner {
		return &triage.Runner{
			Store: st, Repo: repo, DB: sdb, Approvers: policy, Backend: triage.Local{}, Now: now,
			Scanner:  scan.NewScanner(scan.Options{DB: sdb, Cache: &scan.Cache{Dir: filepath.Join(cache, "scans")}, Env: env}),
			Branches: branches, Author: "vexloom demo maintainers", VEXDir: filepath.Join(root, "vex"),
		}
	}
	sum, err := runner().Run(ctx)
	if err != nil {
		return nil, fmt.Errorf("the first update: %w", err)
	}
	if len(sum.Failures) > 0 {
		return nil, fmt.Errorf("the first update: %v", sum.Failures)
	}
	maintained := []string{demo.MainBranch, demo.ReleaseBranch}
	views, err := triage.Views(ctx, st, maintained)
	if err != nil {
		return nil, err
	}
	queue := triage.Queue(views)
	if len(queue) == 0 {
		return nil, fmt.Errorf("nothing needs a person after the first update")
	}
	f := &demoFixture{Store: st, Policy: policy, Branches: branches, Answered: queue[0].ID}

	// A reviewer's refused comment and a maintainer's decision, both
	// carrying hostile HTML, applied as `vexloom triage comment` does.
	clock = tAnswer
	rules := triage.Rules{Approvers: policy, Maintained: maintained}
	for i, cm := range []struct{ author, body string }{
		{"demo-reviewer", "LGTM " + xssScript + "\n/not_affected:vulnerable_code_cannot_be_controlled_by_adversary " + xssImg},
		{"demo-maintainer", "Reviewed " + xssLink + "\n/not_affected:vulnerable_code_cannot_be_controlled_by_adversary only the operator's input reaches html.Parse " + xssScript + xssImg},
	} {
		at := clock.Add(time.Duration(i) * time.Minute)
		sum := sha256.Sum256([]byte(cm.author + cm.body))
		_, err := triage.Apply(ctx, st, rules, triage.Comment{
			Ref: "local:" + hex.EncodeToString(sum[:8]), TriageID: f.Answered, Author: cm.author, Body: cm.body, At: at,
		})
		if err != nil {
			return nil, fmt.Errorf("answering: %w", err)
		}
	}
	// Two more triages wait for a person: the approver puts them under
	// investigation.
	for _, v := range views {
		if v.ID == f.Answered || v.State == triage.Closed || len(f.Waiting) == 2 {
			continue
		}
		_, err := triage.Apply(ctx, st, rules, triage.Comment{
			Ref: "local:investigate-" + v.ID, TriageID: v.ID, Author: "demo-maintainer",
			Body: "/under_investigation checking how we use it", At: clock.Add(5 * time.Minute),
		})
		if err != nil {
			return nil, fmt.Errorf("answering: %w", err)
		}
		f.Waiting = append(f.Waiting, v.ID)
	}
	if _, err := triage.Reconcile(ctx, st, maintained); err != nil {
		return nil, err
	}
	clock = tUpdate2
	if _, err := runner().Run(ctx); err != nil {
		return nil, fmt.Errorf("the second update: %w", err)
	}

	// A release document, as `vexloom publish --to local` records one:
	// main's VEX standing in for the release's, with a binary.
	pub, err := publish.NewLocal(filepath.Join(root, ".vexloom", "published"), now)
	if err != nil {
		return nil, err
	}
	d, err := st.LatestDocument(ctx, demo.MainBranch)
	if err != nil {
		return nil, err
	}
	bin := sha256.Sum256([]byte("the demo binary"))
	if _, err := pub.Publish(ctx, publish.Object{
		Document: d.Body, Kind: publish.KindRelease, Ref: demo.ReleaseTag,
		Subjects: []publish.Subject{digest.SubjectOf("vexloom-demo_linux_amd64", publish.Digest{Algorithm: "sha256", Hex: hex.EncodeToString(bin[:])})},
	}); err != nil {
		return nil, err
	}
	f.Published = pub
	// The queue's order is triage.Queue's (tested there).
	views, err = triage.Views(ctx, st, maintained)
	if err != nil {
		return nil, err
	}
	f.Waiting = nil
	for _, v := range triage.Queue(views) {
		f.Waiting = append(f.Waiting, v.ID)
	}
	if len(f.Waiting) != 2 {
		return nil, fmt.Errorf("%d triages wait for a person, want 2", len(f.Waiting))
	}
	clock = fixture.Now
	return f, nil
}

// newDashboard serves the demo store's dashboard on loopback.
func newDashboard(t testing.TB, f *demoFixture, token string) *httptest.Server {
	t.Helper()
	d, err := New(Options{
		Store: f.Store, Project: demo.Module, Branches: f.Branches, Published: f.Published,
		Policy: func() *owners.Approvers { return f.Policy }, Token: token,
		Now: func() time.Time { return fixture.Now },
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(d)
	t.Cleanup(srv.Close)
	return srv
}

func get(t testing.TB, url string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b []byte
	b, err = readAll(resp)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}
