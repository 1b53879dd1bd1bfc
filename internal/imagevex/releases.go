package imagevex

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/vexloom/vexloom/internal/attest"
	"github.com/vexloom/vexloom/internal/config"
	"github.com/vexloom/vexloom/internal/store"
)

// ReleasePoint is a tracked release whose images' reports update reads.
type ReleasePoint struct {
	// Name is the release (its tag, or its commit); Tag and Commit fill
	// the {tag} and {commit} placeholders.
	Name, Tag, Commit string
	// Branch is the maintained branch it was cut from: its Go findings
	// are matched against that branch's history while the store holds no
	// document of the release.
	Branch string
}

// ReleasesOptions are what IngestReleases reads each tracked release's
// scanner reports with.
type ReleasesOptions struct {
	Store  *store.Store
	Points []ReleasePoint
	// Reports are releases.scanner_reports, resolved: paths or glob
	// patterns naming each release by {tag} or {commit}.
	Reports []string
	// Images are releases.images: references with {tag} and {commit}.
	Images     []string
	BaseImages BaseImages
	Policy     *attest.TrustPolicy
	Notes      io.Writer
}

// ReleaseResult is what IngestReleases did for one release.
type ReleaseResult struct {
	Release string
	Result
}

// IngestReleases records the scanner reports of every tracked release, as
// images ingest records one release's: for each release, the files
// releases.scanner_reports names once {tag} and {commit} are filled in;
// each report is of the release image (releases.images) whose repository
// it names, which gives it its platforms and base image. A pattern naming
// no release ({tag} or {commit}) cannot be told apart between releases
// and is noted, not read. A release without reports is left as it is.
// Each input that cannot be used is one line and skipped; only what the
// store refuses ends the run.
func IngestReleases(ctx context.Context, o ReleasesOptions) ([]ReleaseResult, error) {
	var patterns []string
	for _, p := range o.Reports {
		if !strings.Contains(p, "{tag}") && !strings.Contains(p, "{commit}") {
			fmt.Fprintf(o.Notes, "images: releases.scanner_reports %q names no {tag} or {commit}: update cannot tell which release its reports are of (images ingest --release reads them)\n", p)
			continue
		}
		patterns = append(patterns, p)
	}
	var out []ReleaseResult
	if len(patterns) == 0 {
		return out, nil
	}
	for _, pt := range o.Points {
		var files []string
		for _, p := range patterns {
			matches, err := filepath.Glob(config.ExpandTemplate(p, pt.Tag, pt.Commit))
			if err != nil {
				return out, fmt.Errorf("releases.scanner_reports %q: %w", p, err)
			}
			for _, m := range matches {
				if !slices.Contains(files, m) {
					files = append(files, m)
				}
			}
		}
		if len(files) == 0 {
			continue
		}
		rr := ReleaseResult{Release: pt.Name}
		reports := readReports(files, o.Notes, &rr.Result)
		// Each report goes with the release image it names.
		var images []string
		for _, tmpl := range o.Images {
			images = append(images, config.ExpandTemplate(tmpl, pt.Tag, pt.Commit))
		}
		groups := map[string][]readReport{}
		var order []string
		for _, r := range reports {
			img := imageOf(images, r.rep.Image)
			if img == "" {
				fmt.Fprintf(o.Notes, "images: %s: the image it names (%q) is none of release %s's images (releases.images): recorded under that name, with no base VEX\n", r.file, r.rep.Image, pt.Name)
			}
			if _, ok := groups[img]; !ok {
				order = append(order, img)
			}
			groups[img] = append(groups[img], r)
		}
		for _, img := range order {
			err := ingestRead(ctx, Options{
				Store: o.Store, Release: pt.Name, Image: img, BaseImages: o.BaseImages, Policy: o.Policy,
				Branch: pt.Branch, Notes: o.Notes,
			}, groups[img], &rr.Result)
			if errors.Is(err, errImage) {
				fmt.Fprintf(o.Notes, "images: release %s: %v; nothing recorded from its %d %s\n", pt.Name, err, len(groups[img]), plural(len(groups[img]), "report"))
				rr.Skipped += len(groups[img])
				continue
			}
			if err != nil {
				return append(out, rr), fmt.Errorf("release %s: %w", pt.Name, err)
			}
		}
		out = append(out, rr)
	}
	return out, nil
}

// imageOf is the image among images of the repository a report names; ""
// when none is.
func imageOf(images []string, reported string) string {
	r, err := name.ParseReference(reported)
	if err != nil {
		return ""
	}
	for _, img := range images {
		if ir, err := name.ParseReference(img); err == nil && ir.Context().Name() == r.Context().Name() {
			return img
		}
	}
	return ""
}
