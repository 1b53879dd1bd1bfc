package release

import (
	"context"
	"crypto/sha256"
	gobuildinfo "debug/buildinfo"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/artifact"
	"github.com/vexloom/vexloom/internal/attest"
	"github.com/vexloom/vexloom/internal/buildinfo"
	"github.com/vexloom/vexloom/internal/config"
	"github.com/vexloom/vexloom/internal/infile"
	"github.com/vexloom/vexloom/internal/progress"
	"github.com/vexloom/vexloom/internal/publish"
	"github.com/vexloom/vexloom/internal/purl"
	"github.com/vexloom/vexloom/internal/scan"
	"github.com/vexloom/vexloom/internal/source"
	"github.com/vexloom/vexloom/internal/store"
	"github.com/vexloom/vexloom/internal/vex"
)

// Registry is how the keeper reaches images: resolving a reference to its
// platform images, reading one platform image by digest, and heading a
// reference to see whether a tag moved.
type Registry struct {
	Resolve func(ctx context.Context, ref string) ([]artifact.Platform, error)
	Image   func(ctx context.Context, digestRef string) (v1.Image, error)
	Head    func(ctx context.Context, ref string) (string, error)
}

// Keeper keeps every tracked release's VEX current: it re-derives each
// release's statements exactly as Assemble does and, when a statement
// changed, signs and publishes a new version of the release's document.
// A release whose inputs (commit, database, decisions, artifacts,
// configuration) did not change since it was last derived costs nothing:
// no scan, no signing, no request.
type Keeper struct {
	Store   *store.Store
	Repo    *source.Repository
	Scanner *scan.Scanner
	DB      scan.Database
	// Config is the releases section; Resolve makes its paths absolute.
	Config  config.Releases
	Resolve func(string) string
	// Maintained are the maintained branches.
	Maintained []string
	Registry   Registry
	// Signer signs a new version; called only when one is written.
	Signer func() (attest.Signer, error)
	// Stores returns the stores a release is published to, by name; oci is
	// expanded to one store per image repository of the release.
	Stores func(ctx context.Context, repositories []string) ([]publish.Store, error)
	// Policy is the publish policy applied before signing.
	Policy   publish.HoldPolicy
	Author   string
	Now      func() time.Time
	WorkDir  string
	Progress *progress.Reporter
	// Packages adds what is known about the release images' other
	// packages to a release's document, as assemble does
	// (Options.Packages); images are the release's image references.
	Packages func(ctx context.Context, doc *openvex.VEX, release string, images []string, now time.Time) error
}

// Kept is what the keeper did for one release.
type Kept struct {
	Release string `json:"release"`
	Branch  string `json:"branch"`
	Commit  string `json:"commit"`
	// Version is the document's current version (0: none written yet).
	Version int `json:"version"`
	// Changed is true when this run wrote a new version.
	Changed bool `json:"changed"`
	// Derived is false when nothing the release depends on changed and the
	// release was not looked at again.
	Derived    bool     `json:"derived"`
	Statements int      `json:"statements"`
	Published  []string `json:"published"`
	Warnings   []string `json:"warnings"`
	Failures   []string `json:"failures"`
}

// Summary is what Run did.
type Summary struct {
	// Releases are the tracked releases, each kept.
	Releases []Kept
	// Warnings name the rules matching nothing and the commits that could
	// not be tracked.
	Warnings []string
	// Dropped are the releases covered before that the configuration no
	// longer selects (see Selection): not kept current any more, their
	// documents left as last written.
	Dropped []Point
}

