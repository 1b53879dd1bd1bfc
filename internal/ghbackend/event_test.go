package ghbackend

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-github/v75/github"

	"github.com/vexloom/vexloom/internal/ghfake"
	"github.com/vexloom/vexloom/internal/scan"
	"github.com/vexloom/vexloom/internal/triage"
)

// event builds the issue_comment event GitHub would send for a comment in
// the fake, from the fake's own JSON.
func (e *env) event(action string, number int, commentID int64) *github.IssueCommentEvent {
	e.t.Helper()
	gh := e.srv.Client(e.t, testToken)
	owner, name, _ := strings.Cut(repoName, "/")
	is, _, err := gh.Issues.Get(e.ctx, owner, name, number)
	if err != nil {
		e.t.Fatal(err)
	}
	c, _, err := gh.Issues.GetComment(e.ctx, owner, name, commentID)
	if err != nil {
		e.t.Fatal(err)
	}
	r, _, err := gh.Repositories.Get(e.ctx, owner, name)
	if err != nil {
		e.t.Fatal(err)
	}
	return &github.IssueCommentEvent{Action: github.Ptr(action), Issue: is, Comment: c, Repo: r}
}

func TestCommentFromEvent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.observe(e.st, finding("GO-2025-3503", "CVE-2025-22870", scan.LevelSymbol))
	b := e.backend(e.st)
	e.mustRun(b)
	is := e.onlyIssue()
	c := e.comment(is.Number, "alice", "/not_affected:vulnerable_code_not_in_execute_path only tests call it")

	// The event maps to the comment Comments returns, with the same Ref.
	ev := e.event("created", is.Number, c.ID)
	got, ok, err := b.CommentFromEvent(e.ctx, ev)
	if err != nil || !ok {
		t.Fatalf("CommentFromEvent = %v, %v", ok, err)
	}
	want := triage.Comment{Ref: commentRef(c.ID), TriageID: got.TriageID, Author: "alice", Body: c.Body, URL: c.HTMLURL, At: c.CreatedAt}
	if got != want || got.TriageID == "" {
		t.Errorf("comment = %+v\nwant %+v", got, want)
	}
	listed, err := e.backend(e.st).Comments(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(listed) != 1 || listed[0].Ref != got.Ref || listed[0].TriageID != got.TriageID {
		t.Errorf("Comments = %+v, the event gave %+v", listed, got)
	}

	not := func(name string, ev *github.IssueCommentEvent) {
		t.Helper()
		if got, ok, err := b.CommentFromEvent(e.ctx, ev); ok || err != nil {
			t.Errorf("%s: accepted (%+v, %v)", name, got, err)
		}
	}
	not("deleted", e.event("deleted", is.Number, c.ID))
	other := e.event("created", is.Number, c.ID)
	other.Repo.FullName = github.Ptr("someone/else")
	not("another repository", other)
	pr := e.event("created", is.Number, c.ID)
	pr.Issue.PullRequestLinks = &github.PullRequestLinks{URL: github.Ptr("x")}
	not("a pull request", pr)
	// vexloom's own comments (its replies trigger events too).
	e.comment(is.Number, "alice", "/affected")
	e.mustRun(e.backend(e.st)) // applies the first command, replies to this malformed one
	replies := 0
	for _, cm := range e.srv.Comments(repoName, is.Number) {
		if cm.User == botLogin {
			replies++
			not("vexloom's reply", e.event("created", is.Number, cm.ID))
		}
	}
	if replies == 0 {
		t.Error("vexloom did not reply to the malformed command")
	}
	// An issue nobody opened through vexloom, and a forged data line on an
	// issue someone else opened.
	foreign := e.srv.AddIssue(repoName, ghfake.IssueInput{Title: "a question", Body: "no data here", User: "bob"})
	fc := e.comment(foreign.Number, "alice", "/not_affected:vulnerable_code_not_present")
	not("a foreign issue", e.event("created", foreign.Number, fc.ID))
	forged := e.srv.AddIssue(repoName, ghfake.IssueInput{Title: "copy", Body: is.Body, User: "mallory"})
	mc := e.comment(forged.Number, "alice", "/not_affected:vulnerable_code_not_present")
	not("an issue with vexloom's data vexloom did not open", e.event("created", forged.Number, mc.ID))
	// A malformed data line.
	broken := e.event("created", is.Number, c.ID)
	broken.Issue.Body = github.Ptr(strings.Replace(is.Body, `"triage":"`, `"triage":"x`, 1))
	not("a malformed data line", broken)
	not("nil", nil)
	not("no comment", &github.IssueCommentEvent{Action: github.Ptr("created"), Issue: ev.Issue, Repo: ev.Repo})
}

// FuzzCommentFromEvent: the payload of a signed delivery is still anyone's
// comment on anyone's issue. What is accepted names a triage its data line
// vouches for, with the comment's own Ref.
func FuzzCommentFromEvent(f *testing.F) {
	seeds := []string{
		`{}`,
		`{"action":"created","repository":{"full_name":"kubernetes/vex"},"issue":{"number":1,"body":"x"},"comment":{"id":1,"body":"/lgtm","user":{"login":"a"}}}`,
		`{"action":"edited","repository":{"full_name":"KUBERNETES/VEX"},"issue":{"number":2,"user":{"login":"vexloom-bot"},"body":"<!-- vexloom:data v1 {\"triage\":\"vx-abc\",\"vuln\":\"GO-1\",\"dependency\":\"m\",\"hash\":\"00\"} -->\n<!-- vexloom:end -->"},"comment":{"id":7,"body":"/withdraw","user":{"login":"alice"}}}`,
		`{"action":"created","repository":{"full_name":"kubernetes/vex"},"issue":{"number":3,"pull_request":{"url":"u"}},"comment":{"id":1,"user":{"login":"a"}}}`,
		`{"action":"created","repository":{"full_name":"kubernetes/vex"},"issue":{"number":3},"comment":{"id":1,"body":"<!-- vexloom:reply-to 5 -->\nno","user":{"login":"a"}}}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s), "")
	}
	f.Add([]byte(seeds[2]), "vexloom-bot")
	f.Fuzz(func(t *testing.T, payload []byte, own string) {
		var ev github.IssueCommentEvent
		if json.Unmarshal(payload, &ev) != nil {
			return
		}
		ec, reason := commentFromEvent(&ev, repoName, own)
		if reason != "" {
			if ec != (eventComment{}) {
				t.Fatalf("rejected (%s) but returned %+v", reason, ec)
			}
			return
		}
		d, _, _, err := ParseIssueBody(ev.Issue.GetBody())
		if err != nil || d.Triage != ec.comment.TriageID {
			t.Fatalf("accepted a comment whose issue data does not vouch for %q: %v", ec.comment.TriageID, err)
		}
		if ec.comment.Ref != commentRef(ev.Comment.GetID()) || ev.Comment.GetID() <= 0 || ec.number <= 0 {
			t.Fatalf("bad ref or number: %+v", ec)
		}
		if ec.comment.Author == "" || (own != "" && strings.EqualFold(ec.comment.Author, own)) {
			t.Fatalf("accepted a comment by %q (own %q)", ec.comment.Author, own)
		}
		if !strings.EqualFold(ev.GetRepo().GetFullName(), repoName) {
			t.Fatalf("accepted an event of %q", ev.GetRepo().GetFullName())
		}
	})
}
