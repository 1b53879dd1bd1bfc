package bridge

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v75/github"

	"github.com/vexloom/vexloom/internal/ghfake"
	"github.com/vexloom/vexloom/internal/owners"
	"github.com/vexloom/vexloom/internal/triage"
)

const (
	from  = "kubernetes/kubernetes"
	label = "vex-unaffected-feed"
	token = "bridge-token"
)

// policy is a Kubernetes-shaped OWNERS tree: root approvers, dependency
// approvers in vendor/OWNERS, a kubelet approver who has no say over
// dependencies, reviewers, and a security team through an alias.
func policy(t *testing.T) *owners.Approvers {
	t.Helper()
	files := map[string]string{
		"OWNERS": "approvers:\n  - root-approver\nreviewers:\n  - a-reviewer\n",
		"OWNERS_ALIASES": "aliases:\n  security-response-committee:\n    - sec-person\n" +
			"  dep-approvers:\n    - dep-approver\n",
		"vendor/OWNERS":      "approvers:\n  - dep-approvers\n  - cased-approver\nreviewers:\n  - dep-reviewer\n",
		"pkg/kubelet/OWNERS": "approvers:\n  - kubelet-approver\n",
	}
	var names []string
	for n := range files {
		names = append(names, n)
	}
	tree, warnings, err := owners.Load(names, func(p string) ([]byte, error) {
		s, ok := files[p]
		if !ok {
			return nil, fs.ErrNotExist
		}
		return []byte(s), nil
	})
	if err != nil || len(warnings) > 0 {
		t.Fatalf("loading OWNERS: %v %v", err, warnings)
	}
	return &owners.Approvers{Tree: tree, SecurityTeam: []string{"security-response-committee"}}
}

// triages is the triage side: it opens one triage per vulnerability set
// and module, and keeps the comments handed to it.
type triages struct {
	ids      map[string]string
	opened   []Candidate
	comments []triage.Comment
	failOpen string // a module whose triage cannot be opened
}

func (tr *triages) open(ctx context.Context, c Candidate) (string, bool, error) {
	if c.Module == tr.failOpen {
		return "", false, errors.New("the store is read-only")
	}
	if tr.ids == nil {
		tr.ids = map[string]string{}
	}
	key := strings.Join(c.VulnIDs, ",") + " " + c.Module
	tr.opened = append(tr.opened, c)
	if id, ok := tr.ids[key]; ok {
		return id, false, nil
	}
	id := fmt.Sprintf("vx-%d", len(tr.ids)+1)
	tr.ids[key] = id
	return id, true, nil
}

func (tr *triages) comment(ctx context.Context, c triage.Comment) error {
	tr.comments = append(tr.comments, c)
	return nil
}

func fakeGitHub(t *testing.T) *ghfake.Server {
	srv := ghfake.New(t)
	srv.AddToken(token, "vexloom-bot")
	srv.CreateRepo(from)
	return srv
}

func run(t *testing.T, srv *ghfake.Server, tr *triages) (Report, error) {
	t.Helper()
	return Run(t.Context(), Options{
		Client:    srv.Client(t, token),
		From:      from,
		Label:     label,
		Approvers: policy(t),
		Open:      tr.open,
		Comment:   tr.comment,
	})
}

func skipped(rep Report, url string) string {
	for _, s := range rep.Skipped {
		if s.URL == url {
			return s.Reason
		}
	}
	return ""
}