// Run keeps every tracked release (Tracked: those the store covers stay
// at their recorded commits). A failure concerning one release (an image
// that cannot be resolved, a store refusing a push) is reported in its
// Kept and the others are still done; only what the store itself refuses
// stops the run.
func (k *Keeper) Run(ctx context.Context) (*Summary, error) {
	sel, err := Tracked(ctx, k.Store, k.Repo, k.Config, k.Maintained)
	if err != nil {
		return nil, err
	}
	checks, err := k.Store.ReleaseChecks(ctx)
	if err != nil {
		return nil, err
	}
	mark, err := k.Store.DecisionMark(ctx)
	if err != nil {
		return nil, err
	}
	sum := &Summary{Releases: []Kept{}, Warnings: sel.Warnings, Dropped: sel.Dropped}
	for i, pt := range sel.Points {
		k.Progress.Printf("[%d/%d] release %s (%s on %s)", i+1, len(sel.Points), pt.Name, shortHash(pt.Commit), pt.Branch)
		kept, err := k.keep(ctx, pt, checks[pt.Name], mark)
		if err != nil {
			return nil, err
		}
		sum.Releases = append(sum.Releases, kept)
	}
	return sum, nil
}

// keep brings one release up to date.
func (k *Keeper) keep(ctx context.Context, pt Point, lastInputs, mark string) (Kept, error) {
	prev, err := k.Store.LatestReleaseDocument(ctx, pt.Name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return Kept{}, err
	}
	// A shipped release is the commit it was built from: once a document
	// was recorded for it, Tracked places it at its recorded commit and
	// branch whatever its tag does since, and says why in its Note.
	recorded := prev != nil
	kept := Kept{Release: pt.Name, Branch: pt.Branch, Commit: pt.Commit, Published: []string{}, Warnings: []string{}, Failures: []string{}}
	if pt.Note != "" {
		kept.Warnings = append(kept.Warnings, pt.Note)
	}
	// A release that fails below keeps the version it has.
	current(prev, &kept)
	fail := func(format string, args ...any) {
		kept.Failures = append(kept.Failures, fmt.Sprintf("release %s: ", pt.Name)+fmt.Sprintf(format, args...))
	}
	images, failed, err := k.images(ctx, pt)
	if err != nil {
		return kept, err
	}
	if len(failed) > 0 {
		for _, f := range failed {
			fail("%s", f)
		}
		return kept, nil
	}
	bins, err := k.shippedBinaries(ctx, pt, &kept)
	if err != nil {
		return kept, err
	}
	if bins == nil {
		return kept, nil
	}
	inputs := k.inputs(pt, images, bins.files, mark)
	if prev == nil || lastInputs != inputs {
		kept.Derived = true
		var ok bool
		prev, ok, err = k.derive(ctx, pt, images, bins, prev, recorded, &kept)
		if err != nil {
			return kept, err
		}
		if !ok {
			return kept, nil
		}
		if err := k.Store.RecordReleaseCheck(ctx, pt.Name, inputs); err != nil {
			return kept, err
		}
	}
	current(prev, &kept)
	if err := k.publish(ctx, prev, images, &kept); err != nil {
		return kept, err
	}
	return kept, nil
}

