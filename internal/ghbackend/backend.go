// Package ghbackend makes a GitHub repository vexloom's triage backend:
// one issue per triage that needs a person, slash commands in its
// comments, a reaction or a reply to each command, labels that show the
// triage's state, and a closing comment when its statement is published.
//
// It reads incrementally (the repository's issues and comments since the
// last run, as conditional requests with entity tags kept in the store),
// so a run with nothing new costs a handful of requests whatever the
// number of issues. Everything it does visibly is done once: the store
// records it, and a hidden marker in each of its comments lets a run that
// lost its record (a crash, another store) find it on GitHub instead of
// doing it again.
package ghbackend

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-github/v75/github"

	"github.com/vexloom/vexloom/internal/redact"
	"github.com/vexloom/vexloom/internal/store"
	"github.com/vexloom/vexloom/internal/triage"
)

// Labels name the label of each state.
type Labels struct {
	Open, Assessed, Published, Closed string
}

// DefaultLabels are the labels of a backend configured with none.
var DefaultLabels = Labels{Open: "vex/open", Assessed: "vex/assessed", Published: "vex/published", Closed: "vex/closed"}

// Options configure New.
type Options struct {
	Client    *github.Client
	Transport *Transport
	// Repo is the triage repository, "org/repo".
	Repo  string
	Store *store.Store
	// Labels name the state labels; empty names take DefaultLabels'.
	Labels Labels
	Logger *slog.Logger
	// VerifyHint says where a triage's published statement can be fetched
	// and verified (may be nil).
	VerifyHint func(triageID string) string
	// Login is vexloom's own GitHub login; when empty it is asked once
	// (GET /user, with a token) or learned from the first comment vexloom
	// makes (an app's bot), and kept in the store.
	Login string
	Now   func() time.Time
}

// Overlap is how far before the last seen update each incremental read
// starts, for updates GitHub lists late. What is read twice is applied once.
const Overlap = 2 * time.Minute

// maxPages bounds one listing (100 items a page).
const maxPages = 2000

// pendingTTL is how long a claim to post a comment keeps others from
// posting it; a claim older than this was left by a crashed run.
const pendingTTL = 10 * time.Minute

// Reopen is an issue a person reopened after vexloom closed it.
type Reopen struct {
	TriageID string
	Issue    int
	// At is when the issue was last updated, the reopening or later.
	At time.Time
}

// Backend is a GitHub repository as a triage backend.
type Backend struct {
	gh          *github.Client
	tr          *Transport
	owner, name string
	repo        string
	st          *store.Store
	labels      Labels
	log         *slog.Logger
	verify      func(string) string
	now         func() time.Time

	mu        sync.Mutex
	login     string
	byTriage  map[string]issueRef
	byNumber  map[int]string
	seen      map[int]*github.Issue
	pending   [][2]string // cursors committed by Sync
	reopened  []Reopen
	refreshed bool
	labelsOK  bool
}

type issueRef struct {
	number int
	url    string
}

// New returns the backend of a repository.
func New(o Options) (*Backend, error) {
	if o.Client == nil || o.Store == nil {
		return nil, errors.New("the GitHub backend needs a client and a store")
	}
	owner, name, ok := strings.Cut(o.Repo, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") || len(o.Repo) > 200 {
		return nil, fmt.Errorf("triage repository %q: want org/repo", o.Repo)
	}
	l := o.Labels
	if l.Open == "" {
		l.Open = DefaultLabels.Open
	}
	if l.Assessed == "" {
		l.Assessed = DefaultLabels.Assessed
	}
	if l.Published == "" {
		l.Published = DefaultLabels.Published
	}
	if l.Closed == "" {
		l.Closed = DefaultLabels.Closed
	}
	b := &Backend{
		gh: o.Client, tr: o.Transport, owner: owner, name: name, repo: o.Repo, st: o.Store,
		labels: l, verify: o.VerifyHint, now: o.Now, login: o.Login,
		byTriage: map[string]issueRef{}, byNumber: map[int]string{}, seen: map[int]*github.Issue{},
	}
	if b.now == nil {
		b.now = time.Now
	}
	clean := func(s string) string { return redact.String(s) }
	if o.Transport != nil {
		clean = o.Transport.Redact
	}
	b.log = redact.Logger(o.Logger, clean)
	return b, nil
}

var _ triage.Backend = (*Backend)(nil)

// Name is "github".
func (b *Backend) Name() string { return "github" }

// Requests is the number of HTTP requests sent so far (0 without a
// Transport).
func (b *Backend) Requests() int {
	if b.tr == nil {
		return 0
	}
	return b.tr.Requests()
}

