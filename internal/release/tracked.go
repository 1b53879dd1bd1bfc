package release

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/vexloom/vexloom/internal/config"
	"github.com/vexloom/vexloom/internal/source"
	"github.com/vexloom/vexloom/internal/store"
)

// Point is a tracked release point: a tag (or a commit named in the
// configuration) on a maintained branch.
type Point struct {
	// Name is the tag, or the commit for a release named by commit.
	Name string
	// Tag is the tag ("" for a release named by commit).
	Tag    string
	Commit string
	// Branch is the maintained branch the release was cut from: of those
	// holding the commit, the one that moved on least since.
	Branch string
	Time   time.Time
}

// Track chooses the tracked release points among the maintained branches
// by the configured rules. A rule matching nothing is a warning naming it,
// not an error: the other releases are still tracked. The points come out
// sorted by branch, then newest first.
func Track(ctx context.Context, repo *source.Repository, rc config.Releases, maintained []string) ([]Point, []string, error) {
	var warnings []string
	tagsOn := map[string][]source.Tag{}
	for _, b := range maintained {
		ts, err := repo.TagsOn(ctx, b)
		if err != nil {
			return nil, nil, err
		}
		tagsOn[b] = ts
	}
	// Each tag belongs to one branch: the one holding it that moved on
	// least since (a tag on release-1.0 is also on master when master
	// descends from it, far behind its tip), as Assemble decides.
	owners := map[string][]string{}
	for _, b := range maintained {
		for _, t := range tagsOn[b] {
			owners[t.Name] = append(owners[t.Name], b)
		}
	}
	owner := func(t source.Tag) string {
		bs := owners[t.Name]
		if len(bs) == 1 {
			return bs[0]
		}
		if closest := closestBranches(ctx, repo, bs, t.Commit); len(closest) > 0 {
			return closest[0]
		}
		return ""
	}
	ownerOf := map[string]string{}
	var out []Point
	seen := map[string]bool{}
	for _, r := range rc.Track {
		matched := 0
		for _, b := range maintained {
			if len(r.Branches) > 0 && !matchAny(r.Branches, b) {
				continue
			}
			kept := 0
			for _, t := range tagsOn[b] {
				if !matchAny(r.Tags, t.Name) {
					continue
				}
				o, ok := ownerOf[t.Name]
				if !ok {
					o = owner(t)
					ownerOf[t.Name] = o
				}
				if o != b {
					continue
				}
				if !r.Since.IsZero() && t.Time.Before(r.Since) {
					continue
				}
				if r.Keep > 0 && kept >= r.Keep {
					continue
				}
				kept++
				matched++
				if !seen[t.Name] {
					seen[t.Name] = true
					out = append(out, Point{Name: t.Name, Tag: t.Name, Commit: t.Commit, Branch: b, Time: t.Time})
				}
			}
		}
		if matched == 0 {
			on := "the maintained branches"
			if len(r.Branches) > 0 {
				on = strings.Join(r.Branches, ", ")
			}
			warnings = append(warnings, fmt.Sprintf("releases.track rule at line %d: no tag matching %s on %s", r.Line, strings.Join(r.Tags, ", "), on))
		}
	}
	for _, c := range rc.Commits {
		cm, err := repo.ResolveRevision(ctx, c)
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("release %s: %v", c, err))
			continue
		}
		best := ""
		if closest := closestBranches(ctx, repo, maintained, cm.Hash); len(closest) > 0 {
			best = closest[0]
		}
		if best == "" {
			warnings = append(warnings, fmt.Sprintf("release %s: the commit is on none of the maintained branches", c))
			continue
		}
		if !seen[cm.Hash] {
			seen[cm.Hash] = true
			out = append(out, Point{Name: cm.Hash, Commit: cm.Hash, Branch: best, Time: cm.Time})
		}
	}
	slices.SortStableFunc(out, func(a, b Point) int {
		if c := strings.Compare(a.Branch, b.Branch); c != 0 {
			return c
		}
		return b.Time.Compare(a.Time)
	})
	return out, warnings, nil
}

// closestBranches are the branches among bs holding commit that moved on
// least since it, in bs's order: the branch a release at commit was cut
// from is the first (a tag on release-1.0 is also an ancestor of master,
// far behind its tip); more than one means they are equally close.
func closestBranches(ctx context.Context, repo *source.Repository, bs []string, commit string) []string {
	var out []string
	best := -1
	for _, b := range bs {
		n := repo.Behind(ctx, b, commit)
		switch {
		case n < 0:
		case best < 0 || n < best:
			out, best = []string{b}, n
		case n == best:
			out = append(out, b)
		}
	}
	return out
}

// Errors of BranchOf.
var (
	// ErrNotOnBranch: the release point is on none of the maintained
	// branches (or is no commit of the repository).
	ErrNotOnBranch = errors.New("not on a maintained branch")
	// ErrAmbiguousBranch: maintained branches holding the release point
	// are equally close to it.
	ErrAmbiguousBranch = errors.New("on more than one maintained branch")
)

// BranchOf is the maintained branch a release point (a tag or a commit)
// was cut from, as Track and Assemble decide it: of the maintained
// branches holding its commit, the one that moved on least since. Two
// branches equally close are ErrAmbiguousBranch (Track and Assemble take
// the first configured; a caller that can ask should), none is
// ErrNotOnBranch; both errors name the branches and the commit.
func BranchOf(ctx context.Context, repo *source.Repository, maintained []string, ref string) (string, error) {
	c, err := repo.ResolveRevision(ctx, ref)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrNotOnBranch, err)
	}
	closest := closestBranches(ctx, repo, maintained, c.Hash)
	switch len(closest) {
	case 0:
		return "", fmt.Errorf("%s (%s) is %w (%s)", ref, shortHash(c.Hash), ErrNotOnBranch, strings.Join(maintained, ", "))
	case 1:
		return closest[0], nil
	}
	return "", fmt.Errorf("%s (%s) is %w, equally close to each: %s", ref, shortHash(c.Hash), ErrAmbiguousBranch, strings.Join(closest, ", "))
}

func matchAny(patterns []string, s string) bool {
	for _, p := range patterns {
		if p == s {
			return true
		}
		if ok, _ := path.Match(p, s); ok {
			return true
		}
	}
	return false
}

// Maintained expands the configured branch names and patterns to the
// repository's branches, in order and each once; a name matching no branch
// is skipped.
func Maintained(ctx context.Context, repo *source.Repository, branches []string) ([]string, error) {
	var out []string
	for _, b := range branches {
		bs, err := repo.MatchBranches(ctx, []string{b})
		if errors.Is(err, source.ErrNoBranch) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, x := range bs {
			if !slices.Contains(out, x) {
				out = append(out, x)
			}
		}
	}
	return out, nil
}

// PinnedCommit is the commit a tracked release was first recorded at (the
// commit it shipped from, which update keeps covering when its tag moves),
// or "" when the store holds no document of that release.
func PinnedCommit(ctx context.Context, st *store.Store, release string) (string, error) {
	first, err := firstRecorded(ctx, st, release)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return first.Commit, nil
}

// firstRecorded is the first version of a release's document.
func firstRecorded(ctx context.Context, st *store.Store, release string) (*store.ReleaseDocument, error) {
	if release == "" {
		return nil, fmt.Errorf("VEX of an unnamed release: %w", store.ErrNotFound)
	}
	docs, err := st.ReleaseDocuments(ctx, release)
	if err != nil {
		return nil, err
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("VEX of release %s: %w", release, store.ErrNotFound)
	}
	return &docs[0], nil
}
