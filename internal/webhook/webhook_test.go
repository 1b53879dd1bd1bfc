package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-github/v75/github"

	"github.com/vexloom/vexloom/internal/ghfake"
	"github.com/vexloom/vexloom/internal/store"
)

const secret = "s3cret-for-tests"

// calls records what the callbacks received.
type calls struct {
	mu       sync.Mutex
	comments []*github.IssueCommentEvent
	issues   []*github.IssuesEvent
	fail     atomic.Int32 // the next n callbacks fail
	block    chan struct{}
	started  chan struct{}
}

func (c *calls) onComment(ctx context.Context, ev *github.IssueCommentEvent) error {
	if c.started != nil {
		c.started <- struct{}{}
	}
	if c.block != nil {
		<-c.block
	}
	if c.fail.Add(-1) >= 0 {
		return errors.New("the triage store is down")
	}
	c.fail.Store(0)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.comments = append(c.comments, ev)
	return nil
}

func (c *calls) onIssues(ctx context.Context, ev *github.IssuesEvent) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.issues = append(c.issues, ev)
	return nil
}

func (c *calls) count() (comments, issues int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.comments), len(c.issues)
}

// syncBuffer is a log sink shared by the server's goroutines.
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

type env struct {
	url   string // the webhook endpoint
	base  string // the server's root
	store *store.Store
	calls *calls
	logs  *syncBuffer
	stop  func() error
}

type envOptions struct {
	maxBody  int64
	ready    func() error
	extra    map[string]http.Handler
	shutdown time.Duration
	calls    *calls
}

// serve runs Serve on loopback with a real store, and stops it at the end
// of the test.
func serve(t *testing.T, o envOptions) *env {
	t.Helper()
	ctx := t.Context()
	st, err := store.Open(ctx, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c := o.calls
	if c == nil {
		c = &calls{}
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	h, err := NewHandler(Options{
		Secret:         []byte(secret),
		Store:          st,
		MaxBody:        o.maxBody,
		Logger:         log,
		OnIssueComment: c.onComment,
		OnIssues:       c.onIssues,
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Serve(sctx, ServerOptions{Listener: ln, Webhook: h, Ready: o.ready, Extra: o.extra, ShutdownTimeout: o.shutdown, Logger: log})
	}()
	var once sync.Once
	var stopErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case stopErr = <-done:
			case <-time.After(30 * time.Second):
				stopErr = errors.New("Serve did not return")
			}
		})
		return stopErr
	}
	t.Cleanup(func() {
		if err := stop(); err != nil && !errors.Is(err, ErrShutdownTimeout) {
			t.Errorf("Serve: %v", err)
		}
	})
	base := "http://" + ln.Addr().String()
	return &env{url: base + PathWebhook, base: base, store: st, calls: c, logs: logs, stop: stop}
}

func commentEvent(body string) *github.IssueCommentEvent {
	return &github.IssueCommentEvent{
		Action: github.Ptr("created"),
		Issue:  &github.Issue{Number: github.Ptr(7), Title: github.Ptr("CVE-2025-22870: golang.org/x/net")},
		Comment: &github.IssueComment{
			ID:   github.Ptr(int64(1001)),
			Body: github.Ptr(body),
			User: &github.User{Login: github.Ptr("alice")},
		},
		Repo: &github.Repository{FullName: github.Ptr("org/.vexloom")},
	}
}

// deliver sends a signed delivery as GitHub does.
func deliver(t *testing.T, url, event, id string, payload any) (int, string) {
	t.Helper()
	resp, err := ghfake.Deliver(t.Context(), url, secret, event, id, payload)
	if err != nil {
		t.Fatal(err)
	}
	return readResponse(t, resp)
}

func readResponse(t *testing.T, resp *http.Response) (int, string) {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, strings.TrimSpace(string(b))
}