// Reopened lists the issues found reopened by a person during this
// backend's life. vexloom keeps such an issue open, and the triage before
// people again, until a new statement is published or the triage closes.
func (b *Backend) Reopened() []Reopen {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.reopened)
}

// Link returns the issue of a triage ("" if it has none).
func (b *Backend) Link(triageID string) string {
	ref, ok, err := b.issueOf(context.Background(), triageID)
	if err != nil || !ok {
		return ""
	}
	return ref.url
}

func (b *Backend) key(parts ...string) string {
	return "github:" + b.repo + ":" + strings.Join(parts, ":")
}

func (b *Backend) issueKind() string { return "github-issue:" + b.repo }

const issueTriageKind = "github-issue-triage"

func (b *Backend) err(what string, err error) error {
	if b.tr != nil {
		err = b.tr.RedactError(err)
	}
	return fmt.Errorf("%s in %s: %w", what, b.repo, err)
}

// issueOf returns the issue of a triage, from memory or the store.
func (b *Backend) issueOf(ctx context.Context, triageID string) (issueRef, bool, error) {
	b.mu.Lock()
	ref, ok := b.byTriage[triageID]
	b.mu.Unlock()
	if ok {
		return ref, true, nil
	}
	acked, remote, err := b.st.Acked(ctx, triageID, b.issueKind())
	if err != nil || !acked {
		return issueRef{}, false, err
	}
	num, url, _ := strings.Cut(remote, " ")
	n, err := strconv.Atoi(num)
	if err != nil {
		return issueRef{}, false, fmt.Errorf("the store's issue of %s is %q", triageID, remote)
	}
	ref = issueRef{number: n, url: url}
	b.mu.Lock()
	b.byTriage[triageID] = ref
	b.byNumber[n] = triageID
	b.mu.Unlock()
	return ref, true, nil
}

// triageOf returns the triage of an issue number ("" for a foreign issue).
func (b *Backend) triageOf(ctx context.Context, number int) (string, error) {
	b.mu.Lock()
	id, ok := b.byNumber[number]
	b.mu.Unlock()
	if ok {
		return id, nil
	}
	acked, remote, err := b.st.Acked(ctx, b.repo+"#"+strconv.Itoa(number), issueTriageKind)
	if err != nil || !acked {
		return "", err
	}
	b.mu.Lock()
	b.byNumber[number] = remote
	b.mu.Unlock()
	return remote, nil
}

// remember records the issue of a triage. The first issue recorded for a
// triage stays its issue; it reports whether number is it.
func (b *Backend) remember(ctx context.Context, triageID string, number int, url string) (bool, error) {
	first, err := b.st.Claim(ctx, triageID, b.issueKind(), strconv.Itoa(number)+" "+url)
	if err != nil {
		return false, err
	}
	if !first {
		b.mu.Lock()
		delete(b.byTriage, triageID)
		b.mu.Unlock()
		ref, _, err := b.issueOf(ctx, triageID)
		if err != nil || ref.number != number {
			return false, err
		}
	}
	if err := b.st.Ack(ctx, b.repo+"#"+strconv.Itoa(number), issueTriageKind, triageID); err != nil {
		return false, err
	}
	b.mu.Lock()
	b.byTriage[triageID] = issueRef{number: number, url: url}
	b.byNumber[number] = triageID
	b.mu.Unlock()
	return true, nil
}

// resolveLogin finds vexloom's own login: given, kept in the store, or
// asked from GitHub with a token (installation tokens cannot ask; their
// bot's login is learned from the first comment vexloom makes).
func (b *Backend) resolveLogin(ctx context.Context) error {
	b.mu.Lock()
	known := b.login != ""
	b.mu.Unlock()
	if known {
		return nil
	}
	k := b.loginKey()
	if v, err := b.st.Cursor(ctx, k); err != nil {
		return err
	} else if v != "" {
		b.mu.Lock()
		b.login = v
		b.mu.Unlock()
		return nil
	}
	if b.tr == nil || b.tr.app != nil {
		return nil
	}
	u, _, err := b.gh.Users.Get(ctx, "")
	if err != nil {
		return b.err("reading vexloom's own login", err)
	}
	b.learnLogin(ctx, u)
	return nil
}

func (b *Backend) loginKey() string {
	switch {
	case b.tr == nil:
		return "github:login"
	case b.tr.app != nil:
		return fmt.Sprintf("github:login:app:%d", b.tr.app.appID)
	}
	sum := sha256.Sum256([]byte(b.tr.token))
	return "github:login:token:" + hex.EncodeToString(sum[:8])
}

func (b *Backend) learnLogin(ctx context.Context, u *github.User) {
	if u.GetLogin() == "" {
		return
	}
	b.mu.Lock()
	if b.login != "" {
		b.mu.Unlock()
		return
	}
	b.login = u.GetLogin()
	b.mu.Unlock()
	if err := b.st.SetCursor(ctx, b.loginKey(), u.GetLogin()); err != nil {
		b.log.Warn("recording vexloom's login", "error", err)
	}
}