// derive assembles the release, settles it after prev and, when it
// changed, signs and records the new version. It returns the release's
// current document.
func (k *Keeper) derive(ctx context.Context, pt Point, images []trackedImage, bins *releaseBinaries, prev *store.ReleaseDocument, recorded bool, kept *Kept) (*store.ReleaseDocument, bool, error) {
	fail := func(format string, args ...any) {
		kept.Failures = append(kept.Failures, fmt.Sprintf("release %s: ", pt.Name)+fmt.Sprintf(format, args...))
	}
	now := k.Now()
	// Images are read by their recorded digests; one that vanished from its
	// registry stays covered with the statements it had.
	var readable []artifact.Platform
	var vanished []artifact.Platform
	for _, ti := range images {
		img := ti.Platform
		im, err := k.Registry.Image(ctx, img.Ref())
		if err != nil {
			kept.Warnings = append(kept.Warnings, fmt.Sprintf("release %s: image %s (%s) cannot be read (%v); it stays covered with its recorded digest", pt.Name, img.Ref(), img.String(), err))
			vanished = append(vanished, img)
			continue
		}
		img.Image = im
		readable = append(readable, img)
	}
	k.reportMoved(ctx, pt, images, kept)
	// A release directory holds more than executables (Kubernetes ships
	// image tarballs and .docker_tag files beside its binaries): what is
	// not a Go executable is named in one line and not covered.
	binaries, others := goExecutables(ctx, bins.files)
	if len(others) > 0 {
		kept.Warnings = append(kept.Warnings, fmt.Sprintf("release %s: binaries: %d %s, not covered: %s", pt.Name,
			len(others), plural(len(others), "file is not a Go executable", "files are not Go executables"), listSome(others, 5)))
		if len(binaries) == 0 {
			if len(bins.recorded) == 0 {
				fail("binaries directory %s holds no Go executables", filepath.Dir(others[0]))
				return nil, false, nil
			}
			bins.gone = fmt.Sprintf("binaries directory %s holds no Go executables", filepath.Dir(others[0]))
		}
	}
	work, err := os.MkdirTemp(k.WorkDir, "release-")
	if err != nil {
		return nil, false, err
	}
	defer os.RemoveAll(work)
	var packages func(ctx context.Context, doc *openvex.VEX) error
	if k.Packages != nil {
		var refs []string
		for _, ti := range images {
			if ti.Reference != "" && !slices.Contains(refs, ti.Reference) {
				refs = append(refs, ti.Reference)
			}
		}
		packages = func(ctx context.Context, doc *openvex.VEX) error { return k.Packages(ctx, doc, pt.Name, refs, now) }
	}
	res, err := Assemble(ctx, Options{
		Packages: packages,
		Store:    k.Store, Repo: k.Repo, Scanner: k.Scanner, DB: k.DB,
		Ref: pt.Name, Commit: pt.Commit, Maintained: k.Maintained, Branch: pt.Branch, BranchRecorded: recorded,
		Images: readable, Binaries: binaries, WorkDir: work,
		Author: k.Author, Now: now, Progress: k.Progress,
	})
	if err != nil {
		fail("%v", err)
		return nil, false, nil
	}
	doc := res.Doc
	if len(vanished) > 0 && prev != nil {
		if err := carry(doc, prev, vanished); err != nil {
			return nil, false, err
		}
	}
	goneBins := bins.vanished(pt, res.Binaries, kept)
	if len(goneBins) > 0 {
		if err := carryBinaries(doc, prev, res, goneBins); err != nil {
			return nil, false, err
		}
	}
	st, err := Settle(doc, prev, now)
	if err != nil {
		return nil, false, err
	}
	if !st.Changed {
		if err := k.recordBinaries(ctx, pt, bins, res.Binaries, now); err != nil {
			return nil, false, err
		}
		return prev, true, nil
	}
	body, err := vex.Marshal(st.Doc)
	if err != nil {
		return nil, false, err
	}
	version := 1
	if prev != nil {
		version = prev.Version + 1
	}
	rd := store.ReleaseDocument{Release: pt.Name, Version: version, Branch: pt.Branch, Commit: pt.Commit, StatementsHash: st.Hash,
		Decisions: res.Decisions, At: now, Body: body}
	public, held := k.Policy.Apply(st.Doc, now)
	for _, h := range held {
		kept.Warnings = append(kept.Warnings, fmt.Sprintf("release %s: held %s for %s (%s): %s", pt.Name, h.Vulnerability, h.Product, h.Status, h.Reason))
	}
	if len(public.Statements) > 0 {
		signer, err := k.Signer()
		if err != nil {
			fail("signing: %v", err)
			return nil, false, nil
		}
		var extra []attest.Subject
		if !publish.HasDigestProduct(public) {
			sub, err := publish.CommitSubject(public, pt.Commit)
			if err != nil {
				return nil, false, err
			}
			extra = append(extra, sub)
		}
		stmt, err := attest.StatementFor(public, extra...)
		if err != nil {
			return nil, false, err
		}
		bundle, err := attest.Sign(ctx, stmt, signer)
		if err != nil {
			fail("signing: %v", err)
			return nil, false, nil
		}
		rd.Bundle = bundle
	}
	if err := k.Store.RecordReleaseDocument(ctx, rd); err != nil {
		return nil, false, err
	}
	if err := k.recordBinaries(ctx, pt, bins, res.Binaries, now); err != nil {
		return nil, false, err
	}
	kept.Changed = true
	return &rd, true, nil
}

