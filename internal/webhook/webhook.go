// Package webhook receives GitHub's webhooks so that a maintainer's slash
// command is applied within seconds instead of at the next scheduled run,
// and serves them, with health and readiness endpoints, from `vexloom
// serve`.
//
// A delivery is accepted only with a valid X-Hub-Signature-256 (HMAC-SHA256
// of the body under the configured secret, compared in constant time);
// anything else is answered 401 before the payload is even parsed. Bodies
// are bounded, deliveries are deduplicated by their X-GitHub-Delivery ID in
// the store, and only issue_comment and issues events reach vexloom; the
// periodic update stays the source of truth and reconciles whatever a lost
// webhook missed.
package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v75/github"

	"github.com/vexloom/vexloom/internal/store"
)

// Limits and defaults.
const (
	// DefaultMaxBody bounds a delivery's body. GitHub caps payloads at
	// 25 MB, but the events vexloom reads (a comment of at most 65536
	// characters and its issue) are far smaller.
	DefaultMaxBody = 1 << 20
	// DefaultCallbackTimeout bounds the work done for one delivery.
	DefaultCallbackTimeout = 30 * time.Second
	// maxHeaderValue bounds the event name and delivery ID (GitHub sends a
	// GUID of 36 characters).
	maxHeaderValue = 128
)

// The kind under which deliveries are recorded in the store's
// acknowledgements, and the prefix of their ref.
const (
	ClaimKind   = "webhook"
	ClaimPrefix = "delivery:"
)

// ErrConfig is wrapped by errors about Options.
var ErrConfig = errors.New("invalid webhook configuration")

// Options configure a Handler.
type Options struct {
	// Secret is the webhook secret configured on GitHub. Required: an
	// endpoint that accepts unsigned deliveries lets anyone apply commands.
	Secret []byte
	// Store records the deliveries handled, so that a delivery sent twice
	// is handled once. Required.
	Store *store.Store
	// MaxBody bounds a delivery's body in bytes (DefaultMaxBody when 0);
	// a larger one is answered 413.
	MaxBody int64
	// CallbackTimeout bounds a callback (DefaultCallbackTimeout when 0).
	CallbackTimeout time.Duration
	// Logger receives one record per delivery (nothing when nil).
	Logger *slog.Logger
	// OnIssueComment handles an issue_comment event; nil ignores them.
	OnIssueComment func(context.Context, *github.IssueCommentEvent) error
	// OnIssues handles an issues event; nil ignores them.
	OnIssues func(context.Context, *github.IssuesEvent) error
}

// Handler is the webhook endpoint, an http.Handler.
//
// Deduplication: a delivery is recorded in the store (Claim) only after its
// callback succeeded. A delivery whose callback failed is answered 500 and
// left unrecorded, so GitHub's redelivery (which keeps the delivery ID)
// runs it again; claiming first would turn that redelivery into a silent
// no-op and lose the command until the next scheduled run. Within one
// process, deliveries with the same ID are serialised, so of two identical
// deliveries arriving together the second waits and then finds the first
// recorded. Across processes sharing a store the window between the
// callback and the claim remains; the callbacks are idempotent (a comment
// is applied once, by its ref), so a second run there changes nothing.
type Handler struct {
	opts Options
	log  *slog.Logger

	mu       sync.Mutex
	inflight map[string]*delivery
}

// delivery serialises the handling of one delivery ID.
type delivery struct {
	mu   sync.Mutex
	refs int
}

