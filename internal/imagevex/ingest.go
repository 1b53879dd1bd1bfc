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
	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/artifact"
	"github.com/vexloom/vexloom/internal/attest"
	"github.com/vexloom/vexloom/internal/infile"
	"github.com/vexloom/vexloom/internal/scanreport"
	"github.com/vexloom/vexloom/internal/store"
	"github.com/vexloom/vexloom/internal/triage"
	"github.com/vexloom/vexloom/internal/vex"
	"github.com/vexloom/vexloom/internal/vexformat"
)

// Options are what Ingest records scanner reports of a release image with.
type Options struct {
	Store   *store.Store
	Release string
	// Image is the release image reference (its platforms, and its base
	// from the OCI base-image annotations when BaseVEX is empty);
	// ImageName the repository to record findings under (default: Image,
	// else the report's).
	Image, ImageName string
	// Reports are the scanner report files.
	Reports []string
	// BaseVEX are where the base image's VEX is: oci:REF, feed:URL|DIR
	// (for the base Image names) or a bundle file.
	BaseVEX []string
	// BaseImages is releases.base_images.
	BaseImages BaseImages
	// Policy verifies the base VEX; nil: no base statement counts.
	Policy *attest.TrustPolicy
	// OwnVEX is the release's own VEX file to match Go findings against;
	// else the store's document of the release, else Branch's history.
	OwnVEX, Branch string
	// FindBranch finds the branch the release was cut from
	// (release.BranchOf) when Go findings are to be matched, the store
	// holds no document of the release and no Branch is given; nil: none
	// is looked for.
	FindBranch func(context.Context) (string, error)
	// Notes receives one line per input skipped or base VEX read.
	Notes io.Writer
}

// Recorded is what the reports of one image (platform) recorded.
type Recorded struct {
	Release, Image, Digest string
	Files                  []string
	// Findings in packages of the image, those the base image's VEX
	// covers, and the triages they opened.
	Findings, Covered, Opened int
	// GoLines say what the project's analysis says of each Go finding.
	GoLines []string
}

// Result is what Ingest did: each image recorded, in the reports' order,
// and how many inputs were skipped.
type Result struct {
	Images  []Recorded
	Skipped int
}

// ReportFiles are the files the patterns (releases.scanner_reports,
// resolved) match for a release, {tag} being the release; a pattern
// matching none is noted.
func ReportFiles(patterns []string, release string, notes io.Writer) ([]string, error) {
	var files []string
	for _, pat := range patterns {
		pat = strings.ReplaceAll(pat, "{tag}", release)
		matches, err := filepath.Glob(pat)
		if err != nil {
			return nil, fmt.Errorf("releases.scanner_reports %q: %w", pat, err)
		}
		if len(matches) == 0 {
			fmt.Fprintf(notes, "images: releases.scanner_reports %q matches no file\n", pat)
		}
		files = append(files, matches...)
	}
	return files, nil
}

// Ingest records what scanner reports say about a release image: findings
// in its packages become observations (covered by the base image's verified
// VEX, or waiting for a person); Go findings are matched against the
// project's own analysis. An input that cannot be used is noted and
// skipped; the Result holds what was recorded even when an error ends it.
func Ingest(ctx context.Context, o Options) (Result, error) {
	var res Result
	reports := readReports(o.Reports, o.Notes, &res)
	err := ingestRead(ctx, o, reports, &res)
	return res, err
}

// readReport is a scanner report read from its file.
type readReport struct {
	file string
	rep  *scanreport.Report
}

// readReports reads and parses report files; one that cannot be read is
// noted and counted as skipped.
func readReports(files []string, notes io.Writer, res *Result) []readReport {
	var out []readReport
	for _, file := range files {
		data, err := infile.Read(context.Background(), file, scanreport.MaxReportSize)
		var rep *scanreport.Report
		if err == nil {
			rep, err = scanreport.Parse(data)
		}
		if err != nil {
			fmt.Fprintf(notes, "images: %s: %v; nothing recorded from it\n", file, err)
			res.Skipped++
			continue
		}
		out = append(out, readReport{file, rep})
	}
	return out
}

// errImage marks an error reading the release image (its platforms, its
// annotations): nothing of its reports can be recorded.
var errImage = errors.New("the release image cannot be read")