// current reports d (nil: none yet) as the release's current version.
func current(d *store.ReleaseDocument, kept *Kept) {
	if d == nil {
		return
	}
	kept.Version = d.Version
	kept.Statements = 0
	if doc, err := vex.Parse(d.Body); err == nil {
		kept.Statements = len(doc.Statements)
	}
}

// reportMoved warns when an image tag of the release no longer points at
// what was recorded. The recorded digests stay what is covered.
func (k *Keeper) reportMoved(ctx context.Context, pt Point, images []trackedImage, kept *Kept) {
	if k.Registry.Head == nil {
		return
	}
	seen := map[string]bool{}
	for _, img := range images {
		ref := img.Reference
		if ref == "" || seen[ref] || strings.Contains(ref, "@") {
			continue
		}
		seen[ref] = true
		want := img.Index
		if want == "" {
			want = img.Digest
		}
		got, err := k.Registry.Head(ctx, ref)
		if err == nil && got != want {
			kept.Warnings = append(kept.Warnings, fmt.Sprintf("release %s: image %s now points at %s, not the recorded %s; the recorded digests stay covered", pt.Name, ref, got, want))
		}
	}
}

// carry adds to doc the statements the previous version made about images
// that can no longer be read, updated where they were carried from the
// source analysis (which the new derivation still has).
func carry(doc *openvex.VEX, prev *store.ReleaseDocument, vanished []artifact.Platform) error {
	old, err := vex.Parse(prev.Body)
	if err != nil {
		return fmt.Errorf("reading version %d of the VEX of release %s: %w", prev.Version, prev.Release, err)
	}
	gone := map[string]bool{}
	for _, img := range vanished {
		gone[artifact.ImagePURL(img)] = true
	}
	source := map[string]openvex.Statement{}
	for _, s := range doc.Statements {
		for _, p := range s.Products {
			if purl.IsGo(p.ID) {
				for _, sub := range p.Subcomponents {
					if mod, _, ok := purl.Module(sub.ID); ok {
						source[string(s.Vulnerability.Name)+"\x00"+mod] = s
					}
				}
			}
		}
	}
	for _, s := range old.Statements {
		var ps []openvex.Product
		for _, p := range s.Products {
			if gone[p.ID] {
				ps = append(ps, p)
			}
		}
		if len(ps) == 0 {
			continue
		}
		c := s
		c.Products = ps
		if strings.Contains(s.StatusNotes, "Carried from the source analysis") {
			for _, sub := range ps[0].Subcomponents {
				mod, _, _ := purl.Module(sub.ID)
				if src, ok := source[string(s.Vulnerability.Name)+"\x00"+mod]; ok {
					c.Status, c.Justification = src.Status, src.Justification
					c.ImpactStatement, c.ActionStatement, c.Timestamp = src.ImpactStatement, src.ActionStatement, src.Timestamp
				}
			}
		}
		doc.Statements = append(doc.Statements, c)
	}
	return vex.Finalize(doc)
}

