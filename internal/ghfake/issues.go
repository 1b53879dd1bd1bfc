package ghfake

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/go-github/v75/github"
)

// maxBodyChars is GitHub's limit on the body of an issue or comment.
const maxBodyChars = 65536

// IssueInput is an issue to seed with AddIssue. Zero fields get defaults:
// User "octocat", State "open", CreatedAt now, UpdatedAt CreatedAt.
type IssueInput struct {
	Title, Body, User string
	Labels            []string
	State             string // "open" or "closed"
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// Issue is an issue as the server holds it.
type Issue struct {
	ID          int64
	Number      int
	HTMLURL     string
	Title       string
	Body        string
	User        string
	Labels      []string
	State       string // "open" or "closed"
	StateReason string // "", "completed", "not_planned", "reopened", "duplicate"
	Comments    int
	CreatedAt   time.Time
	UpdatedAt   time.Time
	ClosedAt    time.Time // zero while open
}

// repo is a repository and everything in it.
type repo struct {
	id           int64
	owner, name  string
	issues       []*issue // issues[n-1] is issue number n
	comments     []*comment
	labels       []*label
	attestations []*attestation
}

func (r *repo) fullName() string { return r.owner + "/" + r.name }

type issue struct {
	id                 int64
	number             int
	title, body, user  string
	labels             []*label
	state, stateReason string
	comments           int
	created, updated   time.Time
	closed             time.Time
	closedBy           string
}

type label struct {
	id          int64
	name        string
	color       string
	description string
}

// CreateRepo creates the repository "owner/name" (idempotent).
func (s *Server) CreateRepo(fullName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repoFor(fullName)
}

// repoFor returns the repository, creating it. A malformed name is a bug in
// the test, so it panics.
func (s *Server) repoFor(fullName string) *repo {
	owner, name, ok := strings.Cut(fullName, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		panic(fmt.Sprintf("ghfake: repository %q is not owner/name", fullName))
	}
	key := strings.ToLower(fullName)
	if r, ok := s.repos[key]; ok {
		return r
	}
	r := &repo{id: s.nextID("repo"), owner: owner, name: name}
	s.repos[key] = r
	return r
}

// seededIssue finds an issue for the seeding/inspection methods, panicking
// on a test's mistake.
func (s *Server) seededIssue(fullName string, number int) (*repo, *issue) {
	r, ok := s.repos[strings.ToLower(fullName)]
	if !ok || number < 1 || number > len(r.issues) {
		panic(fmt.Sprintf("ghfake: no issue %s#%d", fullName, number))
	}
	return r, r.issues[number-1]
}

// AddIssue seeds an issue (creating the repository if needed) and returns it.
func (s *Server) AddIssue(fullName string, in IssueInput) Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repoFor(fullName)
	created := in.CreatedAt.UTC().Truncate(time.Second)
	if in.CreatedAt.IsZero() {
		created = s.clock()
	}
	updated := in.UpdatedAt.UTC().Truncate(time.Second)
	if in.UpdatedAt.IsZero() {
		updated = created
	}
	login := cmp.Or(in.User, "octocat")
	s.userFor(login, false)
	is := &issue{
		id:      s.nextID("issue"),
		number:  len(r.issues) + 1,
		title:   in.Title,
		body:    in.Body,
		user:    login,
		state:   "open",
		created: created,
		updated: updated,
	}
	for _, name := range in.Labels {
		is.labels = addLabel(is.labels, s.labelFor(r, name))
	}
	if in.State == "closed" {
		is.state, is.stateReason, is.closed, is.closedBy = "closed", "completed", updated, login
	}
	r.issues = append(r.issues, is)
	return s.issueView(r, is)
}

// Issue returns issue number of the repository.
func (s *Server) Issue(fullName string, number int) Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, is := s.seededIssue(fullName, number)
	return s.issueView(r, is)
}