func sign(body []byte, key string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// post sends a hand-made request.
func post(t *testing.T, url string, body []byte, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return readResponse(t, resp)
}

func acked(t *testing.T, st *store.Store, id string) bool {
	t.Helper()
	ok, _, err := st.Acked(t.Context(), ClaimPrefix+id, ClaimKind)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func TestDelivery(t *testing.T) {
	e := serve(t, envOptions{})
	status, body := deliver(t, e.url, "issue_comment", "d-1", commentEvent("/fixed"))
	if status != http.StatusOK || body != answerProcessed {
		t.Fatalf("got %d %q, want 200 %q", status, body, answerProcessed)
	}
	// The callback ran within the request.
	if n, _ := e.calls.count(); n != 1 {
		t.Fatalf("%d comment callbacks, want 1", n)
	}
	if got := e.calls.comments[0].GetComment().GetBody(); got != "/fixed" {
		t.Errorf("callback got body %q", got)
	}
	if !acked(t, e.store, "d-1") {
		t.Error("the delivery was not recorded")
	}

	status, body = deliver(t, e.url, "issues", "d-2", &github.IssuesEvent{Action: github.Ptr("reopened"), Issue: &github.Issue{Number: github.Ptr(7)}})
	if status != http.StatusOK || body != answerProcessed {
		t.Fatalf("issues: got %d %q", status, body)
	}
	if _, n := e.calls.count(); n != 1 || e.calls.issues[0].GetAction() != "reopened" {
		t.Fatalf("issues callback: %d calls", n)
	}

	// A request log record in JSON.
	if !strings.Contains(e.logs.String(), `"path":"/webhook","status":200`) {
		t.Errorf("no request log record for the delivery in:\n%s", e.logs.String())
	}
}

func TestFormEncodedDelivery(t *testing.T) {
	e := serve(t, envOptions{})
	payload, _ := json.Marshal(commentEvent("/under_investigation"))
	body := []byte(url.Values{"payload": {string(payload)}}.Encode())
	status, answer := post(t, e.url, body, map[string]string{
		"Content-Type":               "application/x-www-form-urlencoded",
		github.SHA256SignatureHeader: sign(body, secret),
		github.EventTypeHeader:       "issue_comment",
		github.DeliveryIDHeader:      "form-1",
	})
	if status != http.StatusOK {
		t.Fatalf("got %d %q", status, answer)
	}
	if n, _ := e.calls.count(); n != 1 || e.calls.comments[0].GetComment().GetBody() != "/under_investigation" {
		t.Fatalf("callback not reached with the form's payload")
	}
}

func TestRejected(t *testing.T) {
	payload, _ := json.Marshal(commentEvent("/fixed"))
	good := sign(payload, secret)
	tamperedBody := append(bytes.Clone(payload[:len(payload)-1]), []byte(`,"x":1}`)...)
	sha1 := hmac.New(sha256.New, []byte(secret)) // right MAC, wrong algorithm name
	sha1.Write(payload)

	for _, tc := range []struct {
		name   string
		body   []byte
		header map[string]string
		status int
	}{
		{"missing signature", payload, map[string]string{}, http.StatusUnauthorized},
		{"wrong secret", payload, map[string]string{github.SHA256SignatureHeader: sign(payload, "guess")}, http.StatusUnauthorized},
		{"tampered body", tamperedBody, map[string]string{github.SHA256SignatureHeader: good}, http.StatusUnauthorized},
		{"sha1 name", payload, map[string]string{github.SHA256SignatureHeader: "sha1=" + hex.EncodeToString(sha1.Sum(nil))}, http.StatusUnauthorized},
		{"sha1 header only", payload, map[string]string{github.SHA256SignatureHeader: "", github.SHA1SignatureHeader: good}, http.StatusUnauthorized},
		{"not hex", payload, map[string]string{github.SHA256SignatureHeader: "sha256=zz"}, http.StatusUnauthorized},
		{"truncated", payload, map[string]string{github.SHA256SignatureHeader: good[:len(good)-2]}, http.StatusUnauthorized},
		{"bare hex", payload, map[string]string{github.SHA256SignatureHeader: strings.TrimPrefix(good, "sha256=")}, http.StatusUnauthorized},
		{"no delivery ID", payload, map[string]string{github.SHA256SignatureHeader: good, github.DeliveryIDHeader: ""}, http.StatusBadRequest},
		{"no event", payload, map[string]string{github.SHA256SignatureHeader: good, github.EventTypeHeader: ""}, http.StatusBadRequest},
		{"bad content type", payload, map[string]string{github.SHA256SignatureHeader: good, "Content-Type": "text/plain"}, http.StatusUnsupportedMediaType},
		{"signed garbage", []byte("{not json"), map[string]string{github.SHA256SignatureHeader: sign([]byte("{not json"), secret)}, http.StatusBadRequest},
		{"signed null", []byte("null"), map[string]string{github.SHA256SignatureHeader: sign([]byte("null"), secret)}, http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := serve(t, envOptions{})
			h := map[string]string{
				"Content-Type":          "application/json",
				github.EventTypeHeader:  "issue_comment",
				github.DeliveryIDHeader: "rejected-1",
			}
			for k, v := range tc.header {
				h[k] = v
			}
			status, body := post(t, e.url, tc.body, h)
			if status != tc.status {
				t.Fatalf("got %d %q, want %d", status, body, tc.status)
			}
			if n, _ := e.calls.count(); n != 0 {
				t.Errorf("the callback ran %d times", n)
			}
			if acked(t, e.store, "rejected-1") {
				t.Error("a rejected delivery was recorded")
			}
		})
	}
}

func TestWrongMethod(t *testing.T) {
	e := serve(t, envOptions{})
	resp, err := http.Get(e.url)
	if err != nil {
		t.Fatal(err)
	}
	if status, _ := readResponse(t, resp); status != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %d", status)
	}
}