func (b *Backend) ownLogin() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.login
}

func notModified(resp *github.Response) bool {
	return resp != nil && resp.Response != nil && resp.StatusCode == http.StatusNotModified
}

// cursorTime reads a stored time cursor, minus Overlap (nil if none).
func (b *Backend) cursorTime(ctx context.Context, key string) (*time.Time, error) {
	v, err := b.st.Cursor(ctx, key)
	if err != nil || v == "" {
		return nil, err
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		b.log.Warn("ignoring a malformed cursor", "key", key, "value", v)
		return nil, nil
	}
	t = t.Add(-Overlap).UTC()
	return &t, nil
}

// later queues a cursor that Sync records at the end of the run, so a run
// that fails before then reads the same comments again (applied once).
func (b *Backend) later(key, value string) {
	b.mu.Lock()
	b.pending = append(b.pending, [2]string{key, value})
	b.mu.Unlock()
}

// refreshIssues reads the issues updated since the last run: new triage
// issues (made by a run whose record was lost), and issues people
// reopened.
func (b *Backend) refreshIssues(ctx context.Context) error {
	if err := b.resolveLogin(ctx); err != nil {
		return err
	}
	since, err := b.cursorTime(ctx, b.key("issues", "since"))
	if err != nil {
		return err
	}
	etag, err := b.st.Cursor(ctx, b.key("issues", "etag"))
	if err != nil {
		return err
	}
	opts := &github.IssueListByRepoOptions{State: "all", Sort: "updated", Direction: "desc", ListOptions: github.ListOptions{PerPage: 100}}
	if since != nil {
		opts.Since = *since
	}
	var latest time.Time
	newETag := ""
	for pages := 0; ; pages++ {
		if pages == maxPages {
			return fmt.Errorf("listing issues in %s: more than %d pages", b.repo, maxPages)
		}
		c := ctx
		if opts.ListOptions.Page == 0 && etag != "" {
			c = WithETag(ctx, etag)
		}
		list, resp, err := b.gh.Issues.ListByRepo(c, b.owner, b.name, opts)
		if opts.ListOptions.Page == 0 && notModified(resp) {
			break
		}
		if err != nil {
			return b.err("listing issues", err)
		}
		if opts.ListOptions.Page == 0 {
			newETag = resp.Header.Get("ETag")
		}
		for _, is := range list {
			if u := is.GetUpdatedAt().Time; u.After(latest) {
				latest = u
			}
			if err := b.consider(ctx, is); err != nil {
				return err
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opts.ListOptions.Page = resp.NextPage
	}
	if !latest.IsZero() {
		b.later(b.key("issues", "since"), latest.UTC().Format(time.RFC3339))
	}
	if newETag != "" {
		b.later(b.key("issues", "etag"), newETag)
	}
	b.mu.Lock()
	b.refreshed = true
	b.mu.Unlock()
	return nil
}

// consider looks at one listed issue. Foreign issues are skipped quietly,
// malformed ones with a warning; neither stops the run.
func (b *Backend) consider(ctx context.Context, is *github.Issue) error {
	if is.IsPullRequest() {
		return nil
	}
	num := is.GetNumber()
	d, _, _, err := ParseIssueBody(is.GetBody())
	if errors.Is(err, ErrNoData) {
		return nil
	}
	if err != nil {
		b.log.Warn("skipping a malformed triage issue", "issue", num, "error", err)
		return nil
	}
	if login := b.ownLogin(); login != "" && !strings.EqualFold(is.GetUser().GetLogin(), login) {
		b.log.Warn("skipping an issue with vexloom's data that vexloom did not open", "issue", num, "author", is.GetUser().GetLogin())
		return nil
	}
	ref, known, err := b.issueOf(ctx, d.Triage)
	if err != nil {
		return err
	}
	if !known {
		ok, err := b.remember(ctx, d.Triage, num, is.GetHTMLURL())
		if err != nil {
			return err
		}
		if !ok {
			known = true
			ref, _, _ = b.issueOf(ctx, d.Triage)
		}
	}
	if known && ref.number != num {
		b.log.Warn("skipping a second issue of a triage", "issue", num, "triage", d.Triage, "its issue", ref.number)
		return nil
	}
	b.mu.Lock()
	b.seen[num] = is
	b.mu.Unlock()
	rec, err := b.record(ctx, d.Triage)
	if err != nil {
		return err
	}
	if rec != nil && rec.State == "closed" && is.GetState() == "open" {
		// A person reopened what vexloom closed: hold it open until the
		// triage's statement or state changes.
		if err := b.st.SetCursor(ctx, b.key("reopened", d.Triage), rec.Sig); err != nil {
			return err
		}
		rec.State = "held"
		if err := b.setRecord(ctx, d.Triage, *rec); err != nil {
			return err
		}
		r := Reopen{TriageID: d.Triage, Issue: num, At: is.GetUpdatedAt().Time}
		b.mu.Lock()
		b.reopened = append(b.reopened, r)
		b.mu.Unlock()
		b.log.Warn("a person reopened a triage issue; it stays open until a new statement is published", "issue", num, "triage", d.Triage)
	}
	return nil
}

// record is what vexloom last made a triage's issue show.
type record struct {
	Number int    `json:"n"`
	Title  string `json:"t"`
	Hash   string `json:"h"`
	Label  string `json:"l"`
	State  string `json:"s"`
	Reason string `json:"r,omitempty"`
	// Sig identifies the statement published or the closing (empty while
	// the triage is open or assessed).
	Sig string `json:"g,omitempty"`
}

func (b *Backend) record(ctx context.Context, triageID string) (*record, error) {
	v, err := b.st.Cursor(ctx, b.key("issue", triageID))
	if err != nil || v == "" {
		return nil, err
	}
	var r record
	if json.Unmarshal([]byte(v), &r) != nil {
		return nil, nil
	}
	return &r, nil
}

func (b *Backend) setRecord(ctx context.Context, triageID string, r record) error {
	data, _ := json.Marshal(r)
	return b.st.SetCursor(ctx, b.key("issue", triageID), string(data))
}

// Comments returns the comments on triage issues made or edited since the
// last run, oldest first, except vexloom's own.
func (b *Backend) Comments(ctx context.Context) ([]triage.Comment, error) {
	if err := b.refreshIssues(ctx); err != nil {
		return nil, err
	}
	since, err := b.cursorTime(ctx, b.key("comments", "since"))
	if err != nil {
		return nil, err
	}
	etag, err := b.st.Cursor(ctx, b.key("comments", "etag"))
	if err != nil {
		return nil, err
	}
	opts := &github.IssueListCommentsOptions{Sort: github.Ptr("updated"), Direction: github.Ptr("desc"), Since: since, ListOptions: github.ListOptions{PerPage: 100}}
	var all []*github.IssueComment
	newETag := ""
	for pages := 0; ; pages++ {
		if pages == maxPages {
			return nil, fmt.Errorf("listing comments in %s: more than %d pages", b.repo, maxPages)
		}
		c := ctx
		if opts.Page == 0 && etag != "" {
			c = WithETag(ctx, etag)
		}
		list, resp, err := b.gh.Issues.ListComments(c, b.owner, b.name, 0, opts)
		if opts.Page == 0 && notModified(resp) {
			return nil, nil
		}
		if err != nil {
			return nil, b.err("listing comments", err)
		}
		if opts.Page == 0 {
			newETag = resp.Header.Get("ETag")
		}
		all = append(all, list...)
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	var latest time.Time
	var out []triage.Comment
	seen := map[int64]bool{}
	login := b.ownLogin()
	for _, c := range all {
		if seen[c.GetID()] {
			continue
		}
		seen[c.GetID()] = true
		if u := c.GetUpdatedAt().Time; u.After(latest) {
			latest = u
		}
		author := c.GetUser().GetLogin()
		mine := login != "" && strings.EqualFold(author, login)
		if m, ok := parseMarker(c.GetBody()); ok && (mine || login == "") {
			if err := b.st.Ack(ctx, m.ref, m.kind, strconv.FormatInt(c.GetID(), 10)); err != nil {
				return nil, err
			}
			continue
		}
		if mine {
			continue
		}
		num, ok := issueNumber(c.GetIssueURL())
		if !ok {
			continue
		}
		id, err := b.triageOf(ctx, num)
		if err != nil {
			return nil, err
		}
		if id == "" {
			continue // a foreign issue
		}
		out = append(out, triage.Comment{
			Ref:      commentRef(c.GetID()),
			TriageID: id,
			Author:   author,
			Body:     c.GetBody(),
			URL:      c.GetHTMLURL(),
			At:       c.GetCreatedAt().Time,
		})
	}
	slices.SortStableFunc(out, func(a, c triage.Comment) int {
		if d := a.At.Compare(c.At); d != 0 {
			return d
		}
		return strings.Compare(a.Ref, c.Ref)
	})
	if !latest.IsZero() {
		b.later(b.key("comments", "since"), latest.UTC().Format(time.RFC3339))
	}
	if newETag != "" {
		b.later(b.key("comments", "etag"), newETag)
	}
	return out, nil
}

const commentRefPrefix = "github:issuecomment:"

func commentRef(id int64) string { return commentRefPrefix + strconv.FormatInt(id, 10) }

// issueNumber reads the number at the end of an issue's API URL.
func issueNumber(u string) (int, bool) {
	i := strings.LastIndex(u, "/issues/")
	if i < 0 {
		return 0, false
	}
	n, err := strconv.Atoi(u[i+len("/issues/"):])
	return n, err == nil && n > 0
}

// Answer reacts to an applied command and replies once to a rejected or
// unauthorized one; an ignored comment gets nothing.
func (b *Backend) Answer(ctx context.Context, c triage.Comment, o triage.Outcome) error {
	if o.Kind == triage.OutcomeIgnored || !strings.HasPrefix(c.Ref, commentRefPrefix) {
		return nil
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(c.Ref, commentRefPrefix), 10, 64)
	if err != nil {
		return fmt.Errorf("comment ref %q: not a GitHub comment", c.Ref)
	}
	switch o.Kind {
	case triage.OutcomeApplied:
		if done, _, err := b.st.Acked(ctx, c.Ref, "github-reaction"); err != nil || done {
			return err
		}
		r, _, err := b.gh.Reactions.CreateIssueCommentReaction(ctx, b.owner, b.name, id, "+1")
		if err != nil {
			return b.err("reacting to a comment", err)
		}
		return b.st.Ack(ctx, c.Ref, "github-reaction", strconv.FormatInt(r.GetID(), 10))
	case triage.OutcomeRejected, triage.OutcomeUnauthorized:
		ref, ok, err := b.issueOf(ctx, c.TriageID)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("answering %s: triage %s has no issue in %s", c.Ref, c.TriageID, b.repo)
		}
		text := o.Reply
		if o.Kind == triage.OutcomeRejected {
			text += "\n\nThe commands are described at the end of this issue's description."
		}
		m := marker{what: "reply-to", key: strconv.FormatInt(id, 10), ref: c.Ref, kind: "github-reply"}
		return b.commentOnce(ctx, ref.number, m, text, c.At)
	}
	return nil
}

// marker is the hidden first line of each of vexloom's comments; it names
// what the comment is (a reply to a comment, a statement published, a
// closing), so a run that lost its record finds it.
type marker struct {
	what, key string
	// ref and kind are the store acknowledgement it stands for.
	ref, kind string
}

func (m marker) String() string { return "<!-- vexloom:" + m.what + " " + m.key + " -->" }

// markerKinds are the markers vexloom writes, with the kind of their
// acknowledgement.
var markerKinds = map[string]string{
	"reply-to":  "github-reply",
	"published": "github-published",
	"closed":    "github-closed",
	"reopened":  "github-reopened",
}

// parseMarker reads the marker on the first line of a comment.
func parseMarker(body string) (marker, bool) {
	line, _, _ := strings.Cut(body, "\n")
	rest, ok := strings.CutPrefix(strings.TrimSpace(line), "<!-- vexloom:")
	if !ok {
		return marker{}, false
	}
	rest, ok = strings.CutSuffix(rest, " -->")
	if !ok || len(rest) > 200 {
		return marker{}, false
	}
	what, key, ok := strings.Cut(rest, " ")
	kind, known := markerKinds[what]
	if !ok || !known || key == "" || strings.ContainsAny(key, " \t") {
		return marker{}, false
	}
	m := marker{what: what, key: key, ref: key, kind: kind}
	if what == "reply-to" {
		n, err := strconv.ParseInt(key, 10, 64)
		if err != nil || n <= 0 {
			return marker{}, false
		}
		m.ref = commentRef(n)
	}
	return m, true
}

// commentOnce posts a comment starting with its marker unless the store
// says it was posted, or the issue already holds it (a run that crashed
// after posting), or another process is posting it right now.
func (b *Backend) commentOnce(ctx context.Context, number int, m marker, text string, since time.Time) error {
	if done, _, err := b.st.Acked(ctx, m.ref, m.kind); err != nil || done {
		return err
	}
	found, err := b.hasMarker(ctx, number, m, since)
	if err != nil {
		return err
	}
	if found != 0 {
		return b.st.Ack(ctx, m.ref, m.kind, strconv.FormatInt(found, 10))
	}
	lease, ok, err := b.lease(ctx, m)
	if err != nil || !ok {
		if ok == false && err == nil {
			b.log.Info("another run is posting this comment", "issue", number, "marker", m.String())
		}
		return err
	}
	c, _, err := b.gh.Issues.CreateComment(ctx, b.owner, b.name, number, &github.IssueComment{Body: github.Ptr(m.String() + "\n" + text)})
	if err != nil {
		// Whether or not GitHub made it, the marker tells the next try.
		if rerr := b.st.Ack(ctx, m.ref, lease+"-released", ""); rerr != nil {
			b.log.Warn("releasing a comment lease", "error", rerr)
		}
		return b.err(fmt.Sprintf("commenting on issue #%d", number), err)
	}
	b.learnLogin(ctx, c.GetUser())
	return b.st.Ack(ctx, m.ref, m.kind, strconv.FormatInt(c.GetID(), 10))
}

// maxLeases bounds the tries to post one comment.
const maxLeases = 100

// lease claims the right to post a marked comment, so two processes on one
// store never both post it. Leases are numbered, since acknowledgements
// are never removed: one released by a failed try, or left by a crashed
// run for longer than pendingTTL, lets the next try take the next number;
// a live one held by another process means it is posting now (false).
func (b *Backend) lease(ctx context.Context, m marker) (string, bool, error) {
	now := b.now()
	for k := 1; k <= maxLeases; k++ {
		kind := m.kind + "-lease#" + strconv.Itoa(k)
		first, err := b.st.Claim(ctx, m.ref, kind, now.UTC().Format(time.RFC3339))
		if err != nil {
			return "", false, err
		}
		if first {
			return kind, true, nil
		}
		if released, _, err := b.st.Acked(ctx, m.ref, kind+"-released"); err != nil {
			return "", false, err
		} else if released {
			continue
		}
		_, at, err := b.st.Acked(ctx, m.ref, kind)
		if err != nil {
			return "", false, err
		}
		if t, err := time.Parse(time.RFC3339, at); err == nil && now.Sub(t) < pendingTTL {
			return "", false, nil
		}
	}
	return "", false, fmt.Errorf("posting %s in %s: tried %d times", m, b.repo, maxLeases)
}

// hasMarker looks for vexloom's comment with a marker on an issue (every
// page of the comments updated since since) and returns its ID, or 0.
func (b *Backend) hasMarker(ctx context.Context, number int, m marker, since time.Time) (int64, error) {
	opts := &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: 100}}
	if !since.IsZero() {
		s := since.Add(-Overlap).UTC()
		opts.Since = &s
	}
	login := b.ownLogin()
	for pages := 0; pages < maxPages; pages++ {
		list, resp, err := b.gh.Issues.ListComments(ctx, b.owner, b.name, number, opts)
		if err != nil {
			return 0, b.err(fmt.Sprintf("reading the comments of issue #%d", number), err)
		}
		for _, c := range list {
			got, ok := parseMarker(c.GetBody())
			if ok && got == m && (login == "" || strings.EqualFold(c.GetUser().GetLogin(), login)) {
				return c.GetID(), nil
			}
		}
		if resp.NextPage == 0 {
			return 0, nil
		}
		opts.Page = resp.NextPage
	}
	return 0, fmt.Errorf("reading the comments of issue #%d in %s: more than %d pages", number, b.repo, maxPages)
}

