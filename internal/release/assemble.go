// Package release assembles the VEX of a release: the statements of the
// maintained branch that apply at the release commit, re-checked against
// the release's own scan, for the project's modules at the release version
// and for every binary and container image the release ships.
package release

import (
	"context"
	"crypto/sha256"
	gobuildinfo "debug/buildinfo"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/artifact"
	"github.com/vexloom/vexloom/internal/assess"
	"github.com/vexloom/vexloom/internal/buildinfo"
	"github.com/vexloom/vexloom/internal/infile"
	"github.com/vexloom/vexloom/internal/progress"
	"github.com/vexloom/vexloom/internal/purl"
	"github.com/vexloom/vexloom/internal/scan"
	"github.com/vexloom/vexloom/internal/source"
	"github.com/vexloom/vexloom/internal/store"
	"github.com/vexloom/vexloom/internal/triage"
	"github.com/vexloom/vexloom/internal/vex"
)

// ErrUnassessed is returned with RequireAssessed when a vulnerability
// present at the release has no assessment by a person or an advisory and
// the scanner could not settle it.
var ErrUnassessed = errors.New("vulnerabilities present at the release have no assessment")

// Options are what Assemble needs.
type Options struct {
	Store   *store.Store
	Repo    *source.Repository
	Scanner *scan.Scanner
	DB      scan.Database
	// Ref is the release point: a tag or a commit.
	Ref string
	// Commit, when set, is the release commit, which Ref (a tag moved
	// since the release shipped) may no longer name.
	Commit string
	// Maintained are the maintained branches; the release must be on one.
	Maintained []string
	// Branch, when set, is the branch the release was cut from; by default
	// the maintained branch holding the commit that moved on least since.
	Branch string
	// BranchRecorded says Branch is the one recorded when the release was
	// first covered: it is the release's branch (the decisions made on it
	// are the release's) even when it no longer holds the commit, deleted
	// or rewritten since.
	BranchRecorded bool
	// Images are the release's container images, resolved per platform.
	Images []artifact.Platform
	// Binaries are Go executables shipped with the release (files).
	Binaries []string
	// WorkDir holds the binaries extracted from images.
	WorkDir string
	// RequireAssessed refuses a release with unassessed vulnerabilities.
	RequireAssessed bool
	// Packages, when set, adds what is known about the images' other
	// packages (operating-system and non-Go packages: what images ingest
	// recorded and base images' verified VEX) to the assembled document.
	// assemble and update set the same function, so a tracked release's
	// document is the one assemble prints.
	Packages func(ctx context.Context, doc *openvex.VEX) error
	Author   string
	Now      time.Time
	Progress *progress.Reporter
}

// Result is an assembled release document with what it was made of.
type Result struct {
	Doc    *openvex.VEX
	Branch string
	Commit string
	// Version is the project's main module version at the release.
	Version string
	// Unassessed lists the vulnerabilities stated as under_investigation
	// because no one has assessed them.
	Unassessed []string
	// Skipped lists executables in images that could not be analysed.
	Skipped []string
	// Decisions maps each triage stated to the Seq of the decision stated.
	Decisions map[string]int64
	// Binaries are the Binaries as read.
	Binaries []ShippedBinary

	// source are the statements of the source analysis by vulnerability
	// and dependency module, and projectModules the release's modules:
	// what speaks for a binary built from the project.
	source         map[string]openvex.Statement
	projectModules map[string]bool
}

// ShippedBinary is a Go executable shipped beside a release.
type ShippedBinary struct {
	artifact.Binary
	// Modules are the modules built into it, its main module included:
	// path → version.
	Modules map[string]string
}

