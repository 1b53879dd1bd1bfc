package ghfake

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-github/v75/github"
)

const (
	testRepo  = "kube/kube"
	testToken = "ghp_alice"
)

// t0 is the fixed start of the tests' clock.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fakeClock is a settable clock for SetNow.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newServer is a server with a fixed clock, one repository and alice's token.
func newServer(t *testing.T) (*Server, *fakeClock, *github.Client) {
	t.Helper()
	clock := &fakeClock{now: t0}
	s := New(t)
	s.SetNow(clock.Now)
	s.SetRateLimit(5000, 5000, t0.Add(time.Hour))
	s.CreateRepo(testRepo)
	s.AddToken(testToken, "alice")
	return s, clock, s.Client(t, testToken)
}

// do sends a raw request with alice's token and returns status, headers and
// body.
func do(t *testing.T, s *Server, method, path, body string, hdr ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL()+strings.TrimPrefix(path, "/"), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

func ghStatus(err error) int {
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return er.Response.StatusCode
	}
	return 0
}

func TestIssuesPagination(t *testing.T) {
	s, _, gh := newServer(t)
	ctx := context.Background()
	for i := range 250 {
		s.AddIssue(testRepo, IssueInput{Title: fmt.Sprintf("issue %d", i+1), CreatedAt: t0.Add(time.Duration(i) * time.Minute)})
	}

	// Default page size is 30: 9 pages.
	first, resp, err := gh.Issues.ListByRepo(ctx, "kube", "kube", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 30 || resp.NextPage != 2 || resp.LastPage != 9 || resp.PrevPage != 0 {
		t.Fatalf("first page: %d issues, next %d, last %d, prev %d", len(first), resp.NextPage, resp.LastPage, resp.PrevPage)
	}
	// Newest created first by default.
	if first[0].GetNumber() != 250 || first[29].GetNumber() != 221 {
		t.Errorf("default order: first %d, last %d", first[0].GetNumber(), first[29].GetNumber())
	}
	if link := resp.Header.Get("Link"); !strings.HasPrefix(link, "<"+s.URL()+"repos/kube/kube/issues?") {
		t.Errorf("Link not absolute on the server: %s", link)
	}

	// per_page above 100 is capped; walk every page.
	seen := map[int]bool{}
	opts := &github.IssueListByRepoOptions{ListOptions: github.ListOptions{PerPage: 500}}
	pages := 0
	for {
		is, resp, err := gh.Issues.ListByRepo(ctx, "kube", "kube", opts)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(is) > 100 {
			t.Fatalf("page of %d issues", len(is))
		}
		for _, i := range is {
			seen[i.GetNumber()] = true
		}
		if pages == 2 {
			link := resp.Header.Get("Link")
			for _, rel := range []string{`rel="prev"`, `rel="next"`, `rel="last"`, `rel="first"`} {
				if !strings.Contains(link, rel) {
					t.Errorf("page 2 Link lacks %s: %s", rel, link)
				}
			}
			if !strings.Contains(link, "per_page=500") {
				t.Errorf("Link drops per_page: %s", link)
			}
		}
		if resp.NextPage == 0 {
			if resp.PrevPage != pages-1 || resp.FirstPage != 1 {
				t.Errorf("last page: prev %d first %d", resp.PrevPage, resp.FirstPage)
			}
			break
		}
		opts.ListOptions.Page = resp.NextPage
	}
	if pages != 3 || len(seen) != 250 {
		t.Errorf("%d pages, %d distinct issues; want 3 and 250", pages, len(seen))
	}

	// Under /api/v3 the links stay under /api/v3.
	ent, err := s.Client(t, testToken).WithEnterpriseURLs(s.URL(), s.URL())
	if err != nil {
		t.Fatal(err)
	}
	_, resp, err = ent.Issues.ListByRepo(ctx, "kube", "kube", nil)
	if err != nil {
		t.Fatal(err)
	}
	if link := resp.Header.Get("Link"); !strings.HasPrefix(link, "<"+s.URL()+"api/v3/repos/kube/kube/issues?") {
		t.Errorf("enterprise Link: %s", link)
	}
	if resp.NextPage != 2 {
		t.Errorf("enterprise next page %d", resp.NextPage)
	}

	// A page far past the end is empty, and links back.
	code, hdr, body := do(t, s, "GET", "/repos/kube/kube/issues?page=9223372036854775807", "")
	if code != 200 || body != "[]" || !strings.Contains(hdr.Get("Link"), `issues?page=9>; rel="prev"`) {
		t.Errorf("huge page: %d %s %s", code, body, hdr.Get("Link"))
	}
	// A page past the end is empty.
	is, _, err := gh.Issues.ListByRepo(ctx, "kube", "kube", &github.IssueListByRepoOptions{ListOptions: github.ListOptions{Page: 20}})
	if err != nil || len(is) != 0 {
		t.Errorf("page past the end: %d issues, %v", len(is), err)
	}
}

func TestIssueJSONShape(t *testing.T) {
	s, _, _ := newServer(t)
	s.AddIssue(testRepo, IssueInput{Title: "CVE-2026-1", Body: "x/net", User: "bob", Labels: []string{"triage/vex"}})
	code, hdr, body := do(t, s, "GET", "/repos/kube/kube/issues/1", "")
	if code != 200 {
		t.Fatalf("status %d: %s", code, body)
	}
	if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "number", "html_url", "url", "title", "body", "user", "labels", "state", "comments", "created_at", "updated_at", "closed_at", "state_reason"} {
		if _, ok := m[k]; !ok && k != "closed_at" && k != "state_reason" {
			t.Errorf("issue JSON lacks %q", k)
		}
	}
	if m["number"] != 1.0 || m["state"] != "open" || m["title"] != "CVE-2026-1" {
		t.Errorf("issue JSON: %v", m)
	}
	if m["created_at"] != "2026-03-01T12:00:00Z" {
		t.Errorf("created_at %v", m["created_at"])
	}
	if u := m["user"].(map[string]any); u["login"] != "bob" || u["type"] != "User" {
		t.Errorf("user %v", u)
	}
	if l := m["labels"].([]any); len(l) != 1 || l[0].(map[string]any)["name"] != "triage/vex" {
		t.Errorf("labels %v", l)
	}
	if m["html_url"] != s.URL()+"kube/kube/issues/1" || m["url"] != s.URL()+"repos/kube/kube/issues/1" {
		t.Errorf("urls %v %v", m["html_url"], m["url"])
	}
	for _, h := range []string{"X-Ratelimit-Limit", "X-Ratelimit-Remaining", "X-Ratelimit-Used", "X-Ratelimit-Reset", "X-Ratelimit-Resource"} {
		if hdr.Get(h) == "" {
			t.Errorf("no %s header", h)
		}
	}
}

