package cli

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vexloom/vexloom/internal/fixture"
)

// leakToken is shaped like no known credential, so only the client's
// knowledge that it is the token it sends can keep it out of sight.
const leakToken = "plain-Vexloom-s3cr3t-9f8e7d6c5b4a"

// echoGitHub is a GitHub API on loopback that refuses everything with the
// status it is set to and a body echoing the request's credential, the
// way a misconfigured proxy or a hostile server would.
func echoGitHub(t *testing.T, status *atomic.Int32) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Echo", auth)
		w.WriteHeader(int(status.Load()))
		fmt.Fprintf(w, `{"message":"Bad credentials: %s; token %s","errors":[{"resource":"Issue","code":"custom","message":"%s"}],"documentation_url":"https://docs.github.com/rest?token=%s"}`,
			auth, strings.TrimPrefix(auth, "Bearer "), auth, strings.TrimPrefix(auth, "Bearer "))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// runNoWait runs vexloom like env.run, with GitHub's retry waits skipped.
func (e *env) runNoWait(args ...string) (stdout, stderr string, code int) {
	e.t.Helper()
	var out, errb bytes.Buffer
	g := &globals{now: func() time.Time { return fixture.Now }, env: e.vars,
		sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }}
	code = run(context.Background(), g, append([]string{"--cache-dir", e.cache}, args...), strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

// TestGitHubTokenNeverShown runs every command that talks to GitHub
// against a server that echoes the token in its error bodies, for each
// kind of refusal, and looks for the token in stdout, stderr and every
// file the commands wrote.
func TestGitHubTokenNeverShown(t *testing.T) {
	t.Parallel()
	p := newGitHubProject(t)
	var status atomic.Int32
	srv := echoGitHub(t, &status)
	p.vars = append(p.vars, "GITHUB_TOKEN="+leakToken, githubAPIEnv+"="+srv.URL)

	// A signed document about an image, for publish.
	dir := t.TempDir()
	digest := "sha256:" + strings.Repeat("ab", 32)
	doc := filepath.Join(dir, "doc.openvex.json")
	os.WriteFile(doc, []byte(`{"@context":"https://openvex.dev/ns/v0.2.0","@id":"https://example.com/vex/1","author":"t","timestamp":"2026-01-01T00:00:00Z","version":1,
"statements":[{"vulnerability":{"name":"CVE-2026-0001"},"products":[{"@id":"pkg:oci/app@`+digest+`?repository_url=registry.example/app"}],"status":"not_affected","justification":"vulnerable_code_not_present"}]}`), 0o644)
	key := filepath.Join(dir, "k")
	if _, stderr, code := p.run("keygen", "-o", key); code != 0 {
		t.Fatalf("keygen: %s", stderr)
	}
	bundle := filepath.Join(dir, "doc.sigstore.json")
	if _, stderr, code := p.run("attest", doc, "--key", key+".key", "-o", bundle); code != 0 {
		t.Fatalf("attest: %s", stderr)
	}

	// In this order: update makes the store the others read.
	commands := []struct {
		name string
		args []string
	}{
		{"update", []string{"update", "--config", p.cfg}},
		{"bridge", []string{"bridge", "--config", p.cfg, "--from", "kubernetes/kubernetes", "--label", "vex-unaffected-feed"}},
		{"pull", []string{"pull", "--from", "github:demo-org/vex", "--subject", digest, "--key", key + ".pub"}},
		{"publish", []string{"publish", bundle, "--ref", "v1.0.0", "--config", p.cfg, "--to", "github:demo-org/vex"}},
	}
	for _, code := range []int32{401, 403, 500} {
		status.Store(code)
		for _, c := range commands {
			name, args := c.name, c.args
			t.Run(fmt.Sprintf("%s/%d", name, code), func(t *testing.T) {
				stdout, stderr, exit := p.runNoWait(args...)
				if exit == 0 {
					t.Errorf("exit 0 though GitHub refused everything\n%s", stderr)
				}
				if strings.Contains(stdout, leakToken) || strings.Contains(stderr, leakToken) {
					t.Errorf("the token is printed:\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
				}
				if !strings.Contains(stderr, fmt.Sprint(code)) && !strings.Contains(stdout, fmt.Sprint(code)) {
					t.Errorf("the refusal (%d) is not reported:\n%s", code, stderr)
				}
			})
		}
	}
	for _, root := range []string{p.dir, p.cache, dir} {
		filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			if data, err := os.ReadFile(path); err == nil && bytes.Contains(data, []byte(leakToken)) {
				t.Errorf("%s holds the token", path)
			}
			return nil
		})
	}
}