// Sync makes each triage's issue show its state: it opens an issue for a
// triage that needs a person, rewrites the generated part and the labels
// when they change, comments and closes when a statement is published or
// the vulnerability is gone. Triages vexloom settled on its own get no
// issue. The read positions of this run are recorded at the end.
func (b *Backend) Sync(ctx context.Context, views []triage.View) error {
	b.mu.Lock()
	refreshed := b.refreshed
	b.mu.Unlock()
	if !refreshed {
		if err := b.refreshIssues(ctx); err != nil {
			return err
		}
	}
	for _, v := range views {
		if err := b.syncOne(ctx, v); err != nil {
			// GitHub refusing one issue (422: too large, invalid) does not
			// stop the others; anything else (auth, rate limit, network)
			// does.
			var ge *github.ErrorResponse
			if errors.As(err, &ge) && ge.Response != nil && ge.Response.StatusCode == http.StatusUnprocessableEntity {
				b.log.Warn("GitHub refused the issue of a triage; the others are updated", "triage", v.ID, "error", err)
				continue
			}
			return err
		}
	}
	b.mu.Lock()
	pending := b.pending
	b.pending = nil
	b.refreshed = false
	b.seen = map[int]*github.Issue{}
	b.mu.Unlock()
	for _, kv := range pending {
		if err := b.st.SetCursor(ctx, kv[0], kv[1]); err != nil {
			return err
		}
	}
	return nil
}

