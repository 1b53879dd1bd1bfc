// Package ghfake is an in-process fake of the parts of GitHub's REST API that
// vexloom uses — issues, labels, comments, reactions, artifact attestations,
// app installation tokens, rate limits and conditional requests — for tests
// that cannot reach GitHub. It speaks the real protocol on loopback (JSON
// shapes, status codes, Link pagination, ETags, x-ratelimit-* headers and
// error bodies as GitHub documents them), so code under test runs unchanged
// against it with go-github or plain net/http.
//
// State lives in memory behind one mutex; IDs are deterministic and the clock
// is settable (SetNow), so tests are exact. Faults, primary and secondary
// rate limits can be injected to exercise a client's error handling.
package ghfake

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v75/github"
)

// enterprisePrefix is where GitHub Enterprise Server serves the REST API; the
// fake serves every endpoint both there and at the root.
const enterprisePrefix = "/api/v3"

// maxRequestBody bounds what the fake reads of a request body. Sigstore
// bundles are the largest bodies vexloom sends.
const maxRequestBody = 16 << 20

// Request is one request the server answered, as Log reports it.
type Request struct {
	Method   string
	Path     string // without the /api/v3 prefix
	RawQuery string
	Status   int
}

// Fault is an injected failure: the next Times requests whose method equals
// Method ("" = any) and whose path (without /api/v3) starts with Path ("" =
// any) get Status, Header and Body instead of their real response.
type Fault struct {
	Method string
	Path   string
	Status int
	Header http.Header
	Body   string
	Times  int
}

// Server is a fake GitHub REST API on loopback. Its methods are safe for
// concurrent use.
type Server struct {
	srv *httptest.Server

	mu     sync.Mutex
	now    func() time.Time
	ids    map[string]int64 // next ID per kind of object
	tokens map[string]*token
	apps   map[int64]*app
	insts  map[int64]*installation
	users  map[string]*user // by lower-case login
	repos  map[string]*repo // by lower-case full name
	log    []Request
	faults []Fault
	rate   rateState
	second secondaryState
}

// New starts a server on loopback; t's cleanup closes it.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		now:    time.Now,
		ids:    map[string]int64{},
		tokens: map[string]*token{},
		apps:   map[int64]*app{},
		insts:  map[int64]*installation{},
		users:  map[string]*user{},
		repos:  map[string]*repo{},
	}
	s.rate = rateState{limit: defaultRateLimit, reset: s.clock().Add(time.Hour)}
	s.srv = httptest.NewServer(s)
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the server's base URL, ending in "/".
func (s *Server) URL() string { return s.srv.URL + "/" }

// Client returns a go-github client for the server that authenticates with
// token ("" = none).
func (s *Server) Client(t testing.TB, token string) *github.Client {
	t.Helper()
	c := github.NewClient(s.srv.Client())
	if token != "" {
		c = c.WithAuthToken(token)
	}
	base, err := url.Parse(s.URL())
	if err != nil {
		t.Fatalf("parsing fake GitHub URL: %v", err)
	}
	c.BaseURL = base
	c.UploadURL = base
	return c
}

// SetNow replaces the server's clock (default time.Now). Times are kept to
// the second, as GitHub reports them.
func (s *Server) SetNow(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// clock reads the server's clock, in UTC to the second. Callers hold s.mu
// (or own s exclusively).
func (s *Server) clock() time.Time { return s.now().UTC().Truncate(time.Second) }

// nextID hands out the next deterministic ID of a kind of object.
func (s *Server) nextID(kind string) int64 {
	s.ids[kind]++
	return s.ids[kind]
}

// Requests is how many requests the server has answered since the last
// ResetLog.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.log)
}

// Log lists the requests answered since the last ResetLog, oldest first.
func (s *Server) Log() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.log...)
}

// ResetLog forgets the requests answered so far.
func (s *Server) ResetLog() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = nil
}

// Fail queues a fault; faults are matched in the order they were queued.
func (s *Server) Fail(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Times <= 0 {
		f.Times = 1
	}
	s.faults = append(s.faults, f)
}

// reply is a response computed under the lock and written after it.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// call is one request being served.
type call struct {
	r       *http.Request
	path    string            // without the /api/v3 prefix
	escaped string            // path, escaped as the client sent it
	apiBase string            // absolute API base URL the request used, ending in "/"
	vars    map[string]string // path variables
	login   string            // authenticated user ("" before auth)
	kind    tokenKind
	charged bool // counts against the primary rate limit
}