// images returns the release's platform images: recorded ones by their
// recorded digests, the others resolved now and recorded. What cannot be
// resolved is returned as a failure line.
func (k *Keeper) images(ctx context.Context, pt Point) ([]trackedImage, []string, error) {
	recorded, err := k.Store.ReleaseImages(ctx, pt.Name)
	if err != nil {
		return nil, nil, err
	}
	byRef := map[string][]store.ReleaseImage{}
	for _, r := range recorded {
		byRef[r.Reference] = append(byRef[r.Reference], r)
	}
	var out []trackedImage
	var failed []string
	for _, tpl := range k.Config.Images {
		ref := config.ExpandTemplate(tpl, pt.Tag, pt.Commit)
		if pt.Tag == "" && strings.Contains(tpl, "{tag}") {
			continue // a release named by commit ships no tagged image
		}
		if rs, ok := byRef[ref]; ok {
			for _, r := range rs {
				out = append(out, platformOf(r))
			}
			continue
		}
		ps, err := k.Registry.Resolve(ctx, ref)
		if err != nil {
			failed = append(failed, fmt.Sprintf("image %s cannot be resolved: %v", ref, err))
			continue
		}
		var rec []store.ReleaseImage
		for _, p := range ps {
			if len(k.Config.Platforms) > 0 && !slices.Contains(k.Config.Platforms, strings.ToLower(p.String())) {
				continue
			}
			r := store.ReleaseImage{Release: pt.Name, Reference: ref, Repository: p.Repository, Index: p.Index, Platform: p.String(), Digest: p.Digest, At: k.Now()}
			rec = append(rec, r)
			out = append(out, platformOf(r))
		}
		if len(rec) == 0 {
			failed = append(failed, fmt.Sprintf("image %s has none of the platforms %s", ref, strings.Join(k.Config.Platforms, ", ")))
			continue
		}
		if err := k.Store.RecordReleaseImages(ctx, rec); err != nil {
			return nil, nil, err
		}
	}
	return out, failed, nil
}

// trackedImage is a platform image of a release with the reference it was
// resolved from.
type trackedImage struct {
	artifact.Platform
	Reference string
}

// platformOf makes a recorded platform image usable by Assemble (its
// Image is read later, by digest).
func platformOf(r store.ReleaseImage) trackedImage {
	p := artifact.Platform{Repository: r.Repository, Name: filepath.Base(r.Repository), Digest: r.Digest, Index: r.Index}
	parts := strings.SplitN(r.Platform, "/", 3)
	if len(parts) > 0 {
		p.OS = parts[0]
	}
	if len(parts) > 1 {
		p.Arch = parts[1]
	}
	if len(parts) > 2 {
		p.Variant = parts[2]
	}
	return trackedImage{Platform: p, Reference: r.Reference}
}

// binaries lists the release's Go executables from the binaries template.
func (k *Keeper) binaries(pt Point) ([]string, error) {
	dir := k.binariesDir(pt)
	if dir == "" {
		return nil, nil
	}
	es, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("binaries directory %s does not exist", dir)
	}
	if err != nil {
		return nil, fmt.Errorf("binaries directory %s: %w", dir, err)
	}
	var out []string
	for _, e := range es {
		if e.Type().IsRegular() {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("binaries directory %s holds no files", dir)
	}
	return out, nil
}

// binariesDir is the release's binaries directory; "" when it ships
// none.
func (k *Keeper) binariesDir(pt Point) string {
	if k.Config.Binaries == "" {
		return ""
	}
	if pt.Tag == "" && strings.Contains(k.Config.Binaries, "{tag}") {
		// A release named by commit ships no tagged binaries (and
		// dist/{tag} would be every release's directory).
		return ""
	}
	return k.Resolve(config.ExpandTemplate(k.Config.Binaries, pt.Tag, pt.Commit))
}

// goExecutables splits files into the Go executables and the others
// (named by base name).
func goExecutables(ctx context.Context, files []string) (gos, others []string) {
	for _, f := range files {
		if isGoExecutable(ctx, f) {
			gos = append(gos, f)
		} else {
			others = append(others, f)
		}
	}
	return gos, others
}

