package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-github/v75/github"
)

// A person reopening a published triage's issue is recorded in the
// triage's history, once.
func TestGitHubReopenedIssueIsRecorded(t *testing.T) {
	t.Parallel()
	p := newGitHubProject(t)
	p.update()
	is := p.onlyIssue()
	p.gh.AddComment(triageRepo, is.Number, "demo-maintainer", decision)
	p.update()
	if p.onlyIssue().State != "closed" {
		t.Fatal("the issue was not closed on publication")
	}
	const tok = "ghp_MaintainerT0kenxxxxxxxxxxxxxxxxxxxxxxx"
	p.gh.AddToken(tok, "demo-maintainer")
	owner, name, _ := strings.Cut(triageRepo, "/")
	if _, _, err := p.gh.Client(t, tok).Issues.Edit(context.Background(), owner, name, is.Number, &github.IssueRequest{State: github.Ptr("open")}); err != nil {
		t.Fatal(err)
	}
	p.update()
	p.update()
	out := p.ok("history", htmlVuln, "--config", p.cfg)
	if n := strings.Count(out, "reopened by a person"); n != 1 {
		t.Errorf("the reopening is recorded %d times:\n%s", n, out)
	}
}
