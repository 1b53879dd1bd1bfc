// Package source finds what there is to scan: the branches and commits of a
// git repository (read through a private mirror, so the user's repository is
// never touched), the working tree of a directory, the Go modules in either,
// and the Go version each branch builds with.
//
// Git is driven through the git command rather than a Go implementation:
// repositories of Kubernetes' size clone, fetch and check out in seconds with
// git and in minutes (with gigabytes of memory) with go-git, and git honours
// the user's credential helpers, SSH configuration and proxies unchanged.
package source

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vexloom/vexloom/internal/branch"
	"github.com/vexloom/vexloom/internal/progress"
	"github.com/vexloom/vexloom/internal/redact"
)

// Sentinel errors callers branch on.
var (
	ErrNoBranch    = errors.New("branch not found")
	ErrNoCommit    = errors.New("commit not found")
	ErrNotRepo     = errors.New("not a git repository")
	ErrUnreachable = errors.New("repository unreachable")
	ErrNoGit       = errors.New("git is not installed")
)

// Repository is a git repository read through a bare mirror in the cache.
type Repository struct {
	// Spec is the repository as the user named it (URL or path), with any
	// credentials removed.
	Spec string
	// Mirror is the bare mirror vexloom reads from.
	Mirror string

	origin string
	git    *git

	// What was read of the mirror's refs (refs.go), kept for the
	// Repository's life.
	mu       sync.Mutex
	snapshot *refs
	headRef  string
	headRead bool
}

// Commit is a resolved revision.
type Commit struct {
	Hash string    `json:"hash"`
	Time time.Time `json:"time"`
}

