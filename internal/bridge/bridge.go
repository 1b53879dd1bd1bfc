// Package bridge carries vulnerability reports from another repository's
// issues into vexloom's triages: Kubernetes' alpha workflow, where issues
// labelled vex-unaffected-feed in kubernetes/kubernetes name a
// vulnerability and the dependency it is in, and maintainers answer there.
//
// `vexloom bridge --from org/repo --label vex-unaffected-feed` reads every
// issue with the label, open or closed, takes the vulnerability IDs and the
// one affected Go module from it, and opens (or updates) the matching
// triage with a link back. It then copies the slash commands of the issue's
// comments into the triage, but only those of a person the OWNERS policy
// lets decide on that dependency, and only from comments whose commands
// parse without a problem. Whatever it cannot read with certainty it skips
// and reports with the reason; it never guesses a module or a command.
package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"

	"github.com/google/go-github/v75/github"

	"github.com/vexloom/vexloom/internal/chatops"
	"github.com/vexloom/vexloom/internal/owners"
	"github.com/vexloom/vexloom/internal/triage"
)

// ErrConfig is wrapped by errors about Options.
var ErrConfig = errors.New("invalid bridge configuration")

// pageSize is the largest page GitHub's list endpoints give.
const pageSize = 100

// Candidate is a vulnerability report found in the source repository.
type Candidate struct {
	// VulnIDs are the IDs named in the issue (CVE-, GHSA-, GO-),
	// upper-cased and sorted.
	VulnIDs []string
	// Module is the affected Go module's path.
	Module string
	// SourceURL is the issue's web address.
	SourceURL string
	// Title is the issue's title.
	Title string
}

// Options configure Run.
type Options struct {
	// Client reads the source repository.
	Client *github.Client
	// From is the source repository, "org/repo".
	From string
	// Label selects the issues to bridge.
	Label string
	// Approvers decide whose commands are copied. Required.
	Approvers *owners.Approvers
	// Open opens the triage of a candidate, or finds the one it already
	// has, and returns its ID and whether it was created now. It is
	// called for every bridged issue on every run, so it must be
	// idempotent.
	Open func(ctx context.Context, c Candidate) (triageID string, created bool, err error)
	// Comment hands a copied command to the triage. A comment is copied
	// again on every run under the same Ref; the triage applies each Ref
	// once.
	Comment func(ctx context.Context, c triage.Comment) error
	// Logger receives progress (nothing when nil).
	Logger *slog.Logger
}

// Report is what a run did.
type Report struct {
	// Opened are the issues whose triage was created by this run.
	Opened []Bridged
	// Updated are the issues whose triage already existed.
	Updated []Bridged
	// Copied are the comments whose commands were handed to a triage.
	Copied []Copied
	// Skipped are the issues and comments left out, with the reason.
	Skipped []Skip
}

// Bridged is a source issue and its triage.
type Bridged struct {
	URL      string
	TriageID string
	Candidate
}

// Copied is a comment copied into a triage.
type Copied struct {
	URL      string
	TriageID string
	Author   string
	// Commands are the copied commands in canonical form.
	Commands []string
}

// Skip is an issue or comment left out, and why.
type Skip struct {
	URL    string
	Reason string
}

// repoPart is an owner's or a repository's name, at most 100 bytes (the
// length checked apart: a bounded repetition compiles into as many states
// as its bound, at every start of the program).
var repoPart = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

func isRepoPart(s string) bool { return len(s) <= 100 && repoPart.MatchString(s) }