func (b *Backend) labelOf(s triage.State) string {
	switch s {
	case triage.Open:
		return b.labels.Open
	case triage.Assessed:
		return b.labels.Assessed
	case triage.Published:
		return b.labels.Published
	}
	return b.labels.Closed
}

func (b *Backend) stateLabels() []string {
	return []string{b.labels.Open, b.labels.Assessed, b.labels.Published, b.labels.Closed}
}

// closing returns, for a published or closed triage, what identifies the
// statement published or the closing, and the reason the issue is closed
// with; "" for a triage that is open or assessed.
func closing(v triage.View) (sig, reason string) {
	switch v.State {
	case triage.Published:
		var parts []string
		for _, br := range v.Branches {
			parts = append(parts, br.Branch+"="+strconv.FormatInt(br.PublishedDecision, 10))
		}
		sum := sha256.Sum256([]byte(strings.Join(parts, ",")))
		return "published-" + hex.EncodeToString(sum[:6]), "completed"
	case triage.Closed:
		for i := len(v.Events) - 1; i >= 0; i-- {
			if v.Events[i].Kind == store.KindState {
				return "closed-" + strconv.FormatInt(v.Events[i].Seq, 10), "not_planned"
			}
		}
		sum := sha256.Sum256([]byte(strings.Join(v.LastSeen, ",")))
		return "closed-" + hex.EncodeToString(sum[:6]), "not_planned"
	}
	return "", ""
}