func TestOversize(t *testing.T) {
	e := serve(t, envOptions{maxBody: 2048})
	big := commentEvent(strings.Repeat("x", 4096))
	status, _ := deliver(t, e.url, "issue_comment", "big-1", big)
	if status != http.StatusRequestEntityTooLarge {
		t.Fatalf("got %d, want 413", status)
	}
	// Without a Content-Length the limit holds while reading.
	payload, _ := json.Marshal(big)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.url, io.MultiReader(bytes.NewReader(payload)))
	req.ContentLength = -1
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(github.SHA256SignatureHeader, sign(payload, secret))
	req.Header.Set(github.EventTypeHeader, "issue_comment")
	req.Header.Set(github.DeliveryIDHeader, "big-2")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if status, _ := readResponse(t, resp); status != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked: got %d, want 413", status)
	}
	if n, _ := e.calls.count(); n != 0 || acked(t, e.store, "big-1") || acked(t, e.store, "big-2") {
		t.Fatal("an oversize delivery had an effect")
	}
	// Just under the limit passes.
	status, _ = deliver(t, e.url, "issue_comment", "small-1", commentEvent("/fixed"))
	if status != http.StatusOK {
		t.Fatalf("small delivery: %d", status)
	}
}

func TestIgnoredAndPing(t *testing.T) {
	e := serve(t, envOptions{})
	status, body := deliver(t, e.url, "ping", "p-1", map[string]any{"zen": "Keep it logically awesome.", "hook_id": 1})
	if status != http.StatusOK || body != answerPong {
		t.Errorf("ping: %d %q", status, body)
	}
	for _, ev := range []string{"push", "made_up_event"} {
		status, body := deliver(t, e.url, ev, "i-"+ev, map[string]any{"ref": "refs/heads/main"})
		if status != http.StatusAccepted || body != answerIgnored {
			t.Errorf("%s: %d %q, want 202", ev, status, body)
		}
	}
	if c, i := e.calls.count(); c+i != 0 {
		t.Error("an ignored event reached a callback")
	}
}

func TestReplay(t *testing.T) {
	e := serve(t, envOptions{})
	ev := commentEvent("/fixed")
	for i, want := range []string{answerProcessed, answerDuplicate, answerDuplicate} {
		status, body := deliver(t, e.url, "issue_comment", "replayed", ev)
		if status != http.StatusOK || body != want {
			t.Fatalf("delivery %d: %d %q, want 200 %q", i, status, body, want)
		}
	}
	if n, _ := e.calls.count(); n != 1 {
		t.Fatalf("%d callbacks for one delivery", n)
	}
}

func TestConcurrentIdentical(t *testing.T) {
	e := serve(t, envOptions{})
	ev := commentEvent("/fixed")
	const n = 12
	var wg sync.WaitGroup
	answers := make([]string, n)
	for i := range n {
		wg.Go(func() {
			resp, err := ghfake.Deliver(t.Context(), e.url, secret, "issue_comment", "same-id", ev)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			answers[i] = fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(b)))
		})
	}
	wg.Wait()
	if got, _ := e.calls.count(); got != 1 {
		t.Fatalf("%d callbacks for %d identical deliveries, want 1", got, n)
	}
	processed := 0
	for _, a := range answers {
		switch a {
		case "200 " + answerProcessed:
			processed++
		case "200 " + answerDuplicate:
		default:
			t.Errorf("answer %q", a)
		}
	}
	if processed != 1 {
		t.Errorf("%d deliveries processed, want 1: %q", processed, answers)
	}
}

// A failed callback leaves the delivery unrecorded, so GitHub's
// redelivery (same ID) runs it again.
func TestRedeliveryAfterFailure(t *testing.T) {
	c := &calls{}
	c.fail.Store(1)
	e := serve(t, envOptions{calls: c})
	ev := commentEvent("/fixed")
	status, _ := deliver(t, e.url, "issue_comment", "retry-1", ev)
	if status != http.StatusInternalServerError {
		t.Fatalf("first attempt: %d, want 500", status)
	}
	if acked(t, e.store, "retry-1") {
		t.Fatal("a failed delivery was recorded")
	}
	status, body := deliver(t, e.url, "issue_comment", "retry-1", ev)
	if status != http.StatusOK || body != answerProcessed {
		t.Fatalf("redelivery: %d %q", status, body)
	}
	status, body = deliver(t, e.url, "issue_comment", "retry-1", ev)
	if status != http.StatusOK || body != answerDuplicate {
		t.Fatalf("third delivery: %d %q", status, body)
	}
	if n, _ := e.calls.count(); n != 1 {
		t.Fatalf("%d successful callbacks, want 1", n)
	}
}