func TestAuth(t *testing.T) {
	s, _, gh := newServer(t)
	ctx := context.Background()
	u, _, err := gh.Users.Get(ctx, "")
	if err != nil || u.GetLogin() != "alice" {
		t.Fatalf("GET /user: %v %v", u.GetLogin(), err)
	}
	for _, tok := range []string{"", "ghp_unknown"} {
		_, resp, err := s.Client(t, tok).Issues.ListByRepo(ctx, "kube", "kube", nil)
		if ghStatus(err) != 401 {
			t.Errorf("token %q: %v", tok, err)
		}
		if resp.Header.Get("X-Ratelimit-Limit") == "" {
			t.Errorf("401 without rate-limit headers")
		}
	}
	code, _, body := do(t, s, "GET", "/user", "", "Authorization", "token ghp_nope")
	if code != 401 || !strings.Contains(body, `"message":"Bad credentials"`) {
		t.Errorf("bad token: %d %s", code, body)
	}
	// Credentials are checked before the route.
	code, _, _ = do(t, s, "GET", "/no/such/route", "", "Authorization", "token ghp_nope")
	if code != 401 {
		t.Errorf("unknown route, bad token: %d", code)
	}
	code, _, _ = do(t, s, "GET", "/user", "", "Authorization", "token "+testToken)
	if code != 200 {
		t.Errorf("token scheme: %d", code)
	}
}

func TestNotFoundAndValidation(t *testing.T) {
	s, _, gh := newServer(t)
	ctx := context.Background()
	_, _, err := gh.Issues.Get(ctx, "kube", "nope", 1)
	var er *github.ErrorResponse
	if !errors.As(err, &er) || er.Response.StatusCode != 404 || er.Message != "Not Found" || er.DocumentationURL == "" {
		t.Errorf("unknown repo: %v", err)
	}
	_, _, err = gh.Issues.Get(ctx, "kube", "kube", 7)
	if ghStatus(err) != 404 {
		t.Errorf("unknown issue: %v", err)
	}
	_, _, err = gh.Issues.Create(ctx, "kube", "kube", &github.IssueRequest{Body: github.Ptr("no title")})
	if !errors.As(err, &er) || er.Response.StatusCode != 422 || er.Message != "Validation Failed" ||
		len(er.Errors) != 1 || er.Errors[0].Field != "title" || er.Errors[0].Code != "missing_field" {
		t.Errorf("issue without title: %v", err)
	}
	code, _, body := do(t, s, "POST", "/repos/kube/kube/issues", "{not json")
	if code != 400 || !strings.Contains(body, "Problems parsing JSON") {
		t.Errorf("bad JSON: %d %s", code, body)
	}
	code, _, _ = do(t, s, "GET", "/repos/kube/kube/issues?state=weird", "")
	if code != 422 {
		t.Errorf("bad state: %d", code)
	}
	code, _, _ = do(t, s, "GET", "/repos/kube/kube/issues?since=yesterday", "")
	if code != 422 {
		t.Errorf("bad since: %d", code)
	}
	code, _, _ = do(t, s, "DELETE", "/repos/kube/kube", "")
	if code != 404 {
		t.Errorf("unrouted method: %d", code)
	}
	_, _, err = gh.Issues.CreateComment(ctx, "kube", "kube", 1, &github.IssueComment{Body: github.Ptr("x")})
	if ghStatus(err) != 404 {
		t.Errorf("comment on missing issue: %v", err)
	}
	s.AddIssue(testRepo, IssueInput{Title: "a"})
	_, _, err = gh.Issues.CreateComment(ctx, "kube", "kube", 1, &github.IssueComment{Body: github.Ptr(strings.Repeat("x", maxBodyChars+1))})
	if ghStatus(err) != 422 {
		t.Errorf("oversized comment: %v", err)
	}
}