func (b *Backend) syncOne(ctx context.Context, v triage.View) error {
	ref, known, err := b.issueOf(ctx, v.ID)
	if err != nil {
		return err
	}
	if !known && v.State != triage.Open {
		return nil
	}
	r := render(v)
	sig, reason := closing(v)
	want := record{Number: ref.number, Title: r.title, Hash: r.hash, Label: b.labelOf(v.State), State: "open", Sig: sig}
	held := false
	if sig != "" {
		h, err := b.st.Cursor(ctx, b.key("reopened", v.ID))
		if err != nil {
			return err
		}
		held = h == sig
		if !held {
			want.State, want.Reason = "closed", reason
		}
	}
	if !known {
		return b.create(ctx, v, r, want)
	}
	rec, err := b.record(ctx, v.ID)
	if err != nil {
		return err
	}
	if rec != nil && *rec == want {
		return nil
	}
	if sig != "" && (rec == nil || rec.Sig != sig) {
		if err := b.closingComment(ctx, v, ref.number, sig, held); err != nil {
			return err
		}
	}
	if held {
		m := marker{what: "reopened", key: v.ID + "@" + sig, ref: v.ID + "@" + sig, kind: "github-reopened"}
		text := "This issue was reopened, so vexloom keeps it open and the triage is back before its maintainers. The statement published earlier stands until a maintainer answers here with a command (for example `/withdraw`, or a new decision); vexloom closes the issue again when a new statement is published."
		if err := b.commentOnce(ctx, ref.number, m, text, time.Time{}); err != nil {
			return err
		}
	}
	if err := b.ensureLabels(ctx); err != nil {
		return err
	}
	b.mu.Lock()
	is := b.seen[ref.number]
	b.mu.Unlock()
	if is == nil {
		is, _, err = b.gh.Issues.Get(ctx, b.owner, b.name, ref.number)
		if err != nil {
			return b.err(fmt.Sprintf("reading issue #%d", ref.number), err)
		}
	}
	var patch github.IssueRequest
	changed := false
	if is.GetTitle() != r.title {
		patch.Title = github.Ptr(r.title)
		changed = true
	}
	if body := Splice(is.GetBody(), r.generated); body != is.GetBody() {
		patch.Body = github.Ptr(body)
		changed = true
	}
	var cur []string
	for _, l := range is.Labels {
		cur = append(cur, l.GetName())
	}
	labels := slices.DeleteFunc(slices.Clone(cur), func(l string) bool { return slices.Contains(b.stateLabels(), l) })
	labels = append(labels, want.Label)
	if !sameSet(cur, labels) {
		patch.Labels = &labels
		changed = true
	}
	// The reason of an issue already closed is corrected only when vexloom
	// closes it for a new reason (published, then gone).
	newReason := want.State == "closed" && rec != nil && rec.Sig != sig && is.GetStateReason() != want.Reason
	if is.GetState() != want.State || newReason {
		patch.State = github.Ptr(want.State)
		if want.State == "closed" {
			patch.StateReason = github.Ptr(want.Reason)
		} else {
			patch.StateReason = github.Ptr("reopened")
		}
		changed = true
	}
	if changed {
		if _, _, err := b.gh.Issues.Edit(ctx, b.owner, b.name, ref.number, &patch); err != nil {
			return b.err(fmt.Sprintf("updating issue #%d", ref.number), err)
		}
	}
	return b.setRecord(ctx, v.ID, want)
}

