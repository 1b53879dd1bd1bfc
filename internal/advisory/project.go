package advisory

import (
	"context"
	"errors"
	"slices"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"

	"github.com/vexloom/vexloom/internal/osv"
	"github.com/vexloom/vexloom/internal/progress"
	"github.com/vexloom/vexloom/internal/purl"
	"github.com/vexloom/vexloom/internal/source"
	"github.com/vexloom/vexloom/internal/store"
	"github.com/vexloom/vexloom/internal/termtext"
)

// ErrNoBranch: no maintained branch has been scanned, so there is nothing
// to judge advisories against.
var ErrNoBranch = errors.New("no maintained branch has been scanned yet: run `vexloom update` first")

// NewProject is the project as advisories are judged against it: its
// module mod, its components, and its products — each of the maintained
// branches (those with a recorded scan in st) at the version of mod its
// latest scan found, and each semantic-version tag of mod's major version
// reachable from one of them in the repository (opened by repo once the
// branches are known). A branch where mod's version is not a
// semantic version is left out, with a warning on prog.
func NewProject(ctx context.Context, st *store.Store, openRepo func() (*source.Repository, error), mod string, components []Component, branches []string, prog *progress.Reporter) (Project, error) {
	proj := Project{Module: mod, Components: components}
	if len(branches) == 0 {
		return proj, ErrNoBranch
	}
	scans, err := st.LatestScans(ctx)
	if err != nil {
		return proj, err
	}
	refs := map[string]bool{}
	for _, b := range branches {
		version := ""
		if s := scans[b]; s != nil {
			for _, m := range s.Modules {
				if m.Path == mod && m.Error == "" {
					version = m.Version
				}
			}
		}
		if _, ok := osv.Canonical(version); !ok {
			prog.Printf("warning: %s: the version of %s there (%q) is not a semantic version; advisories are not judged against it", termtext.Line(b), termtext.Line(mod), version)
			continue
		}
		refs[b] = true
		proj.Products = append(proj.Products, Product{
			Kind: Branch, Ref: b, Version: version, Purls: []string{purl.Go(mod, version)},
		})
	}
	repo, err := openRepo()
	if err != nil {
		return proj, err
	}
	_, major, _ := module.SplitPathVersion(mod)
	var tags []string
	for _, b := range branches {
		tip, err := repo.ResolveBranch(ctx, b)
		if err != nil {
			return proj, err
		}
		merged, err := repo.MergedTags(ctx, tip.Hash)
		if err != nil {
			return proj, err
		}
		for _, t := range merged {
			if !semver.IsValid(t) || semver.Build(t) != "" || module.CheckPathMajor(t, major) != nil || slices.Contains(tags, t) {
				continue
			}
			tags = append(tags, t)
		}
	}
	semver.Sort(tags)
	for _, t := range tags {
		if refs[t] {
			continue // a branch named like a tag keeps its name
		}
		proj.Products = append(proj.Products, Product{
			Kind: Release, Ref: t, Version: t, Purls: []string{purl.Go(mod, t)},
		})
	}
	return proj, nil
}
