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
	// Note, for a release the store covers, says why it is kept at its
	// recorded commit and branch although its tag no longer names it
	// there (deleted or moved) or its branch is no longer maintained;
	// empty otherwise.
	Note string
}

// Selection is what Tracked chose.
type Selection struct {
	// Points are the tracked release points, sorted by branch, then
	// newest first.
	Points []Point
	// Warnings name the rules matching nothing and the commits that could
	// not be tracked.
	Warnings []string
	// Dropped are the releases the store covers that the configuration no
	// longer selects (a newer tag pushed them out of keep, since leaves
	// them out, or no rule or commit names them any more), at their
	// recorded commits: their documents stay as last written, and are no
	// longer kept current.
	Dropped []Point
}

// Tracked chooses the tracked release points among the maintained branches
// by the configured rules (a rule matching nothing is a warning naming it,
// not an error), the releases the store already covers included: a release once covered is the commit
// it shipped from, so it is a candidate at its first recorded commit and
// branch, wherever its tag is now. It stays tracked when its tag was
// deleted or moved (to another commit, on a maintained branch or on none)
// or its branch is no longer maintained, with a Note saying so; it is
// dropped only when the rules, applied to it at its recorded commit, no
// longer select it.
func Tracked(ctx context.Context, st *store.Store, repo *source.Repository, rc config.Releases, maintained []string) (*Selection, error) {
	origins, err := st.ReleaseOrigins(ctx, "")
	if err != nil {
		return nil, err
	}
	rec := map[string]store.ReleaseDocument{}
	for _, d := range origins {
		rec[d.Release] = d
	}
	return track(ctx, repo, rc, maintained, rec)
}

// track chooses the release points by the rules, with the releases
// recorded in the store (by name, their first documents; nil: none).
func track(ctx context.Context, repo *source.Repository, rc config.Releases, maintained []string, rec map[string]store.ReleaseDocument) (*Selection, error) {
	sel := &Selection{}
	tagsOn := map[string][]source.Tag{}
	current := map[string]source.Tag{} // every tag on a maintained branch
	for _, b := range maintained {
		ts, err := repo.TagsOn(ctx, b)
		if err != nil {
			return nil, err
		}
		tagsOn[b] = ts
		for _, t := range ts {
			current[t.Name] = t
		}
	}
	// Each tag belongs to one branch: the one holding it that moved on
	// least since (a tag on release-1.0 is also on master when master
	// descends from it, far behind its tip), as Assemble decides. Asked
	// only of tags some rule names: a large project has thousands.
	owners := map[string][]string{}
	for _, b := range maintained {
		for _, t := range tagsOn[b] {
			owners[t.Name] = append(owners[t.Name], b)
		}
	}
	ownerOf := map[string]string{}
	owner := func(t source.Tag) string {
		if o, ok := ownerOf[t.Name]; ok {
			return o
		}
		o := ""
		if bs := owners[t.Name]; len(bs) == 1 {
			o = bs[0]
		} else if closest := closestBranches(ctx, repo, bs, t.Commit); len(closest) > 0 {
			o = closest[0]
		}
		ownerOf[t.Name] = o
		return o
	}
	named := func(tag, b string) bool {
		for _, r := range rc.Track {
			if (len(r.Branches) == 0 || matchAny(r.Branches, b)) && matchAny(r.Tags, tag) {
				return true
			}
		}
		return false
	}
	// The candidates of each branch: its tags a rule for it names, and the
	// recorded releases cut from it, at their recorded commits.
	cands := map[string][]Point{}
	branches := slices.Clone(maintained)
	for _, b := range maintained {
		for _, t := range tagsOn[b] {
			if d, ok := rec[t.Name]; (ok && d.Commit != t.Name) || !named(t.Name, b) || owner(t) != b {
				continue
			}
			cands[b] = append(cands[b], Point{Name: t.Name, Tag: t.Name, Commit: t.Commit, Branch: b, Time: t.Time})
		}
	}
	var recNames []string
	for name := range rec {
		recNames = append(recNames, name)
	}
	slices.Sort(recNames)
	var extra []string
	for _, name := range recNames {
		d := rec[name]
		if d.Commit == name {
			continue // a release named by commit: below
		}
		pt, err := pinned(ctx, repo, d, maintained, current, tagsOn)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(branches, d.Branch) && !slices.Contains(extra, d.Branch) {
			extra = append(extra, d.Branch)
		}
		cands[d.Branch] = append(cands[d.Branch], pt)
	}
	slices.Sort(extra)
	branches = append(branches, extra...)
	for _, b := range branches {
		slices.SortStableFunc(cands[b], func(x, y Point) int {
			if c := y.Time.Compare(x.Time); c != 0 {
				return c
			}
			return strings.Compare(y.Name, x.Name)
		})
	}
	seen := map[string]bool{}
	for _, r := range rc.Track {
		matched := 0
		for _, b := range branches {
			if len(r.Branches) > 0 && !matchAny(r.Branches, b) {
				continue
			}
			kept := 0
			for _, pt := range cands[b] {
				if !matchAny(r.Tags, pt.Name) {
					continue
				}
				if !r.Since.IsZero() && pt.Time.Before(r.Since) {
					continue
				}
				if r.Keep > 0 && kept >= r.Keep {
					continue
				}
				kept++
				matched++
				if !seen[pt.Name] {
					seen[pt.Name] = true
					sel.Points = append(sel.Points, pt)
				}
			}
		}
		if matched == 0 {
			on := "the maintained branches"
			if len(r.Branches) > 0 {
				on = strings.Join(r.Branches, ", ")
			}
			sel.Warnings = append(sel.Warnings, fmt.Sprintf("releases.track rule at line %d: no tag matching %s on %s", r.Line, strings.Join(r.Tags, ", "), on))
		}
	}
	for _, c := range rc.Commits {
		cm, err := repo.ResolveRevision(ctx, c)
		if err != nil {
			sel.Warnings = append(sel.Warnings, fmt.Sprintf("release %s: %v", c, err))
			continue
		}
		if seen[cm.Hash] {
			continue
		}
		if d, ok := rec[cm.Hash]; ok && d.Commit == cm.Hash {
			pt := Point{Name: cm.Hash, Commit: cm.Hash, Branch: d.Branch, Time: cm.Time}
			if !slices.Contains(maintained, d.Branch) {
				pt.Note = fmt.Sprintf("release %s: its branch %s is no longer maintained; the commit stays covered on it", shortHash(cm.Hash), d.Branch)
			} else if !repo.Contains(ctx, d.Branch, cm.Hash) {
				pt.Note = fmt.Sprintf("release %s: the commit is no longer on %s; it stays covered as recorded", shortHash(cm.Hash), d.Branch)
			}
			seen[cm.Hash] = true
			sel.Points = append(sel.Points, pt)
			continue
		}
		best := ""
		if closest := closestBranches(ctx, repo, maintained, cm.Hash); len(closest) > 0 {
			best = closest[0]
		}
		if best == "" {
			sel.Warnings = append(sel.Warnings, fmt.Sprintf("release %s: the commit is on none of the maintained branches", c))
			continue
		}
		seen[cm.Hash] = true
		sel.Points = append(sel.Points, Point{Name: cm.Hash, Commit: cm.Hash, Branch: best, Time: cm.Time})
	}
	slices.SortStableFunc(sel.Points, func(a, b Point) int {
		if c := strings.Compare(a.Branch, b.Branch); c != 0 {
			return c
		}
		return b.Time.Compare(a.Time)
	})
	for _, name := range recNames {
		if seen[name] {
			continue
		}
		d := rec[name]
		sel.Dropped = append(sel.Dropped, Point{Name: name, Tag: tagName(d), Commit: d.Commit, Branch: d.Branch, Time: d.At})
	}
	return sel, nil
}

