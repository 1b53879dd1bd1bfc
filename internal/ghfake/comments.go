package ghfake

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v75/github"
)

// Comment is an issue comment as the server holds it.
type Comment struct {
	ID        int64
	Number    int // the issue's number
	HTMLURL   string
	Body      string
	User      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Reaction is a reaction to an issue comment.
type Reaction struct {
	ID        int64
	User      string
	Content   string // "+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"
	CreatedAt time.Time
}

type comment struct {
	id               int64
	number           int
	body, user       string
	created, updated time.Time
	reactions        []*reaction
}

type reaction struct {
	id      int64
	user    string
	content string
	created time.Time
}

// reactionContents are the reactions GitHub knows, in the order of its
// reaction rollup.
var reactionContents = []string{"+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"}

// AddComment seeds a comment by user on an issue, now; like a comment made
// through the API it bumps the issue's updated_at.
func (s *Server) AddComment(fullName string, number int, user, body string) Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, is := s.seededIssue(fullName, number)
	cm := s.newComment(r, is, user, body)
	return s.commentView(r, cm)
}

func (s *Server) newComment(r *repo, is *issue, user, body string) *comment {
	s.userFor(user, false)
	now := s.clock()
	cm := &comment{id: s.nextID("comment"), number: is.number, body: body, user: user, created: now, updated: now}
	r.comments = append(r.comments, cm)
	is.comments++
	is.updated = now
	return cm
}

// Comments returns the comments on an issue, oldest first.
func (s *Server) Comments(fullName string, number int) []Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, is := s.seededIssue(fullName, number)
	var out []Comment
	for _, cm := range r.comments {
		if cm.number == is.number {
			out = append(out, s.commentView(r, cm))
		}
	}
	return out
}

// Reactions returns the reactions to a comment, oldest first.
func (s *Server) Reactions(fullName string, commentID int64) []Reaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.repos[strings.ToLower(fullName)]
	if !ok {
		return nil
	}
	cm := findComment(r, commentID)
	if cm == nil {
		return nil
	}
	var out []Reaction
	for _, re := range cm.reactions {
		out = append(out, Reaction{ID: re.id, User: re.user, Content: re.content, CreatedAt: re.created})
	}
	return out
}

func (s *Server) commentView(r *repo, cm *comment) Comment {
	return Comment{
		ID:        cm.id,
		Number:    cm.number,
		HTMLURL:   s.commentHTMLURL(r, cm),
		Body:      cm.body,
		User:      cm.user,
		CreatedAt: cm.created,
		UpdatedAt: cm.updated,
	}
}

func (s *Server) commentHTMLURL(r *repo, cm *comment) string {
	return s.URL() + r.fullName() + "/issues/" + strconv.Itoa(cm.number) + "#issuecomment-" + strconv.FormatInt(cm.id, 10)
}

func findComment(r *repo, id int64) *comment {
	i, ok := slices.BinarySearchFunc(r.comments, id, func(cm *comment, id int64) int { return cmp.Compare(cm.id, id) })
	if !ok {
		return nil
	}
	return r.comments[i]
}

// ghComment is a comment as GitHub's JSON has it, with its reaction rollup.
func (s *Server) ghComment(c *call, r *repo, cm *comment) *github.IssueComment {
	api := c.apiBase + "repos/" + r.fullName() + "/issues/comments/" + strconv.FormatInt(cm.id, 10)
	counts := map[string]int{}
	for _, re := range cm.reactions {
		counts[re.content]++
	}
	return &github.IssueComment{
		ID:                github.Ptr(cm.id),
		NodeID:            github.Ptr(nodeID("IC", cm.id)),
		Body:              github.Ptr(cm.body),
		User:              s.ghUser(c, cm.user),
		CreatedAt:         &github.Timestamp{Time: cm.created},
		UpdatedAt:         &github.Timestamp{Time: cm.updated},
		AuthorAssociation: github.Ptr("NONE"),
		URL:               github.Ptr(api),
		HTMLURL:           github.Ptr(s.commentHTMLURL(r, cm)),
		IssueURL:          github.Ptr(c.apiBase + "repos/" + r.fullName() + "/issues/" + strconv.Itoa(cm.number)),
		Reactions: &github.Reactions{
			TotalCount: github.Ptr(len(cm.reactions)),
			PlusOne:    github.Ptr(counts["+1"]),
			MinusOne:   github.Ptr(counts["-1"]),
			Laugh:      github.Ptr(counts["laugh"]),
			Confused:   github.Ptr(counts["confused"]),
			Heart:      github.Ptr(counts["heart"]),
			Hooray:     github.Ptr(counts["hooray"]),
			Rocket:     github.Ptr(counts["rocket"]),
			Eyes:       github.Ptr(counts["eyes"]),
			URL:        github.Ptr(api + "/reactions"),
		},
	}
}

