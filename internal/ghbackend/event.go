package ghbackend

import (
	"context"
	"errors"
	"strings"

	"github.com/google/go-github/v75/github"

	"github.com/vexloom/vexloom/internal/triage"
)

// maxCommentBody bounds the body of a comment read from a webhook: GitHub
// caps a comment at 65536 characters, up to 4 bytes each.
const maxCommentBody = 4 * 65536

// eventComment is what an issue_comment event says, checked without the
// store: the comment, the triage its issue's data line names, and the
// issue's number and author.
type eventComment struct {
	comment     triage.Comment
	number      int
	issueAuthor string
}

// commentFromEvent reads an issue_comment event of repository repo
// ("org/repo"). It returns a reason instead when the event is not a
// command for vexloom: another action, another repository, a pull
// request, vexloom's own comment, an issue without vexloom's data line or
// with a malformed one. The event is outside input (signed, but its
// content is anyone's comment).
func commentFromEvent(ev *github.IssueCommentEvent, repo, ownLogin string) (eventComment, string) {
	if ev == nil || ev.Comment == nil || ev.Issue == nil {
		return eventComment{}, "the event has no comment or issue"
	}
	switch ev.GetAction() {
	case "created", "edited":
	default:
		return eventComment{}, "action " + shorten(ev.GetAction(), 32)
	}
	if full := ev.GetRepo().GetFullName(); !strings.EqualFold(full, repo) {
		return eventComment{}, "repository " + shorten(full, 200) + " is not the triage repository"
	}
	is, c := ev.Issue, ev.Comment
	if is.IsPullRequest() {
		return eventComment{}, "a pull request"
	}
	number := is.GetNumber()
	if number <= 0 || c.GetID() <= 0 {
		return eventComment{}, "no issue number or comment ID"
	}
	author := c.GetUser().GetLogin()
	if author == "" {
		return eventComment{}, "the comment has no author"
	}
	if ownLogin != "" && strings.EqualFold(author, ownLogin) {
		return eventComment{}, "vexloom's own comment"
	}
	if _, ok := parseMarker(c.GetBody()); ok && ownLogin == "" {
		return eventComment{}, "vexloom's own comment"
	}
	if len(c.GetBody()) > maxCommentBody {
		return eventComment{}, "the comment is too large"
	}
	d, _, _, err := ParseIssueBody(is.GetBody())
	if errors.Is(err, ErrNoData) {
		return eventComment{}, "not a triage issue"
	}
	if err != nil {
		return eventComment{}, err.Error()
	}
	return eventComment{
		comment: triage.Comment{
			Ref:      commentRef(c.GetID()),
			TriageID: d.Triage,
			Author:   author,
			Body:     c.GetBody(),
			URL:      c.GetHTMLURL(),
			At:       c.GetCreatedAt().Time,
		},
		number:      number,
		issueAuthor: is.GetUser().GetLogin(),
	}, ""
}

// CommentFromEvent maps an issue_comment webhook event to the triage
// comment it carries, as Comments would return it (same Ref, so a comment
// seen both ways is applied once). It reports false, logging why, for an
// event that is not a command on one of this backend's triage issues:
// another repository, a pull request, vexloom's own comment, an issue
// without vexloom's data line or with a malformed one, an issue vexloom
// did not open, or one the store does not know yet (the next update reads
// it). The error is for failures of the store or of GitHub.
func (b *Backend) CommentFromEvent(ctx context.Context, ev *github.IssueCommentEvent) (triage.Comment, bool, error) {
	if err := b.resolveLogin(ctx); err != nil {
		return triage.Comment{}, false, err
	}
	login := b.ownLogin()
	ec, reason := commentFromEvent(ev, b.repo, login)
	if reason != "" {
		b.log.Info("webhook comment not for vexloom", "reason", reason)
		return triage.Comment{}, false, nil
	}
	if login != "" && !strings.EqualFold(ec.issueAuthor, login) {
		b.log.Warn("ignoring a comment on an issue with vexloom's data that vexloom did not open", "issue", ec.number, "author", ec.issueAuthor)
		return triage.Comment{}, false, nil
	}
	known, err := b.triageOf(ctx, ec.number)
	if err != nil {
		return triage.Comment{}, false, err
	}
	switch {
	case known == "":
		b.log.Info("webhook comment on an issue the store does not know yet; the next update reads it", "issue", ec.number)
		return triage.Comment{}, false, nil
	case known != ec.comment.TriageID:
		b.log.Warn("ignoring a comment on an issue whose data names another triage", "issue", ec.number, "data", ec.comment.TriageID, "store", known)
		return triage.Comment{}, false, nil
	}
	return ec.comment, true, nil
}