func (c *call) query(name string) string { return c.r.URL.Query().Get(name) }

// ServeHTTP answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Routing splits the escaped path, so that a label named "a/b" is one
	// segment only when the client escaped it ("a%2Fb").
	path, escaped := r.URL.Path, r.URL.EscapedPath()
	prefix := ""
	if path == enterprisePrefix || strings.HasPrefix(path, enterprisePrefix+"/") {
		prefix = enterprisePrefix
		path = cmp.Or(strings.TrimPrefix(path, enterprisePrefix), "/")
		escaped = cmp.Or(strings.TrimPrefix(escaped, enterprisePrefix), "/")
	}
	c := &call{r: r, path: path, escaped: escaped, apiBase: "http://" + r.Host + prefix + "/"}

	rep := func() *reply {
		s.mu.Lock()
		defer s.mu.Unlock()
		rep := s.serve(c)
		s.log = append(s.log, Request{Method: r.Method, Path: path, RawQuery: r.URL.RawQuery, Status: rep.status})
		return rep
	}()

	h := w.Header()
	for k, v := range rep.header {
		h[k] = v
	}
	w.WriteHeader(rep.status)
	if len(rep.body) > 0 && r.Method != http.MethodHead {
		_, _ = w.Write(rep.body)
	}
}

// serve computes the reply to c. It runs with s.mu held.
func (s *Server) serve(c *call) *reply {
	s.rate.roll(s.clock())
	if rep := s.takeFault(c); rep != nil {
		return rep
	}
	if rep := s.takeSecondary(); rep != nil {
		return rep
	}
	rt, vars := match(c.r.Method, c.escaped)
	if rt != nil && rt.jwt {
		c.vars = vars
		return s.finish(c, rt.handle(s, c))
	}
	// As on GitHub, credentials are checked before the route exists.
	if rep := s.authenticate(c); rep != nil {
		return s.finish(c, rep)
	}
	if rt == nil || !rt.free {
		if rep := s.checkRate(c); rep != nil {
			return s.finish(c, rep)
		}
		c.charged = true
	}
	if rt == nil {
		return s.finish(c, s.fail(http.StatusNotFound, "Not Found"))
	}
	c.vars = vars
	return s.finish(c, rt.handle(s, c))
}

// finish adds what every response carries: the rate-limit headers, an ETag
// on a successful GET, and a 304 for a matching If-None-Match (which is not
// charged against the rate limit, as on GitHub).
func (s *Server) finish(c *call, rep *reply) *reply {
	if rep.header == nil {
		rep.header = http.Header{}
	}
	if rep.body != nil && rep.header.Get("Content-Type") == "" {
		rep.header.Set("Content-Type", "application/json; charset=utf-8")
	}
	rep.header.Set("X-GitHub-Media-Type", "github.v3; format=json")
	rep.header.Set("X-GitHub-Request-Id", fmt.Sprintf("FAKE:%08X", len(s.log)+1))
	if c.r.Method == http.MethodGet && rep.status == http.StatusOK {
		sum := sha256.Sum256(rep.body)
		etag := `"` + hex.EncodeToString(sum[:]) + `"`
		rep.header.Set("ETag", etag)
		rep.header.Set("Cache-Control", "private, max-age=60, s-maxage=60")
		rep.header.Add("Vary", "Accept, Authorization, Cookie, X-GitHub-OTP")
		if etagMatches(c.r.Header.Get("If-None-Match"), etag) {
			rep.status = http.StatusNotModified
			rep.body = nil
			rep.header.Del("Content-Type")
			rep.header.Del("Link")
			c.charged = false
		}
	}
	if c.charged {
		s.rate.used++
	}
	s.rate.setHeaders(rep.header)
	return rep
}