// Issues returns every issue of the repository, by number.
func (s *Server) Issues(fullName string) []Issue {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.repos[strings.ToLower(fullName)]
	if !ok {
		return nil
	}
	out := make([]Issue, 0, len(r.issues))
	for _, is := range r.issues {
		out = append(out, s.issueView(r, is))
	}
	return out
}

func (s *Server) issueView(r *repo, is *issue) Issue {
	return Issue{
		ID:          is.id,
		Number:      is.number,
		HTMLURL:     s.URL() + r.fullName() + "/issues/" + strconv.Itoa(is.number),
		Title:       is.title,
		Body:        is.body,
		User:        is.user,
		Labels:      labelNames(is.labels),
		State:       is.state,
		StateReason: is.stateReason,
		Comments:    is.comments,
		CreatedAt:   is.created,
		UpdatedAt:   is.updated,
		ClosedAt:    is.closed,
	}
}

func labelNames(ls []*label) []string {
	names := make([]string, 0, len(ls))
	for _, l := range ls {
		names = append(names, l.name)
	}
	return names
}

// findLabel looks a label up by name, case-insensitively as GitHub does.
func findLabel(r *repo, name string) *label {
	for _, l := range r.labels {
		if strings.EqualFold(l.name, name) {
			return l
		}
	}
	return nil
}

// labelFor returns the repository's label, creating it with GitHub's default
// colour as GitHub does when an issue is given a label that does not exist.
func (s *Server) labelFor(r *repo, name string) *label {
	if l := findLabel(r, name); l != nil {
		return l
	}
	l := &label{id: s.nextID("label"), name: name, color: "ededed"}
	r.labels = append(r.labels, l)
	return l
}

// addLabel adds l to a set of labels unless it is there.
func addLabel(ls []*label, l *label) []*label {
	if slices.Contains(ls, l) {
		return ls
	}
	return append(ls, l)
}

// repoOf finds the request's repository; 404 as GitHub's if it is unknown.
func (s *Server) repoOf(c *call) (*repo, *reply) {
	r, ok := s.repos[strings.ToLower(c.vars["owner"]+"/"+c.vars["repo"])]
	if !ok {
		return nil, s.fail(http.StatusNotFound, "Not Found")
	}
	return r, nil
}

// issueOf finds the request's issue.
func (s *Server) issueOf(c *call) (*repo, *issue, *reply) {
	r, rep := s.repoOf(c)
	if rep != nil {
		return nil, nil, rep
	}
	n, err := strconv.Atoi(c.vars["number"])
	if err != nil || n < 1 || n > len(r.issues) {
		return nil, nil, s.fail(http.StatusNotFound, "Not Found")
	}
	return r, r.issues[n-1], nil
}

// ghRepo is a repository as GitHub's JSON has it.
func (s *Server) ghRepo(c *call, r *repo) *github.Repository {
	api := c.apiBase + "repos/" + r.fullName()
	return &github.Repository{
		ID:            github.Ptr(r.id),
		NodeID:        github.Ptr(nodeID("R", r.id)),
		Name:          github.Ptr(r.name),
		FullName:      github.Ptr(r.fullName()),
		Owner:         s.ghUser(c, r.owner),
		Private:       github.Ptr(false),
		Visibility:    github.Ptr("public"),
		HTMLURL:       github.Ptr(s.URL() + r.fullName()),
		URL:           github.Ptr(api),
		IssuesURL:     github.Ptr(api + "/issues{/number}"),
		LabelsURL:     github.Ptr(api + "/labels{/name}"),
		DefaultBranch: github.Ptr("main"),
		HasIssues:     github.Ptr(true),
		OpenIssuesCount: github.Ptr(func() int {
			n := 0
			for _, is := range r.issues {
				if is.state == "open" {
					n++
				}
			}
			return n
		}()),
	}
}

// getRepo is GET /repos/{owner}/{repo}.
func (s *Server) getRepo(c *call) *reply {
	r, rep := s.repoOf(c)
	if rep != nil {
		return rep
	}
	return s.json(http.StatusOK, s.ghRepo(c, r))
}