// Assemble builds the release VEX.
func Assemble(ctx context.Context, o Options) (*Result, error) {
	rev := o.Ref
	if o.Commit != "" {
		rev = o.Commit
	}
	c, err := o.Repo.ResolveRevision(ctx, rev)
	if err != nil {
		return nil, err
	}
	// A release the store covers is the commit and branch it was first
	// recorded at, as update keeps it (Tracked), even once its branch is
	// no longer maintained.
	if o.Branch == "" && o.Store != nil {
		first, err := firstRecorded(ctx, o.Store, o.Ref)
		switch {
		case err == nil && first.Commit == c.Hash:
			o.Branch, o.BranchRecorded = first.Branch, true
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return nil, err
		}
	}
	// The release's branch is the maintained branch it was cut from: of
	// those holding the commit, the one that moved on least since (a tag
	// on release-1.0 is also an ancestor of master, far behind its tip).
	branch := o.Branch
	if branch == "" {
		if closest := closestBranches(ctx, o.Repo, o.Maintained, c.Hash); len(closest) > 0 {
			branch = closest[0]
		}
	} else if !o.BranchRecorded && !o.Repo.Contains(ctx, branch, c.Hash) {
		return nil, fmt.Errorf("%s (%s) is not on %s", o.Ref, shortHash(c.Hash), branch)
	}
	if branch == "" {
		return nil, fmt.Errorf("%s (%s) is on none of the maintained branches (%s)", o.Ref, shortHash(c.Hash), strings.Join(o.Maintained, ", "))
	}
	o.Progress.Printf("release %s: commit %s on %s", o.Ref, shortHash(c.Hash), branch)
	t, err := o.Scanner.ScanCommit(ctx, o.Repo, "", c)
	if err != nil {
		return nil, err
	}
	// A module that could not be scanned would be missing from the
	// document: refuse rather than emit a release VEX without it.
	if err := t.Incomplete(); err != nil {
		return nil, fmt.Errorf("scanning release %s: %w", o.Ref, err)
	}
	t = shippedAs(t, o)
	evidence := triage.ScanEvidence(o.DB)
	rp := triage.ReleasePoint{Branch: branch, Name: o.Ref, Target: t, Evidence: evidence, Now: o.Now}
	views, err := triage.ReleaseViews(ctx, o.Store, rp)
	if err != nil {
		return nil, err
	}
	res := &Result{Branch: branch, Commit: c.Hash}
	for _, m := range t.Modules {
		if res.Version == "" {
			res.Version = m.Version
		}
	}
	for _, vw := range views {
		b := vw.Branch(branch)
		if b != nil && (b.Decision == nil || b.Decision.Source == string(assess.SourceAutomatic)) && b.NeedsPerson() {
			res.Unassessed = append(res.Unassessed, vw.Name()+" in "+vw.Dependency)
		}
	}
	if o.RequireAssessed && len(res.Unassessed) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrUnassessed, strings.Join(res.Unassessed, ", "))
	}
	in := triage.ReleaseDocumentInput(o.Repo.Spec, rp, views, o.Author, buildinfo.Tool(), o.Now)
	bd, err := triage.BuildBranchDocument(in)
	if err != nil {
		return nil, err
	}
	doc := bd.Doc
	res.Decisions = bd.Decisions
	doc.ID = openvex.PublicNamespace + "/public/vex-" + hashOf("release", o.Repo.Spec, o.Ref, c.Hash)
	// Source statements by (vulnerability, dependency), for binaries built
	// from the project.
	source := map[string]openvex.Statement{}
	for _, s := range doc.Statements {
		for _, p := range s.Products {
			for _, sub := range p.Subcomponents {
				if mod, _, ok := purl.Module(sub.ID); ok {
					source[string(s.Vulnerability.Name)+"\x00"+mod] = s
				}
			}
		}
	}
	projectModules := map[string]bool{}
	for _, m := range t.Modules {
		projectModules[m.Path] = true
	}
	res.source, res.projectModules = source, projectModules
	ship := &shipper{o: o, source: source, projectModules: projectModules, evidence: evidence, ts: o.Now.UTC().Truncate(time.Second)}
	for _, f := range o.Binaries {
		b, err := binaryFromFile(ctx, f)
		if err != nil {
			return nil, err
		}
		res.Binaries = append(res.Binaries, *b)
		sts, err := ship.statements(ctx, artifact.BinaryProduct(b.Binary), []artifact.Binary{b.Binary})
		if err != nil {
			return nil, err
		}
		doc.Statements = append(doc.Statements, sts...)
	}
	for i, img := range o.Images {
		o.Progress.Printf("[%d/%d] image %s (%s)", i+1, len(o.Images), img.Ref(), img.String())
		dir := filepath.Join(o.WorkDir, fmt.Sprintf("image-%d", i))
		ex, err := artifact.GoBinaries(ctx, img.Image, dir)
		if err != nil {
			return nil, fmt.Errorf("reading the binaries of %s: %w", img.Ref(), err)
		}
		for _, s := range ex.Skipped {
			res.Skipped = append(res.Skipped, fmt.Sprintf("%s %s: %s", img.Ref(), s.Path, s.Reason))
		}
		sts, err := ship.statements(ctx, artifact.ImageProduct(img), ex.Binaries)
		if err != nil {
			return nil, err
		}
		doc.Statements = append(doc.Statements, sts...)
	}
	adv, err := advisoryStatements(ctx, o, t, branch)
	if err != nil {
		return nil, err
	}
	doc.Statements = append(doc.Statements, adv...)
	if err := vex.Finalize(doc); err != nil {
		return nil, err
	}
	for _, s := range doc.Statements {
		if err := s.Validate(); err != nil {
			return nil, fmt.Errorf("statement on %s: %w", s.Vulnerability.Name, err)
		}
	}
	if o.Packages != nil {
		if err := o.Packages(ctx, doc); err != nil {
			return nil, err
		}
	}
	res.Doc = doc
	return res, nil
}