// ingestRead is Ingest of reports already read.
func ingestRead(ctx context.Context, o Options, reports []readReport, res *Result) error {
	// The derived image: its platforms, and its base from the
	// annotations when no BaseVEX names it.
	var derived []artifact.Platform
	var sources []BaseSource
	for _, v := range o.BaseVEX {
		sources = append(sources, BaseSource{VEX: v})
	}
	if o.Image != "" {
		var err error
		derived, err = artifact.ResolveImage(ctx, o.Image, registryOptions(ctx)...)
		if err != nil {
			return fmt.Errorf("%w: resolving the image %s: %w", errImage, o.Image, err)
		}
		if len(sources) == 0 {
			if sources, err = baseSources(ctx, o.BaseImages, o.Image); err != nil {
				return fmt.Errorf("%w: %w", errImage, err)
			}
			if len(sources) == 0 {
				fmt.Fprintf(o.Notes, "images: %s: no base image known (no %s/%s annotations, no releases.base_images entry, no --base-vex): no base VEX applies to it\n", o.Image, AnnotationBaseName, AnnotationBaseDigest)
				res.Skipped++
			}
		} else {
			// --base-vex says where; the image says which base it is.
			ref, _, err := baseOf(ctx, o.BaseImages, o.Image)
			if err != nil {
				return fmt.Errorf("%w: %w", errImage, err)
			}
			for i := range sources {
				sources[i].Image = ref
			}
		}
	}
	var bases []Base
	for _, src := range sources {
		b, n := LoadBase(ctx, src, o.Policy, o.Notes)
		res.Skipped += n
		bases = append(bases, b)
	}
	// The release's branch is looked for only when a report has a Go
	// finding.
	withGo := o
	if !slices.ContainsFunc(reports, func(r readReport) bool {
		return slices.ContainsFunc(r.rep.Findings, func(f scanreport.Finding) bool { return f.Class == scanreport.ClassGo })
	}) {
		withGo.FindBranch = nil // no Go finding to match: no repository to open
	}
	own, err := ownAnalysis(ctx, withGo)
	if err != nil {
		return err
	}

	// Reports of the same image (platform) are observed together: what
	// one scanner does not report is not gone while another does.
	var order []string
	byImage := map[string]*imageReports{}
	image := o.ImageName
	if image == "" {
		image = o.Image
	}
	for _, r := range reports {
		ir, err := prepareReport(r.file, r.rep, o.Release, image, derived, bases, own)
		if err != nil {
			fmt.Fprintf(o.Notes, "images: %s: %v; nothing recorded from it\n", r.file, err)
			res.Skipped++
			continue
		}
		k := ir.obs.Image + "@" + ir.obs.Digest
		if prev, ok := byImage[k]; ok {
			prev.merge(ir)
		} else {
			byImage[k] = ir
			order = append(order, k)
		}
	}
	for _, k := range order {
		r, err := byImage[k].record(ctx, o.Store)
		if err != nil {
			return err
		}
		res.Images = append(res.Images, r)
	}
	return nil
}

// ownAnalysis is the project's analysis Go findings are matched against.
func ownAnalysis(ctx context.Context, o Options) (*triage.GoAnalysis, error) {
	if o.OwnVEX == "" {
		a, err := triage.ReleaseAnalysis(ctx, o.Store, o.Release, o.Branch)
		if err != nil || a.Source != "" || o.Branch != "" || o.FindBranch == nil {
			return a, err
		}
		// Neither a document of the release nor its branch: find the
		// branch as the tracked releases do, or say why not.
		branch, err := o.FindBranch(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			fmt.Fprintf(o.Notes, "images: release %s: %v; give --branch to match its Go findings against that branch's triage history\n", o.Release, err)
			return a, nil
		}
		fmt.Fprintf(o.Notes, "images: release %s: cut from %s (the maintained branch holding it that moved on least since); its Go findings are matched against that branch's triage history\n", o.Release, branch)
		return triage.ReleaseAnalysis(ctx, o.Store, o.Release, branch)
	}
	data, err := infile.Read(context.Background(), o.OwnVEX, vex.MaxDocumentSize)
	if err != nil {
		return nil, fmt.Errorf("reading --vex: %w", err)
	}
	doc, _, err := vexformat.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("--vex %s: %w", o.OwnVEX, err)
	}
	return triage.DocumentAnalysis(doc, "--vex "+filepath.Base(o.OwnVEX)), nil
}

// imageReports are the findings of the reports of one image (platform).
type imageReports struct {
	obs     triage.ImageObserved
	files   []string
	goLines []string
}