func TestBridge(t *testing.T) {
	srv := fakeGitHub(t)
	at := time.Date(2026, 1, 10, 9, 0, 0, 0, time.UTC)
	add := func(in ghfake.IssueInput) ghfake.Issue {
		at = at.Add(time.Hour)
		in.CreatedAt = at
		return srv.AddIssue(from, in)
	}
	netIssue := add(ghfake.IssueInput{
		Title:  "CVE-2025-22870: golang.org/x/net",
		Body:   "govulncheck reports GO-2025-3503.\n\nFound in: golang.org/x/net@v0.33.0\nFixed in: golang.org/x/net@v0.36.0\nSee https://github.com/kubernetes/kubernetes/issues/130000",
		Labels: []string{label, "kind/bug"},
	})
	closed := add(ghfake.IssueInput{
		Title:  "Vulnerability in a dependency",
		Body:   "ghsa-W32M-9786-JP63 affects `github.com/foo/bar/v2` (pkg:golang/github.com/foo/bar/v2@v2.3.0).",
		Labels: []string{label},
		State:  "closed",
	})
	twoModules := add(ghfake.IssueInput{Title: "CVE-2025-30204 in golang.org/x/net and github.com/golang-jwt/jwt/v5", Labels: []string{label}})
	noModule := add(ghfake.IssueInput{Title: "CVE-2025-0913 in the standard library", Body: "os.OpenFile follows symlinks", Labels: []string{label}})
	noID := add(ghfake.IssueInput{Title: "Bump golang.org/x/crypto", Body: "please", Labels: []string{label}})
	add(ghfake.IssueInput{Title: "CVE-2025-9999: golang.org/x/text", Labels: []string{"kind/bug"}}) // not labelled

	type cm struct {
		user, body string
	}
	var comments []ghfake.Comment
	for _, c := range []cm{
		{"dep-approver", "Looked into it.\n\n/not_affected:vulnerable_code_not_in_execute_path\nWe never parse untrusted HTML.\n/lgtm\n/assign @dims"},
		{"kubelet-approver", "/fixed"},
		{"a-reviewer", "/under_investigation"},
		{"root-approver", "/not_affected:vulnerable-code-not-reachable because reasons"},
		{"root-approver", "Thanks! Nothing for vexloom here.\n/retest\n/hold"},
		{"dep-approver", "> /fixed\n\nquoting is not applying"},
		{"sec-person", "Security team here.\n\n/under_investigation branches=release-1.33,release-1.32\nChecking the kubelet.\n\n/cc @root-approver\n\n/Affected branches=release-1.31\nUpgrade to 1.31.9."},
		{"Cased-Approver", "/withdraw"},
	} {
		comments = append(comments, srv.AddComment(from, netIssue.Number, c.user, c.body))
	}
	jwtComment := srv.AddComment(from, closed.Number, "root-approver", "/fixed")

	tr := &triages{}
	rep, err := run(t, srv, tr)
	if err != nil {
		t.Fatal(err)
	}

	// Triages opened for the two readable issues, oldest first.
	if len(rep.Opened) != 2 || len(rep.Updated) != 0 {
		t.Fatalf("opened %v, updated %v", rep.Opened, rep.Updated)
	}
	wantNet := Candidate{VulnIDs: []string{"CVE-2025-22870", "GO-2025-3503"}, Module: "golang.org/x/net", SourceURL: netIssue.HTMLURL, Title: netIssue.Title}
	wantJWT := Candidate{VulnIDs: []string{"GHSA-W32M-9786-JP63"}, Module: "github.com/foo/bar/v2", SourceURL: closed.HTMLURL, Title: closed.Title}
	for i, want := range []Candidate{wantNet, wantJWT} {
		got := rep.Opened[i].Candidate
		if !slices.Equal(got.VulnIDs, want.VulnIDs) || got.Module != want.Module || got.SourceURL != want.SourceURL || got.Title != want.Title {
			t.Errorf("candidate %d = %+v, want %+v", i, got, want)
		}
		if rep.Opened[i].URL != want.SourceURL || rep.Opened[i].TriageID != fmt.Sprintf("vx-%d", i+1) {
			t.Errorf("bridged %d = %+v", i, rep.Opened[i])
		}
	}

	// Skipped issues, each with its reason.
	for _, tc := range []struct {
		url, reason string
	}{
		{twoModules.HTMLURL, "several Go modules"},
		{noModule.HTMLURL, "no Go module path"},
		{noID.HTMLURL, "no vulnerability ID"},
		{comments[1].HTMLURL, "kubelet-approver is not an approver of . or vendor/golang.org/x/net and not in the security team"},
		{comments[2].HTMLURL, "a-reviewer is not an approver"},
		{comments[3].HTMLURL, "not an OpenVEX justification"},
	} {
		if got := skipped(rep, tc.url); !strings.Contains(got, tc.reason) {
			t.Errorf("skip reason for %s = %q, want it to contain %q", tc.url, got, tc.reason)
		}
	}
	if len(rep.Skipped) != 6 {
		t.Errorf("%d skipped, want 6: %+v", len(rep.Skipped), rep.Skipped)
	}

	// The commands copied: only the command lines, with a link back.
	want := []triage.Comment{
		{Ref: fmt.Sprintf("bridge:%s#%d", from, comments[0].ID), TriageID: "vx-1", Author: "dep-approver",
			Body: "/not_affected:vulnerable_code_not_in_execute_path\nWe never parse untrusted HTML.", URL: comments[0].HTMLURL, At: comments[0].CreatedAt},
		{Ref: fmt.Sprintf("bridge:%s#%d", from, comments[6].ID), TriageID: "vx-1", Author: "sec-person",
			Body: "/under_investigation branches=release-1.33,release-1.32\nChecking the kubelet.\n\n/Affected branches=release-1.31\nUpgrade to 1.31.9.", URL: comments[6].HTMLURL, At: comments[6].CreatedAt},
		{Ref: fmt.Sprintf("bridge:%s#%d", from, comments[7].ID), TriageID: "vx-1", Author: "Cased-Approver",
			Body: "/withdraw", URL: comments[7].HTMLURL, At: comments[7].CreatedAt},
		{Ref: fmt.Sprintf("bridge:%s#%d", from, jwtComment.ID), TriageID: "vx-2", Author: "root-approver",
			Body: "/fixed", URL: jwtComment.HTMLURL, At: jwtComment.CreatedAt},
	}
	if len(tr.comments) != len(want) {
		t.Fatalf("copied %d comments, want %d: %+v", len(tr.comments), len(want), tr.comments)
	}
	for i := range want {
		got := tr.comments[i]
		if got.Ref != want[i].Ref || got.TriageID != want[i].TriageID || got.Author != want[i].Author ||
			got.Body != want[i].Body || got.URL != want[i].URL || !got.At.Equal(want[i].At) {
			t.Errorf("comment %d:\n got %+v\nwant %+v", i, got, want[i])
		}
	}
	if len(rep.Copied) != 4 || !slices.Equal(rep.Copied[1].Commands, []string{
		"/under_investigation branches=release-1.33,release-1.32", "/affected branches=release-1.31",
	}) {
		t.Errorf("report of copies: %+v", rep.Copied)
	}

	// A second run finds the same triages: updated, not opened.
	rep, err = run(t, srv, tr)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Opened) != 0 || len(rep.Updated) != 2 || rep.Updated[0].TriageID != "vx-1" {
		t.Fatalf("second run: opened %v, updated %v", rep.Opened, rep.Updated)
	}
}

