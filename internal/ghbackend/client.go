package ghbackend

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-github/v75/github"

	"github.com/vexloom/vexloom/internal/redact"
)

// DefaultAPI is the public GitHub API.
const DefaultAPI = "https://api.github.com/"

// Defaults of the retry and wait bounds.
const (
	DefaultMaxAttempts = 5
	DefaultMaxWait     = 15 * time.Minute
	// MaxResponseSize bounds a response body: a page of 100 issues with
	// bodies at GitHub's 65536-character limit is under 30 MiB.
	MaxResponseSize = 32 << 20
)

// Errors callers branch on.
var (
	// ErrRateLimited: GitHub refused the request for a rate limit that
	// resets later than the transport is willing to wait.
	ErrRateLimited = errors.New("GitHub API rate limit exceeded")
	// ErrAuth: the credentials are missing, malformed or refused.
	ErrAuth = errors.New("GitHub authentication")
	// ErrResponseTooLarge: a response body exceeded MaxResponseSize.
	ErrResponseTooLarge = errors.New("GitHub response too large")
)

// ClientOptions configure NewClient. Exactly one of Token and the app
// (AppID, InstallationID, PrivateKey) is required.
type ClientOptions struct {
	// API is the REST API's base URL: GitHub Enterprise Server's host
	// (https://ghe.example.com, to which /api/v3/ is added) or a test
	// server. Empty means the public API.
	API string
	// Token is a personal access token or any token GitHub accepts as
	// "Authorization: Bearer" (the caller reads it from GITHUB_TOKEN).
	Token string
	// A GitHub App installation: its app ID, installation ID and the PEM
	// RSA private key that signs the app's JWTs.
	AppID          int64
	InstallationID int64
	PrivateKey     []byte
	Logger         *slog.Logger
	// HTTPClient sends the requests; its Transport (or the default one) is
	// wrapped. Nil means a new client.
	HTTPClient *http.Client
	// Sleep waits d or until ctx is done; nil means a timer. Tests replace
	// it to run waits instantly.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now reads the clock; nil means time.Now.
	Now func() time.Time
	// MaxAttempts bounds the tries of one request after 5xx or network
	// errors (default DefaultMaxAttempts).
	MaxAttempts int
	// MaxWait bounds a single wait for a rate limit to reset (default
	// DefaultMaxWait); a longer one fails with ErrRateLimited.
	MaxWait time.Duration
}

// Transport is the http.RoundTripper under the GitHub client: it
// authenticates, honours GitHub's rate limits, retries what is safe to
// retry, counts requests and keeps credentials out of errors and logs.
//
// go-github has a rate-limit check of its own, but it fails fast instead
// of waiting, reads the wall clock, and does not retry 5xx or network
// errors; NewClient disables it and the Transport does the work.
type Transport struct {
	base        http.RoundTripper
	host        string
	apiBase     *url.URL
	token       string
	app         *appAuth
	log         *slog.Logger
	sleep       func(context.Context, time.Duration) error
	now         func() time.Time
	maxAttempts int
	maxWait     time.Duration
	secrets     redact.Secrets
	requests    atomic.Int64

	mu      sync.Mutex
	limits  map[string]rateState // by x-ratelimit-resource
	blocked time.Time            // secondary limit: no request before
}

type rateState struct {
	limit, remaining int
	reset            time.Time
}

// NewClient returns a go-github client whose requests go through a
// Transport configured by opts. With an app it obtains the first
// installation token at once, so bad app credentials fail here.
func NewClient(ctx context.Context, opts ClientOptions) (*github.Client, *Transport, error) {
	t, err := newTransport(opts)
	if err != nil {
		return nil, nil, err
	}
	hc := &http.Client{}
	if opts.HTTPClient != nil {
		c := *opts.HTTPClient
		hc = &c
	}
	if hc.Transport != nil {
		t.base = hc.Transport
	}
	hc.Transport = t
	gh := github.NewClient(hc)
	if t.apiBase.String() != DefaultAPI {
		gh, err = gh.WithEnterpriseURLs(t.apiBase.String(), t.apiBase.String())
		if err != nil {
			return nil, nil, fmt.Errorf("GitHub API URL %q: %w", opts.API, err)
		}
		t.apiBase = gh.BaseURL
	}
	gh.DisableRateLimitCheck = true
	if t.app != nil {
		if _, err := t.app.installationToken(ctx, t, false); err != nil {
			return nil, nil, err
		}
	}
	return gh, t, nil
}