// ghLabel is a label as GitHub's JSON has it.
func (s *Server) ghLabel(c *call, r *repo, l *label) *github.Label {
	gl := &github.Label{
		ID:      github.Ptr(l.id),
		NodeID:  github.Ptr(nodeID("LA", l.id)),
		URL:     github.Ptr(c.apiBase + "repos/" + r.fullName() + "/labels/" + url.PathEscape(l.name)),
		Name:    github.Ptr(l.name),
		Color:   github.Ptr(l.color),
		Default: github.Ptr(false),
	}
	if l.description != "" {
		gl.Description = github.Ptr(l.description)
	}
	return gl
}

func (s *Server) ghLabels(c *call, r *repo, ls []*label) []*github.Label {
	out := make([]*github.Label, 0, len(ls))
	for _, l := range ls {
		out = append(out, s.ghLabel(c, r, l))
	}
	return out
}

// ghIssue is an issue as GitHub's JSON has it.
func (s *Server) ghIssue(c *call, r *repo, is *issue) *github.Issue {
	api := c.apiBase + "repos/" + r.fullName() + "/issues/" + strconv.Itoa(is.number)
	gi := &github.Issue{
		ID:                github.Ptr(is.id),
		NodeID:            github.Ptr(nodeID("I", is.id)),
		Number:            github.Ptr(is.number),
		URL:               github.Ptr(api),
		RepositoryURL:     github.Ptr(c.apiBase + "repos/" + r.fullName()),
		LabelsURL:         github.Ptr(api + "/labels{/name}"),
		CommentsURL:       github.Ptr(api + "/comments"),
		EventsURL:         github.Ptr(api + "/events"),
		HTMLURL:           github.Ptr(s.URL() + r.fullName() + "/issues/" + strconv.Itoa(is.number)),
		Title:             github.Ptr(is.title),
		User:              s.ghUser(c, is.user),
		Labels:            nil,
		State:             github.Ptr(is.state),
		Locked:            github.Ptr(false),
		Assignees:         []*github.User{},
		Comments:          github.Ptr(is.comments),
		CreatedAt:         &github.Timestamp{Time: is.created},
		UpdatedAt:         &github.Timestamp{Time: is.updated},
		AuthorAssociation: github.Ptr("NONE"),
		Reactions:         &github.Reactions{TotalCount: github.Ptr(0), URL: github.Ptr(api + "/reactions")},
	}
	for _, l := range is.labels {
		gi.Labels = append(gi.Labels, s.ghLabel(c, r, l))
	}
	if gi.Labels == nil {
		gi.Labels = []*github.Label{}
	}
	if is.body != "" {
		gi.Body = github.Ptr(is.body)
	}
	if is.stateReason != "" {
		gi.StateReason = github.Ptr(is.stateReason)
	}
	if !is.closed.IsZero() {
		gi.ClosedAt = &github.Timestamp{Time: is.closed}
		gi.ClosedBy = s.ghUser(c, is.closedBy)
	}
	return gi
}

// parseSince reads the since parameter (ISO 8601, as GitHub takes it).
func (s *Server) parseSince(c *call, resource string) (time.Time, *reply) {
	v := c.query("since")
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, s.invalid(fieldError{Resource: resource, Field: "since", Code: "invalid"})
	}
	return t.UTC(), nil
}