func TestIssueLifecycle(t *testing.T) {
	s, clock, gh := newServer(t)
	ctx := context.Background()
	is, resp, err := gh.Issues.Create(ctx, "kube", "kube", &github.IssueRequest{
		Title: github.Ptr("GO-2026-0001 in golang.org/x/net"), Body: github.Ptr("found"), Labels: &[]string{"Triage/VEX"},
	})
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("create: %v", err)
	}
	if is.GetUser().GetLogin() != "alice" || is.GetNumber() != 1 || resp.Header.Get("Location") == "" {
		t.Errorf("created issue %+v", is)
	}
	clock.Advance(time.Minute)
	is, _, err = gh.Issues.Edit(ctx, "kube", "kube", 1, &github.IssueRequest{State: github.Ptr("closed"), StateReason: github.Ptr("not_planned")})
	if err != nil {
		t.Fatal(err)
	}
	if is.GetState() != "closed" || is.GetStateReason() != "not_planned" || !is.GetClosedAt().Time.Equal(t0.Add(time.Minute)) ||
		is.GetClosedBy().GetLogin() != "alice" || !is.GetUpdatedAt().Time.Equal(t0.Add(time.Minute)) {
		t.Errorf("closed issue: state %s reason %s closed %v", is.GetState(), is.GetStateReason(), is.GetClosedAt())
	}
	clock.Advance(time.Minute)
	is, _, err = gh.Issues.Edit(ctx, "kube", "kube", 1, &github.IssueRequest{State: github.Ptr("open"), Title: github.Ptr("renamed")})
	if err != nil {
		t.Fatal(err)
	}
	if is.GetState() != "open" || is.GetStateReason() != "reopened" || is.ClosedAt != nil || is.GetTitle() != "renamed" {
		t.Errorf("reopened issue: %s %s %v", is.GetState(), is.GetStateReason(), is.ClosedAt)
	}
	if got := s.Issue(testRepo, 1); got.State != "open" || got.Title != "renamed" || got.Body != "found" {
		t.Errorf("server view %+v", got)
	}
	_, _, err = gh.Issues.Edit(ctx, "kube", "kube", 1, &github.IssueRequest{State: github.Ptr("shut")})
	if ghStatus(err) != 422 {
		t.Errorf("bad state: %v", err)
	}
	r, _, err := gh.Repositories.Get(ctx, "kube", "kube")
	if err != nil || r.GetFullName() != "kube/kube" || r.GetOwner().GetLogin() != "kube" || r.GetOpenIssuesCount() != 1 {
		t.Errorf("repo: %v %v", r, err)
	}
}

func TestLabels(t *testing.T) {
	s, clock, gh := newServer(t)
	ctx := context.Background()
	if _, _, err := gh.Issues.CreateLabel(ctx, "kube", "kube", &github.Label{Name: github.Ptr("area/security"), Color: github.Ptr("B60205")}); err != nil {
		t.Fatal(err)
	}
	_, _, err := gh.Issues.CreateLabel(ctx, "kube", "kube", &github.Label{Name: github.Ptr("Area/Security")})
	var er *github.ErrorResponse
	if !errors.As(err, &er) || er.Response.StatusCode != 422 || len(er.Errors) != 1 || er.Errors[0].Code != "already_exists" {
		t.Errorf("duplicate label: %v", err)
	}
	s.AddIssue(testRepo, IssueInput{Title: "1", Labels: []string{"area/security", "triage/vex"}})
	s.AddIssue(testRepo, IssueInput{Title: "2", Labels: []string{"triage/vex"}})
	s.AddIssue(testRepo, IssueInput{Title: "3", Labels: []string{"AREA/SECURITY"}, State: "closed"})
	s.AddIssue(testRepo, IssueInput{Title: "4"})

	numbers := func(opts *github.IssueListByRepoOptions) []int {
		t.Helper()
		is, _, err := gh.Issues.ListByRepo(ctx, "kube", "kube", opts)
		if err != nil {
			t.Fatal(err)
		}
		var n []int
		for _, i := range is {
			n = append(n, i.GetNumber())
		}
		return n
	}
	if got := numbers(&github.IssueListByRepoOptions{Labels: []string{"Triage/VEX"}}); !slices.Equal(got, []int{2, 1}) {
		t.Errorf("labels=Triage/VEX: %v", got)
	}
	if got := numbers(&github.IssueListByRepoOptions{Labels: []string{"triage/vex", "area/security"}}); !slices.Equal(got, []int{1}) {
		t.Errorf("both labels: %v", got)
	}
	if got := numbers(&github.IssueListByRepoOptions{Labels: []string{"area/security"}, State: "all"}); !slices.Equal(got, []int{3, 1}) {
		t.Errorf("area/security, all: %v", got)
	}
	if got := numbers(&github.IssueListByRepoOptions{State: "closed"}); !slices.Equal(got, []int{3}) {
		t.Errorf("closed: %v", got)
	}
	// The label added to issue 3 by a different case is the same label.
	if ls, _, _ := gh.Issues.ListLabels(ctx, "kube", "kube", nil); len(ls) != 2 {
		t.Errorf("repo labels: %d", len(ls))
	}

	clock.Advance(time.Hour)
	ls, _, err := gh.Issues.AddLabelsToIssue(ctx, "kube", "kube", 4, []string{"vex/not-affected", "triage/vex"})
	if err != nil || len(ls) != 2 {
		t.Fatalf("add labels: %v %v", ls, err)
	}
	if got := s.Issue(testRepo, 4); !got.UpdatedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("labelling did not bump updated_at: %v", got.UpdatedAt)
	}
	// go-github does not escape the name; a "/" in it must be.
	if _, err := gh.Issues.RemoveLabelForIssue(ctx, "kube", "kube", 4, "TRIAGE/VEX"); ghStatus(err) != 404 {
		t.Errorf("unescaped slash: %v", err)
	}
	code, _, body := do(t, s, "DELETE", "/repos/kube/kube/issues/4/labels/"+url.PathEscape("TRIAGE/VEX"), "")
	if code != 200 || strings.Contains(body, "triage/vex") || !strings.Contains(body, "vex/not-affected") {
		t.Errorf("remove label: %d %s", code, body)
	}
	_, err = gh.Issues.RemoveLabelForIssue(ctx, "kube", "kube", 4, url.PathEscape("triage/vex"))
	if !errors.As(err, &er) || er.Response.StatusCode != 404 || er.Message != "Label does not exist" {
		t.Errorf("remove absent label: %v", err)
	}
	ls, _, err = gh.Issues.ReplaceLabelsForIssue(ctx, "kube", "kube", 4, []string{"a", "b"})
	if err != nil || len(ls) != 2 {
		t.Errorf("replace labels: %v %v", ls, err)
	}
	if _, err := gh.Issues.RemoveLabelsForIssue(ctx, "kube", "kube", 4); err != nil {
		t.Fatal(err)
	}
	if got := s.Issue(testRepo, 4).Labels; len(got) != 0 {
		t.Errorf("labels left: %v", got)
	}
	// {"labels": [...]} is accepted too.
	code, _, body = do(t, s, "POST", "/repos/kube/kube/issues/4/labels", `{"labels":[{"name":"x"},"y"]}`)
	if code != 200 || !strings.Contains(body, `"name":"x"`) || !strings.Contains(body, `"name":"y"`) {
		t.Errorf("object labels: %d %s", code, body)
	}
}