func newTransport(opts ClientOptions) (*Transport, error) {
	api := opts.API
	if api == "" {
		api = DefaultAPI
	}
	u, err := url.Parse(api)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("GitHub API URL %q: want an http or https URL", redact.Location(api))
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	t := &Transport{
		base:        http.DefaultTransport,
		host:        u.Host,
		apiBase:     u,
		token:       strings.TrimSpace(opts.Token),
		sleep:       opts.Sleep,
		now:         opts.Now,
		maxAttempts: opts.MaxAttempts,
		maxWait:     opts.MaxWait,
		limits:      map[string]rateState{},
	}
	if t.sleep == nil {
		t.sleep = sleep
	}
	if t.now == nil {
		t.now = time.Now
	}
	if t.maxAttempts <= 0 {
		t.maxAttempts = DefaultMaxAttempts
	}
	if t.maxWait <= 0 {
		t.maxWait = DefaultMaxWait
	}
	t.log = redact.Logger(opts.Logger, t.Redact)
	hasApp := opts.AppID != 0 || opts.InstallationID != 0 || len(opts.PrivateKey) > 0
	switch {
	case t.token != "" && hasApp:
		return nil, fmt.Errorf("%w: give a token or a GitHub App, not both", ErrAuth)
	case t.token != "":
		t.secrets.Add(t.token)
	case hasApp:
		a, err := newAppAuth(opts.AppID, opts.InstallationID, opts.PrivateKey)
		if err != nil {
			return nil, err
		}
		t.app = a
	default:
		return nil, fmt.Errorf("%w: no credentials (set GITHUB_TOKEN, or a GitHub App's ID, installation ID and private key)", ErrAuth)
	}
	return t, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C:
		return nil
	}
}

// Requests is the number of HTTP requests sent so far, retries and
// installation-token requests included.
func (t *Transport) Requests() int { return int(t.requests.Load()) }

// Redact removes every credential the transport knows of, and anything
// shaped like one, from s.
func (t *Transport) Redact(s string) string { return t.secrets.String(s) }

// RedactError returns err with a redacted message (nil for nil); errors.Is
// and errors.As still see the original chain.
func (t *Transport) RedactError(err error) error { return t.secrets.Error(err) }

// etagKey carries an If-None-Match value for a GET.
type etagKey struct{}

// WithETag asks for a conditional GET: a response with this entity tag
// comes back as 304 Not Modified, which GitHub does not charge.
func WithETag(ctx context.Context, etag string) context.Context {
	return context.WithValue(ctx, etagKey{}, etag)
}

// idempotent reports whether a request may be sent again without doing
// twice what it does. Besides the methods HTTP defines as idempotent, two
// POSTs are: a reaction (GitHub answers an existing one with 200) and a
// new installation token.
func idempotent(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return true
	case http.MethodPost:
		return strings.HasSuffix(r.URL.Path, "/reactions") || strings.HasSuffix(r.URL.Path, "/access_tokens")
	}
	return false
}

// RoundTrip sends one request, waiting out rate limits and retrying
// server errors and network failures where that is safe.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.roundTrip(req)
	if err != nil {
		return nil, t.RedactError(err)
	}
	return resp, nil
}