// listIssues is GET /repos/{owner}/{repo}/issues: state (open|closed|all,
// default open), labels (comma-separated, all must match), since (updated
// at or after), sort (created|updated|comments), direction, paging.
func (s *Server) listIssues(c *call) *reply {
	r, rep := s.repoOf(c)
	if rep != nil {
		return rep
	}
	state := cmp.Or(c.query("state"), "open")
	if state != "open" && state != "closed" && state != "all" {
		return s.invalid(fieldError{Resource: "Issue", Field: "state", Code: "invalid"})
	}
	sortBy := cmp.Or(c.query("sort"), "created")
	if sortBy != "created" && sortBy != "updated" && sortBy != "comments" {
		return s.invalid(fieldError{Resource: "Issue", Field: "sort", Code: "invalid"})
	}
	dir := cmp.Or(c.query("direction"), "desc")
	if dir != "asc" && dir != "desc" {
		return s.invalid(fieldError{Resource: "Issue", Field: "direction", Code: "invalid"})
	}
	since, rep := s.parseSince(c, "Issue")
	if rep != nil {
		return rep
	}
	var want []string
	for _, l := range strings.Split(c.query("labels"), ",") {
		if l = strings.TrimSpace(l); l != "" {
			want = append(want, l)
		}
	}
	creator := c.query("creator")

	var picked []*issue
	for _, is := range r.issues {
		if state != "all" && is.state != state {
			continue
		}
		if !since.IsZero() && is.updated.Before(since) {
			continue
		}
		if creator != "" && !strings.EqualFold(creator, is.user) {
			continue
		}
		if !hasLabels(is, want) {
			continue
		}
		picked = append(picked, is)
	}
	slices.SortStableFunc(picked, func(a, b *issue) int {
		var o int
		switch sortBy {
		case "updated":
			o = a.updated.Compare(b.updated)
		case "comments":
			o = cmp.Compare(a.comments, b.comments)
		default:
			o = a.created.Compare(b.created)
		}
		o = cmp.Or(o, cmp.Compare(a.number, b.number))
		if dir == "desc" {
			o = -o
		}
		return o
	})
	out := make([]*github.Issue, 0, len(picked))
	for _, is := range picked {
		out = append(out, s.ghIssue(c, r, is))
	}
	return list(s, c, out)
}

// hasLabels reports whether the issue carries every wanted label.
func hasLabels(is *issue, want []string) bool {
	for _, w := range want {
		if !slices.ContainsFunc(is.labels, func(l *label) bool { return strings.EqualFold(l.name, w) }) {
			return false
		}
	}
	return true
}

// getIssue is GET /repos/{owner}/{repo}/issues/{number}.
func (s *Server) getIssue(c *call) *reply {
	r, is, rep := s.issueOf(c)
	if rep != nil {
		return rep
	}
	return s.json(http.StatusOK, s.ghIssue(c, r, is))
}

// issueRequest is the body of creating or updating an issue. Labels are
// either names or {"name": ...} objects, as GitHub accepts both.
type issueRequest struct {
	Title       *string      `json:"title"`
	Body        *string      `json:"body"`
	State       *string      `json:"state"`
	StateReason *string      `json:"state_reason"`
	Labels      *labelsInput `json:"labels"`
}

// checkBody enforces GitHub's limit on issue and comment bodies.
func (s *Server) checkBody(resource string, body *string) *reply {
	if body != nil && utf8.RuneCountInString(*body) > maxBodyChars {
		return s.invalid(fieldError{Resource: resource, Field: "body", Code: "custom",
			Message: fmt.Sprintf("body is too long (maximum is %d characters)", maxBodyChars)})
	}
	return nil
}

// createIssue is POST /repos/{owner}/{repo}/issues.
func (s *Server) createIssue(c *call) *reply {
	r, rep := s.repoOf(c)
	if rep != nil {
		return rep
	}
	var in issueRequest
	if rep := s.decode(c, &in); rep != nil {
		return rep
	}
	if in.Title == nil || strings.TrimSpace(*in.Title) == "" {
		return s.invalid(fieldError{Resource: "Issue", Field: "title", Code: "missing_field"})
	}
	if rep := s.checkBody("Issue", in.Body); rep != nil {
		return rep
	}
	now := s.clock()
	is := &issue{
		id:      s.nextID("issue"),
		number:  len(r.issues) + 1,
		title:   *in.Title,
		user:    c.login,
		state:   "open",
		created: now,
		updated: now,
	}
	if in.Body != nil {
		is.body = *in.Body
	}
	if in.Labels != nil {
		for _, name := range *in.Labels {
			is.labels = addLabel(is.labels, s.labelFor(r, name))
		}
	}
	r.issues = append(r.issues, is)
	rep = s.json(http.StatusCreated, s.ghIssue(c, r, is))
	rep.header.Set("Location", c.apiBase+"repos/"+r.fullName()+"/issues/"+strconv.Itoa(is.number))
	return rep
}

