package dashboard

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vexloom/vexloom/examples/demo"
	"github.com/vexloom/vexloom/internal/fixture"
)

// One headless Chromium for the package's tests, started on first use.
var (
	browserOnce   sync.Once
	browserCtx    context.Context
	browserCancel context.CancelFunc
	browserErr    error
)

// chromiumPath finds Chromium: $VEXLOOM_CHROMIUM, else chromium (or
// chromium-browser, google-chrome) in PATH.
func chromiumPath() (string, error) {
	if p := os.Getenv("VEXLOOM_CHROMIUM"); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no Chromium: install the chromium package or set VEXLOOM_CHROMIUM")
}

// browser returns a new tab of the shared browser. Without Chromium the
// test is skipped, except in CI (CI=true), where it fails.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := chromiumPath()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v (CI must run the browser tests: .ci/run installs it)", err)
		}
		t.Skipf("%v; skipping the browser test", err)
	}
	browserOnce.Do(func() {
		opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
			chromedp.ExecPath(path),
			chromedp.NoSandbox, // CI runs as root
			chromedp.DisableGPU,
			chromedp.WindowSize(1280, 900),
		)
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancel := chromedp.NewContext(alloc)
		browserCtx = ctx
		browserCancel = func() { cancel(); cancelAlloc() }
		browserErr = chromedp.Do(ctx) // start it
	})
	if browserErr != nil {
		t.Fatalf("starting %s: %v", path, browserErr)
	}
	tab, cancel := chromedp.NewContext(browserCtx)
	ctx, cancelT := context.WithTimeout(tab, 90*time.Second)
	t.Cleanup(func() { cancelT(); cancel() })
	return ctx
}

func closeBrowser() {
	if browserCancel != nil {
		browserCancel()
	}
}

// screenshot saves the page as a test artifact, under
// $VEXLOOM_TEST_ARTIFACTS or the temporary directory.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("VEXLOOM_TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "vexloom-dashboard-screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// attrs reads an attribute of every element a CSS selector matches (none
// is an empty list, not a wait).
func attrs(ctx context.Context, sel, attr string) ([]string, error) {
	js := fmt.Sprintf(`Array.from(document.querySelectorAll(%q)).map(e => e.getAttribute(%q) || "")`, sel, attr)
	return chromedp.Run(ctx, chromedp.Evaluate[[]string](js))
}

// text is the text a person sees in the first element sel matches.
func text(ctx context.Context, sel string) (string, error) {
	return chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%q) || {innerText: ""}).innerText`, sel)))
}

// What a person sees: the matrix, the queue in order, a triage's
// timeline reached by following the queue's link, the charts, and a
// release with its document versions.
func TestBrowserShowsTheLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end in a browser; run without -short")
	}
	f := demoStore(t)
	ctx := browser(t)
	srv := newDashboard(t, f, "")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	// Overview: one row per vulnerability present, cells coloured by state.
	must(chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#matrix"))))
	screenshot(t, ctx, "overview")
	waiting, err := text(ctx, "#n-waiting")
	must(err)
	rows, err := attrs(ctx, "#matrix tbody tr[data-triage]", "data-triage")
	must(err)
	if len(rows) < 4 || !slices.Contains(rows, f.Answered) {
		t.Errorf("matrix rows %v: want the demo's vulnerabilities, %s among them", rows, f.Answered)
	}
	// The rows waiting for a person come first, oldest first.
	if len(rows) < len(f.Waiting) || !slices.Equal(rows[:len(f.Waiting)], f.Waiting) {
		t.Errorf("matrix rows start %v, want the waiting %v", rows, f.Waiting)
	}
	classes, err := attrs(ctx, fmt.Sprintf(`#matrix tr[data-triage=%q] td.cell`, f.Answered), "class")
	must(err)
	if !slices.Equal(classes, []string{"cell person", "cell person", "cell person"}) {
		t.Errorf("the answered triage's cells (main, release-1.0, %s): %v", demo.ReleaseTag, classes)
	}

	// The queue, oldest first, and a link followed to the triage page.
	must(chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/triages"), chromedp.WaitVisible(chromedp.CSS("#queue"))))
	screenshot(t, ctx, "queue")
	queue, err := attrs(ctx, "#queue tbody tr[data-triage]", "data-triage")
	must(err)
	if len(f.Waiting) == 0 || !slices.Equal(queue, f.Waiting) {
		t.Errorf("queue %v, want %v", queue, f.Waiting)
	}
	if strings.TrimSpace(waiting) == "0" {
		t.Errorf("the overview says nothing waits; the queue has %v", f.Waiting)
	}
	must(chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/triages?state=all"), chromedp.WaitVisible(chromedp.CSS("#queue")),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`#queue tr[data-triage=%q] a`, f.Answered))),
		chromedp.WaitVisible(chromedp.CSS("#timeline")),
	))
	url, err := chromedp.Run(ctx, chromedp.Location())
	must(err)
	if !strings.HasSuffix(url, "/triages/"+f.Answered) {
		t.Errorf("the queue's link led to %s", url)
	}
	events, err := f.Store.Events(context.Background(), f.Answered)
	must(err)
	items, err := attrs(ctx, "#timeline > li", "class")
	must(err)
	if len(items) != len(events) {
		t.Errorf("the timeline shows %d events, the history has %d", len(items), len(events))
	}
	screenshot(t, ctx, "triage")

	// Charts: one point per day from the first state change to today.
	must(chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/charts"), chromedp.WaitVisible(chromedp.CSS("#chart-open"))))
	points, err := attrs(ctx, "#chart-open circle.point", "cy")
	must(err)
	wantDays := int(fixture.Now.Truncate(24*time.Hour).Sub(t0.Truncate(24*time.Hour)).Hours()/24) + 1
	if len(points) != wantDays {
		t.Errorf("the open-triages chart has %d points, want %d (one a day)", len(points), wantDays)
	}
	bars, err := attrs(ctx, "#chart-decision rect.bar", "height")
	must(err)
	if len(bars) != len(decisionBuckets) || bars[1] == "0" {
		t.Errorf("time-to-decision bars %v: the decision after two days belongs in 1–7 days", bars)
	}
	shares, err := attrs(ctx, "#chart-share svg", "aria-label")
	must(err)
	if !slices.Equal(shares, []string{demo.MainBranch, demo.ReleaseBranch}) {
		t.Errorf("share bars for %v", shares)
	}
	screenshot(t, ctx, "charts")

	// Releases: follow the release's link; a branch's versions and diff.
	must(chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/releases"), chromedp.WaitVisible(chromedp.CSS("#releases")),
		chromedp.Click(chromedp.CSS(`#releases a[href="/releases/release/`+demo.ReleaseTag+`"]`)),
		chromedp.WaitVisible(chromedp.CSS("#published")),
	))
	artifacts, err := text(ctx, "#published")
	must(err)
	if !strings.Contains(artifacts, "vexloom-demo_linux_amd64 sha256:") {
		t.Errorf("the release page does not name its binary and its digest: %q", artifacts)
	}
	screenshot(t, ctx, "release")
	must(chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/releases/branch/main?from=1&to=2"), chromedp.WaitVisible(chromedp.CSS("#diff"))))
	diff, err := text(ctx, "#diff")
	must(err)
	if !strings.Contains(diff, "vulnerable_code_cannot_be_controlled_by_adversary") {
		t.Errorf("main's v1 → v2 diff does not show the maintainer's decision:\n%s", diff)
	}
	screenshot(t, ctx, "branch-diff")
}