// shipper makes the statements about shipped artifacts.
type shipper struct {
	o              Options
	source         map[string]openvex.Statement
	projectModules map[string]bool
	evidence       assess.Evidence
	ts             time.Time
}

// statements describes one artifact (a binary, or an image with its
// binaries): one statement per vulnerability found in its binaries, with
// the artifact as product and the vulnerable module as subcomponent.
// Where the binary was built from the project and the source scan of the
// release covered the vulnerability, the source statement (call-graph
// evidence and people's decisions) speaks for it; otherwise the binary
// analysis does.
func (s *shipper) statements(ctx context.Context, product openvex.Product, bins []artifact.Binary) ([]openvex.Statement, error) {
	type found struct {
		f    scan.Finding
		v    scan.Vulnerability
		bin  artifact.Binary
		from bool // built from the project
	}
	byKey := map[string]*found{}
	var keys []string
	for _, b := range bins {
		r, err := artifact.ScanBinary(ctx, b.File, s.o.DB, s.o.Progress)
		if err != nil {
			return nil, fmt.Errorf("scanning %s: %w", b.Path, err)
		}
		for _, f := range r.Findings {
			k := f.ID + "\x00" + f.Module
			cur, ok := byKey[k]
			if !ok {
				keys = append(keys, k)
				cur = &found{f: f, bin: b, from: s.projectModules[b.Module]}
				for _, v := range r.Vulnerabilities {
					if v.ID == f.ID {
						cur.v = v
					}
				}
				byKey[k] = cur
				continue
			}
			if f.Level > cur.f.Level {
				cur.f, cur.bin = f, b
			}
			cur.from = cur.from || s.projectModules[b.Module]
		}
	}
	slices.Sort(keys)
	var out []openvex.Statement
	for _, k := range keys {
		fd := byKey[k]
		vuln := vex.Vulnerability{ID: fd.f.ID, Aliases: fd.f.Aliases, Description: fd.v.Summary}.OpenVEX()
		var a vex.Assertion
		if src, ok := s.source[string(vuln.Name)+"\x00"+fd.f.Module]; ok && fd.from {
			a = vex.Assertion{Status: src.Status, Justification: src.Justification, Impact: src.ImpactStatement, Action: src.ActionStatement,
				Notes:     strings.TrimSpace(src.StatusNotes + " Carried from the source analysis of the release, which covers this binary."),
				Timestamp: src.Timestamp}
		} else {
			ev := s.evidence
			ev.Analysis = "binary"
			ev.Module = fd.bin.Module
			ev.Version = fd.bin.Version
			ev.GoVersion = fd.bin.GoVersion
			auto := assess.Automatic(fd.f, ev)
			ts := s.ts
			a = vex.Assertion{Status: auto.Status, Justification: auto.Justification, Impact: auto.ImpactStatement, Action: auto.ActionStatement,
				Notes:     strings.TrimSpace(auto.StatusNotes + " Binary analysis of " + fd.bin.Path + "."),
				Timestamp: &ts}
		}
		out = append(out, vex.NewStatement(vuln,
			[]openvex.Product{vex.Product(product.Component, purl.Go(fd.f.Module, fd.f.Version))}, a))
	}
	return out, nil
}

