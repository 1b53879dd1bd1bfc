package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	openvex "github.com/openvex/go-vex/pkg/vex"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/spf13/cobra"

	"github.com/vexloom/vexloom/internal/artifact"
	"github.com/vexloom/vexloom/internal/attest"
	"github.com/vexloom/vexloom/internal/imagevex"
	"github.com/vexloom/vexloom/internal/scanreport"
	"github.com/vexloom/vexloom/internal/triage"
	"github.com/vexloom/vexloom/internal/vex"
	"github.com/vexloom/vexloom/internal/vexformat"
	"github.com/vexloom/vexloom/internal/vexsource"
)

// The OCI annotations naming the image an image was built on.
const (
	annotationBaseName   = "org.opencontainers.image.base.name"
	annotationBaseDigest = "org.opencontainers.image.base.digest"
)

func init() { commands = append(commands, newImagesCmd) }

func newImagesCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "images",
		Short: "Release images: scanner reports of them and their base image's VEX",
		Args:  exactArgs(0),
	}
	cmd.AddCommand(newImagesIngestCmd(g), newImagesVEXCmd(g))
	return cmd
}

// baseTrust is who may sign a base image's VEX.
type baseTrust struct {
	key, identity, issuer, trustedRoot string
}

func (b *baseTrust) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&b.key, "base-key", "", "public `key` that signs the base image's VEX")
	cmd.Flags().StringVar(&b.identity, "base-identity", "", "keyless: the certificate identity (a `regexp`) that signs the base image's VEX")
	cmd.Flags().StringVar(&b.issuer, "base-issuer", "", "keyless: the OIDC `issuer` of --base-identity")
	cmd.Flags().StringVar(&b.trustedRoot, "trusted-root", "", "keyless: Sigstore trusted root `file` (default: the public-good instance's)")
}

// policy is the verification policy; nil when no trust is configured (then
// no base statement counts).
func (b *baseTrust) policy() (*attest.TrustPolicy, error) {
	switch {
	case b.key != "":
		data, err := readBounded(b.key, attest.MaxKeySize)
		if err != nil {
			return nil, fmt.Errorf("reading --base-key: %w", err)
		}
		pub, err := attest.LoadPublicKey(data)
		if err != nil {
			return nil, fmt.Errorf("--base-key %s: %w", b.key, err)
		}
		return &attest.TrustPolicy{PublicKey: pub}, nil
	case b.identity != "":
		if b.issuer == "" {
			return nil, usageError("--base-identity needs --base-issuer")
		}
		var (
			tm  root.TrustedMaterial
			err error
		)
		if b.trustedRoot != "" {
			tm, err = root.NewTrustedRootFromPath(b.trustedRoot)
		} else {
			tm, err = root.FetchTrustedRoot()
		}
		if err != nil {
			return nil, fmt.Errorf("reading the Sigstore trusted root: %w", err)
		}
		return &attest.TrustPolicy{Identity: &attest.Identity{Issuer: b.issuer, SubjectRegexp: b.identity}, TrustedMaterial: tm}, nil
	}
	return nil, nil
}