// IsRemote reports whether spec names a repository by URL rather than by a
// local path.
func IsRemote(spec string) bool {
	if strings.Contains(spec, "://") {
		return true
	}
	// scp-like syntax: user@host:path or host:path (not a Windows drive).
	if i := strings.Index(spec, ":"); i > 1 && !strings.ContainsAny(spec[:i], `/\`) {
		return true
	}
	return false
}

// IsGitRepo reports whether dir is the top of a git work tree or a bare
// repository.
func IsGitRepo(ctx context.Context, dir string) bool {
	g := &git{}
	out, err := g.run(ctx, dir, "rev-parse", "--is-bare-repository", "--show-toplevel")
	if err != nil {
		return false
	}
	lines := strings.Fields(out)
	if len(lines) >= 1 && lines[0] == "true" {
		return true
	}
	if len(lines) >= 2 {
		top, err1 := filepath.EvalSymlinks(lines[1])
		abs, err2 := filepath.Abs(dir)
		if err2 == nil {
			abs, err2 = filepath.EvalSymlinks(abs)
		}
		return err1 == nil && err2 == nil && top == abs
	}
	return false
}

// OpenRepository makes or refreshes the mirror of spec under cacheDir and
// returns it. spec is a URL (https://, http://, ssh://, git://, file://,
// user@host:path) or the path of a local repository.
func OpenRepository(ctx context.Context, spec, cacheDir string, p *progress.Reporter) (*Repository, error) {
	if _, err := exec.LookPath("git"); err != nil {
		return nil, fmt.Errorf("%w: vexloom reads branches with the git command", ErrNoGit)
	}
	origin := spec
	if !IsRemote(spec) {
		abs, err := filepath.Abs(spec)
		if err != nil {
			return nil, err
		}
		fi, err := os.Stat(abs)
		if err != nil {
			return nil, fmt.Errorf("opening repository %s: %w", spec, err)
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("%w: %s is a file", ErrNotRepo, spec)
		}
		if !IsGitRepo(ctx, abs) {
			return nil, fmt.Errorf("%w: %s", ErrNotRepo, spec)
		}
		origin = abs
	}
	r := &Repository{Spec: redact.Location(spec), origin: origin, git: &git{}}
	sum := sha256.Sum256([]byte(origin))
	r.Mirror = filepath.Join(cacheDir, "repos", hex.EncodeToString(sum[:10])+".git")

	if _, err := os.Stat(filepath.Join(r.Mirror, "HEAD")); err != nil {
		p.Printf("cloning %s", r.Spec)
		if err := r.clone(ctx); err != nil {
			return nil, err
		}
		return r, nil
	}
	p.Printf("fetching %s", r.Spec)
	if !IsRemote(spec) && r.inSync(ctx) {
		return r, nil
	}
	if err := r.fetch(ctx, false); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Repository) clone(ctx context.Context) error {
	if err := os.MkdirAll(filepath.Dir(r.Mirror), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(r.Mirror), ".clone-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	defer os.Remove(tmp + ".lock")
	// A bare repository fetching only branches and tags: a mirror clone
	// would also copy refs such as GitHub's refs/pull/*, which for a large
	// project are more than the branches themselves.
	if _, err := r.git.run(ctx, "", "init", "--bare", "--quiet", tmp); err != nil {
		return fmt.Errorf("creating the mirror of %s: %w", r.Spec, err)
	}
	if _, err := r.git.run(ctx, tmp, "remote", "add", "origin", r.origin); err != nil {
		return fmt.Errorf("creating the mirror of %s: %w", r.Spec, err)
	}
	probe := &Repository{Spec: r.Spec, Mirror: tmp, origin: r.origin, git: r.git}
	if err := probe.fetch(ctx, true); err != nil {
		return err
	}
	if err := os.Rename(tmp, r.Mirror); err != nil {
		if _, statErr := os.Stat(filepath.Join(r.Mirror, "HEAD")); statErr == nil {
			// Another vexloom finished the same clone first.
			return nil
		}
		return err
	}
	return nil
}

// fetch brings the origin's branches and tags into the mirror, and its
// default branch. fresh says the mirror was just made, with the origin's
// URL: then its configuration needs no look.
func (r *Repository) fetch(ctx context.Context, fresh bool) error {
	unlock, err := lockMirror(ctx, r.Mirror)
	if err != nil {
		return err
	}
	defer unlock()
	defer r.forget()
	// Holding the mirror's lock, any lock file git left in it belongs to a
	// run that was killed mid-change: it would refuse every later change.
	removeStaleGitLocks(r.Mirror)
	if !fresh {
		if cur, err := r.git.run(ctx, r.Mirror, "config", "--get", "remote.origin.url"); err != nil || strings.TrimSpace(cur) != r.origin {
			if _, err := r.git.run(ctx, r.Mirror, "remote", "set-url", "origin", r.origin); err != nil {
				return err
			}
		}
	}
	if _, err := r.git.run(ctx, r.Mirror, "fetch", "--quiet", "--prune", "--prune-tags", "--force", "origin",
		"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"); err != nil {
		return fmt.Errorf("%w: fetching %s: %v", ErrUnreachable, r.Spec, redact.Error(err))
	}
	// The remote's default branch may have changed. A repository on this
	// machine says it in its HEAD file (read as inSync does); the mirror's
	// HEAD is set only when it names another branch.
	if ref, ok := r.originHeadFile(); ok {
		if cur, ok := symbolicHead(r.Mirror); !ok || cur != ref {
			_, _ = r.git.run(ctx, r.Mirror, "symbolic-ref", "HEAD", ref)
		}
		return nil
	}
	if out, err := r.git.run(ctx, r.Mirror, "ls-remote", "--symref", "origin", "HEAD"); err == nil {
		for _, line := range strings.Split(out, "\n") {
			if rest, ok := strings.CutPrefix(line, "ref: "); ok {
				if ref, _, ok := strings.Cut(rest, "\t"); ok && strings.HasPrefix(ref, "refs/heads/") {
					_, _ = r.git.run(ctx, r.Mirror, "symbolic-ref", "HEAD", ref)
				}
			}
		}
	}
	return nil
}

// DefaultBranch returns the repository's default branch.
func (r *Repository) DefaultBranch(ctx context.Context) (string, error) {
	ref, err := r.head(ctx)
	if err != nil {
		return "", fmt.Errorf("reading the default branch of %s: %w", r.Spec, err)
	}
	name := strings.TrimPrefix(ref, "refs/heads/")
	if name == "" {
		return "", fmt.Errorf("%s has no default branch", r.Spec)
	}
	all, err := r.Branches(ctx)
	if err != nil {
		return "", err
	}
	if slices.Contains(all, name) {
		return name, nil
	}
	// The remote did not say which branch is its default; take the usual
	// names, or the only branch there is.
	for _, cand := range []string{"main", "master"} {
		if slices.Contains(all, cand) {
			return cand, nil
		}
	}
	if len(all) == 1 {
		return all[0], nil
	}
	return "", fmt.Errorf("%w: %s has no default branch; name one with --branch (branches: %s)", ErrNoBranch, r.Spec, listForError(all))
}

// Branches lists the repository's branches, sorted.
func (r *Repository) Branches(ctx context.Context) ([]string, error) {
	rs, err := r.refs(ctx)
	if err != nil {
		return nil, err
	}
	return slices.Clone(rs.names), nil
}

// MatchBranches expands names and glob patterns (release-1.*) against the
// repository's branches. A plain name that does not exist is an error; a
// pattern that matches nothing is an error too.
func (r *Repository) MatchBranches(ctx context.Context, patterns []string) ([]string, error) {
	all, err := r.Branches(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range patterns {
		matched := false
		for _, b := range all {
			if branch.Match(p, b) {
				matched = true
				if !slices.Contains(out, b) {
					out = append(out, b)
				}
			}
		}
		if !matched {
			return nil, fmt.Errorf("%w: %q in %s (branches: %s)", ErrNoBranch, p, r.Spec, listForError(all))
		}
	}
	return out, nil
}

func listForError(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	if len(names) > 10 {
		return strings.Join(names[:10], ", ") + fmt.Sprintf(" and %d more", len(names)-10)
	}
	return strings.Join(names, ", ")
}

// ResolveBranch returns the commit at the tip of branch.
func (r *Repository) ResolveBranch(ctx context.Context, branch string) (Commit, error) {
	if strings.HasPrefix(branch, "-") || strings.Contains(branch, "..") {
		return Commit{}, fmt.Errorf("%w: %q is not a branch name", ErrNoBranch, branch)
	}
	c, err := r.commit(ctx, "refs/heads/"+branch)
	if err != nil {
		all, _ := r.Branches(ctx)
		return Commit{}, fmt.Errorf("%w: %q in %s (branches: %s)", ErrNoBranch, branch, r.Spec, listForError(all))
	}
	return c, nil
}

// ResolveRevision resolves a commit hash (full or abbreviated) or a tag.
func (r *Repository) ResolveRevision(ctx context.Context, rev string) (Commit, error) {
	if rev == "" || strings.HasPrefix(rev, "-") {
		return Commit{}, fmt.Errorf("%w: %q", ErrNoCommit, rev)
	}
	for _, cand := range []string{"refs/tags/" + rev, rev} {
		if c, err := r.commit(ctx, cand); err == nil {
			return c, nil
		}
	}
	return Commit{}, fmt.Errorf("%w: %q in %s", ErrNoCommit, rev, r.Spec)
}

// Contains reports whether commit is reachable from branch.
func (r *Repository) Contains(ctx context.Context, branch, commit string) bool {
	rs, err := r.refs(ctx)
	if err != nil {
		return false
	}
	tip, ok := rs.branches[branch]
	if !ok {
		return false
	}
	key := commit + " " + tip.Hash
	if v, ok := ancestry.get(key); ok {
		return v
	}
	_, err = r.git.run(ctx, r.Mirror, "merge-base", "--is-ancestor", commit, tip.Hash)
	if err != nil && ctx.Err() != nil {
		return false
	}
	// merge-base exits 1 for "no" and 128 for an unknown commit; both are
	// no, and neither changes while the two names stay what they are.
	if isFullHash(commit) {
		ancestry.put(key, err == nil)
	}
	return err == nil
}

// commit resolves rev: a branch or tag ref from the refs read at open, any
// other revision through git (a full object name once per process).
func (r *Repository) commit(ctx context.Context, rev string) (Commit, error) {
	if name, ok := strings.CutPrefix(rev, "refs/heads/"); ok {
		rs, err := r.refs(ctx)
		if err != nil {
			return Commit{}, err
		}
		if c, ok := rs.branches[name]; ok {
			return c, nil
		}
		return Commit{}, fmt.Errorf("%w: %q", ErrNoCommit, rev)
	}
	if name, ok := strings.CutPrefix(rev, "refs/tags/"); ok {
		rs, err := r.refs(ctx)
		if err != nil {
			return Commit{}, err
		}
		if t, ok := rs.tags[name]; ok {
			return Commit{Hash: t.Commit, Time: t.Time}, nil
		}
		return Commit{}, fmt.Errorf("%w: %q", ErrNoCommit, rev)
	}
	full := isFullHash(rev)
	if full {
		if c, ok := commits.get(rev); ok {
			return c, nil
		}
	}
	out, err := r.git.run(ctx, r.Mirror, "log", "-1", "--format=%H %ct", rev+"^{commit}", "--")
	if err != nil {
		return Commit{}, err
	}
	f := strings.Fields(out)
	if len(f) != 2 {
		return Commit{}, fmt.Errorf("%w: %q", ErrNoCommit, rev)
	}
	sec, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return Commit{}, err
	}
	c := Commit{Hash: f[0], Time: time.Unix(sec, 0).UTC()}
	if full {
		commits.put(rev, c)
	}
	return c, nil
}

// Tags returns the tags that point at commit, sorted.
func (r *Repository) Tags(ctx context.Context, commit string) ([]string, error) {
	if !isFullHash(commit) {
		c, err := r.commit(ctx, commit)
		if err != nil {
			return nil, err
		}
		commit = c.Hash
	}
	rs, err := r.refs(ctx)
	if err != nil {
		return nil, err
	}
	var tags []string
	for name, t := range rs.tags {
		if t.Commit == commit {
			tags = append(tags, name)
		}
	}
	slices.Sort(tags)
	return tags, nil
}

// Behind counts the commits on branch that are not ancestors of commit:
// how far the branch has moved on since it. It is -1 when commit is not on
// the branch.
func (r *Repository) Behind(ctx context.Context, branch, commit string) int {
	if !r.Contains(ctx, branch, commit) {
		return -1
	}
	rs, err := r.refs(ctx)
	if err != nil {
		return -1
	}
	span := commit + ".." + rs.branches[branch].Hash
	if n, ok := distances.get(span); ok {
		return n
	}
	out, err := r.git.run(ctx, r.Mirror, "rev-list", "--count", span)
	if err != nil {
		return -1
	}
	n, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		return -1
	}
	if isFullHash(commit) {
		distances.put(span, n)
	}
	return n
}

// MergedTags returns the tags reachable from commit (those at it and at
// its ancestors), sorted.
func (r *Repository) MergedTags(ctx context.Context, commit string) ([]string, error) {
	rs, err := r.refs(ctx)
	if err != nil {
		return nil, err
	}
	key := commit + " " + rs.tagSet
	full := isFullHash(commit)
	if full {
		if tags, ok := mergedTags.get(key); ok {
			return slices.Clone(tags), nil
		}
	}
	out, err := r.git.run(ctx, r.Mirror, "tag", "--merged", commit)
	if err != nil {
		return nil, err
	}
	tags := strings.Fields(out)
	slices.Sort(tags)
	if full {
		mergedTags.put(key, tags)
	}
	return slices.Clone(tags), nil
}

// Files lists the paths of every file at commit, sorted.
func (r *Repository) Files(ctx context.Context, commit string) ([]string, error) {
	full := isFullHash(commit)
	if full {
		if files, ok := fileLists.get(commit); ok {
			return slices.Clone(files), nil
		}
	}
	out, err := r.git.run(ctx, r.Mirror, "ls-tree", "-r", "-z", "--name-only", "--full-tree", commit)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, f := range strings.Split(out, "\x00") {
		if f != "" {
			files = append(files, f)
		}
	}
	slices.Sort(files)
	if full {
		fileLists.put(commit, files)
	}
	return slices.Clone(files), nil
}

// ReadFile returns a file's content at commit; os.ErrNotExist if absent.
func (r *Repository) ReadFile(ctx context.Context, commit, path string) ([]byte, error) {
	full := isFullHash(commit)
	key := commit + ":" + path
	if full {
		if found, known := listed(commit, path); known && !found {
			return nil, fmt.Errorf("reading %s at %s: %w", path, short(commit), os.ErrNotExist)
		}
		if b, ok := fileContents.get(key); ok {
			return bytes.Clone(b), nil
		}
	}
	out, err := r.git.runBytes(ctx, r.Mirror, "cat-file", "blob", key)
	if err != nil {
		return nil, fmt.Errorf("reading %s at %s: %w", path, short(commit), os.ErrNotExist)
	}
	if full && len(out) <= smallFile {
		fileContents.put(key, bytes.Clone(out))
	}
	return out, nil
}

// TreeHash returns the git object ID of dir at commit ("" for a directory
// that does not exist); it changes exactly when something under dir does.
func (r *Repository) TreeHash(ctx context.Context, commit, dir string) (string, error) {
	rev := commit + "^{tree}"
	if dir != "." && dir != "" {
		rev = commit + ":" + dir
	}
	full := isFullHash(commit)
	if full {
		if h, ok := treeHashes.get(rev); ok {
			return h, nil
		}
	}
	out, err := r.git.run(ctx, r.Mirror, "rev-parse", "--verify", "--quiet", rev)
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", nil
	}
	h := strings.TrimSpace(out)
	if full {
		treeHashes.put(rev, h)
	}
	return h, nil
}

// Worktree is a temporary checkout of one commit.
type Worktree struct {
	Dir    string
	repo   *Repository
	closed bool
}

// Checkout checks commit out into a fresh temporary worktree of the mirror.
// The caller must Close it.
func (r *Repository) Checkout(ctx context.Context, commit string) (*Worktree, error) {
	dir, err := os.MkdirTemp("", "vexloom-worktree-")
	if err != nil {
		return nil, err
	}
	// Worktrees of a killed run are forgotten here.
	_, _ = r.git.run(ctx, r.Mirror, "worktree", "prune")
	if _, err := r.git.run(ctx, r.Mirror, "worktree", "add", "--detach", "--force", "--quiet", dir, commit); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("checking out %s: %w", short(commit), err)
	}
	return &Worktree{Dir: dir, repo: r}, nil
}

// Close removes the worktree. It is safe to call more than once.
func (w *Worktree) Close() error {
	if w == nil || w.closed {
		return nil
	}
	w.closed = true
	_, err := w.repo.git.run(context.Background(), w.repo.Mirror, "worktree", "remove", "--force", w.Dir)
	if rmErr := os.RemoveAll(w.Dir); rmErr != nil && err == nil {
		err = rmErr
	}
	_, _ = w.repo.git.run(context.Background(), w.repo.Mirror, "worktree", "prune")
	return err
}

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}

// git runs the git command with prompts disabled and a stable locale.
type git struct{}

func (g *git) run(ctx context.Context, dir string, args ...string) (string, error) {
	b, err := g.runBytes(ctx, dir, args...)
	return string(b), err
}

func (g *git) runBytes(ctx context.Context, dir string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_TERMINAL_PROMPT=0",
		"GIT_ASKPASS=",
		"SSH_ASKPASS=",
		"GCM_INTERACTIVE=never",
		"LC_ALL=C",
		"GIT_SSH_COMMAND="+sshCommand(),
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		msg := gitMessage(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return nil, errors.New(redact.String(msg))
	}
	return stdout.Bytes(), nil
}

// gitMessage condenses git's stderr into one line, without the advice git
// adds to every failed network operation.
func gitMessage(stderr string) string {
	var parts []string
	for _, line := range strings.Split(stderr, "\n") {
		line = strings.TrimSpace(line)
		line = strings.TrimPrefix(line, "fatal: ")
		line = strings.TrimPrefix(line, "error: ")
		switch {
		case line == "",
			strings.HasPrefix(line, "Please make sure you have the correct access rights"),
			line == "and the repository exists.",
			strings.HasPrefix(line, "hint:"):
			continue
		}
		parts = append(parts, line)
	}
	if len(parts) > 3 {
		parts = parts[:3]
	}
	return strings.Join(parts, "; ")
}

// sshCommand keeps ssh from prompting (BatchMode) unless the user configured
// their own command.
func sshCommand() string {
	if c := os.Getenv("GIT_SSH_COMMAND"); c != "" {
		return c
	}
	return "ssh -o BatchMode=yes"
}

// removeStaleGitLocks removes the lock files a killed git process leaves in
// a bare repository (config.lock, packed-refs.lock, HEAD.lock, refs/**.lock).
// Only called with the mirror's own lock held, when no git runs in it.
func removeStaleGitLocks(dir string) {
	for _, name := range []string{"config.lock", "packed-refs.lock", "HEAD.lock", "shallow.lock", "FETCH_HEAD.lock", "index.lock"} {
		os.Remove(filepath.Join(dir, name))
	}
	filepath.WalkDir(filepath.Join(dir, "refs"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".lock") {
			os.Remove(p)
		}
		return nil
	})
}