// shippedAs gives the modules of a release commit the versions of the
// release's tag when the tag was moved away from the commit since the
// release shipped: the commit alone would now have a pseudo-version, and
// what was shipped (and stamped in its binaries) is the tag's version.
func shippedAs(t *scan.Target, o Options) *scan.Target {
	if o.Commit == "" || o.Ref == o.Commit || slices.Contains(t.Tags, o.Ref) {
		return t
	}
	c := *t
	c.Tags = append(slices.Clone(t.Tags), o.Ref)
	c.Modules = slices.Clone(t.Modules)
	for i, m := range c.Modules {
		if v := scan.ModuleVersionAt(source.Module{Path: m.Path, Dir: m.Dir}, []string{o.Ref}, nil, source.Commit{}); v != "" {
			c.Modules[i].Version = v
		}
	}
	return &c
}

// binaryFromFile describes a Go executable on disk: a regular file (never
// a FIFO or a device, which would block or never end).
func binaryFromFile(ctx context.Context, path string) (*ShippedBinary, error) {
	f, err := infile.Open(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("reading the binary %s: %w", path, err)
	}
	defer f.Close()
	info, err := gobuildinfo.Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s is not a Go binary: %w", path, err)
	}
	h := sha256.New()
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	n, err := io.Copy(h, f)
	if err != nil {
		return nil, fmt.Errorf("reading the binary %s: %w", path, err)
	}
	b := &ShippedBinary{Binary: artifact.Binary{Path: filepath.Base(path), File: path, Size: n, SHA256: hex.EncodeToString(h.Sum(nil)), Package: info.Path, GoVersion: info.GoVersion},
		Modules: map[string]string{}}
	b.Module = info.Main.Path
	if info.Main.Version != "(devel)" {
		b.Version = info.Main.Version
	}
	if b.Module != "" {
		b.Modules[b.Module] = b.Version
	}
	// A dependency replaced is known by its own path (the one
	// vulnerabilities name) at the version built.
	for _, d := range info.Deps {
		v := d.Version
		if d.Replace != nil {
			v = d.Replace.Version
		}
		b.Modules[d.Path] = v
	}
	return b, nil
}

func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

func hashOf(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:])
}

// advisoryStatements are the project's own advisories about the release:
// for each, what it last said about the release's tag, else about its
// branch, stated for the project's module at the release version and for
// the release's images (those of the advisory's components, when the
// configuration maps components to images).
func advisoryStatements(ctx context.Context, o Options, t *scan.Target, branch string) ([]openvex.Statement, error) {
	versions := map[string]string{}
	for _, m := range t.Modules {
		versions[m.Path] = m.Version
	}
	triages, err := o.Store.Triages(ctx)
	if err != nil {
		return nil, err
	}
	all, err := o.Store.AllEvents(ctx)
	if err != nil {
		return nil, err
	}
	var out []openvex.Statement
	for _, tr := range triages {
		mv, ok := versions[tr.Dependency]
		if !ok {
			continue
		}
		ev := triage.LatestAdvisory(all[tr.ID], o.Ref, branch)
		if ev == nil {
			continue
		}
		products := []openvex.Product{{Component: openvex.Component{ID: purl.Go(tr.Dependency, mv)}}}
		images := triage.AdvisoryImages(ev)
		for _, img := range o.Images {
			if len(images) == 0 || slices.ContainsFunc(images, func(s string) bool { return s == img.Repository || strings.HasSuffix(img.Repository, "/"+s) }) {
				products = append(products, artifact.ImageProduct(img))
			}
		}
		v, err := o.Store.Vulnerability(ctx, tr.VulnID)
		if err != nil {
			v = scan.Vulnerability{ID: tr.VulnID}
		}
		out = append(out, triage.AdvisoryStatement(v, ev, products))
	}
	return out, nil
}
