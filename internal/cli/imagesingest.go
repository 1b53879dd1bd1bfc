package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vexloom/vexloom/internal/imagevex"
	"github.com/vexloom/vexloom/internal/release"
)

func newImagesIngestCmd(g *globals) *cobra.Command {
	var (
		pf       projectFlags
		rel      string
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
    the branch the release was cut from (--branch, else the maintained
    branch holding the release that moved on least since, as tracked
    releases find it; when two are equally close or none holds it, a line
    says so and asks for --branch); --vex names the release's document
    explicitly instead.

The reports are the arguments, else releases.scanner_reports of
vexloom.yaml ({tag} is --release). vexloom update reads each tracked
release's reports the same way, from the patterns naming the release by
{tag} or {commit}. The base image is --base-vex oci:REF (its VEX hangs off its
digest as OCI referrers), or the image's org.opencontainers.image.base.name
and base.digest annotations (--image), or releases.base_images. Its VEX
counts only when its signature verifies against --base-key (or
releases.base_vex_key, or --base-identity and --base-issuer); an
unverified base statement never counts. A vex-repo feed (--base-vex
feed:URL|DIR, or vex: in releases.base_images) counts through the Sigstore
bundles it carries about the base image's digests; its per-package
documents are unsigned, and one saying more than those is named "not
counted: unsigned".

A report that cannot be read, a base VEX that does not verify, an image
without a known base: one line naming it, nothing recorded from it, the rest
of the run done (exit 1 when anything was skipped).`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if rel == "" {
				return usageError("--release is required: the release tag the image belongs to")
			}
			ctx := cmd.Context()
			stderr := cmd.ErrOrStderr()
			p, err := pf.open(ctx, g, true)
			if err != nil {
				return err
			}
			defer p.Close()
			pol, err := trust.policy(p.baseVEXKey())
			if err != nil {
				return err
			}
			if len(args) == 0 {
				var patterns []string
				for _, pat := range p.cfg.Releases.ScannerReports {
					patterns = append(patterns, p.cfg.Resolve(pat))
				}
				if args, err = imagevex.ReportFiles(patterns, rel, stderr); err != nil {
					return err
				}
				if len(args) == 0 {
					return usageError("no reports: give them as arguments or in releases.scanner_reports")
				}
			}
			res, err := imagevex.Ingest(ctx, imagevex.Options{
				Store: p.store, Release: rel, Image: image, ImageName: imageRef,
				Reports: args, BaseVEX: baseVEX, BaseImages: p.cfg.BaseImageOf, Policy: pol,
				OwnVEX: ownVEX, Branch: branch, Notes: stderr,
				FindBranch: func(ctx context.Context) (string, error) {
					repo, err := p.openRepository(ctx, g, g.progress(cmd))
					if err != nil {
						return "", err
					}
					maintained, err := release.Maintained(ctx, repo, p.cfg.Branches)
					if err != nil {
						return "", err
					}
					return release.BranchOf(ctx, repo, maintained, rel)
				},
			})
			printIngested(cmd, res)
			if err != nil {
				return err
			}
			if res.Skipped > 0 {
				return &exitError{code: ExitError, err: fmt.Errorf("%d %s skipped (see above); the rest is recorded", res.Skipped, plural(res.Skipped, "input"))}
			}
			return nil
		},
	}
	pf.register(cmd)
	cmd.Flags().StringVar(&rel, "release", "", "the release `tag` the image belongs to")
	cmd.Flags().StringVar(&image, "image", "", "the release image `ref`erence (its platforms, and its base from the OCI base-image annotations)")
	cmd.Flags().StringVar(&imageRef, "image-name", "", "the image `repository` to record findings under (default: --image, else the report's)")
	cmd.Flags().StringArrayVar(&baseVEX, "base-vex", nil, "where the base image's VEX is: oci:REF (the referrers of its digest), feed:URL|DIR (a vex-repo feed's signed bundles about the base --image names) or a bundle FILE (repeatable)")
	cmd.Flags().StringVar(&ownVEX, "vex", "", "the release's own VEX `file` (assemble's), to match Go findings against instead of the store's")
	cmd.Flags().StringVar(&branch, "branch", "", "the `branch` the release was cut from (default: the maintained branch holding the release that moved on least since): Go findings are matched against its triage history when the store holds no document of the release")
	trust.register(cmd)
	return cmd
}

// printIngested says what each image's reports recorded.
func printIngested(cmd *cobra.Command, res imagevex.Result) {
	out := cmd.OutOrStdout()
	for _, r := range res.Images {
		fmt.Fprintln(out, ingestedLine(r))
		for _, l := range r.GoLines {
			fmt.Fprintln(out, "  "+l)
		}
	}
}

// ingestedLine says what one image's reports recorded.
func ingestedLine(r imagevex.Recorded) string {
	return fmt.Sprintf("%s@%s (%s), from %s: %d %s in packages of the image (%d covered by the base image's VEX), %d new %s; %d Go %s",
		r.Image, r.Digest, r.Release, strings.Join(r.Files, ", "), r.Findings, plural(r.Findings, "finding"), r.Covered, r.Opened, plural(r.Opened, "triage"), len(r.GoLines), plural(len(r.GoLines), "finding"))
}