func TestSince(t *testing.T) {
	s, clock, gh := newServer(t)
	ctx := context.Background()
	for i := range 5 {
		s.AddIssue(testRepo, IssueInput{Title: strconv.Itoa(i), CreatedAt: t0.Add(-time.Duration(5-i) * time.Hour)})
	}
	clock.Advance(time.Hour)
	c := s.AddComment(testRepo, 2, "bob", "/vex not_affected")
	if got := s.Issue(testRepo, 2); !got.UpdatedAt.Equal(t0.Add(time.Hour)) || got.Comments != 1 {
		t.Fatalf("comment did not bump the issue: %+v", got)
	}
	is, _, err := gh.Issues.ListByRepo(ctx, "kube", "kube", &github.IssueListByRepoOptions{Since: t0, Sort: "updated"})
	if err != nil || len(is) != 1 || is[0].GetNumber() != 2 || is[0].GetComments() != 1 {
		t.Fatalf("since: %v %v", is, err)
	}
	// since is inclusive (updated_at >= since).
	is, _, _ = gh.Issues.ListByRepo(ctx, "kube", "kube", &github.IssueListByRepoOptions{Since: t0.Add(-2 * time.Hour)})
	if len(is) != 3 {
		t.Errorf("inclusive since: %d issues", len(is))
	}
	is, _, _ = gh.Issues.ListByRepo(ctx, "kube", "kube", &github.IssueListByRepoOptions{Sort: "updated", Direction: "asc"})
	if len(is) != 5 || is[4].GetNumber() != 2 || is[0].GetNumber() != 1 {
		t.Errorf("sort=updated asc: first %d last %d", is[0].GetNumber(), is[4].GetNumber())
	}
	is, _, _ = gh.Issues.ListByRepo(ctx, "kube", "kube", &github.IssueListByRepoOptions{Sort: "comments"})
	if is[0].GetNumber() != 2 {
		t.Errorf("sort=comments: first %d", is[0].GetNumber())
	}

	clock.Advance(time.Hour)
	edited, _, err := gh.Issues.EditComment(ctx, "kube", "kube", c.ID, &github.IssueComment{Body: github.Ptr("/vex affected")})
	if err != nil || !edited.GetUpdatedAt().Time.Equal(t0.Add(2*time.Hour)) || !edited.GetCreatedAt().Time.Equal(t0.Add(time.Hour)) {
		t.Fatalf("edit: %v %v", edited, err)
	}
	s.AddComment(testRepo, 3, "carol", "old")
	clock.Advance(time.Hour)
	s.AddComment(testRepo, 3, "carol", "new")
	cs, _, err := gh.Issues.ListComments(ctx, "kube", "kube", 0, &github.IssueListCommentsOptions{Since: github.Ptr(t0.Add(2 * time.Hour))})
	if err != nil || len(cs) != 3 {
		t.Fatalf("repo comments since: %d %v", len(cs), err)
	}
	cs, _, _ = gh.Issues.ListComments(ctx, "kube", "kube", 0, &github.IssueListCommentsOptions{Since: github.Ptr(t0.Add(3 * time.Hour))})
	if len(cs) != 1 || cs[0].GetBody() != "new" {
		t.Errorf("repo comments since +3h: %v", cs)
	}
	cs, _, _ = gh.Issues.ListComments(ctx, "kube", "kube", 3, &github.IssueListCommentsOptions{Since: github.Ptr(t0.Add(3 * time.Hour))})
	if len(cs) != 1 || cs[0].GetBody() != "new" {
		t.Errorf("issue comments since: %v", cs)
	}
	cs, _, _ = gh.Issues.ListComments(ctx, "kube", "kube", 0, &github.IssueListCommentsOptions{Sort: github.Ptr("updated"), Direction: github.Ptr("desc")})
	// Updated at +3h, +2h (the later ID first) and +2h.
	if len(cs) != 3 || cs[0].GetBody() != "new" || cs[1].GetBody() != "old" || cs[2].GetBody() != "/vex affected" {
		t.Errorf("repo comments by updated desc: %v", cs)
	}
	if cs[0].GetIssueURL() != s.URL()+"repos/kube/kube/issues/3" || !strings.HasSuffix(cs[0].GetHTMLURL(), "kube/kube/issues/3#issuecomment-"+strconv.FormatInt(cs[0].GetID(), 10)) {
		t.Errorf("comment urls: %s %s", cs[0].GetIssueURL(), cs[0].GetHTMLURL())
	}
}

