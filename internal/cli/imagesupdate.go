package cli

import (
	"context"

	"github.com/vexloom/vexloom/internal/imagevex"
	"github.com/vexloom/vexloom/internal/progress"
	"github.com/vexloom/vexloom/internal/release"
	"github.com/vexloom/vexloom/internal/source"
)

// ingestReleaseReports records, for every tracked release, the scanner
// reports of its images that releases.scanner_reports names by {tag} or
// {commit} (imagevex.IngestReleases), before the releases are kept: what
// images ingest would record for each. What it reads and skips goes to the
// progress lines; only what the store refuses is an error.
func (p *project) ingestReleaseReports(ctx context.Context, repo *source.Repository, prog *progress.Reporter) error {
	rc := p.cfg.Releases
	if !rc.Enabled() || len(rc.ScannerReports) == 0 {
		return nil
	}
	maintained, err := release.Maintained(ctx, repo, p.cfg.Branches)
	if err != nil {
		return err
	}
	// The releases kept are those update keeps: a release once covered
	// at its recorded commit, wherever its tag points now.
	sel, err := release.Tracked(ctx, p.store, repo, rc, maintained)
	if err != nil {
		return err
	}
	pol, err := (&baseTrust{}).policy(p.baseVEXKey())
	if err != nil {
		return err
	}
	o := imagevex.ReleasesOptions{Store: p.store, Images: rc.Images, BaseImages: p.cfg.BaseImageOf, Policy: pol, Notes: progressWriter{prog}}
	for _, pat := range rc.ScannerReports {
		o.Reports = append(o.Reports, p.cfg.Resolve(pat))
	}
	for _, pt := range sel.Points {
		o.Points = append(o.Points, imagevex.ReleasePoint{Name: pt.Name, Tag: pt.Tag, Commit: pt.Commit, Branch: pt.Branch})
	}
	res, err := imagevex.IngestReleases(ctx, o)
	for _, r := range res {
		for _, img := range r.Images {
			prog.Printf("release %s: %s", r.Release, ingestedLine(img))
			for _, l := range img.GoLines {
				prog.Printf("  %s", l)
			}
		}
		if r.Skipped > 0 {
			prog.Printf("warning: release %s: %d scanner report %s skipped (see above); the rest is recorded", r.Release, r.Skipped, plural(r.Skipped, "input"))
		}
	}
	return err
}