// stateReasons are the values GitHub takes for state_reason.
var stateReasons = []string{"completed", "not_planned", "reopened", "duplicate"}

// updateIssue is PATCH /repos/{owner}/{repo}/issues/{number}: title, body,
// state, state_reason, labels (replacing the set).
func (s *Server) updateIssue(c *call) *reply {
	r, is, rep := s.issueOf(c)
	if rep != nil {
		return rep
	}
	var in issueRequest
	if rep := s.decode(c, &in); rep != nil {
		return rep
	}
	if in.State != nil && *in.State != "open" && *in.State != "closed" {
		return s.invalid(fieldError{Resource: "Issue", Field: "state", Code: "invalid"})
	}
	if in.StateReason != nil && !slices.Contains(stateReasons, *in.StateReason) {
		return s.invalid(fieldError{Resource: "Issue", Field: "state_reason", Code: "invalid"})
	}
	if in.Title != nil && strings.TrimSpace(*in.Title) == "" {
		return s.invalid(fieldError{Resource: "Issue", Field: "title", Code: "missing_field"})
	}
	if rep := s.checkBody("Issue", in.Body); rep != nil {
		return rep
	}
	now := s.clock()
	if in.Title != nil {
		is.title = *in.Title
	}
	if in.Body != nil {
		is.body = *in.Body
	}
	if in.Labels != nil {
		is.labels = nil
		for _, name := range *in.Labels {
			is.labels = addLabel(is.labels, s.labelFor(r, name))
		}
	}
	if in.State != nil {
		switch {
		case *in.State == "closed" && is.state == "open":
			is.state, is.closed, is.closedBy = "closed", now, c.login
			is.stateReason = "completed"
		case *in.State == "open" && is.state == "closed":
			is.state, is.closed, is.closedBy = "open", time.Time{}, ""
			is.stateReason = "reopened"
		}
	}
	if in.StateReason != nil && (is.state == "closed") == (*in.StateReason != "reopened") {
		is.stateReason = *in.StateReason
	}
	is.updated = now
	return s.json(http.StatusOK, s.ghIssue(c, r, is))
}

// labelsInput is a list of label names given as strings or as objects with
// a name, in a bare array or under "labels" — every form GitHub accepts.
type labelsInput []string