// Run bridges the labelled issues of the source repository. It reads every
// page of issues and comments; an issue or comment that cannot be bridged
// is skipped and reported, and does not stop the run. Failures of Open or
// Comment are reported the same way and also returned, joined, after the
// other issues were handled; a failure to list the issues stops the run.
func Run(ctx context.Context, opts Options) (Report, error) {
	var rep Report
	owner, repo, ok := strings.Cut(opts.From, "/")
	switch {
	case opts.Client == nil:
		return rep, fmt.Errorf("%w: no GitHub client", ErrConfig)
	case !ok || !isRepoPart(owner) || !isRepoPart(repo):
		return rep, fmt.Errorf("%w: %q is not a repository (org/repo)", ErrConfig, opts.From)
	case strings.TrimSpace(opts.Label) == "":
		return rep, fmt.Errorf("%w: no label", ErrConfig)
	case opts.Approvers == nil:
		return rep, fmt.Errorf("%w: no OWNERS policy, so nobody's commands could be copied", ErrConfig)
	case opts.Open == nil || opts.Comment == nil:
		return rep, fmt.Errorf("%w: no triage to bridge into", ErrConfig)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := &bridge{opts: opts, owner: owner, repo: repo, log: log, rep: &rep}

	list := &github.IssueListByRepoOptions{
		State:       "all",
		Labels:      []string{opts.Label},
		Sort:        "created",
		Direction:   "asc",
		ListOptions: github.ListOptions{PerPage: pageSize},
	}
	for {
		issues, resp, err := opts.Client.Issues.ListByRepo(ctx, owner, repo, list)
		if err != nil {
			return rep, fmt.Errorf("listing the issues of %s labelled %s: %w", opts.From, opts.Label, err)
		}
		for _, is := range issues {
			if err := ctx.Err(); err != nil {
				return rep, err
			}
			b.issue(ctx, is)
		}
		// GitHub paginates this list by page number, or by cursor
		// ("after") for deep pages; follow whichever the Link gives.
		switch {
		case resp.NextPage != 0:
			list.ListOptions.Page = resp.NextPage
			continue
		case resp.After != "":
			list.ListOptions.Page = 0
			list.ListCursorOptions.After = resp.After
			continue
		}
		break
	}
	log.Info("bridge done", "from", opts.From, "label", opts.Label,
		"opened", len(rep.Opened), "updated", len(rep.Updated), "copied", len(rep.Copied), "skipped", len(rep.Skipped))
	return rep, errors.Join(b.errs...)
}

// bridge is one run.
type bridge struct {
	opts        Options
	owner, repo string
	log         *slog.Logger
	rep         *Report
	errs        []error
}

func (b *bridge) skip(url, format string, args ...any) {
	reason := fmt.Sprintf(format, args...)
	b.log.Debug("bridge skipped", "url", url, "reason", reason)
	b.rep.Skipped = append(b.rep.Skipped, Skip{URL: url, Reason: reason})
}

// fail records a failure of the triage side or of GitHub on one issue.
func (b *bridge) fail(url string, err error) {
	b.skip(url, "%v", err)
	b.errs = append(b.errs, fmt.Errorf("%s: %w", url, err))
}

func (b *bridge) issue(ctx context.Context, is *github.Issue) {
	url := is.GetHTMLURL()
	if is.IsPullRequest() {
		b.skip(url, "a pull request, not an issue")
		return
	}
	title, body := is.GetTitle(), is.GetBody()
	if len(title)+len(body) > MaxText {
		b.skip(url, "%v (%d bytes; at most %d are read)", ErrTooLarge, len(title)+len(body), MaxText)
		return
	}
	ids := VulnIDs(title + "\n" + body)
	if len(ids) == 0 {
		b.skip(url, "no vulnerability ID (CVE-, GHSA- or GO-) in the title or body")
		return
	}
	mod, err := ModuleOf(title, body)
	if err != nil {
		b.skip(url, "%v", err)
		return
	}
	c := Candidate{VulnIDs: ids, Module: mod, SourceURL: url, Title: title}
	id, created, err := b.opts.Open(ctx, c)
	if err != nil {
		b.fail(url, fmt.Errorf("opening the triage of %s in %s: %w", strings.Join(ids, ", "), mod, err))
		return
	}
	br := Bridged{URL: url, TriageID: id, Candidate: c}
	if created {
		b.rep.Opened = append(b.rep.Opened, br)
	} else {
		b.rep.Updated = append(b.rep.Updated, br)
	}
	b.comments(ctx, is, id, mod)
}

func (b *bridge) comments(ctx context.Context, is *github.Issue, triageID, mod string) {
	list := &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: pageSize}}
	dirs := []string{"", "vendor/" + mod}
	for {
		cs, resp, err := b.opts.Client.Issues.ListComments(ctx, b.owner, b.repo, is.GetNumber(), list)
		if err != nil {
			b.fail(is.GetHTMLURL(), fmt.Errorf("reading the comments: %w", err))
			return
		}
		for _, c := range cs {
			b.comment(ctx, c, triageID, dirs)
		}
		if resp.NextPage == 0 {
			return
		}
		list.Page = resp.NextPage
	}
}

func (b *bridge) comment(ctx context.Context, c *github.IssueComment, triageID string, dirs []string) {
	url := c.GetHTMLURL()
	cmds, problems := chatops.Parse(c.GetBody())
	if len(cmds) == 0 && len(problems) == 0 {
		return // no vexloom command: prose, or other bots' commands
	}
	author := c.GetUser().GetLogin()
	if d := b.opts.Approvers.CanDecide(author, dirs); !d.Allowed {
		b.skip(url, "not copied: %s", d.Reason)
		return
	}
	if len(problems) > 0 {
		var ps []string
		for _, p := range problems {
			ps = append(ps, p.Error())
		}
		b.skip(url, "not copied: a command is malformed: %s", strings.Join(ps, "; "))
		return
	}
	text, err := commandsOnly(cmds)
	if err != nil {
		b.skip(url, "not copied: %v", err)
		return
	}
	tc := triage.Comment{
		Ref:      "bridge:" + b.owner + "/" + b.repo + "#" + strconv.FormatInt(c.GetID(), 10),
		TriageID: triageID,
		Author:   author,
		Body:     text,
		URL:      url,
		At:       c.GetCreatedAt().Time,
	}
	if err := b.opts.Comment(ctx, tc); err != nil {
		b.fail(url, fmt.Errorf("copying the comment into %s: %w", triageID, err))
		return
	}
	cp := Copied{URL: url, TriageID: triageID, Author: author}
	for _, cmd := range cmds {
		cp.Commands = append(cp.Commands, cmd.String())
	}
	b.rep.Copied = append(b.rep.Copied, cp)
}

// commandsOnly returns the lines of a comment's commands, without the prose
// and other bots' commands around them, and checks that they read back as
// the same commands.
func commandsOnly(cmds []chatops.Command) (string, error) {
	var raws []string
	for _, c := range cmds {
		raws = append(raws, c.Raw)
	}
	text := strings.Join(raws, "\n\n")
	again, problems := chatops.Parse(text)
	same := len(problems) == 0 && len(again) == len(cmds)
	for i := 0; same && i < len(again); i++ {
		same = again[i].String() == cmds[i].String() && again[i].Text == cmds[i].Text
	}
	if !same {
		return "", errors.New("the commands cannot be separated from the rest of the comment")
	}
	return text, nil
}