func TestPagination(t *testing.T) {
	srv := fakeGitHub(t)
	const issues, comments = 230, 250
	base := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	for i := range issues {
		srv.AddIssue(from, ghfake.IssueInput{
			Title:     fmt.Sprintf("CVE-2025-%05d: golang.org/x/net", 10000+i),
			Labels:    []string{label},
			CreatedAt: base.Add(time.Duration(i) * time.Minute),
		})
	}
	last := issues // the last issue listed holds the command on its last comment page
	for i := range comments - 1 {
		srv.AddComment(from, last, "a-reviewer", fmt.Sprintf("+1 (%d)", i))
	}
	cmd := srv.AddComment(from, last, "dep-approver", "/not_affected:vulnerable_code_not_present")
	srv.ResetLog()

	tr := &triages{}
	rep, err := run(t, srv, tr)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Opened) != issues {
		t.Fatalf("opened %d triages, want %d", len(rep.Opened), issues)
	}
	if len(tr.comments) != 1 || tr.comments[0].URL != cmd.HTMLURL {
		t.Fatalf("the command on the last comment page was not copied: %+v", tr.comments)
	}
	var issuePages, commentPages []string
	for _, r := range srv.Log() {
		if r.Status != http.StatusOK {
			t.Errorf("%s %s?%s: %d", r.Method, r.Path, r.RawQuery, r.Status)
		}
		switch {
		case strings.HasSuffix(r.Path, "/issues"):
			issuePages = append(issuePages, r.RawQuery)
		case strings.HasSuffix(r.Path, fmt.Sprintf("/issues/%d/comments", last)):
			commentPages = append(commentPages, r.RawQuery)
		}
	}
	if len(issuePages) != 3 || len(commentPages) != 3 {
		t.Errorf("issue pages %q, comment pages of the last issue %q; want 3 each", issuePages, commentPages)
	}
	for _, q := range issuePages {
		if !strings.Contains(q, "state=all") || !strings.Contains(q, "per_page=100") || !strings.Contains(q, "labels="+label) {
			t.Errorf("issue list query %q", q)
		}
	}
}