// commentOf finds the request's comment.
func (s *Server) commentOf(c *call) (*repo, *comment, *reply) {
	r, rep := s.repoOf(c)
	if rep != nil {
		return nil, nil, rep
	}
	id, err := strconv.ParseInt(c.vars["id"], 10, 64)
	if err != nil {
		return nil, nil, s.fail(http.StatusNotFound, "Not Found")
	}
	cm := findComment(r, id)
	if cm == nil {
		return nil, nil, s.fail(http.StatusNotFound, "Not Found")
	}
	return r, cm, nil
}

// listIssueComments is GET /repos/{owner}/{repo}/issues/{number}/comments:
// oldest first, since (updated at or after), paging.
func (s *Server) listIssueComments(c *call) *reply {
	r, is, rep := s.issueOf(c)
	if rep != nil {
		return rep
	}
	since, rep := s.parseSince(c, "IssueComment")
	if rep != nil {
		return rep
	}
	out := []*github.IssueComment{}
	for _, cm := range r.comments {
		if cm.number == is.number && !cm.updated.Before(since) {
			out = append(out, s.ghComment(c, r, cm))
		}
	}
	return list(s, c, out)
}

// listRepoComments is GET /repos/{owner}/{repo}/issues/comments: every
// issue's comments; since (updated at or after), sort (created|updated),
// direction (asc unless sort is given, then desc), paging.
func (s *Server) listRepoComments(c *call) *reply {
	r, rep := s.repoOf(c)
	if rep != nil {
		return rep
	}
	since, rep := s.parseSince(c, "IssueComment")
	if rep != nil {
		return rep
	}
	sortBy := c.query("sort")
	if sortBy != "" && sortBy != "created" && sortBy != "updated" {
		return s.invalid(fieldError{Resource: "IssueComment", Field: "sort", Code: "invalid"})
	}
	dir := "asc"
	if sortBy != "" {
		dir = cmp.Or(c.query("direction"), "desc")
	}
	if dir != "asc" && dir != "desc" {
		return s.invalid(fieldError{Resource: "IssueComment", Field: "direction", Code: "invalid"})
	}
	var picked []*comment
	for _, cm := range r.comments {
		if !cm.updated.Before(since) {
			picked = append(picked, cm)
		}
	}
	slices.SortStableFunc(picked, func(a, b *comment) int {
		o := 0
		if sortBy == "updated" {
			o = a.updated.Compare(b.updated)
		} else {
			o = a.created.Compare(b.created)
		}
		o = cmp.Or(o, cmp.Compare(a.id, b.id))
		if dir == "desc" {
			o = -o
		}
		return o
	})
	out := make([]*github.IssueComment, 0, len(picked))
	for _, cm := range picked {
		out = append(out, s.ghComment(c, r, cm))
	}
	return list(s, c, out)
}

// getComment is GET /repos/{owner}/{repo}/issues/comments/{id}.
func (s *Server) getComment(c *call) *reply {
	r, cm, rep := s.commentOf(c)
	if rep != nil {
		return rep
	}
	return s.json(http.StatusOK, s.ghComment(c, r, cm))
}

// commentRequest is the body of creating or editing a comment.
type commentRequest struct {
	Body *string `json:"body"`
}