func (b *Backend) create(ctx context.Context, v triage.View, r rendered, want record) error {
	if err := b.ensureLabels(ctx); err != nil {
		return err
	}
	is, _, err := b.gh.Issues.Create(ctx, b.owner, b.name, &github.IssueRequest{
		Title:  github.Ptr(r.title),
		Body:   github.Ptr(r.generated),
		Labels: &[]string{want.Label},
	})
	if err != nil {
		return b.err("opening the issue of "+v.ID, err)
	}
	b.learnLogin(ctx, is.GetUser())
	if _, err := b.remember(ctx, v.ID, is.GetNumber(), is.GetHTMLURL()); err != nil {
		return err
	}
	want.Number = is.GetNumber()
	b.log.Info("opened a triage issue", "triage", v.ID, "issue", is.GetNumber())
	return b.setRecord(ctx, v.ID, want)
}

// closingComment posts, once, the statement published or the reason the
// triage closed.
func (b *Backend) closingComment(ctx context.Context, v triage.View, number int, sig string, held bool) error {
	var text strings.Builder
	m := marker{key: v.ID + "@" + sig, ref: v.ID + "@" + sig}
	switch v.State {
	case triage.Published:
		m.what, m.kind = "published", "github-published"
		fmt.Fprintf(&text, "vexloom published the statement of triage `%s` (%s):\n\n", v.ID, inline(title(v)))
		text.WriteString("| Branch | Status | Justification or action | Decided by |\n|---|---|---|---|\n")
		for _, br := range v.Branches {
			d := br.Decision
			if d == nil {
				continue
			}
			detail := d.Justification
			if d.Action != "" {
				detail = d.Action
			}
			if d.Impact != "" {
				detail = strings.TrimSpace(detail + " " + d.Impact)
			}
			who := d.Author
			if d.Source == "automatic" {
				who = "vexloom (automatic)"
			} else {
				who = "@" + who
			}
			fmt.Fprintf(&text, "| %s | %s | %s | %s |\n", inline(br.Branch), inline(d.Status), inline(shorten(detail, 300)), inline(who))
		}
		if b.verify != nil {
			if h := b.verify(v.ID); h != "" {
				fmt.Fprintf(&text, "\nIt can be fetched and verified at %s.\n", clean(h))
			}
		}
		if held {
			text.WriteString("\nThe issue stays open because a person reopened it.")
		} else {
			text.WriteString("\nvexloom closes this issue. Reopen it, or answer with a new command, to reconsider the triage.")
		}
	case triage.Closed:
		m.what, m.kind = "closed", "github-closed"
		why := "the vulnerability is no longer found on any maintained branch"
		for i := len(v.Events) - 1; i >= 0; i-- {
			if v.Events[i].Kind == store.KindState {
				var sc struct {
					Reason string `json:"reason"`
				}
				if json.Unmarshal(v.Events[i].Data, &sc) == nil && sc.Reason != "" {
					why = sc.Reason
				}
				break
			}
		}
		fmt.Fprintf(&text, "vexloom closes triage `%s`: %s.", v.ID, inline(strings.TrimSuffix(why, ".")))
	default:
		return nil
	}
	return b.commentOnce(ctx, number, m, text.String(), time.Time{})
}