func TestFailuresDoNotStopTheRun(t *testing.T) {
	srv := fakeGitHub(t)
	bad := srv.AddIssue(from, ghfake.IssueInput{Title: "CVE-2025-0001: golang.org/x/crypto", Labels: []string{label}, CreatedAt: time.Now().Add(-time.Hour)})
	good := srv.AddIssue(from, ghfake.IssueInput{Title: "CVE-2025-0002: golang.org/x/net", Labels: []string{label}})
	tr := &triages{failOpen: "golang.org/x/crypto"}
	rep, err := run(t, srv, tr)
	if err == nil || !strings.Contains(err.Error(), "the store is read-only") || !strings.Contains(err.Error(), bad.HTMLURL) {
		t.Fatalf("error %v does not report the failed Open", err)
	}
	if len(rep.Opened) != 1 || rep.Opened[0].URL != good.HTMLURL {
		t.Errorf("the other issue was not bridged: %+v", rep.Opened)
	}
	if !strings.Contains(skipped(rep, bad.HTMLURL), "opening the triage") {
		t.Errorf("skipped: %+v", rep.Skipped)
	}

	// GitHub failing to list the issues stops the run with the error.
	srv.Fail(ghfake.Fault{Method: http.MethodGet, Path: "/repos/" + from + "/issues", Status: http.StatusNotFound, Body: `{"message":"Not Found"}`, Times: 1})
	if _, err := run(t, srv, &triages{}); err == nil || !strings.Contains(err.Error(), "listing the issues") {
		t.Fatalf("listing failure: %v", err)
	}
}

func TestOptions(t *testing.T) {
	srv := fakeGitHub(t)
	tr := &triages{}
	good := Options{Client: srv.Client(t, token), From: from, Label: label, Approvers: policy(t), Open: tr.open, Comment: tr.comment}
	for name, mutate := range map[string]func(*Options){
		"no client":   func(o *Options) { o.Client = nil },
		"bad from":    func(o *Options) { o.From = "kubernetes" },
		"bad from 2":  func(o *Options) { o.From = "a/b/c" },
		"no label":    func(o *Options) { o.Label = " " },
		"no policy":   func(o *Options) { o.Approvers = nil },
		"no open":     func(o *Options) { o.Open = nil },
		"no comment":  func(o *Options) { o.Comment = nil },
		"empty owner": func(o *Options) { o.From = "/repo" },
	} {
		o := good
		mutate(&o)
		if _, err := Run(t.Context(), o); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v, want ErrConfig", name, err)
		}
	}
	if _, err := Run(t.Context(), good); err != nil {
		t.Errorf("good options: %v", err)
	}
}

// An unauthenticated client gets GitHub's 401, reported as an error.
func TestUnauthenticated(t *testing.T) {
	srv := fakeGitHub(t)
	srv.AddIssue(from, ghfake.IssueInput{Title: "CVE-2025-0002: golang.org/x/net", Labels: []string{label}})
	tr := &triages{}
	_, err := Run(t.Context(), Options{Client: srv.Client(t, "wrong"), From: from, Label: label, Approvers: policy(t), Open: tr.open, Comment: tr.comment})
	var ghErr *github.ErrorResponse
	if !errors.As(err, &ghErr) || ghErr.Response.StatusCode != http.StatusUnauthorized {
		t.Fatalf("got %v, want GitHub's 401", err)
	}
	if len(tr.opened) != 0 {
		t.Error("opened triages without reading GitHub")
	}
}