func TestCommentsPagination(t *testing.T) {
	s, clock, gh := newServer(t)
	ctx := context.Background()
	s.AddIssue(testRepo, IssueInput{Title: "busy"})
	s.AddIssue(testRepo, IssueInput{Title: "quiet"})
	for i := range 130 {
		clock.Advance(time.Second)
		s.AddComment(testRepo, 1, "bob", fmt.Sprintf("comment %d", i))
	}
	s.AddComment(testRepo, 2, "bob", "elsewhere")

	var bodies []string
	opts := &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: 50}}
	pages := 0
	for {
		cs, resp, err := gh.Issues.ListComments(ctx, "kube", "kube", 1, opts)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if pages == 1 && resp.LastPage != 3 {
			t.Errorf("last page %d", resp.LastPage)
		}
		for _, c := range cs {
			bodies = append(bodies, c.GetBody())
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	if pages != 3 || len(bodies) != 130 || bodies[0] != "comment 0" || bodies[129] != "comment 129" {
		t.Errorf("%d pages, %d comments, first %q", pages, len(bodies), bodies[0])
	}
	// Repo-wide, default 30 a page: 131 comments in 5 pages, oldest first.
	cs, resp, err := gh.Issues.ListComments(ctx, "kube", "kube", 0, nil)
	if err != nil || len(cs) != 30 || resp.LastPage != 5 || cs[0].GetBody() != "comment 0" {
		t.Errorf("repo-wide: %d comments, last page %d, %v", len(cs), resp.LastPage, err)
	}
	cs, _, _ = gh.Issues.ListComments(ctx, "kube", "kube", 0, &github.IssueListCommentsOptions{ListOptions: github.ListOptions{Page: 5}})
	if len(cs) != 11 || cs[10].GetBody() != "elsewhere" {
		t.Errorf("repo-wide last page: %d", len(cs))
	}
	if got := s.Issue(testRepo, 1).Comments; got != 130 {
		t.Errorf("comment count %d", got)
	}
	if got := s.Comments(testRepo, 1); len(got) != 130 || got[5].Body != "comment 5" {
		t.Errorf("Comments: %d", len(got))
	}
}

func TestETag(t *testing.T) {
	s, _, gh := newServer(t)
	s.AddIssue(testRepo, IssueInput{Title: "a"})
	code, hdr, _ := do(t, s, "GET", "/repos/kube/kube/issues/1", "")
	etag := hdr.Get("ETag")
	if code != 200 || !strings.HasPrefix(etag, `"`) || !strings.HasSuffix(etag, `"`) || len(etag) < 10 {
		t.Fatalf("status %d ETag %q", code, etag)
	}
	remaining := hdr.Get("X-Ratelimit-Remaining")
	for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag} {
		code, hdr2, body := do(t, s, "GET", "/repos/kube/kube/issues/1", "", "If-None-Match", inm)
		if code != 304 || body != "" {
			t.Errorf("If-None-Match %s: %d %q", inm, code, body)
		}
		if hdr2.Get("X-Ratelimit-Remaining") != remaining || hdr2.Get("ETag") != etag {
			t.Errorf("304 charged: remaining %s then %s", remaining, hdr2.Get("X-Ratelimit-Remaining"))
		}
	}
	// A change gives a new ETag and a 200.
	s.AddComment(testRepo, 1, "bob", "hi")
	code, hdr, _ = do(t, s, "GET", "/repos/kube/kube/issues/1", "", "If-None-Match", etag)
	if code != 200 || hdr.Get("ETag") == etag {
		t.Errorf("after a change: %d %s", code, hdr.Get("ETag"))
	}
	if n, _ := strconv.Atoi(hdr.Get("X-Ratelimit-Remaining")); strconv.Itoa(n+1) != remaining {
		t.Errorf("200 not charged: %s then %s", remaining, hdr.Get("X-Ratelimit-Remaining"))
	}
	// Lists carry ETags too; go-github sees 304 as a response, not data.
	req, _ := gh.NewRequest("GET", "repos/kube/kube/issues", nil)
	resp, err := gh.Do(context.Background(), req, nil)
	if err != nil {
		t.Fatal(err)
	}
	req, _ = gh.NewRequest("GET", "repos/kube/kube/issues", nil)
	req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	resp, _ = gh.Do(context.Background(), req, nil)
	if resp.StatusCode != 304 {
		t.Errorf("list with ETag: %d", resp.StatusCode)
	}
}

