package ghbackend

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v75/github"

	"github.com/vexloom/vexloom/internal/ghfake"
)

// TestTokenNeverShown makes GitHub echo the token in an error body and a
// retried failure, and looks for it in errors and logs.
func TestTokenNeverShown(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	gh, tr, err := NewClient(e.ctx, e.clientOptions())
	if err != nil {
		t.Fatal(err)
	}
	e.srv.Fail(ghfake.Fault{Method: "GET", Path: "/repos/kubernetes/vex/issues", Status: 500, Body: `{"message":"bad credentials: ` + testToken + `"}`, Times: DefaultMaxAttempts})
	_, _, err = gh.Issues.ListByRepo(e.ctx, "kubernetes", "vex", nil)
	if err == nil {
		t.Fatal("no error")
	}
	if msg := tr.RedactError(err).Error(); strings.Contains(msg, testToken) {
		t.Errorf("error shows the token: %s", msg)
	}
	// A network error names the request; the transport's own errors are
	// redacted on the way out.
	rerr := tr.RedactError(errors.New("GET x: Authorization: Bearer " + testToken))
	if strings.Contains(rerr.Error(), testToken) {
		t.Errorf("RedactError: %v", rerr)
	}
	tr.log.Warn("oops "+testToken, "header", "Bearer "+testToken, "err", errors.New(testToken))
	if strings.Contains(e.logs.String(), testToken) {
		t.Errorf("logs show the token:\n%s", e.logs)
	}
	if got := tr.Requests(); got != DefaultMaxAttempts {
		t.Errorf("%d requests, want %d (the retries)", got, DefaultMaxAttempts)
	}
}

func TestPostsAreNotRetriedUnlessUnsent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	gh, tr, err := NewClient(e.ctx, e.clientOptions())
	if err != nil {
		t.Fatal(err)
	}
	is := e.srv.AddIssue(repoName, ghfake.IssueInput{Title: "x", Body: "y"})
	e.srv.Fail(ghfake.Fault{Method: "POST", Path: "/repos/kubernetes/vex/issues", Status: 503, Times: 3})
	_, _, err = gh.Issues.CreateComment(e.ctx, "kubernetes", "vex", is.Number, &github.IssueComment{Body: github.Ptr("hi")})
	if err == nil || tr.Requests() != 1 {
		t.Errorf("a POST answered 503 was sent %d times (err %v), want once", tr.Requests(), err)
	}

	// Nothing listens: every try fails to connect, so the POST provably
	// never arrived and is tried again, up to the bound.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	opts := e.clientOptions()
	opts.API = "http://" + addr + "/"
	gh2, tr2, err := NewClient(e.ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = gh2.Issues.CreateComment(e.ctx, "kubernetes", "vex", 1, &github.IssueComment{Body: github.Ptr("hi")})
	if err == nil || tr2.Requests() != DefaultMaxAttempts {
		t.Errorf("an unsent POST was tried %d times (err %v), want %d", tr2.Requests(), err, DefaultMaxAttempts)
	}
}

func TestSecondaryLimitAndRetryAfter(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	gh, tr, err := NewClient(e.ctx, e.clientOptions())
	if err != nil {
		t.Fatal(err)
	}
	e.srv.SecondaryLimit(2, 45*time.Second)
	start := e.clock()
	if _, _, err := gh.Issues.ListByRepo(e.ctx, "kubernetes", "vex", nil); err != nil {
		t.Fatal(err)
	}
	if waited := e.clock().Sub(start); waited < 90*time.Second || tr.Requests() != 3 {
		t.Errorf("waited %s over %d requests, want 90s over 3", waited, tr.Requests())
	}
	// A 403 that is no rate limit is the caller's: not retried.
	e.srv.Fail(ghfake.Fault{Status: 403, Body: `{"message":"Resource not accessible by integration"}`})
	_, _, err = gh.Issues.ListByRepo(e.ctx, "kubernetes", "vex", nil)
	var er *github.ErrorResponse
	if !errors.As(err, &er) || er.Response.StatusCode != 403 || tr.Requests() != 4 {
		t.Errorf("permission 403: %v after %d requests", err, tr.Requests())
	}
}

func appKey(t *testing.T) (*rsa.PrivateKey, []byte) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return key, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
}

func TestAppInstallationTokenRefresh(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	key, pemKey := appKey(t)
	e.srv.AddApp(4242, &key.PublicKey, 77, "vexloom[bot]", time.Hour)
	var logs bytes.Buffer
	opts := ClientOptions{API: e.srv.URL(), AppID: 4242, InstallationID: 77, PrivateKey: pemKey, Sleep: e.sleep, Now: e.clock,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	gh, tr, err := NewClient(e.ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	mints := func() int {
		n := 0
		for _, r := range e.srv.Log() {
			if strings.HasSuffix(r.Path, "/access_tokens") {
				n++
			}
		}
		return n
	}
	list := func() {
		t.Helper()
		if _, _, err := gh.Issues.ListByRepo(e.ctx, "kubernetes", "vex", nil); err != nil {
			t.Fatal(err)
		}
	}
	list()
	e.advance(50 * time.Minute)
	list()
	if mints() != 1 {
		t.Errorf("%d tokens minted within the first token's life, want 1", mints())
	}
	// Within five minutes of expiry the token is replaced before use.
	e.advance(6 * time.Minute)
	list()
	if mints() != 2 {
		t.Errorf("%d tokens minted after 56 minutes, want 2", mints())
	}
	// A token refused before its time (revoked) is replaced once.
	e.advance(61 * time.Minute) // the server expires it; the client
	tr.app.mu.Lock()            // still believes it good
	tr.app.expires = e.clock().Add(time.Hour)
	tr.app.mu.Unlock()
	list()
	if mints() != 3 {
		t.Errorf("%d tokens minted after a refusal, want 3", mints())
	}
	// Nothing the app authenticates with shows in the logs.
	tr.app.mu.Lock()
	tok := tr.app.token
	tr.app.mu.Unlock()
	tr.log.Info("using " + tok)
	for _, sec := range tr.secrets.List() {
		if strings.Contains(logs.String(), sec) {
			t.Errorf("logs show a credential %q:\n%s", sec, logs.String())
		}
	}
	if len(tr.secrets.List()) < 6 {
		t.Errorf("%d credentials known, want 3 JWTs and 3 tokens", len(tr.secrets.List()))
	}

	// Bad app credentials fail at once, clearly, without the key.
	_, otherPEM := appKey(t)
	opts.PrivateKey = otherPEM
	if _, _, err := NewClient(e.ctx, opts); !errors.Is(err, ErrAuth) || strings.Contains(err.Error(), "PRIVATE KEY") {
		t.Errorf("wrong key: %v", err)
	}
	opts.PrivateKey = []byte("not a key")
	if _, _, err := NewClient(e.ctx, opts); !errors.Is(err, ErrAuth) {
		t.Errorf("garbage key: %v", err)
	}
}

func TestClientOptionsValidation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, o := range []ClientOptions{
		{},
		{Token: "x", AppID: 1},
		{Token: "x", API: "ftp://example.org"},
		{AppID: 1, InstallationID: 0, PrivateKey: []byte("k")},
	} {
		if _, _, err := NewClient(ctx, o); err == nil {
			t.Errorf("NewClient(%+v) accepted", o)
		}
	}
	gh, _, err := NewClient(ctx, ClientOptions{Token: "x", API: "https://ghe.example.com", HTTPClient: &http.Client{}})
	if err != nil || gh.BaseURL.String() != "https://ghe.example.com/api/v3/" {
		t.Errorf("GHES base URL: %v %v", gh, err)
	}
}