// A comment with a <script>, an onerror= image and a javascript: link is
// shown as text: the browser makes no element of it and runs none of it.
func TestBrowserRunsNoInjectedScript(t *testing.T) {
	f := demoStore(t)
	ctx := browser(t)
	srv := newDashboard(t, f, "")
	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/triages/"+f.Answered),
		chromedp.WaitVisible(chromedp.CSS("#timeline")),
		chromedp.Sleep(300*time.Millisecond), // time for an onerror to fire
	); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "hostile-comment")
	pwned, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__pwned !== undefined`))
	if err != nil {
		t.Fatal(err)
	}
	if pwned {
		t.Error("the browser ran script from a comment")
	}
	injected, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('main script, main img, main a[href^="javascript:"], #xss-link').length`))
	if err != nil {
		t.Fatal(err)
	}
	if injected != 0 {
		t.Errorf("the comment made %d elements", injected)
	}
	shown, err := text(ctx, "#timeline")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{xssScript, `onerror="window.__pwned='img'"`, `href="javascript:window.__pwned='link'"`} {
		if !strings.Contains(shown, want) {
			t.Errorf("the timeline does not show %q as text", want)
		}
	}
}

// A tracked release with a hostile name and image reference: its link
// from the releases page leads to its page, which shows both as text, its
// images and the diff of its two versions, and runs nothing.
func TestBrowserShowsATrackedRelease(t *testing.T) {
	ctx := browser(t)
	srv := trackedDashboard(t)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/releases"), chromedp.WaitVisible(chromedp.CSS("#releases")),
		chromedp.Click(chromedp.CSS(`#releases tr.tracked a`)),
		chromedp.WaitVisible(chromedp.CSS("#images")),
		chromedp.Sleep(300*time.Millisecond), // time for an onerror to fire
	); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "tracked-release")
	pwned, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__pwned !== undefined`))
	if err != nil || pwned {
		t.Errorf("the browser ran script from a release's name or image (%v)", err)
	}
	title, err := text(ctx, "h1")
	if err != nil || title != hostileRelease {
		t.Errorf("the page's title %q (%v), want the release's name as text", title, err)
	}
	images, err := text(ctx, "#images")
	if err != nil || !strings.Contains(images, hostileRef) || !strings.Contains(images, "linux/arm64") {
		t.Errorf("images %q (%v)", images, err)
	}
	diff, err := text(ctx, "#diff")
	if err != nil || !strings.Contains(diff, "vulnerable_code_not_in_execute_path") {
		t.Errorf("the diff of v1 and v2: %q (%v)", diff, err)
	}
}
