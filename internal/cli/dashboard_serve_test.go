package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vexloom/vexloom/examples/demo"
	"github.com/vexloom/vexloom/internal/config"
	"github.com/vexloom/vexloom/internal/dashboard"
	"github.com/vexloom/vexloom/internal/fixture"
	"github.com/vexloom/vexloom/internal/viewjson"
)

// dashProject is the demo project after one `vexloom update`, for the
// dashboard's command-line tests.
type dashProject struct {
	t     *testing.T
	cache string
	cfg   string
	vars  []string
}

func newDashProject(t *testing.T) *dashProject {
	t.Helper()
	p := &dashProject{t: t, cache: t.TempDir(), vars: append(os.Environ(), "SOURCE_DATE_EPOCH=1795000000", "DASH_TOKEN=t0ken-for-the-test")}
	fixture.Database(t, p.cache)
	useSharedScans(t, p.cache)
	repo := fixture.DemoRepo(t)
	dir := t.TempDir()
	p.cfg = filepath.Join(dir, config.FileName)
	data, err := config.Starter(config.InitOptions{Module: demo.Module, Repository: repo.Dir, Branches: []string{demo.MainBranch, "release-*"}, SecurityTeam: []string{"demo-security"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p.cfg, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, stderr, code := p.run("update", "--config", p.cfg); code != 0 {
		t.Fatalf("update: exit %d\n%s\n%s", code, out, stderr)
	}
	return p
}

func (p *dashProject) run(args ...string) (string, string, int) {
	var out, errb bytes.Buffer
	g := &globals{now: func() time.Time { return fixture.Now }, env: p.vars}
	code := run(context.Background(), g, append([]string{"--cache-dir", p.cache}, args...), strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var dashServingAddr = regexp.MustCompile(`msg=serving addr=(\S+)`)

// serve runs `vexloom serve` until the test ends and returns its address
// (as http://127.0.0.1:PORT), or the exit code and stderr when it stops
// by itself.
func (p *dashProject) serve(args ...string) (base string, code int, stderr string) {
	p.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errb := &lockedBuffer{}
	done := make(chan int, 1)
	go func() {
		var out bytes.Buffer
		g := &globals{now: time.Now, env: p.vars}
		done <- run(ctx, g, append([]string{"--cache-dir", p.cache, "serve", "--config", p.cfg}, args...), strings.NewReader(""), &out, errb)
	}()
	p.t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(time.Minute):
			p.t.Errorf("serve did not stop")
		}
	})
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if m := dashServingAddr.FindStringSubmatch(errb.String()); m != nil {
			addr := m[1]
			if i := strings.LastIndex(addr, ":"); i >= 0 {
				addr = "127.0.0.1" + addr[i:]
			}
			return "http://" + addr, -1, ""
		}
		select {
		case c := <-done:
			done <- c
			return "", c, errb.String()
		case <-time.After(20 * time.Millisecond):
		}
	}
	p.t.Fatalf("serve did not start:\n%s", errb.String())
	return "", 0, ""
}

func dashGet(t *testing.T, url, token string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// `triage list` shows the queue by default, the dashboard the same queue;
// `--state all` keeps every triage. `serve --dashboard-only` serves the
// dashboard on loopback, and refuses to serve it beyond loopback without
// a token or --dashboard-public.
func TestDashboardAndTriageListAgree(t *testing.T) {
	t.Parallel()
	p := newDashProject(t)

	out, stderr, code := p.run("triage", "list", "--config", p.cfg, "--format", "json")
	if code != 0 {
		t.Fatalf("triage list: exit %d: %s", code, stderr)
	}
	var queue viewjson.Triages
	if err := json.Unmarshal([]byte(out), &queue); err != nil {
		t.Fatal(err)
	}
	out, _, _ = p.run("triage", "list", "--config", p.cfg, "--format", "json", "--state", "all")
	var all viewjson.Triages
	if err := json.Unmarshal([]byte(out), &all); err != nil {
		t.Fatal(err)
	}
	if len(queue.Triages) == 0 || len(all.Triages) <= len(queue.Triages) {
		t.Fatalf("the queue has %d triages, --state all %d", len(queue.Triages), len(all.Triages))
	}
	var ids []string
	for _, tr := range queue.Triages {
		ids = append(ids, tr.ID)
		if tr.State != "open" {
			t.Errorf("%s is %s, in the queue", tr.ID, tr.State)
		}
	}
	table, _, _ := p.run("triage", "list", "--config", p.cfg)
	if n := strings.Count(table, "\n"); n != len(queue.Triages)+1 {
		t.Errorf("the table has %d lines for %d triages:\n%s", n, len(queue.Triages), table)
	}

	base, code, stderr := p.serve("--dashboard-only", "--addr", "127.0.0.1:0")
	if base == "" {
		t.Fatalf("serve --dashboard-only: exit %d\n%s", code, stderr)
	}
	resp, body := dashGet(t, base+"/", "")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Security-Policy") != dashboard.ContentSecurityPolicy || !bytes.Contains(body, []byte(`id="matrix"`)) {
		t.Errorf("GET /: %s\n%s", resp.Status, body)
	}
	_, body = dashGet(t, base+"/api/v1/triages", "")
	var served viewjson.Triages
	if err := json.Unmarshal(body, &served); err != nil {
		t.Fatal(err)
	}
	var servedIDs []string
	for _, tr := range served.Triages {
		servedIDs = append(servedIDs, tr.ID)
	}
	if !slices.Equal(servedIDs, ids) {
		t.Errorf("the dashboard's queue %v, the command line's %v", servedIDs, ids)
	}
	if resp, _ := dashGet(t, base+"/healthz", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz: %s", resp.Status)
	}

	// Beyond loopback: refused without a token, served with one.
	if base, code, stderr := p.serve("--dashboard-only", "--addr", "0.0.0.0:0"); base != "" || code != ExitUsage || !strings.Contains(stderr, "--dashboard-token-env") {
		t.Errorf("serve beyond loopback without a token: %q, exit %d\n%s", base, code, stderr)
	}
	base, code, stderr = p.serve("--dashboard-only", "--addr", "0.0.0.0:0", "--dashboard-token-env", "DASH_TOKEN")
	if base == "" {
		t.Fatalf("serve with a token: exit %d\n%s", code, stderr)
	}
	if resp, _ := dashGet(t, base+"/", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no token: %s", resp.Status)
	}
	if resp, body := dashGet(t, base+"/", "t0ken-for-the-test"); resp.StatusCode != http.StatusOK || bytes.Contains(body, []byte("t0ken")) {
		t.Errorf("with the token: %s", resp.Status)
	}
}