func TestReactions(t *testing.T) {
	s, _, gh := newServer(t)
	ctx := context.Background()
	s.AddIssue(testRepo, IssueInput{Title: "a"})
	c := s.AddComment(testRepo, 1, "bob", "/vex not_affected")
	r1, resp, err := gh.Reactions.CreateIssueCommentReaction(ctx, "kube", "kube", c.ID, "eyes")
	if err != nil || resp.StatusCode != 201 || r1.GetContent() != "eyes" || r1.GetUser().GetLogin() != "alice" {
		t.Fatalf("first reaction: %v %v", r1, err)
	}
	r2, resp, err := gh.Reactions.CreateIssueCommentReaction(ctx, "kube", "kube", c.ID, "eyes")
	if err != nil || resp.StatusCode != 200 || r2.GetID() != r1.GetID() {
		t.Errorf("repeated reaction: %d %v", resp.StatusCode, err)
	}
	_, resp, err = gh.Reactions.CreateIssueCommentReaction(ctx, "kube", "kube", c.ID, "+1")
	if err != nil || resp.StatusCode != 201 {
		t.Errorf("second content: %v", err)
	}
	_, _, err = gh.Reactions.CreateIssueCommentReaction(ctx, "kube", "kube", c.ID, "shrug")
	if ghStatus(err) != 422 {
		t.Errorf("unknown content: %v", err)
	}
	_, _, err = gh.Reactions.CreateIssueCommentReaction(ctx, "kube", "kube", 999, "eyes")
	if ghStatus(err) != 404 {
		t.Errorf("missing comment: %v", err)
	}
	rs, _, err := gh.Reactions.ListIssueCommentReactions(ctx, "kube", "kube", c.ID, &github.ListReactionOptions{Content: "eyes"})
	if err != nil || len(rs) != 1 {
		t.Errorf("list eyes: %v %v", rs, err)
	}
	if got := s.Reactions(testRepo, c.ID); len(got) != 2 || got[0].Content != "eyes" || got[0].User != "alice" {
		t.Errorf("Reactions %+v", got)
	}
	cm, _, err := gh.Issues.GetComment(ctx, "kube", "kube", c.ID)
	if err != nil || cm.GetReactions().GetTotalCount() != 2 || cm.GetReactions().GetEyes() != 1 || cm.GetReactions().GetPlusOne() != 1 {
		t.Errorf("rollup %+v %v", cm.GetReactions(), err)
	}
}