func TestHealthReady(t *testing.T) {
	var notReady atomic.Value
	notReady.Store("")
	e := serve(t, envOptions{ready: func() error {
		if s := notReady.Load().(string); s != "" {
			return errors.New(s)
		}
		return nil
	}})
	get := func(path string) (int, string) {
		resp, err := http.Get(e.base + path)
		if err != nil {
			t.Fatal(err)
		}
		return readResponse(t, resp)
	}
	if s, b := get(PathHealth); s != http.StatusOK || b != "ok" {
		t.Errorf("healthz: %d %q", s, b)
	}
	if s, b := get(PathReady); s != http.StatusOK || b != "ready" {
		t.Errorf("readyz: %d %q", s, b)
	}
	notReady.Store("the store is locked by another process")
	if s, b := get(PathReady); s != http.StatusServiceUnavailable || !strings.Contains(b, "the store is locked") {
		t.Errorf("readyz when not ready: %d %q", s, b)
	}
	if s, _ := get(PathHealth); s != http.StatusOK {
		t.Errorf("healthz when not ready: %d", s)
	}
	if s, _ := get("/nothing-here"); s != http.StatusNotFound {
		t.Errorf("unknown path: %d", s)
	}
}

func TestExtraRoutes(t *testing.T) {
	feed := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "feed:"+r.URL.Path)
	})
	e := serve(t, envOptions{extra: map[string]http.Handler{"/feed/": feed}})
	resp, err := http.Get(e.base + "/feed/index.json")
	if err != nil {
		t.Fatal(err)
	}
	if s, b := readResponse(t, resp); s != http.StatusOK || b != "feed:/feed/index.json" {
		t.Errorf("extra: %d %q", s, b)
	}

	for _, bad := range []map[string]http.Handler{
		{"/healthz": feed},
		{"POST /webhook": feed},
		{"/feed/": nil},
		{"not a pattern[": feed},
	} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		err = Serve(t.Context(), ServerOptions{Listener: ln, Extra: bad, Webhook: feed})
		ln.Close()
		if err == nil {
			t.Errorf("Serve with extras %v: no error", bad)
		}
	}
}

// Cancelling the context lets a request in flight finish, refuses new
// ones, and Serve returns nil.
func TestGracefulShutdown(t *testing.T) {
	c := &calls{block: make(chan struct{}), started: make(chan struct{}, 1)}
	e := serve(t, envOptions{calls: c})
	type result struct {
		status int
		err    error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := ghfake.Deliver(context.Background(), e.url, secret, "issue_comment", "slow-1", commentEvent("/fixed"))
		if err != nil {
			res <- result{err: err}
			return
		}
		resp.Body.Close()
		res <- result{status: resp.StatusCode}
	}()
	<-c.started
	stopped := make(chan error, 1)
	go func() { stopped <- e.stop() }()

	// New connections are refused once shutdown began.
	deadline := time.Now().Add(5 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", strings.TrimPrefix(e.base, "http://"), time.Second)
		if err != nil {
			break
		}
		conn.Close()
		if time.Now().After(deadline) {
			t.Fatal("the listener still accepts connections during shutdown")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-stopped:
		t.Fatalf("Serve returned (%v) while a request was in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(c.block)
	r := <-res
	if r.err != nil || r.status != http.StatusOK {
		t.Fatalf("the request in flight: %d %v", r.status, r.err)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if !acked(t, e.store, "slow-1") {
		t.Error("the request in flight was not completed")
	}
}

func TestShutdownTimeout(t *testing.T) {
	c := &calls{block: make(chan struct{}), started: make(chan struct{}, 1)}
	defer close(c.block)
	e := serve(t, envOptions{calls: c, shutdown: 200 * time.Millisecond})
	go func() {
		resp, err := ghfake.Deliver(context.Background(), e.url, secret, "issue_comment", "stuck-1", commentEvent("/fixed"))
		if err == nil {
			resp.Body.Close()
		}
	}()
	<-c.started
	start := time.Now()
	err := e.stop()
	if !errors.Is(err, ErrShutdownTimeout) {
		t.Fatalf("Serve: %v, want ErrShutdownTimeout", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("shutdown took %s", d)
	}
}

func TestNewHandlerOptions(t *testing.T) {
	st, err := store.Open(t.Context(), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for name, o := range map[string]Options{
		"no secret":     {Store: st},
		"no store":      {Secret: []byte("x")},
		"negative body": {Secret: []byte("x"), Store: st, MaxBody: -1},
	} {
		if _, err := NewHandler(o); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v, want ErrConfig", name, err)
		}
	}
}