// NewHandler returns the webhook endpoint.
func NewHandler(opts Options) (*Handler, error) {
	if len(opts.Secret) == 0 {
		return nil, fmt.Errorf("%w: no webhook secret", ErrConfig)
	}
	if opts.Store == nil {
		return nil, fmt.Errorf("%w: no store to record deliveries in", ErrConfig)
	}
	if opts.MaxBody < 0 {
		return nil, fmt.Errorf("%w: negative body limit %d", ErrConfig, opts.MaxBody)
	}
	if opts.MaxBody == 0 {
		opts.MaxBody = DefaultMaxBody
	}
	if opts.CallbackTimeout <= 0 {
		opts.CallbackTimeout = DefaultCallbackTimeout
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{opts: opts, log: log, inflight: map[string]*delivery{}}, nil
}

// Answers written in the response body; GitHub shows them in the
// delivery's log.
const (
	answerProcessed = "processed"
	answerDuplicate = "duplicate"
	answerIgnored   = "ignored"
	answerPong      = "pong"
)

// ServeHTTP handles one delivery:
//
//	405  not a POST
//	413  body over MaxBody
//	401  X-Hub-Signature-256 missing or wrong (nothing else is looked at)
//	400  no event or delivery ID, unreadable payload
//	415  a content type GitHub does not send
//	200  ping; handled; or a duplicate of a handled delivery (not handled again)
//	202  an event vexloom does not handle (ignored)
//	500  the callback or the store failed; GitHub may redeliver
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	event := r.Header.Get(github.EventTypeHeader)
	id := r.Header.Get(github.DeliveryIDHeader)
	log := h.log.With("event", shortened(event), "delivery", shortened(id))

	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		answer(w, http.StatusMethodNotAllowed, "only POST is accepted")
		return
	}
	if r.ContentLength > h.opts.MaxBody {
		log.Warn("webhook body too large", "bytes", r.ContentLength, "limit", h.opts.MaxBody)
		answer(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is over %d bytes", h.opts.MaxBody))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.opts.MaxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			log.Warn("webhook body too large", "limit", h.opts.MaxBody)
			answer(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is over %d bytes", h.opts.MaxBody))
			return
		}
		log.Warn("reading a webhook body", "err", err)
		answer(w, http.StatusBadRequest, "the body could not be read")
		return
	}

	// The signature comes first: nothing about an unsigned request is
	// trusted, logged in detail or acted upon.
	if err := verify(r.Header.Get(github.SHA256SignatureHeader), body, h.opts.Secret); err != nil {
		log.Warn("webhook rejected", "reason", err.Error(), "remote", r.RemoteAddr)
		answer(w, http.StatusUnauthorized, err.Error())
		return
	}

	if !plausibleHeader(event) {
		answer(w, http.StatusBadRequest, "no valid "+github.EventTypeHeader+" header")
		return
	}
	if !plausibleHeader(id) {
		answer(w, http.StatusBadRequest, "no valid "+github.DeliveryIDHeader+" header")
		return
	}
	payload, status, err := payloadOf(r.Header.Get("Content-Type"), body)
	if err != nil {
		log.Warn("webhook payload unreadable", "err", err)
		answer(w, status, err.Error())
		return
	}

	var run func(context.Context) error
	switch event {
	case "ping":
		log.Info("webhook ping")
		answer(w, http.StatusOK, answerPong)
		return
	case "issue_comment":
		if h.opts.OnIssueComment == nil {
			break
		}
		ev, err := parse[*github.IssueCommentEvent](event, payload)
		if err != nil {
			log.Warn("webhook payload unreadable", "err", err)
			answer(w, http.StatusBadRequest, err.Error())
			return
		}
		run = func(ctx context.Context) error { return h.opts.OnIssueComment(ctx, ev) }
	case "issues":
		if h.opts.OnIssues == nil {
			break
		}
		ev, err := parse[*github.IssuesEvent](event, payload)
		if err != nil {
			log.Warn("webhook payload unreadable", "err", err)
			answer(w, http.StatusBadRequest, err.Error())
			return
		}
		run = func(ctx context.Context) error { return h.opts.OnIssues(ctx, ev) }
	}
	if run == nil {
		log.Info("webhook ignored")
		answer(w, http.StatusAccepted, answerIgnored)
		return
	}

	status, msg := h.handle(r.Context(), log, id, event, run)
	answer(w, status, msg)
}