// ensureLabels creates the state labels the repository lacks, once per
// store.
func (b *Backend) ensureLabels(ctx context.Context) error {
	b.mu.Lock()
	ok := b.labelsOK
	b.mu.Unlock()
	if ok {
		return nil
	}
	names := strings.Join(b.stateLabels(), ",")
	if v, err := b.st.Cursor(ctx, b.key("labels")); err != nil {
		return err
	} else if v == names {
		b.mu.Lock()
		b.labelsOK = true
		b.mu.Unlock()
		return nil
	}
	have := map[string]bool{}
	opts := &github.ListOptions{PerPage: 100}
	for pages := 0; pages < maxPages; pages++ {
		list, resp, err := b.gh.Issues.ListLabels(ctx, b.owner, b.name, opts)
		if err != nil {
			return b.err("listing labels", err)
		}
		for _, l := range list {
			have[strings.ToLower(l.GetName())] = true
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	colors := []string{"d93f0b", "fbca04", "0e8a16", "cccccc"}
	descs := []string{"vexloom: needs a person's assessment", "vexloom: assessed, not yet published", "vexloom: statement published", "vexloom: vulnerability gone"}
	for i, name := range b.stateLabels() {
		if have[strings.ToLower(name)] {
			continue
		}
		_, _, err := b.gh.Issues.CreateLabel(ctx, b.owner, b.name, &github.Label{Name: github.Ptr(name), Color: github.Ptr(colors[i]), Description: github.Ptr(descs[i])})
		var er *github.ErrorResponse
		if err != nil && !(errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusUnprocessableEntity) {
			return b.err("creating label "+name, err)
		}
	}
	if err := b.st.SetCursor(ctx, b.key("labels"), names); err != nil {
		return err
	}
	b.mu.Lock()
	b.labelsOK = true
	b.mu.Unlock()
	return nil
}

func sameSet(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(slices.Compact(x), slices.Compact(y))
}