func (l *labelsInput) UnmarshalJSON(b []byte) error {
	var wrapped struct {
		Labels labelsInput `json:"labels"`
	}
	if len(b) > 0 && b[0] == '{' {
		if err := json.Unmarshal(b, &wrapped); err != nil {
			return err
		}
		*l = wrapped.Labels
		return nil
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	out := labelsInput{}
	for _, item := range raw {
		var name string
		if err := json.Unmarshal(item, &name); err == nil {
			out = append(out, name)
			continue
		}
		var obj struct {
			Name string `json:"name"`
		}
		if err := json.Unmarshal(item, &obj); err != nil {
			return err
		}
		out = append(out, obj.Name)
	}
	*l = out
	return nil
}

// checkLabelNames refuses empty label names with GitHub's 422.
func (s *Server) checkLabelNames(names labelsInput) *reply {
	for _, n := range names {
		if strings.TrimSpace(n) == "" {
			return s.invalid(fieldError{Resource: "Label", Field: "name", Code: "invalid"})
		}
	}
	return nil
}

// listIssueLabels is GET /repos/{owner}/{repo}/issues/{number}/labels.
func (s *Server) listIssueLabels(c *call) *reply {
	r, is, rep := s.issueOf(c)
	if rep != nil {
		return rep
	}
	return list(s, c, s.ghLabels(c, r, is.labels))
}

// addIssueLabels is POST /repos/{owner}/{repo}/issues/{number}/labels; it
// answers with all the issue's labels.
func (s *Server) addIssueLabels(c *call) *reply {
	return s.setIssueLabels(c, false)
}

// replaceIssueLabels is PUT /repos/{owner}/{repo}/issues/{number}/labels.
func (s *Server) replaceIssueLabels(c *call) *reply {
	return s.setIssueLabels(c, true)
}

func (s *Server) setIssueLabels(c *call, replace bool) *reply {
	r, is, rep := s.issueOf(c)
	if rep != nil {
		return rep
	}
	var in labelsInput
	if rep := s.decode(c, &in); rep != nil {
		return rep
	}
	if rep := s.checkLabelNames(in); rep != nil {
		return rep
	}
	if replace {
		is.labels = nil
	}
	for _, name := range in {
		is.labels = addLabel(is.labels, s.labelFor(r, name))
	}
	is.updated = s.clock()
	return s.json(http.StatusOK, s.ghLabels(c, r, is.labels))
}

// removeIssueLabel is DELETE /repos/{owner}/{repo}/issues/{number}/labels/{name};
// it answers with the labels left, or 404 "Label does not exist".
func (s *Server) removeIssueLabel(c *call) *reply {
	r, is, rep := s.issueOf(c)
	if rep != nil {
		return rep
	}
	i := slices.IndexFunc(is.labels, func(l *label) bool { return strings.EqualFold(l.name, c.vars["name"]) })
	if i < 0 {
		return s.fail(http.StatusNotFound, "Label does not exist")
	}
	is.labels = slices.Delete(is.labels, i, i+1)
	is.updated = s.clock()
	return s.json(http.StatusOK, s.ghLabels(c, r, is.labels))
}

// removeAllIssueLabels is DELETE /repos/{owner}/{repo}/issues/{number}/labels.
func (s *Server) removeAllIssueLabels(c *call) *reply {
	_, is, rep := s.issueOf(c)
	if rep != nil {
		return rep
	}
	is.labels = nil
	is.updated = s.clock()
	return empty(http.StatusNoContent)
}

// listLabels is GET /repos/{owner}/{repo}/labels.
func (s *Server) listLabels(c *call) *reply {
	r, rep := s.repoOf(c)
	if rep != nil {
		return rep
	}
	return list(s, c, s.ghLabels(c, r, r.labels))
}

// getLabel is GET /repos/{owner}/{repo}/labels/{name}.
func (s *Server) getLabel(c *call) *reply {
	r, rep := s.repoOf(c)
	if rep != nil {
		return rep
	}
	l := findLabel(r, c.vars["name"])
	if l == nil {
		return s.fail(http.StatusNotFound, "Not Found")
	}
	return s.json(http.StatusOK, s.ghLabel(c, r, l))
}

// createLabel is POST /repos/{owner}/{repo}/labels.
func (s *Server) createLabel(c *call) *reply {
	r, rep := s.repoOf(c)
	if rep != nil {
		return rep
	}
	var in struct {
		Name        string `json:"name"`
		Color       string `json:"color"`
		Description string `json:"description"`
	}
	if rep := s.decode(c, &in); rep != nil {
		return rep
	}
	if strings.TrimSpace(in.Name) == "" {
		return s.invalid(fieldError{Resource: "Label", Field: "name", Code: "missing_field"})
	}
	if findLabel(r, in.Name) != nil {
		return s.invalid(fieldError{Resource: "Label", Field: "name", Code: "already_exists"})
	}
	color := strings.TrimPrefix(in.Color, "#")
	if color == "" {
		color = "ededed"
	} else if !isHexColor(color) {
		return s.invalid(fieldError{Resource: "Label", Field: "color", Code: "invalid"})
	}
	l := &label{id: s.nextID("label"), name: in.Name, color: strings.ToLower(color), description: in.Description}
	r.labels = append(r.labels, l)
	rep = s.json(http.StatusCreated, s.ghLabel(c, r, l))
	rep.header.Set("Location", c.apiBase+"repos/"+r.fullName()+"/labels/"+url.PathEscape(l.name))
	return rep
}

func isHexColor(s string) bool {
	if len(s) != 6 {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}