// prepareReport sorts one report's findings: Go findings are left to the
// project's own analysis (matched against own); the others are
// matched against the base image's statements, restated for the platform
// scanned.
func prepareReport(file string, rep *scanreport.Report, release, image string, derived []artifact.Platform, bases []Base, own *triage.GoAnalysis) (*imageReports, error) {
	if image == "" {
		image = rep.Image
	}
	repo := image
	if r, err := name.ParseReference(image); err == nil {
		repo = r.Context().Name()
	}
	if repo == "" {
		return nil, errors.New("the report names no image; give --image or --image-name")
	}
	// The platform scanned: the report's manifest or configuration digest
	// tells it in a multi-platform image; statements name its digest.
	digest := ""
	if len(rep.Digests) > 0 {
		digest = rep.Digests[0]
	}
	var products []openvex.Component
	if pl := ScannedPlatform(derived, rep); pl != nil {
		digest = pl.Digest
		products = []openvex.Component{artifact.ImageProduct(*pl).Component}
	} else {
		products = imageProducts(repo, rep.Digests)
	}
	var inherited []openvex.Statement
	for _, b := range bases {
		inherited = append(inherited, Inherit(b, products)...)
	}
	ir := &imageReports{
		obs:   triage.ImageObserved{Release: release, Image: repo, Digest: digest, Scanner: string(rep.Format) + " report " + filepath.Base(file)},
		files: []string{file},
	}
	for _, f := range rep.Findings {
		ids := append([]string{f.ID}, f.Aliases...)
		if f.Class == scanreport.ClassGo {
			ir.goLines = append(ir.goLines, goLine(f, ids, release, own))
			continue
		}
		imf := triage.ImageFinding{Vulnerability: f.Name(), Package: f.Package, PackageKey: f.PackageKey(), Version: f.Version, FixedVersion: f.FixedVersion}
		for _, a := range ids {
			if a != imf.Vulnerability && !slices.Contains(imf.Aliases, a) {
				imf.Aliases = append(imf.Aliases, a)
			}
		}
		imf.Covered = Covering(inherited, Finding{IDs: ids, Package: f.Package})
		ir.obs.Findings = append(ir.obs.Findings, imf)
	}
	return ir, nil
}

// goLine says what the project's analysis says of a Go finding; no triage
// is opened for it either way.
func goLine(f scanreport.Finding, ids []string, release string, own *triage.GoAnalysis) string {
	head := fmt.Sprintf("go: %s in %s: ", f.Name(), f.Package)
	if own == nil || own.Source == "" {
		return head + "left to the project's own analysis (the store holds none of release " + release + " yet: run vexloom update, or give --branch or --vex)"
	}
	m := own.Match(ids, f.Package)
	switch {
	case !m.Found:
		return head + "not in the project's analysis (" + own.Source + "); no triage opened"
	case m.Status == "":
		return head + "covered by the project's analysis: " + string(openvex.StatusUnderInvestigation) + ", waiting for a decision (" + own.Source + ")"
	}
	return head + "covered by the project's analysis: " + m.Status + " (" + own.Source + ")"
}

// merge adds another report of the same image.
func (ir *imageReports) merge(o *imageReports) {
	ir.files = append(ir.files, o.files...)
	ir.obs.Scanner += ", " + o.obs.Scanner
	for _, f := range o.obs.Findings {
		if !slices.ContainsFunc(ir.obs.Findings, func(g triage.ImageFinding) bool {
			return g.Vulnerability == f.Vulnerability && g.PackageKey == f.PackageKey
		}) {
			ir.obs.Findings = append(ir.obs.Findings, f)
		}
	}
	for _, l := range o.goLines {
		if !slices.Contains(ir.goLines, l) {
			ir.goLines = append(ir.goLines, l)
		}
	}
}

// record observes the image's findings and counts what they did.
func (ir *imageReports) record(ctx context.Context, st *store.Store) (Recorded, error) {
	changes, err := triage.ObserveImage(ctx, st, ir.obs)
	if err != nil {
		return Recorded{}, err
	}
	r := Recorded{Release: ir.obs.Release, Image: ir.obs.Image, Digest: ir.obs.Digest, Files: ir.files, Findings: len(ir.obs.Findings), GoLines: ir.goLines}
	for _, c := range changes {
		if c.Created {
			r.Opened++
		}
	}
	for _, f := range ir.obs.Findings {
		if f.Covered != nil {
			r.Covered++
		}
	}
	return r, nil
}

// imageProducts are the products of an image the report saw by digest.
func imageProducts(repo string, digests []string) []openvex.Component {
	var out []openvex.Component
	base := repo[strings.LastIndex(repo, "/")+1:]
	for _, d := range digests {
		out = append(out, artifact.ImageProduct(artifact.Platform{Repository: repo, Name: base, Digest: d}).Component)
	}
	return out
}

// ScannedPlatform is the platform of the image a report is of: the one
// whose manifest digest the report names, or whose configuration digest is
// the report's image ID, or the only one.
func ScannedPlatform(derived []artifact.Platform, rep *scanreport.Report) *artifact.Platform {
	for i, pl := range derived {
		if slices.Contains(rep.Digests, pl.Digest) {
			return &derived[i]
		}
		if rep.ConfigDigest != "" && pl.Image != nil {
			if c, err := pl.Image.ConfigName(); err == nil && c.String() == rep.ConfigDigest {
				return &derived[i]
			}
		}
	}
	if len(derived) == 1 {
		return &derived[0]
	}
	return nil
}