// etagMatches reports whether an If-None-Match header names etag; weak
// validators compare equal to strong ones, as RFC 9110 asks for GET.
func etagMatches(ifNoneMatch, etag string) bool {
	if ifNoneMatch == "" {
		return false
	}
	for _, t := range strings.Split(ifNoneMatch, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}

// takeFault consumes the first queued fault that matches c.
func (s *Server) takeFault(c *call) *reply {
	for i := range s.faults {
		f := &s.faults[i]
		if f.Method != "" && !strings.EqualFold(f.Method, c.r.Method) {
			continue
		}
		if !strings.HasPrefix(c.path, f.Path) {
			continue
		}
		rep := &reply{status: f.Status, header: http.Header{}, body: []byte(f.Body)}
		s.rate.setHeaders(rep.header)
		for k, v := range f.Header {
			rep.header[http.CanonicalHeaderKey(k)] = append([]string(nil), v...)
		}
		if rep.header.Get("Content-Type") == "" && strings.HasPrefix(strings.TrimSpace(f.Body), "{") {
			rep.header.Set("Content-Type", "application/json; charset=utf-8")
		}
		f.Times--
		if f.Times == 0 {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
		}
		return rep
	}
	return nil
}

// errorBody is GitHub's error document.
type errorBody struct {
	Message          string       `json:"message"`
	Errors           []fieldError `json:"errors,omitempty"`
	DocumentationURL string       `json:"documentation_url"`
	Status           string       `json:"status"`
}

// fieldError is one entry of a 422's "errors".
type fieldError struct {
	Resource string `json:"resource"`
	Field    string `json:"field,omitempty"`
	Code     string `json:"code"`
	Message  string `json:"message,omitempty"`
}

// documentation is the documentation_url of the fake's error bodies.
const documentation = "https://docs.github.com/rest"

// fail is a GitHub error response.
func (s *Server) fail(status int, message string) *reply {
	return s.failWith(status, message, documentation)
}

func (s *Server) failWith(status int, message, doc string, errs ...fieldError) *reply {
	return s.json(status, errorBody{Message: message, Errors: errs, DocumentationURL: doc, Status: strconv.Itoa(status)})
}

// invalid is GitHub's 422 "Validation Failed".
func (s *Server) invalid(errs ...fieldError) *reply {
	return s.failWith(http.StatusUnprocessableEntity, "Validation Failed", documentation, errs...)
}

// json is a JSON response.
func (s *Server) json(status int, v any) *reply {
	b, err := json.Marshal(v)
	if err != nil {
		// Only the fake's own values are marshalled; this is a bug in it.
		panic(fmt.Sprintf("ghfake: marshalling a response: %v", err))
	}
	return &reply{status: status, header: http.Header{}, body: b}
}

// empty is a response without a body.
func empty(status int) *reply { return &reply{status: status, header: http.Header{}} }

// decode reads a JSON request body into v; an unreadable body is GitHub's
// 400 "Problems parsing JSON".
func (s *Server) decode(c *call, v any) *reply {
	b, err := io.ReadAll(io.LimitReader(c.r.Body, maxRequestBody+1))
	if err != nil {
		return s.fail(http.StatusBadRequest, "Problems parsing JSON")
	}
	if len(b) > maxRequestBody {
		return s.fail(http.StatusRequestEntityTooLarge, "Request body too large")
	}
	if err := json.Unmarshal(b, v); err != nil {
		return s.fail(http.StatusBadRequest, "Problems parsing JSON")
	}
	return nil
}

// route is one endpoint.
type route struct {
	method  string
	pattern []string // path segments; "{name}" captures one segment
	handle  func(*Server, *call) *reply
	jwt     bool // authenticated with an app JWT, not a token
	free    bool // not charged against (nor refused by) the rate limit
}

// routes are tried in order; literal segments come before captures where
// both could match (issues/comments before issues/{number}).
var routes []route

func init() {
	add := func(method, pattern string, h func(*Server, *call) *reply, opts ...string) {
		rt := route{method: method, pattern: strings.Split(strings.Trim(pattern, "/"), "/"), handle: h}
		for _, o := range opts {
			switch o {
			case "jwt":
				rt.jwt = true
			case "free":
				rt.free = true
			}
		}
		routes = append(routes, rt)
	}
	add("GET", "/user", (*Server).getUser)
	add("GET", "/rate_limit", (*Server).getRateLimit, "free")
	add("POST", "/app/installations/{id}/access_tokens", (*Server).createInstallationToken, "jwt")
	add("GET", "/repos/{owner}/{repo}", (*Server).getRepo)

	add("GET", "/repos/{owner}/{repo}/issues/comments", (*Server).listRepoComments)
	add("GET", "/repos/{owner}/{repo}/issues/comments/{id}", (*Server).getComment)
	add("PATCH", "/repos/{owner}/{repo}/issues/comments/{id}", (*Server).editComment)
	add("DELETE", "/repos/{owner}/{repo}/issues/comments/{id}", (*Server).deleteComment)
	add("GET", "/repos/{owner}/{repo}/issues/comments/{id}/reactions", (*Server).listReactions)
	add("POST", "/repos/{owner}/{repo}/issues/comments/{id}/reactions", (*Server).createReaction)

	add("GET", "/repos/{owner}/{repo}/issues", (*Server).listIssues)
	add("POST", "/repos/{owner}/{repo}/issues", (*Server).createIssue)
	add("GET", "/repos/{owner}/{repo}/issues/{number}", (*Server).getIssue)
	add("PATCH", "/repos/{owner}/{repo}/issues/{number}", (*Server).updateIssue)
	add("GET", "/repos/{owner}/{repo}/issues/{number}/comments", (*Server).listIssueComments)
	add("POST", "/repos/{owner}/{repo}/issues/{number}/comments", (*Server).createComment)
	add("GET", "/repos/{owner}/{repo}/issues/{number}/labels", (*Server).listIssueLabels)
	add("POST", "/repos/{owner}/{repo}/issues/{number}/labels", (*Server).addIssueLabels)
	add("PUT", "/repos/{owner}/{repo}/issues/{number}/labels", (*Server).replaceIssueLabels)
	add("DELETE", "/repos/{owner}/{repo}/issues/{number}/labels", (*Server).removeAllIssueLabels)
	add("DELETE", "/repos/{owner}/{repo}/issues/{number}/labels/{name}", (*Server).removeIssueLabel)

	add("GET", "/repos/{owner}/{repo}/labels", (*Server).listLabels)
	add("POST", "/repos/{owner}/{repo}/labels", (*Server).createLabel)
	add("GET", "/repos/{owner}/{repo}/labels/{name}", (*Server).getLabel)

	add("POST", "/repos/{owner}/{repo}/attestations", (*Server).createAttestation)
	add("GET", "/repos/{owner}/{repo}/attestations/{digest}", (*Server).listAttestations)
}

// match finds the route for a request. GitHub answers an unknown route, or a
// known path with the wrong method, with 404 Not Found.
func match(method, path string) (*route, map[string]string) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	if method == http.MethodHead {
		method = http.MethodGet
	}
	for i := range routes {
		rt := &routes[i]
		if rt.method != method || len(rt.pattern) != len(segs) {
			continue
		}
		vars := map[string]string{}
		ok := true
		for j, p := range rt.pattern {
			seg, err := url.PathUnescape(segs[j])
			if err != nil || seg == "" {
				ok = false
				break
			}
			if strings.HasPrefix(p, "{") {
				vars[strings.Trim(p, "{}")] = seg
			} else if p != seg {
				ok = false
				break
			}
		}
		if ok {
			return rt, vars
		}
	}
	return nil, nil
}