func TestRateLimit(t *testing.T) {
	s, clock, gh := newServer(t)
	ctx := context.Background()
	reset := t0.Add(10 * time.Minute)
	s.SetRateLimit(100, 2, reset)
	for i := range 2 {
		if _, _, err := gh.Users.Get(ctx, ""); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	// GET /rate_limit is free and reports the window.
	code, hdr, body := do(t, s, "GET", "/rate_limit", "")
	var rl struct {
		Resources map[string]struct {
			Limit, Remaining, Used int
			Reset                  int64
		}
	}
	if err := json.Unmarshal([]byte(body), &rl); err != nil || code != 200 {
		t.Fatalf("rate_limit: %d %v", code, err)
	}
	if core := rl.Resources["core"]; core.Limit != 100 || core.Remaining != 0 || core.Used != 100 || core.Reset != reset.Unix() {
		t.Errorf("core %+v", core)
	}
	if hdr.Get("X-Ratelimit-Remaining") != "0" || hdr.Get("X-Ratelimit-Reset") != strconv.FormatInt(reset.Unix(), 10) {
		t.Errorf("headers %v", hdr)
	}
	_, _, err := gh.Users.Get(ctx, "")
	var rle *github.RateLimitError
	if !errors.As(err, &rle) || rle.Response.StatusCode != 403 || !strings.HasPrefix(rle.Message, "API rate limit exceeded") ||
		!rle.Rate.Reset.Time.Equal(reset) {
		t.Fatalf("exhausted: %v", err)
	}
	// After the reset time a new window starts.
	clock.Advance(11 * time.Minute)
	code, hdr, _ = do(t, s, "GET", "/user", "")
	if code != 200 || hdr.Get("X-Ratelimit-Remaining") != "99" || hdr.Get("X-Ratelimit-Used") != "1" {
		t.Errorf("after reset: %d remaining %s", code, hdr.Get("X-Ratelimit-Remaining"))
	}
}

func TestSecondaryLimit(t *testing.T) {
	s, _, gh := newServer(t)
	ctx := context.Background()
	s.SecondaryLimit(2, 30*time.Second)
	_, _, err := gh.Users.Get(ctx, "")
	var ae *github.AbuseRateLimitError
	if !errors.As(err, &ae) || ae.RetryAfter == nil || *ae.RetryAfter != 30*time.Second || ae.Response.StatusCode != 403 {
		t.Fatalf("secondary: %v", err)
	}
	code, hdr, body := do(t, s, "GET", "/user", "")
	if code != 403 || hdr.Get("Retry-After") != "30" || hdr.Get("X-Ratelimit-Remaining") == "0" ||
		!strings.Contains(body, "You have exceeded a secondary rate limit") {
		t.Errorf("second: %d %v %s", code, hdr, body)
	}
	if code, _, _ := do(t, s, "GET", "/user", ""); code != 200 {
		t.Errorf("third: %d", code)
	}
}

func TestFaultsAndLog(t *testing.T) {
	s, _, gh := newServer(t)
	ctx := context.Background()
	s.AddIssue(testRepo, IssueInput{Title: "a"})
	s.ResetLog()
	s.Fail(Fault{Method: "GET", Path: "/repos/kube/kube/issues", Status: 502, Body: `{"message":"Server Error"}`, Times: 2})
	s.Fail(Fault{Path: "/user", Status: 500, Header: http.Header{"X-Test": {"yes"}}})
	for range 2 {
		_, _, err := gh.Issues.ListByRepo(ctx, "kube", "kube", nil)
		if ghStatus(err) != 502 {
			t.Errorf("fault: %v", err)
		}
	}
	if _, _, err := gh.Issues.Get(ctx, "kube", "kube", 1); err != nil {
		t.Errorf("after the fault: %v", err)
	}
	_, resp, err := gh.Users.Get(ctx, "")
	if ghStatus(err) != 500 || resp.Header.Get("X-Test") != "yes" {
		t.Errorf("header fault: %v", err)
	}
	if _, _, err := gh.Users.Get(ctx, ""); err != nil {
		t.Errorf("fault used up: %v", err)
	}
	log := s.Log()
	want := []int{502, 502, 200, 500, 200}
	if s.Requests() != len(want) {
		t.Fatalf("%d requests logged: %+v", s.Requests(), log)
	}
	for i, r := range log {
		if r.Status != want[i] {
			t.Errorf("log[%d] = %+v, want status %d", i, r, want[i])
		}
	}
	if log[0].Method != "GET" || log[0].Path != "/repos/kube/kube/issues" || log[2].Path != "/repos/kube/kube/issues/1" {
		t.Errorf("log paths: %+v", log)
	}
	s.ResetLog()
	if s.Requests() != 0 {
		t.Error("ResetLog kept requests")
	}
}

// appJWT signs an app JWT as a GitHub App does.
func appJWT(t *testing.T, key *rsa.PrivateKey, iss any, iat, exp time.Time) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iss": iss, "iat": iat.Unix(), "exp": exp.Unix(),
	}).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestAppInstallationTokens(t *testing.T) {
	s, clock, _ := newServer(t)
	ctx := context.Background()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	s.AddApp(42, &key.PublicKey, 7, "vexloom[bot]", time.Hour)
	s.AddIssue(testRepo, IssueInput{Title: "a"})

	mint := func(jwtTok string, inst int64) (*github.InstallationToken, error) {
		c := s.Client(t, jwtTok)
		tok, _, err := c.Apps.CreateInstallationToken(ctx, inst, nil)
		return tok, err
	}
	now := clock.Now()
	tok, err := mint(appJWT(t, key, "42", now.Add(-time.Minute), now.Add(9*time.Minute)), 7)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok.GetToken(), "ghs_") || !tok.GetExpiresAt().Time.Equal(now.Add(time.Hour)) {
		t.Errorf("token %s expires %v", tok.GetToken(), tok.GetExpiresAt())
	}
	bot := s.Client(t, tok.GetToken())
	cm, _, err := bot.Issues.CreateComment(ctx, "kube", "kube", 1, &github.IssueComment{Body: github.Ptr("triaged")})
	if err != nil || cm.GetUser().GetLogin() != "vexloom[bot]" || cm.GetUser().GetType() != "Bot" {
		t.Fatalf("comment as bot: %v %v", cm, err)
	}
	if _, _, err := bot.Users.Get(ctx, ""); ghStatus(err) != 403 {
		t.Errorf("GET /user as an installation: %v", err)
	}
	// A numeric iss works too.
	if _, err := mint(appJWT(t, key, 42, now.Add(-time.Minute), now.Add(5*time.Minute)), 7); err != nil {
		t.Errorf("numeric iss: %v", err)
	}

	bad := []struct {
		name string
		jwt  string
		inst int64
		code int
	}{
		{"expired", appJWT(t, key, "42", now.Add(-20*time.Minute), now.Add(-10*time.Minute)), 7, 401},
		{"too long", appJWT(t, key, "42", now, now.Add(30*time.Minute)), 7, 401},
		{"wrong key", appJWT(t, other, "42", now, now.Add(5*time.Minute)), 7, 401},
		{"unknown app", appJWT(t, key, "43", now, now.Add(5*time.Minute)), 7, 401},
		{"issued later", appJWT(t, key, "42", now.Add(5*time.Minute), now.Add(6*time.Minute)), 7, 401},
		{"garbage", "not.a.jwt", 7, 401},
		{"a personal token", testToken, 7, 401},
		{"unknown installation", appJWT(t, key, "42", now, now.Add(5*time.Minute)), 8, 404},
	}
	for _, b := range bad {
		if _, err := mint(b.jwt, b.inst); ghStatus(err) != b.code {
			t.Errorf("%s: %v, want %d", b.name, err, b.code)
		}
	}
	// An HS256 token signed with the public key is not accepted.
	hs, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": "42", "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}).SignedString([]byte("secret"))
	if _, err := mint(hs, 7); ghStatus(err) != 401 {
		t.Errorf("HS256: %v", err)
	}

	// The installation token expires.
	clock.Advance(time.Hour)
	if _, _, err := bot.Issues.Get(ctx, "kube", "kube", 1); ghStatus(err) != 401 {
		t.Errorf("expired installation token: %v", err)
	}
}

// testBundle is a Sigstore bundle (v0.3, key-signed) around an in-toto
// statement about digests.
func testBundle(predicateType string, digests ...string) json.RawMessage {
	var subs []map[string]any
	for i, d := range digests {
		subs = append(subs, map[string]any{"name": fmt.Sprintf("artifact-%d", i), "digest": map[string]string{"sha256": d}})
	}
	st, _ := json.Marshal(map[string]any{
		"_type": "https://in-toto.io/Statement/v1", "subject": subs,
		"predicateType": predicateType, "predicate": map[string]any{},
	})
	b, _ := json.Marshal(map[string]any{
		"mediaType":            "application/vnd.dev.sigstore.bundle.v0.3+json",
		"verificationMaterial": map[string]any{"publicKey": map[string]string{"hint": "key-1"}},
		"dsseEnvelope": map[string]any{
			"payload":     base64.StdEncoding.EncodeToString(st),
			"payloadType": "application/vnd.in-toto+json",
			"signatures":  []map[string]string{{"sig": base64.StdEncoding.EncodeToString([]byte("sig")), "keyid": "key-1"}},
		},
	})
	return b
}

