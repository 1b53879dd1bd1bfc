package cli

import (
	"context"

	"github.com/vexloom/vexloom/internal/progress"
	"github.com/vexloom/vexloom/internal/release"
)

// releaseOptions opens what every command about a release point of the
// project needs (assemble, gate --release): its store, the scanner with
// the project's database, the repository and its maintained branches.
// The caller sets the clock (Now) and what is particular to it.
func (p *project) releaseOptions(ctx context.Context, g *globals, prog *progress.Reporter, ref string) (release.Options, error) {
	sdb, scanner, err := p.scanner(ctx, g, prog)
	if err != nil {
		return release.Options{}, err
	}
	repo, err := p.openRepository(ctx, g, prog)
	if err != nil {
		return release.Options{}, err
	}
	maintained, err := repo.MatchBranches(ctx, p.cfg.Branches)
	if err != nil {
		return release.Options{}, err
	}
	o := release.Options{
		Store: p.store, Repo: repo, Scanner: scanner, DB: sdb,
		Ref: ref, Maintained: maintained, Author: p.author(), Progress: prog,
	}
	// A tracked release is the commit it shipped from, as update keeps it,
	// even when its tag was moved since.
	if o.Commit, err = release.PinnedCommit(ctx, p.store, ref); err != nil {
		return release.Options{}, err
	}
	return o, nil
}