// page is the paging a list request asked for.
type page struct {
	number  int
	perPage int
}

// paging reads page and per_page as GitHub does: per_page defaults to 30
// and is capped at 100; nonsense values fall back to the defaults.
func paging(c *call) page {
	p := page{number: 1, perPage: 30}
	if n, err := strconv.Atoi(c.query("page")); err == nil && n > 0 {
		p.number = n
	}
	if n, err := strconv.Atoi(c.query("per_page")); err == nil && n > 0 {
		p.perPage = min(n, 100)
	}
	return p
}

// paginate cuts page p out of n items and returns the bounds and the Link
// header GitHub would send (absolute URLs, the request's other parameters
// kept; "" when everything fits on the first page).
func paginate(c *call, n int, p page) (lo, hi int, link string) {
	last := max(1, (n+p.perPage-1)/p.perPage)
	lo = n
	if p.number <= last { // (page-1)*per_page cannot overflow
		lo = (p.number - 1) * p.perPage
	}
	hi = min(n, lo+p.perPage)
	at := func(num int, rel string) string {
		q := c.r.URL.Query()
		q.Set("page", strconv.Itoa(num))
		u := strings.TrimSuffix(c.apiBase, "/") + c.escaped + "?" + q.Encode()
		return "<" + u + ">; rel=\"" + rel + "\""
	}
	var rels []string
	if p.number > 1 {
		rels = append(rels, at(min(p.number-1, last), "prev"))
	}
	if p.number < last {
		rels = append(rels, at(p.number+1, "next"), at(last, "last"))
	}
	if p.number > 1 {
		rels = append(rels, at(1, "first"))
	}
	return lo, hi, strings.Join(rels, ", ")
}

// list answers a paginated list request with items[lo:hi] and the Link
// header.
func list[T any](s *Server, c *call, items []T) *reply {
	lo, hi, link := paginate(c, len(items), paging(c))
	rep := s.json(http.StatusOK, append([]T{}, items[lo:hi]...))
	if link != "" {
		rep.header.Set("Link", link)
	}
	return rep
}
