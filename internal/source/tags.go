package source

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Tag is a tag with the commit it points at (through an annotated tag).
type Tag struct {
	Name   string
	Commit string
	// Time is the commit's time.
	Time time.Time
}

// TagsOn lists the tags whose commit is on branch (reachable from its
// tip), newest commit first, then by name.
func (r *Repository) TagsOn(ctx context.Context, branch string) ([]Tag, error) {
	if strings.HasPrefix(branch, "-") || strings.Contains(branch, "..") {
		return nil, fmt.Errorf("%w: %q is not a branch name", ErrNoBranch, branch)
	}
	rs, err := r.refs(ctx)
	if err != nil {
		return nil, err
	}
	tip, ok := rs.branches[branch]
	if !ok {
		return nil, fmt.Errorf("listing the tags on %s: %w", branch, ErrNoBranch)
	}
	key := tip.Hash + " " + rs.tagSet
	if tags, ok := tagsOn.get(key); ok {
		return slices.Clone(tags), nil
	}
	out, err := r.git.run(ctx, r.Mirror, "for-each-ref", "--merged", tip.Hash,
		"--format=%(refname:lstrip=2) %(objectname) %(*objectname) %(committerdate:unix) %(*committerdate:unix)", "refs/tags/")
	if err != nil {
		return nil, fmt.Errorf("listing the tags on %s: %w", branch, err)
	}
	var tags []Tag
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) < 3 {
			continue
		}
		t := Tag{Name: f[0], Commit: f[1]}
		date := f[2]
		// An annotated tag: the peeled commit and its date follow.
		if len(f) == 4 {
			t.Commit, date = f[2], f[3]
		}
		if sec, err := strconv.ParseInt(date, 10, 64); err == nil {
			t.Time = time.Unix(sec, 0).UTC()
		}
		tags = append(tags, t)
	}
	slices.SortStableFunc(tags, func(a, b Tag) int {
		if c := b.Time.Compare(a.Time); c != 0 {
			return c
		}
		return strings.Compare(b.Name, a.Name)
	})
	tagsOn.put(key, tags)
	return slices.Clone(tags), nil
}