// handle runs a verified delivery once.
func (h *Handler) handle(ctx context.Context, log *slog.Logger, id, event string, run func(context.Context) error) (int, string) {
	unlock := h.lock(id)
	defer unlock()

	ref := ClaimPrefix + id
	done, _, err := h.opts.Store.Acked(ctx, ref, ClaimKind)
	if err != nil {
		log.Error("webhook dedupe", "err", err)
		return http.StatusInternalServerError, "the store could not be read"
	}
	if done {
		log.Info("webhook duplicate")
		return http.StatusOK, answerDuplicate
	}

	// GitHub gives up on a delivery after 10 seconds; the work goes on
	// when it hangs up, so that what was applied gets recorded.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.opts.CallbackTimeout)
	defer cancel()
	start := time.Now()
	if err := run(cctx); err != nil {
		log.Error("webhook callback", "err", err, "duration", time.Since(start))
		return http.StatusInternalServerError, "the event could not be handled; it will be reconciled by the next update"
	}
	first, err := h.opts.Store.Claim(cctx, ref, ClaimKind, event)
	if err != nil {
		log.Error("webhook record", "err", err)
		return http.StatusInternalServerError, "the delivery could not be recorded"
	}
	if !first {
		// Another process handled the same delivery meanwhile.
		log.Info("webhook handled concurrently elsewhere")
	}
	log.Info("webhook handled", "duration", time.Since(start))
	return http.StatusOK, answerProcessed
}

// lock serialises the deliveries with one ID in this process.
func (h *Handler) lock(id string) func() {
	h.mu.Lock()
	d := h.inflight[id]
	if d == nil {
		d = &delivery{}
		h.inflight[id] = d
	}
	d.refs++
	h.mu.Unlock()
	d.mu.Lock()
	return func() {
		d.mu.Unlock()
		h.mu.Lock()
		d.refs--
		if d.refs == 0 {
			delete(h.inflight, id)
		}
		h.mu.Unlock()
	}
}

// Signature errors. The messages go back to the sender.
var (
	errNoSignature  = errors.New("no " + github.SHA256SignatureHeader + " header")
	errBadSignature = errors.New("the signature does not match the body")
)

// verify checks an X-Hub-Signature-256 value ("sha256=<hex>") against the
// body. Only SHA-256 is accepted: GitHub sends it on every delivery, and
// the SHA-1 header exists for old receivers only.
func verify(signature string, body, secret []byte) error {
	if signature == "" {
		return errNoSignature
	}
	if !strings.HasPrefix(signature, "sha256=") {
		return errBadSignature
	}
	// go-github compares with hmac.Equal, in constant time.
	if err := github.ValidateSignature(signature, body, secret); err != nil {
		return errBadSignature
	}
	return nil
}

// payloadOf returns the JSON payload of a signed body, in either of the
// content types GitHub can be configured to send.
func payloadOf(contentType string, body []byte) ([]byte, int, error) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, http.StatusUnsupportedMediaType, fmt.Errorf("content type %q: %w", shortened(contentType), err)
	}
	switch mt {
	case "application/json":
		return body, 0, nil
	case "application/x-www-form-urlencoded":
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, http.StatusBadRequest, fmt.Errorf("reading the form: %w", err)
		}
		return []byte(form.Get("payload")), 0, nil
	}
	return nil, http.StatusUnsupportedMediaType, fmt.Errorf("content type %q is not one GitHub sends", mt)
}

// parse reads a payload as the event type T.
func parse[T any](event string, payload []byte) (T, error) {
	var zero T
	v, err := github.ParseWebHook(event, bytes.TrimSpace(payload))
	if err != nil {
		return zero, fmt.Errorf("reading the %s payload: %w", event, err)
	}
	t, ok := v.(T)
	if !ok {
		return zero, fmt.Errorf("reading the %s payload: unexpected %T", event, v)
	}
	return t, nil
}

// plausibleHeader reports whether an event name or delivery ID is short
// printable ASCII.
func plausibleHeader(s string) bool {
	if s == "" || len(s) > maxHeaderValue {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// shortened makes an untrusted header value fit for a log line.
func shortened(s string) string {
	const max = 64
	if len(s) > max {
		s = s[:max] + "…"
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

func answer(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	io.WriteString(w, msg+"\n")
}