// tagName is the tag of a recorded release ("" for one named by commit).
func tagName(d store.ReleaseDocument) string {
	if d.Release == d.Commit {
		return ""
	}
	return d.Release
}

// pinned is a recorded release as a candidate: at its first recorded
// commit and branch, dated by that commit, with a Note when its tag no
// longer names it there (deleted, or moved) or its branch is no longer
// maintained. current are the tags on the maintained branches.
func pinned(ctx context.Context, repo *source.Repository, d store.ReleaseDocument, maintained []string, current map[string]source.Tag, tagsOn map[string][]source.Tag) (Point, error) {
	pt := Point{Name: d.Release, Tag: d.Release, Commit: d.Commit, Branch: d.Branch, Time: d.At}
	// The usual case, asking git nothing: the tag is where it was, on the
	// branch it was cut from.
	if slices.Contains(maintained, d.Branch) {
		for _, t := range tagsOn[d.Branch] {
			if t.Name == d.Release && t.Commit == d.Commit {
				pt.Time = t.Time
				return pt, nil
			}
		}
	}
	if c, err := repo.ResolveRevision(ctx, d.Commit); err == nil {
		pt.Time = c.Time
	}
	// One line, in the words update has always used for a moved tag.
	stays := "the recorded commit stays covered"
	if !slices.Contains(maintained, d.Branch) {
		stays += " on " + d.Branch + ", no longer maintained"
	}
	t, onMaintained := current[d.Release]
	now := t.Commit
	if !onMaintained {
		c, err := repo.ResolveRevision(ctx, "refs/tags/"+d.Release)
		switch {
		case errors.Is(err, source.ErrNoCommit):
			pt.Note = fmt.Sprintf("release %s: the tag no longer exists; %s (%s)", d.Release, stays, shortHash(d.Commit))
			return pt, nil
		case err != nil:
			return Point{}, err
		}
		now = c.Hash
	}
	switch {
	case now != d.Commit && onMaintained:
		pt.Note = fmt.Sprintf("release %s: the tag now points at %s, not the recorded commit %s; %s", d.Release, shortHash(now), shortHash(d.Commit), stays)
	case now != d.Commit:
		pt.Note = fmt.Sprintf("release %s: the tag now points at %s, on none of the maintained branches, not the recorded commit %s; %s", d.Release, shortHash(now), shortHash(d.Commit), stays)
	case !slices.Contains(maintained, d.Branch):
		pt.Note = fmt.Sprintf("release %s: its branch %s is no longer maintained; the recorded commit %s stays covered on it", d.Release, d.Branch, shortHash(d.Commit))
	default:
		pt.Note = fmt.Sprintf("release %s: the commit %s is no longer on %s; it stays covered as recorded", d.Release, shortHash(d.Commit), d.Branch)
	}
	return pt, nil
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
// was cut from, as Tracked and Assemble decide it: of the maintained
// branches holding its commit, the one that moved on least since. Two
// branches equally close are ErrAmbiguousBranch (Tracked and Assemble take
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

// firstRecorded is the first version of a release's document, without
// its body.
func firstRecorded(ctx context.Context, st *store.Store, release string) (*store.ReleaseDocument, error) {
	if release == "" {
		return nil, fmt.Errorf("VEX of an unnamed release: %w", store.ErrNotFound)
	}
	docs, err := st.ReleaseOrigins(ctx, release)
	if err != nil {
		return nil, err
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("VEX of release %s: %w", release, store.ErrNotFound)
	}
	return &docs[0], nil
}