func isGoExecutable(ctx context.Context, path string) bool {
	f, err := infile.Open(ctx, path)
	if err != nil {
		return false
	}
	defer f.Close()
	_, err = gobuildinfo.Read(f)
	return err == nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// listSome lists the base names of up to n paths, and how many more.
func listSome(paths []string, n int) string {
	var names []string
	for i, p := range paths {
		if i == n {
			names = append(names, fmt.Sprintf("and %d more", len(paths)-n))
			break
		}
		names = append(names, filepath.Base(p))
	}
	return strings.Join(names, ", ")
}

// inputs is the fingerprint of what a release's document is derived from.
func (k *Keeper) inputs(pt Point, images []trackedImage, binaries []string, mark string) string {
	v := buildinfo.Get()
	parts := []string{"v1", pt.Commit, pt.Branch, k.DB.Digest, v.Tool, v.Engine, mark, k.Author}
	for _, img := range images {
		parts = append(parts, img.Ref())
	}
	for _, b := range binaries {
		fi, err := os.Stat(b)
		if err == nil {
			parts = append(parts, fmt.Sprintf("%s %d %d", b, fi.Size(), fi.ModTime().UnixNano()))
		}
	}
	pol, _ := json.Marshal(k.Policy)
	parts = append(parts, string(pol))
	sort.Strings(parts[8:])
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:])
}

// publish pushes the release's current version to every store that does
// not have it yet; a store that refuses is a failure line, and nothing is
// recorded as published that was not pushed.
func (k *Keeper) publish(ctx context.Context, d *store.ReleaseDocument, images []trackedImage, kept *Kept) error {
	if d.Bundle == nil {
		return nil // nothing public in it
	}
	pubs, err := k.Store.ReleasePublications(ctx, d.Release)
	if err != nil {
		return err
	}
	done := map[string]bool{}
	for _, p := range pubs {
		if p.Version == d.Version {
			done[p.Store] = true
		}
	}
	obj, _, err := publish.BundleObject(d.Bundle)
	if err != nil {
		return fmt.Errorf("the stored bundle of release %s version %d: %w", d.Release, d.Version, err)
	}
	obj.Kind, obj.Ref = publish.KindRelease, d.Release
	// The registries to attach to: those of the images the document makes
	// a statement about (an image without any vulnerability is no
	// subject).
	subjects := map[string]bool{}
	for _, s := range obj.Subjects {
		for _, d := range s.Digests() {
			subjects[d.String()] = true
		}
	}
	var repos []string
	for _, img := range images {
		if subjects[img.Digest] && !slices.Contains(repos, img.Repository) {
			repos = append(repos, img.Repository)
		}
	}
	stores, err := k.Stores(ctx, repos)
	if err != nil {
		kept.Failures = append(kept.Failures, fmt.Sprintf("release %s: %v", d.Release, err))
		return nil
	}
	for _, s := range stores {
		if done[s.Name()] {
			continue
		}
		r, err := s.Publish(ctx, obj)
		if errors.Is(err, publish.ErrNotFound) {
			// The registry no longer holds any of the release's images:
			// nothing to attach to, and nothing recorded.
			kept.Warnings = append(kept.Warnings, fmt.Sprintf("release %s: version %d not attached in %s: none of its images is there any more", d.Release, d.Version, s.Name()))
			continue
		}
		if err != nil {
			kept.Failures = append(kept.Failures, fmt.Sprintf("release %s: publishing version %d to %s: %v", d.Release, d.Version, s.Name(), err))
			continue
		}
		if err := k.Store.RecordReleasePublication(ctx, store.ReleasePublication{Release: d.Release, Version: d.Version, Store: s.Name(), Location: r.Location, ID: r.ID, At: k.Now()}); err != nil {
			return err
		}
		kept.Published = append(kept.Published, s.Name())
	}
	return nil
}

// StoreSpecs are the store specs (for publish.OpenStores) of a release
// published to the configured stores: oci stands for every image
// repository of the release, in the order given.
func StoreSpecs(configured, repositories []string) []string {
	var out []string
	for _, s := range configured {
		if s == config.PublishOCI {
			for _, r := range repositories {
				out = append(out, "oci:"+r)
			}
			continue
		}
		out = append(out, s)
	}
	return out
}