func (t *Transport) roundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	ours := req.URL.Host == t.host
	rewindable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	refreshed := false
	limitWaits := 0
	for attempt := 1; ; attempt++ {
		if ours {
			if err := t.waitForLimits(ctx, req); err != nil {
				return nil, err
			}
		}
		r := req.Clone(ctx)
		if attempt > 1 && req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			r.Body = body
		}
		if ours && r.Header.Get("Authorization") == "" {
			if err := t.authorize(ctx, r, false); err != nil {
				return nil, err
			}
		}
		if etag, _ := ctx.Value(etagKey{}).(string); etag != "" && r.Method == http.MethodGet && r.URL.Query().Get("page") == "" {
			r.Header.Set("If-None-Match", etag)
		}
		var gotConn, wrote atomic.Bool
		r = r.WithContext(httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
			GotConn:      func(httptrace.GotConnInfo) { gotConn.Store(true) },
			WroteRequest: func(httptrace.WroteRequestInfo) { wrote.Store(true) },
		}))
		t.requests.Add(1)
		resp, err := t.base.RoundTrip(r)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			// A request that provably never reached the server (the dial
			// failed, or the connection broke before it was written) may
			// be sent again whatever its method.
			unsent := isDialError(err) || (gotConn.Load() && !wrote.Load())
			if rewindable && (idempotent(req) || unsent) && attempt < t.maxAttempts {
				d := t.backoff(attempt)
				t.log.Warn("GitHub request failed; retrying", "method", req.Method, "path", req.URL.Path, "error", err, "attempt", attempt, "wait", d)
				if err := t.sleep(ctx, d); err != nil {
					return nil, err
				}
				continue
			}
			return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
		}
		if !ours {
			resp.Request = req
			return resp, nil
		}
		t.observe(resp)
		retry, wait, err := t.judge(req, resp, attempt, &refreshed, &limitWaits)
		if err != nil {
			drain(resp)
			return nil, err
		}
		if !retry {
			resp.Body = &limitedBody{r: resp.Body, left: MaxResponseSize}
			t.scrub(req, resp)
			return resp, nil
		}
		drain(resp)
		if !rewindable {
			return nil, fmt.Errorf("%s %s: %s, and the request cannot be sent again", req.Method, req.URL.Path, resp.Status)
		}
		if wait > 0 {
			if err := t.sleep(ctx, wait); err != nil {
				return nil, err
			}
		}
	}
}

// judge decides what to do with a response: return it, or retry after a
// wait; or fail.
func (t *Transport) judge(req *http.Request, resp *http.Response, attempt int, refreshed *bool, limitWaits *int) (bool, time.Duration, error) {
	h := resp.Header
	switch code := resp.StatusCode; {
	case code == http.StatusUnauthorized && t.app != nil && !*refreshed && req.Header.Get("Authorization") == "":
		// The installation token may have been revoked or expired early.
		*refreshed = true
		t.app.invalidate()
		return true, 0, nil
	case code == http.StatusForbidden || code == http.StatusTooManyRequests:
		var wait time.Duration
		switch {
		case h.Get("Retry-After") != "":
			wait = retryAfter(h.Get("Retry-After"), t.now())
		case h.Get("X-Ratelimit-Remaining") == "0":
			reset, ok := unixHeader(h.Get("X-Ratelimit-Reset"))
			if !ok {
				return false, 0, nil
			}
			wait = reset.Sub(t.now()) + time.Second
		case code == http.StatusTooManyRequests || secondaryLimit(resp):
			// GitHub asks for at least a minute when it gives no time.
			wait = time.Minute << min(*limitWaits, 4)
		default:
			return false, 0, nil // a permission problem: the caller's error
		}
		*limitWaits++
		if wait > t.maxWait || *limitWaits > t.maxAttempts {
			return false, 0, fmt.Errorf("%w: %s %s answered %s; it would take %s to retry, longer than the %s vexloom waits", ErrRateLimited, req.Method, req.URL.Path, resp.Status, wait.Round(time.Second), t.maxWait)
		}
		wait = max(wait, 0)
		t.mu.Lock()
		if until := t.now().Add(wait); until.After(t.blocked) {
			t.blocked = until
		}
		t.mu.Unlock()
		t.log.Warn("GitHub rate limit; waiting", "method", req.Method, "path", req.URL.Path, "status", code, "wait", wait)
		return true, 0, nil // waitForLimits waits
	case code >= 500 && code <= 599:
		if !idempotent(req) || attempt >= t.maxAttempts {
			return false, 0, nil
		}
		wait := t.backoff(attempt)
		if ra := h.Get("Retry-After"); ra != "" {
			wait = min(max(wait, retryAfter(ra, t.now())), t.maxWait)
		}
		t.log.Warn("GitHub server error; retrying", "method", req.Method, "path", req.URL.Path, "status", code, "attempt", attempt, "wait", wait)
		return true, wait, nil
	}
	return false, 0, nil
}