func (s *Server) readCommentBody(c *call) (string, *reply) {
	var in commentRequest
	if rep := s.decode(c, &in); rep != nil {
		return "", rep
	}
	if in.Body == nil || strings.TrimSpace(*in.Body) == "" {
		return "", s.invalid(fieldError{Resource: "IssueComment", Field: "body", Code: "missing_field"})
	}
	if rep := s.checkBody("IssueComment", in.Body); rep != nil {
		return "", rep
	}
	return *in.Body, nil
}

// createComment is POST /repos/{owner}/{repo}/issues/{number}/comments.
func (s *Server) createComment(c *call) *reply {
	r, is, rep := s.issueOf(c)
	if rep != nil {
		return rep
	}
	body, rep := s.readCommentBody(c)
	if rep != nil {
		return rep
	}
	cm := s.newComment(r, is, c.login, body)
	rep = s.json(http.StatusCreated, s.ghComment(c, r, cm))
	rep.header.Set("Location", c.apiBase+"repos/"+r.fullName()+"/issues/comments/"+strconv.FormatInt(cm.id, 10))
	return rep
}

// editComment is PATCH /repos/{owner}/{repo}/issues/comments/{id}.
func (s *Server) editComment(c *call) *reply {
	r, cm, rep := s.commentOf(c)
	if rep != nil {
		return rep
	}
	body, rep := s.readCommentBody(c)
	if rep != nil {
		return rep
	}
	cm.body = body
	cm.updated = s.clock()
	return s.json(http.StatusOK, s.ghComment(c, r, cm))
}

// deleteComment is DELETE /repos/{owner}/{repo}/issues/comments/{id}.
func (s *Server) deleteComment(c *call) *reply {
	r, cm, rep := s.commentOf(c)
	if rep != nil {
		return rep
	}
	r.comments = slices.DeleteFunc(r.comments, func(x *comment) bool { return x == cm })
	r.issues[cm.number-1].comments--
	return empty(http.StatusNoContent)
}

func (s *Server) ghReaction(c *call, re *reaction) *github.Reaction {
	return &github.Reaction{
		ID:        github.Ptr(re.id),
		NodeID:    github.Ptr(nodeID("REA", re.id)),
		User:      s.ghUser(c, re.user),
		Content:   github.Ptr(re.content),
		CreatedAt: &github.Timestamp{Time: re.created},
	}
}

// listReactions is GET /repos/{owner}/{repo}/issues/comments/{id}/reactions
// (content filter, paging).
func (s *Server) listReactions(c *call) *reply {
	_, cm, rep := s.commentOf(c)
	if rep != nil {
		return rep
	}
	content := c.query("content")
	if content != "" && !slices.Contains(reactionContents, content) {
		return s.invalid(fieldError{Resource: "Reaction", Field: "content", Code: "invalid"})
	}
	out := []*github.Reaction{}
	for _, re := range cm.reactions {
		if content == "" || re.content == content {
			out = append(out, s.ghReaction(c, re))
		}
	}
	return list(s, c, out)
}

// createReaction is POST /repos/{owner}/{repo}/issues/comments/{id}/reactions:
// 201 with a new reaction, 200 with the existing one when the user already
// reacted with that content.
func (s *Server) createReaction(c *call) *reply {
	_, cm, rep := s.commentOf(c)
	if rep != nil {
		return rep
	}
	var in struct {
		Content string `json:"content"`
	}
	if rep := s.decode(c, &in); rep != nil {
		return rep
	}
	if !slices.Contains(reactionContents, in.Content) {
		return s.invalid(fieldError{Resource: "Reaction", Field: "content", Code: "invalid"})
	}
	for _, re := range cm.reactions {
		if re.content == in.Content && strings.EqualFold(re.user, c.login) {
			return s.json(http.StatusOK, s.ghReaction(c, re))
		}
	}
	re := &reaction{id: s.nextID("reaction"), user: c.login, content: in.Content, created: s.clock()}
	cm.reactions = append(cm.reactions, re)
	return s.json(http.StatusCreated, s.ghReaction(c, re))
}