func TestAttestations(t *testing.T) {
	s, _, gh := newServer(t)
	ctx := context.Background()
	digest := strings.Repeat("ab", 32)
	upload := func(b json.RawMessage) (int, int64) {
		t.Helper()
		req, err := gh.NewRequest("POST", "repos/kube/kube/attestations", map[string]json.RawMessage{"bundle": b})
		if err != nil {
			t.Fatal(err)
		}
		var out struct {
			ID int64 `json:"id"`
		}
		resp, _ := gh.Do(ctx, req, &out)
		return resp.StatusCode, out.ID
	}
	var ids []int64
	for i := range 3 {
		code, id := upload(testBundle("https://openvex.dev/ns/v0.2.0", digest, strings.Repeat(strconv.Itoa(i), 64)))
		if code != 201 || id == 0 {
			t.Fatalf("upload %d: %d", i, code)
		}
		ids = append(ids, id)
	}
	upload(testBundle("https://slsa.dev/provenance/v1", digest))

	// Two a page, newest first, with the after cursor.
	var got []json.RawMessage
	var after string
	for range 5 {
		path := "repos/kube/kube/attestations/sha256:" + digest + "?per_page=2&predicate_type=https://openvex.dev/ns/v0.2.0"
		if after != "" {
			path += "&after=" + after
		}
		req, _ := gh.NewRequest("GET", path, nil)
		var out github.AttestationsResponse
		resp, err := gh.Do(ctx, req, &out)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range out.Attestations {
			if a.RepositoryID == 0 {
				t.Error("no repository_id")
			}
			got = append(got, a.Bundle)
		}
		if resp.After == "" {
			break
		}
		after = resp.After
	}
	if len(got) != 3 {
		t.Fatalf("%d attestations listed", len(got))
	}
	stored := s.Attestations(testRepo)
	if len(stored) != 4 || stored[0].ID != ids[0] || stored[0].PredicateType != "https://openvex.dev/ns/v0.2.0" ||
		!slices.Contains(stored[0].SubjectDigests, "sha256:"+digest) {
		t.Fatalf("stored %+v", stored)
	}
	var newest, bundle map[string]any
	_ = json.Unmarshal(got[0], &newest)
	_ = json.Unmarshal(stored[2].Bundle, &bundle)
	if fmt.Sprint(newest) != fmt.Sprint(bundle) {
		t.Errorf("bundle did not round-trip")
	}
	// go-github's own call, without a predicate filter.
	res, _, err := gh.Repositories.ListAttestations(ctx, "kube", "kube", "sha256:"+digest, nil)
	if err != nil || len(res.Attestations) != 4 {
		t.Errorf("ListAttestations: %v", err)
	}
	_, _, err = gh.Repositories.ListAttestations(ctx, "kube", "kube", "sha256:"+strings.Repeat("cd", 32), nil)
	if ghStatus(err) != 404 {
		t.Errorf("unknown digest: %v", err)
	}
	for name, b := range map[string]json.RawMessage{
		"not a bundle":   json.RawMessage(`{"hello":"world"}`),
		"no subjects":    testBundle("x"),
		"not an object":  json.RawMessage(`"bundle"`),
		"missing bundle": nil,
	} {
		if code, _ := upload(b); code != 422 {
			t.Errorf("%s: %d", name, code)
		}
	}
}

func TestDeliver(t *testing.T) {
	secret := "hook-secret"
	payload := map[string]any{"action": "created", "comment": map[string]any{"body": "/vex not_affected"}}
	type got struct {
		event, delivery, ct string
		body                []byte
		err                 error
	}
	ch := make(chan got, 2)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := github.ValidatePayload(r, []byte(secret))
		ch <- got{r.Header.Get("X-GitHub-Event"), r.Header.Get("X-GitHub-Delivery"), r.Header.Get("Content-Type"), body, err}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer hook.Close()

	resp, err := Deliver(context.Background(), hook.URL, secret, "issue_comment", "d-1", payload)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	g := <-ch
	if resp.StatusCode != 202 || g.err != nil || g.event != "issue_comment" || g.delivery != "d-1" || g.ct != "application/json" {
		t.Fatalf("delivery: %d %+v", resp.StatusCode, g)
	}
	ev, err := github.ParseWebHook(g.event, g.body)
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := ev.(*github.IssueCommentEvent); !ok || c.GetComment().GetBody() != "/vex not_affected" {
		t.Errorf("parsed %T", ev)
	}
	// Signed with another secret, the signature does not validate.
	resp, err = Deliver(context.Background(), hook.URL, "wrong", "issue_comment", "d-2", payload)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if g := <-ch; g.err == nil {
		t.Error("wrong secret validated")
	}
}

func TestConcurrentComments(t *testing.T) {
	s, _, gh := newServer(t)
	ctx := context.Background()
	s.AddIssue(testRepo, IssueInput{Title: "a"})
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if _, _, err := gh.Issues.CreateComment(ctx, "kube", "kube", 1, &github.IssueComment{Body: github.Ptr(strconv.Itoa(i))}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	cs := s.Comments(testRepo, 1)
	if len(cs) != 20 || s.Issue(testRepo, 1).Comments != 20 {
		t.Fatalf("%d comments", len(cs))
	}
	for i := 1; i < len(cs); i++ {
		if cs[i].ID != cs[i-1].ID+1 {
			t.Errorf("IDs not sequential: %d after %d", cs[i].ID, cs[i-1].ID)
		}
	}
}