func newImagesIngestCmd(g *globals) *cobra.Command {
	var (
		pf       projectFlags
		release  string
		image    string
		baseVEX  []string
		trust    baseTrust
		ownVEX   string
		imageRef string
		branch   string
	)
	cmd := &cobra.Command{
		Use:   "ingest REPORT... --release TAG [--image REF] [--base-vex oci:REF|FILE]... [--base-key KEY]",
		Short: "Record what Trivy, Grype or OSV-Scanner report about a release image",
		Long: `Read Trivy JSON, Grype JSON and OSV-Scanner JSON reports of a release's
image and record their findings:

  - a finding in an operating-system package (deb, apk, rpm) or another
    language's package becomes a triage, one per vulnerability and package,
    listing the images and releases it is found in, answered with the same
    slash commands and OWNERS rules as any other;
  - one the base image's VEX covers (a verified statement about the same
    package at the same version) is assessed from it and needs no person;
    a maintainer's own decision still wins;
  - a Go finding is left to the project's own analysis (scan, assemble),
    never a triage of its own: it is matched against the release's latest
    document in the store (a tracked release), else the triage history of
    --branch, the branch the release was cut from; --vex names the
    release's document explicitly instead.

The reports are the arguments, else releases.scanner_reports of
vexloom.yaml. The base image is --base-vex oci:REF (its VEX hangs off its
digest as OCI referrers), or the image's org.opencontainers.image.base.name
and base.digest annotations (--image), or releases.base_images. Its VEX
counts only when its signature verifies against --base-key (or
releases.base_vex_key, or --base-identity and --base-issuer); an
unverified base statement never counts.

A report that cannot be read, a base VEX that does not verify, an image
without a known base: one line naming it, nothing recorded from it, the rest
of the run done (exit 1 when anything was skipped).`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if release == "" {
				return usageError("--release is required: the release tag the image belongs to")
			}
			ctx := cmd.Context()
			stderr := cmd.ErrOrStderr()
			p, err := pf.open(ctx, g, true)
			if err != nil {
				return err
			}
			defer p.Close()
			rc := p.cfg.Releases
			if trust.key == "" && trust.identity == "" && rc.BaseVEXKey != "" {
				trust.key = p.cfg.Resolve(rc.BaseVEXKey)
			}
			pol, err := trust.policy()
			if err != nil {
				return err
			}
			if len(args) == 0 {
				for _, pat := range rc.ScannerReports {
					matches, err := filepath.Glob(p.cfg.Resolve(pat))
					if err != nil {
						return fmt.Errorf("releases.scanner_reports %q: %w", pat, err)
					}
					if len(matches) == 0 {
						fmt.Fprintf(stderr, "images: releases.scanner_reports %q matches no file\n", pat)
					}
					args = append(args, matches...)
				}
				if len(args) == 0 {
					return usageError("no reports: give them as arguments or in releases.scanner_reports")
				}
			}
			skipped := 0

			// The derived image: its platforms, and its base from the
			// annotations when no --base-vex names it.
			var derived []artifact.Platform
			if image != "" {
				derived, err = artifact.ResolveImage(ctx, image, registryOptions(ctx)...)
				if err != nil {
					return fmt.Errorf("resolving the image %s: %w", image, err)
				}
				if len(baseVEX) == 0 {
					srcs, err := baseSources(ctx, p, image)
					if err != nil {
						return err
					}
					if len(srcs) == 0 {
						fmt.Fprintf(stderr, "images: %s: no base image known (no %s/%s annotations, no releases.base_images entry, no --base-vex): no base VEX applies to it\n", image, annotationBaseName, annotationBaseDigest)
						skipped++
					}
					baseVEX = srcs
				}
			}
			var bases []imagevex.Base
			for _, src := range baseVEX {
				b, n := loadBaseVEX(ctx, src, pol, stderr)
				skipped += n
				bases = append(bases, b)
			}
			var own *triage.GoAnalysis
			if ownVEX != "" {
				data, err := readBounded(ownVEX, vex.MaxDocumentSize)
				if err != nil {
					return fmt.Errorf("reading --vex: %w", err)
				}
				doc, _, err := vexformat.Parse(data)
				if err != nil {
					return fmt.Errorf("--vex %s: %w", ownVEX, err)
				}
				own = triage.DocumentAnalysis(doc, "--vex "+filepath.Base(ownVEX))
			} else if own, err = triage.ReleaseAnalysis(ctx, p.store, release, branch); err != nil {
				return err
			}

			// Reports of the same image (platform) are observed together:
			// what one scanner does not report is not gone while another
			// does.
			var order []string
			byImage := map[string]*imageReports{}
			for _, file := range args {
				data, err := readBounded(file, scanreport.MaxReportSize)
				var rep *scanreport.Report
				if err == nil {
					rep, err = scanreport.Parse(data)
				}
				var ir *imageReports
				if err == nil {
					ir, err = prepareReport(file, rep, release, firstNonEmpty(imageRef, image), derived, bases, own)
				}
				if err != nil {
					fmt.Fprintf(stderr, "images: %s: %v; nothing recorded from it\n", file, err)
					skipped++
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
				if err := byImage[k].record(ctx, p, cmd.OutOrStdout()); err != nil {
					return err
				}
			}
			if skipped > 0 {
				return &exitError{code: ExitError, err: fmt.Errorf("%d %s skipped (see above); the rest is recorded", skipped, plural(skipped, "input"))}
			}
			return nil
		},
	}
	pf.register(cmd)
	cmd.Flags().StringVar(&release, "release", "", "the release `tag` the image belongs to")
	cmd.Flags().StringVar(&image, "image", "", "the release image `ref`erence (its platforms, and its base from the OCI base-image annotations)")
	cmd.Flags().StringVar(&imageRef, "image-name", "", "the image `repository` to record findings under (default: --image, else the report's)")
	cmd.Flags().StringArrayVar(&baseVEX, "base-vex", nil, "where the base image's VEX is: oci:REF (the referrers of its digest) or a bundle FILE (repeatable)")
	cmd.Flags().StringVar(&ownVEX, "vex", "", "the release's own VEX `file` (assemble's), to match Go findings against instead of the store's")
	cmd.Flags().StringVar(&branch, "branch", "", "the `branch` the release was cut from: Go findings are matched against its triage history when the store holds no document of the release")
	trust.register(cmd)
	return cmd
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func registryOptions(ctx context.Context) []remote.Option {
	return []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)}
}