// secondaryLimit reports whether a 403 is a secondary rate limit, which
// GitHub tells apart from a permission problem only by its message. The
// body is read (bounded) and restored.
func secondaryLimit(resp *http.Response) bool {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(data))
	msg := strings.ToLower(string(data))
	return strings.Contains(msg, "secondary rate limit") || strings.Contains(msg, "abuse detection")
}

// waitForLimits waits until a known exhausted limit resets, or fails when
// that is further away than maxWait.
func (t *Transport) waitForLimits(ctx context.Context, req *http.Request) error {
	resource := "core"
	if strings.Contains(req.URL.Path, "/search/") {
		resource = "search"
	}
	t.mu.Lock()
	now := t.now()
	until := t.blocked
	if st, ok := t.limits[resource]; ok && st.remaining == 0 && st.reset.After(now) && st.reset.After(until) {
		until = st.reset.Add(time.Second)
	}
	t.mu.Unlock()
	wait := until.Sub(now)
	if wait <= 0 {
		return nil
	}
	if wait > t.maxWait {
		return fmt.Errorf("%w: the limit resets at %s, in %s, longer than the %s vexloom waits", ErrRateLimited, until.UTC().Format(time.RFC3339), wait.Round(time.Second), t.maxWait)
	}
	t.log.Info("waiting for the GitHub rate limit to reset", "wait", wait)
	if err := t.sleep(ctx, wait); err != nil {
		return err
	}
	t.mu.Lock()
	if !t.blocked.After(until) {
		t.blocked = time.Time{}
	}
	if st, ok := t.limits[resource]; ok && !st.reset.After(until) {
		delete(t.limits, resource)
	}
	t.mu.Unlock()
	return nil
}

// observe records the rate-limit headers of a response.
func (t *Transport) observe(resp *http.Response) {
	h := resp.Header
	rem, err := strconv.Atoi(h.Get("X-Ratelimit-Remaining"))
	if err != nil {
		return
	}
	reset, ok := unixHeader(h.Get("X-Ratelimit-Reset"))
	if !ok {
		return
	}
	limit, _ := strconv.Atoi(h.Get("X-Ratelimit-Limit"))
	resource := h.Get("X-Ratelimit-Resource")
	if resource == "" {
		resource = "core"
	}
	t.mu.Lock()
	t.limits[resource] = rateState{limit: limit, remaining: rem, reset: reset}
	t.mu.Unlock()
}

// backoff is the wait before retry number attempt: exponential from one
// second, capped at 30 s, with full jitter.
func (t *Transport) backoff(attempt int) time.Duration {
	d := time.Second << min(attempt-1, 5)
	d = min(d, 30*time.Second)
	return d/2 + rand.N(d/2+1)
}

func retryAfter(v string, now time.Time) time.Duration {
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
		return time.Duration(max(s, 0)) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(at.Sub(now), 0)
	}
	return time.Minute
}

func unixHeader(v string) (time.Time, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}, false
	}
	return time.Unix(n, 0), true
}

func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// authorize sets the request's credentials.
func (t *Transport) authorize(ctx context.Context, r *http.Request, force bool) error {
	if t.app == nil {
		r.Header.Set("Authorization", "Bearer "+t.token)
		return nil
	}
	tok, err := t.app.installationToken(ctx, t, force)
	if err != nil {
		return err
	}
	r.Header.Set("Authorization", "Bearer "+tok)
	return nil
}

func drain(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
}

// limitedBody fails a read past its bound instead of returning a
// truncated document.
type limitedBody struct {
	r    io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte more tells a body of exactly the bound from a longer one.
		var one [1]byte
		if n, _ := b.r.Read(one[:]); n > 0 {
			return 0, fmt.Errorf("%w: over %d bytes", ErrResponseTooLarge, MaxResponseSize)
		}
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.r.Close() }
