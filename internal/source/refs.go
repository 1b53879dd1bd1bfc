package source

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// refs is the mirror's branches and tags as one git command listed them.
// A Repository reads them once, after its fetch, and answers every question
// about branch tips and tags from it: one consistent view for the whole
// run (another vexloom fetching into the same mirror meanwhile changes
// nothing this one sees), and no git process per question.
type refs struct {
	branches map[string]Commit
	names    []string // branch names, sorted
	tags     map[string]Tag
	// listing is "object refname" per line, sorted: what the origin's own
	// listing is compared with to tell whether a fetch has anything to do.
	listing string
	// tagSet names the set of tags and their commits: questions about
	// which tags a commit reaches have the same answer in every mirror
	// with the same set.
	tagSet string
}

// refFormat prints each ref's name, object, the commit an annotated tag
// points at, and the committer dates of both. Ref names cannot contain a
// tab (git forbids control characters in them).
const refFormat = "--format=%(refname)%09%(objectname)%09%(*objectname)%09%(committerdate:unix)%09%(*committerdate:unix)"

func parseRefs(out string) (*refs, error) {
	rs := &refs{branches: map[string]Commit{}, tags: map[string]Tag{}}
	var listing []string
	for _, line := range strings.Split(out, "\n") {
		if line == "" {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 5 {
			return nil, fmt.Errorf("unexpected line from git for-each-ref: %q", truncate(line, 200))
		}
		name, object, peeled, date, peeledDate := f[0], f[1], f[2], f[3], f[4]
		listing = append(listing, object+" "+name)
		commit := object
		if peeled != "" {
			commit, date = peeled, peeledDate
		}
		var when time.Time
		if sec, err := strconv.ParseInt(date, 10, 64); err == nil {
			when = time.Unix(sec, 0).UTC()
		} else if date != "" {
			return nil, fmt.Errorf("unexpected date %q for %s from git for-each-ref", truncate(date, 40), truncate(name, 200))
		}
		switch {
		case strings.HasPrefix(name, "refs/heads/"):
			if date == "" {
				// Not a commit (a branch set to a tree or a blob):
				// no revision resolves through it.
				continue
			}
			b := strings.TrimPrefix(name, "refs/heads/")
			rs.branches[b] = Commit{Hash: commit, Time: when}
			rs.names = append(rs.names, b)
		case strings.HasPrefix(name, "refs/tags/"):
			t := strings.TrimPrefix(name, "refs/tags/")
			if date == "" {
				continue
			}
			rs.tags[t] = Tag{Name: t, Commit: commit, Time: when}
		}
	}
	slices.Sort(rs.names)
	names := make([]string, 0, len(rs.tags))
	for name := range rs.tags {
		names = append(names, name)
	}
	slices.Sort(names)
	h := sha256.New()
	for _, name := range names {
		fmt.Fprintf(h, "%s %s\n", name, rs.tags[name].Commit)
	}
	rs.tagSet = hex.EncodeToString(h.Sum(nil))
	slices.Sort(listing)
	rs.listing = strings.Join(listing, "\n")
	return rs, nil
}

// refs returns the mirror's branches and tags, listing them on first use.
func (r *Repository) refs(ctx context.Context) (*refs, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.snapshot != nil {
		return r.snapshot, nil
	}
	out, err := r.git.run(ctx, r.Mirror, "for-each-ref", refFormat, "refs/heads/", "refs/tags/")
	if err != nil {
		return nil, fmt.Errorf("listing the branches and tags of %s: %w", r.Spec, err)
	}
	rs, err := parseRefs(out)
	if err != nil {
		return nil, fmt.Errorf("listing the branches and tags of %s: %w", r.Spec, err)
	}
	r.snapshot = rs
	return rs, nil
}

// head returns the branch the mirror's HEAD names ("" when none), asking
// git once.
func (r *Repository) head(ctx context.Context) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.headRead {
		return r.headRef, nil
	}
	if ref, ok := symbolicHead(r.Mirror); ok {
		r.headRef, r.headRead = ref, true
		return ref, nil
	}
	out, err := r.git.run(ctx, r.Mirror, "symbolic-ref", "--quiet", "HEAD")
	if err != nil {
		return "", err
	}
	r.headRef, r.headRead = strings.TrimSpace(out), true
	return r.headRef, nil
}

// symbolicHead reads the branch a repository's HEAD names from the HEAD
// file of its git directory, as git's repository layout documents it
// ("ref: refs/heads/NAME"), saving a git process on every open. Anything
// else — a detached HEAD, a reftable repository (whose HEAD file names
// refs/heads/.invalid), a file that cannot be read — answers false, and
// the caller asks git.
func symbolicHead(gitDir string) (string, bool) {
	b, err := os.ReadFile(filepath.Join(gitDir, "HEAD"))
	if err != nil || len(b) > 1024 {
		return "", false
	}
	ref, ok := strings.CutPrefix(strings.TrimRight(string(b), "\n"), "ref: ")
	if !ok || !strings.HasPrefix(ref, "refs/heads/") || len(ref) == len("refs/heads/") || ref == "refs/heads/.invalid" || strings.ContainsAny(ref, "\n\r\x00") {
		return "", false
	}
	return ref, true
}

// originHeadFile returns the branch the HEAD of an origin on this machine
// names, read from its HEAD file (symbolicHead); false for a remote origin
// and whenever the file does not say, when the caller asks git.
func (r *Repository) originHeadFile() (string, bool) {
	if IsRemote(r.origin) {
		return "", false
	}
	d := gitDir(r.origin)
	if d == "" {
		return "", false
	}
	return symbolicHead(d)
}

// gitDir returns the git directory of a repository on this machine: DIR/.git
// when it is a directory, DIR itself when DIR is bare; "" otherwise (a
// worktree's .git file, say), when the caller asks git.
func gitDir(dir string) string {
	if fi, err := os.Stat(filepath.Join(dir, ".git")); err == nil {
		if fi.IsDir() {
			return filepath.Join(dir, ".git")
		}
		return ""
	}
	if fi, err := os.Stat(filepath.Join(dir, "objects")); err == nil && fi.IsDir() {
		return dir
	}
	return ""
}

// inSync reports whether the mirror of a repository on this machine
// already holds exactly the origin's branches and tags at the same objects,
// with the same default branch: then a fetch has nothing to bring, and
// costs (with its upload-pack and the default branch's query) eight git
// processes where this costs four, and what it read of the mirror serves
// the rest of the run. Any doubt answers false, and the caller fetches
// (which forgets what was read).
func (r *Repository) inSync(ctx context.Context) bool {
	out, err := r.git.run(ctx, r.origin, "for-each-ref", "--format=%(objectname) %(refname)", "refs/heads/", "refs/tags/")
	if err != nil {
		return false
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) == 1 && lines[0] == "" {
		lines = nil
	}
	slices.Sort(lines)
	originHead, ok := r.originHeadFile()
	if !ok {
		out, err := r.git.run(ctx, r.origin, "symbolic-ref", "--quiet", "HEAD")
		if err != nil {
			// A detached HEAD: the fetch would not change the mirror's.
			out = ""
		}
		originHead = strings.TrimSpace(out)
	}
	rs, err := r.refs(ctx)
	if err != nil || rs.listing != strings.Join(lines, "\n") {
		return false
	}
	if originHead == "" {
		return true
	}
	head, err := r.head(ctx)
	return err == nil && head == originHead
}

// forget drops what was read of the mirror's refs, once a fetch has changed
// them.
func (r *Repository) forget() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.snapshot, r.headRef, r.headRead = nil, "", false
}
