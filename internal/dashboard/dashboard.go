// Package dashboard is vexloom's read-only web dashboard: one place where
// security responders, release managers and SIG leads see where a project
// stands — every maintained branch and release against every vulnerability
// present, what waits for a person and for how long, each triage with its
// evidence, timeline and the slash commands to answer it, the VEX
// documents' versions with what changed between any two, and charts of
// how the loop is doing — as HTML rendered on the server and as JSON under
// /api/v1/.
//
// It reads the store through the domain packages (triage views, the store,
// the local published store) and never writes: every request is a GET.
// Everything from outside (comments, logins, titles, OSV text) is escaped
// by html/template, pages carry a strict Content-Security-Policy, and no
// secret is ever rendered.
package dashboard

import (
	"context"
	"crypto/subtle"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/vexloom/vexloom/internal/owners"
	"github.com/vexloom/vexloom/internal/publish"
	"github.com/vexloom/vexloom/internal/store"
)

//go:embed assets
var assets embed.FS

// ContentSecurityPolicy is sent with every response: nothing but the
// dashboard's own stylesheet and script, no inline script, no plugin, no
// framing, no form posting anywhere.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// maxSnapshotAge bounds how stale ages and "waiting for" times can be when
// nothing changes in the store.
const maxSnapshotAge = time.Minute

// rebuildTimeout bounds a derivation in the background.
const rebuildTimeout = 5 * time.Minute

// Options configure the dashboard.
type Options struct {
	// Store is the project's store (required).
	Store *store.Store
	// Project is the project's main module path.
	Project string
	// Branches are the maintained branches' configured names and patterns;
	// empty means every scanned branch.
	Branches []string
	// Published is the local published store (release documents, where
	// branch documents went); nil when there is none.
	Published *publish.Local
	// Policy says who may decide; nil shows only what the history says.
	Policy func() *owners.Policy
	// Link gives a triage's GitHub issue ("" when it has none); nil for
	// the local backend.
	Link func(triageID string) string
	// Backend names the triage backend ("local", "github"), for the
	// instructions on how to answer.
	Backend string
	// Token, when set, is the bearer token every request must carry.
	Token string
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Logger receives rendering errors (nothing when nil).
	Logger *slog.Logger
}

// Dashboard serves the pages and the API.
type Dashboard struct {
	opts   Options
	loader loader
	mux    *http.ServeMux

	mu       sync.Mutex
	snap     *snapshot
	at       time.Time
	building bool
	// buildMu makes derivations take turns.
	buildMu sync.Mutex
}

// New returns the dashboard for a store.
func New(opts Options) (*Dashboard, error) {
	if opts.Store == nil {
		return nil, errors.New("dashboard: no store")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Backend == "" {
		opts.Backend = "local"
	}
	d := &Dashboard{opts: opts, loader: loader{opts: opts}, mux: http.NewServeMux()}
	static, err := fs.Sub(assets, "assets")
	if err != nil {
		return nil, err
	}
	d.mux.Handle("GET /assets/", http.StripPrefix("/assets/", http.FileServerFS(static)))
	d.mux.HandleFunc("GET /{$}", d.page(d.overview))
	d.mux.HandleFunc("GET /triages", d.page(d.queue))
	d.mux.HandleFunc("GET /triages/{id}", d.page(d.triagePage))
	d.mux.HandleFunc("GET /releases", d.page(d.releases))
	d.mux.HandleFunc("GET /releases/{kind}/{name...}", d.page(d.release))
	d.mux.HandleFunc("GET /charts", d.page(d.chartsPage))
	d.mux.HandleFunc("GET /api/v1/overview", d.api(d.apiOverview))
	d.mux.HandleFunc("GET /api/v1/triages", d.api(d.apiTriages))
	d.mux.HandleFunc("GET /api/v1/triages/{id}", d.api(d.apiTriage))
	d.mux.HandleFunc("GET /api/v1/triages/{id}/history", d.api(d.apiHistory))
	d.mux.HandleFunc("GET /api/v1/releases", d.api(d.apiReleases))
	d.mux.HandleFunc("GET /api/v1/releases/{kind}/{name...}", d.api(d.apiRelease))
	d.mux.HandleFunc("GET /api/v1/charts", d.api(d.apiCharts))
	return d, nil
}

// ServeHTTP answers GET and HEAD requests only: the dashboard never
// changes anything.
func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	if d.opts.Token != "" && !d.authorized(r) {
		h.Set("WWW-Authenticate", `Bearer realm="vexloom"`)
		http.Error(w, "the dashboard needs a bearer token", http.StatusUnauthorized)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "the dashboard is read-only", http.StatusMethodNotAllowed)
		return
	}
	d.mux.ServeHTTP(w, r)
}

func (d *Dashboard) authorized(r *http.Request) bool {
	auth := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(d.opts.Token)) == 1
}

// current returns the snapshot of the store: derived again when
// something was recorded since (or it is a minute old). Only the first
// request waits for it; later ones are served the previous snapshot while
// the new one is derived in the background, so no request pays for the
// derivation of a large store.
func (d *Dashboard) current(ctx context.Context) (*snapshot, error) {
	rev, err := d.opts.Store.Revision(ctx)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	s := d.snap
	if s != nil && (s.Revision != rev || time.Since(d.at) >= maxSnapshotAge) && !d.building {
		d.building = true
		go d.rebuild(rev)
	}
	d.mu.Unlock()
	if s != nil {
		return s, nil
	}
	return d.build(ctx, rev)
}

// build derives a snapshot, one at a time.
func (d *Dashboard) build(ctx context.Context, rev string) (*snapshot, error) {
	d.buildMu.Lock()
	defer d.buildMu.Unlock()
	d.mu.Lock()
	if d.snap != nil && d.snap.Revision == rev {
		s := d.snap
		d.mu.Unlock()
		return s, nil
	}
	d.mu.Unlock()
	s, err := d.loader.load(ctx, rev)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.snap, d.at = s, time.Now()
	d.mu.Unlock()
	return s, nil
}

func (d *Dashboard) rebuild(rev string) {
	ctx, cancel := context.WithTimeout(context.Background(), rebuildTimeout)
	defer cancel()
	if _, err := d.build(ctx, rev); err != nil {
		d.opts.Logger.Error("dashboard: deriving the views", "err", err)
	}
	d.mu.Lock()
	d.building = false
	d.mu.Unlock()
}

// Warm derives the first snapshot ahead of the first request.
func (d *Dashboard) Warm(ctx context.Context) error {
	_, err := d.current(ctx)
	return err
}

// Invalidate forgets the derived snapshot: the next request derives it
// again (after the published store changed, which the store's revision
// does not see).
func (d *Dashboard) Invalidate() {
	d.mu.Lock()
	d.snap = nil
	d.mu.Unlock()
}

// httpError is an error with the status to answer.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func notFound(format string, args ...any) error {
	return &httpError{http.StatusNotFound, fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) error {
	return &httpError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

// fail answers an error: its own status for an httpError, else 500 with
// a generic text (the details go to the log, never to the page).
func (d *Dashboard) fail(w http.ResponseWriter, r *http.Request, err error) {
	var he *httpError
	if errors.As(err, &he) {
		http.Error(w, he.msg, he.status)
		return
	}
	d.opts.Logger.Error("dashboard", "path", r.URL.Path, "err", err)
	http.Error(w, "the dashboard could not read the store; see the server's log", http.StatusInternalServerError)
}