// baseFromAnnotations reads the base image an image names in its OCI
// annotations (on the index or the manifest): REPO@DIGEST, or "".
func baseFromAnnotations(ctx context.Context, image string) (string, error) {
	r, err := name.ParseReference(image)
	if err != nil {
		return "", fmt.Errorf("--image %s: %w", image, err)
	}
	desc, err := remote.Get(r, registryOptions(ctx)...)
	if err != nil {
		return "", fmt.Errorf("reading the image %s: %w", image, err)
	}
	var m struct {
		Annotations map[string]string `json:"annotations"`
	}
	if err := json.Unmarshal(desc.Manifest, &m); err != nil {
		return "", fmt.Errorf("reading the manifest of %s: %w", image, err)
	}
	n, d := m.Annotations[annotationBaseName], m.Annotations[annotationBaseDigest]
	if n == "" || d == "" {
		return "", nil
	}
	base, err := name.ParseReference(n)
	if err != nil {
		return "", fmt.Errorf("%s of %s: %w", annotationBaseName, image, err)
	}
	return base.Context().Name() + "@" + d, nil
}

// loadBaseVEX reads the base image's VEX from one source: its documents,
// each verified or not, and how many were skipped.
func loadBaseVEX(ctx context.Context, src string, pol *attest.TrustPolicy, stderr io.Writer) (imagevex.Base, int) {
	skipped := 0
	verify := func(origin string, bundle []byte, digest string) *imagevex.BaseDocument {
		if pol == nil {
			fmt.Fprintf(stderr, "images: base VEX %s: not counted: no --base-key or --base-identity to verify it with\n", origin)
			skipped++
			return nil
		}
		pl := *pol
		if digest != "" {
			d, err := attest.ParseDigest(digest)
			if err != nil {
				fmt.Fprintf(stderr, "images: base VEX %s: not counted: %v\n", origin, err)
				skipped++
				return nil
			}
			pl.ArtifactDigests = []attest.Digest{d}
		} else {
			pl.WithoutArtifact = true
		}
		res, err := attest.Verify(ctx, bundle, pl)
		if err != nil {
			fmt.Fprintf(stderr, "images: base VEX %s: not counted: %v\n", origin, err)
			skipped++
			return nil
		}
		fmt.Fprintf(stderr, "images: base VEX %s: verified, signed by %s: %d %s\n", origin, res.SignedBy, len(res.VEX.Statements), plural(len(res.VEX.Statements), "statement"))
		return &imagevex.BaseDocument{Doc: res.VEX, Source: origin, Verified: true}
	}
	ref, isOCI := strings.CutPrefix(src, "oci:")
	if !isOCI {
		b := imagevex.Base{Name: src}
		data, err := readBounded(src, attest.MaxBundleSize)
		if err != nil {
			fmt.Fprintf(stderr, "images: base VEX %s: %v\n", src, err)
			return b, 1
		}
		if d := verify(src, data, ""); d != nil {
			b.Docs = append(b.Docs, *d)
		}
		return b, skipped
	}
	b := imagevex.Base{Name: ref}
	plats, err := artifact.ResolveImage(ctx, ref, registryOptions(ctx)...)
	if err != nil {
		fmt.Fprintf(stderr, "images: base image %s: %v; its VEX is not read\n", ref, err)
		return b, 1
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		fmt.Fprintf(stderr, "images: base image %s: %v\n", ref, err)
		return b, 1
	}
	if d, ok := r.(name.Digest); ok {
		b.Digests = append(b.Digests, d.DigestStr())
	}
	for _, pl := range plats {
		for _, d := range []string{pl.Index, pl.Digest} {
			if d != "" && !slices.Contains(b.Digests, d) {
				b.Digests = append(b.Digests, d)
			}
		}
	}
	// The referrers of each digest, through the one reader of published VEX.
	source, err := vexsource.Open("oci:"+r.Context().Name(), vexsource.Options{Remote: []remote.Option{remote.WithAuthFromKeychain(authn.DefaultKeychain)}})
	if err != nil {
		fmt.Fprintf(stderr, "images: base image %s: %v\n", ref, err)
		return b, 1
	}
	found := 0
	for _, digest := range b.Digests {
		d, err := attest.ParseDigest(digest)
		if err != nil {
			continue
		}
		docs, err := source.About(ctx, d)
		if err != nil {
			fmt.Fprintf(stderr, "images: base image %s@%s: reading its referrers: %v\n", r.Context().Name(), digest, err)
			skipped++
			continue
		}
		for _, doc := range docs {
			found++
			if d := verify(doc.Origin, doc.Bundle, digest); d != nil {
				b.Docs = append(b.Docs, *d)
			}
		}
	}
	if found == 0 {
		fmt.Fprintf(stderr, "images: base image %s: no VEX attached to %s\n", ref, strings.Join(b.Digests, ", "))
	}
	return b, skipped
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
func prepareReport(file string, rep *scanreport.Report, release, image string, derived []artifact.Platform, bases []imagevex.Base, own *triage.GoAnalysis) (*imageReports, error) {
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
	if pl := scannedPlatform(derived, rep); pl != nil {
		digest = pl.Digest
		products = []openvex.Component{artifact.ImageProduct(*pl).Component}
	} else {
		products = imageProducts(repo, nil, rep.Digests)
	}
	var inherited []openvex.Statement
	for _, b := range bases {
		inherited = append(inherited, imagevex.Inherit(b, products)...)
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
		imf.Covered = imagevex.Covering(inherited, imagevex.Finding{IDs: ids, Package: f.Package})
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

// record observes the image's findings and says what they did.
func (ir *imageReports) record(ctx context.Context, p *project, out io.Writer) error {
	changes, err := triage.ObserveImage(ctx, p.store, ir.obs)
	if err != nil {
		return err
	}
	opened, covered := 0, 0
	for _, c := range changes {
		if c.Created {
			opened++
		}
	}
	for _, f := range ir.obs.Findings {
		if f.Covered != nil {
			covered++
		}
	}
	n := len(ir.obs.Findings)
	fmt.Fprintf(out, "%s@%s (%s), from %s: %d %s in packages of the image (%d covered by the base image's VEX), %d new %s; %d Go %s\n",
		ir.obs.Image, ir.obs.Digest, ir.obs.Release, strings.Join(ir.files, ", "), n, plural(n, "finding"), covered, opened, plural(opened, "triage"), len(ir.goLines), plural(len(ir.goLines), "finding"))
	for _, l := range ir.goLines {
		fmt.Fprintln(out, "  "+l)
	}
	return nil
}

// imageProducts are the derived image's products: each platform resolved,
// else the digests the report saw.
func imageProducts(repo string, derived []artifact.Platform, digests []string) []openvex.Component {
	var out []openvex.Component
	for _, pl := range derived {
		out = append(out, artifact.ImageProduct(pl).Component)
	}
	if len(out) > 0 {
		return out
	}
	base := repo[strings.LastIndex(repo, "/")+1:]
	for _, d := range digests {
		out = append(out, artifact.ImageProduct(artifact.Platform{Repository: repo, Name: base, Digest: d}).Component)
	}
	return out
}

func newImagesVEXCmd(g *globals) *cobra.Command {
	var (
		pf      projectFlags
		release string
		output  string
		format  string
		images  []string
		trust   baseTrust
	)
	cmd := &cobra.Command{
		Use:   "vex --release TAG [--format openvex|csaf|cyclonedx] [-o FILE]",
		Short: "The VEX of a release's images' packages: base image statements and maintainers' decisions",
		Long: `Write the VEX document of what scanners reported in a release's images
(vexloom images ingest): for each vulnerability and package, the decision in
force, a maintainer's or the one carried from the base image's verified VEX
(named in status_notes), with each image as product (by digest) and the
package as subcomponent. Findings waiting for a person are
under_investigation. With --image, the base image's verified statements
about the packages no scanner reported are added as well. Deterministic
(SOURCE_DATE_EPOCH sets its time).`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if release == "" {
				return usageError("--release is required")
			}
			if err := checkFormat(format, "openvex", "csaf", "cyclonedx"); err != nil {
				return err
			}
			ctx := cmd.Context()
			p, err := pf.open(ctx, g, false)
			if err != nil {
				return err
			}
			defer p.Close()
			now, err := g.timestamp()
			if err != nil {
				return err
			}
			views, err := triage.Views(ctx, p.store, nil)
			if err != nil {
				return err
			}
			doc, err := triage.ImageDocument(views, release, p.author(), now)
			if err != nil {
				return err
			}
			if len(images) > 0 {
				if trust.key == "" && trust.identity == "" && p.cfg.Releases.BaseVEXKey != "" {
					trust.key = p.cfg.Resolve(p.cfg.Releases.BaseVEXKey)
				}
				pol, err := trust.policy()
				if err != nil {
					return err
				}
				inherited, err := inheritedStatements(ctx, p, images, pol, cmd.ErrOrStderr())
				if err != nil {
					return err
				}
				if err := withInherited(doc, inherited); err != nil {
					return err
				}
			}
			return writeOutput(cmd.OutOrStdout(), output, func(w io.Writer) error {
				return writeVEXAs(w, doc, format, p.cfg.Project.Repository)
			})
		},
	}
	pf.register(cmd)
	cmd.Flags().StringVar(&release, "release", "", "the release `tag`")
	cmd.Flags().StringVar(&format, "format", "openvex", "document `format`: openvex, csaf or cyclonedx")
	cmd.Flags().StringVarP(&output, "out", "o", "", "write the document to `file` (default stdout)")
	cmd.Flags().StringArrayVar(&images, "image", nil, "a release `image`: its base image's verified statements about packages no scanner reported are added too (repeatable)")
	trust.register(cmd)
	return cmd
}

// addImagePackages adds to a release's document what is known about its
// images' packages: what images ingest recorded (base image statements and
// maintainers' decisions), and, when releases.base_vex_key is configured,
// the base images' verified statements about the packages no scanner
// reported. A release without either is left as it is.
func addImagePackages(ctx context.Context, p *project, doc *openvex.VEX, release string, images []string, now time.Time, stderr io.Writer) error {
	views, err := triage.Views(ctx, p.store, nil)
	if err != nil {
		return err
	}
	img, err := triage.ImageDocument(views, release, p.author(), now)
	if err != nil {
		return err
	}
	if len(img.Statements) > 0 {
		doc.Statements = append(doc.Statements, img.Statements...)
		doc.ID = ""
		if err := vex.Finalize(doc); err != nil {
			return err
		}
	}
	if key := p.cfg.Releases.BaseVEXKey; key != "" && len(images) > 0 {
		pol, err := (&baseTrust{key: p.cfg.Resolve(key)}).policy()
		if err != nil {
			return err
		}
		inherited, err := inheritedStatements(ctx, p, images, pol, stderr)
		if err != nil {
			return err
		}
		return withInherited(doc, inherited)
	}
	return nil
}

// scannedPlatform is the platform of the image a report is of: the one
// whose manifest digest the report names, or whose configuration digest is
// the report's image ID, or the only one.
func scannedPlatform(derived []artifact.Platform, rep *scanreport.Report) *artifact.Platform {
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

// baseSources says where the base image of a release image publishes its
// VEX: the base its OCI annotations name, else releases.base_images; none
// when neither says.
func baseSources(ctx context.Context, p *project, image string) ([]string, error) {
	ref, err := baseFromAnnotations(ctx, image)
	if err != nil {
		return nil, err
	}
	if ref != "" {
		return []string{"oci:" + ref}, nil
	}
	r, err := name.ParseReference(image)
	if err != nil {
		return nil, fmt.Errorf("--image %s: %w", image, err)
	}
	if b, ok := p.cfg.BaseImageOf(r.Context().Name()); ok {
		if len(b.VEX) > 0 {
			return b.VEX, nil
		}
		return []string{"oci:" + b.Base}, nil
	}
	return nil, nil
}

// inheritedStatements are the base images' verified statements about
// their OS packages, restated for each platform of the release images.
func inheritedStatements(ctx context.Context, p *project, images []string, pol *attest.TrustPolicy, stderr io.Writer) ([]openvex.Statement, error) {
	var out []openvex.Statement
	for _, image := range images {
		plats, err := artifact.ResolveImage(ctx, image, registryOptions(ctx)...)
		if err != nil {
			return nil, fmt.Errorf("resolving the image %s: %w", image, err)
		}
		srcs, err := baseSources(ctx, p, image)
		if err != nil {
			return nil, err
		}
		var products []openvex.Component
		for _, pl := range plats {
			products = append(products, artifact.ImageProduct(pl).Component)
		}
		for _, src := range srcs {
			b, _ := loadBaseVEX(ctx, src, pol, stderr)
			out = append(out, imagevex.Inherit(b, products)...)
		}
	}
	return out, nil
}

// withInherited adds to a document the inherited statements about
// products and packages it says nothing of yet: what people decided, or
// what a scanner's finding recorded, stands.
func withInherited(doc *openvex.VEX, inherited []openvex.Statement) error {
	if len(inherited) == 0 {
		return nil
	}
	have := map[string]bool{}
	for _, f := range vex.Facts(doc) {
		have[string(f.Vulnerability.Name)+"\x00"+vex.ComponentKey(f.Product)+"\x00"+packageIdentity(vex.ComponentKey(f.Subcomponent))] = true
	}
	extra := &openvex.VEX{Metadata: doc.Metadata, Statements: inherited}
	var add []vex.Fact
	for _, f := range vex.Facts(extra) {
		if !have[string(f.Vulnerability.Name)+"\x00"+vex.ComponentKey(f.Product)+"\x00"+packageIdentity(vex.ComponentKey(f.Subcomponent))] {
			add = append(add, f)
		}
	}
	if len(add) == 0 {
		return nil
	}
	doc.Statements = append(doc.Statements, vex.Statements(add)...)
	doc.ID = ""
	return vex.Finalize(doc)
}

// packageIdentity is a package URL without its qualifiers: the same package
// at the same version, whichever scanner named it.
func packageIdentity(purl string) string {
	p, _, _ := strings.Cut(purl, "?")
	return p
}
