package cli

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/spf13/cobra"

	"github.com/vexloom/vexloom/internal/artifact"
	"github.com/vexloom/vexloom/internal/release"
)

func init() { commands = append(commands, newAssembleCmd) }

func newAssembleCmd(g *globals) *cobra.Command {
	var (
		pf              projectFlags
		ref             string
		branch          string
		images          []string
		binaries        []string
		output          string
		format          string
		requireAssessed bool
	)
	cmd := &cobra.Command{
		Use:   "assemble --release REF [--image REF]... [--binary FILE]... [-o FILE]",
		Short: "Assemble the VEX of a release, with its binaries and container images",
		Long: `Assemble the OpenVEX document of a release point (a tag or a commit on a
maintained branch):

  - the release commit is scanned (from the cache when it was scanned
    before), and only vulnerabilities present there are stated; each gets the
    decision in force on its branch when the release's own evidence still
    supports it (a decision made when the code was not reached does not hold
    for a release that reaches it), else under_investigation;
  - the project's modules at the release version are products, with the
    vulnerable dependency as subcomponent (what Trivy follows);
  - each --binary and each platform of each --image is a product of its
    own (the image as pkg:oci/<name>@sha256:…?repository_url=…, what Grype
    matches), with statements from govulncheck's binary analysis of the Go
    executables inside; a binary built from the project keeps the stronger
    evidence of the source analysis.

What images ingest recorded about the images' other packages (operating-
system packages: the base image's verified VEX, maintainers' decisions) is
added, the image as product and the package as subcomponent.
The output is deterministic for the same inputs (SOURCE_DATE_EPOCH sets
its time).`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if ref == "" {
				return usageError("--release is required: a tag or commit")
			}
			if err := checkFormat(format, "openvex", "csaf", "cyclonedx"); err != nil {
				return err
			}
			ctx := cmd.Context()
			prog := g.progress(cmd)
			p, err := pf.open(ctx, g, true)
			if err != nil {
				return err
			}
			defer p.Close()
			o, err := p.releaseOptions(ctx, g, prog, ref)
			if err != nil {
				return err
			}
			var plats []artifact.Platform
			for _, r := range images {
				ps, err := artifact.ResolveImage(ctx, r, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain))
				if err != nil {
					return fmt.Errorf("resolving the image %s: %w", r, err)
				}
				plats = append(plats, ps...)
			}
			work, err := os.MkdirTemp("", "vexloom-assemble-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(work)
			now, err := g.timestamp()
			if err != nil {
				return err
			}
			o.Now, o.Branch, o.Images, o.Binaries, o.WorkDir, o.RequireAssessed = now, branch, plats, binaries, work, requireAssessed
			res, err := release.Assemble(ctx, o)
			if errors.Is(err, release.ErrUnassessed) {
				return &exitError{code: ExitPolicy, err: err}
			}
			if err != nil {
				return err
			}
			if err := addImagePackages(ctx, p, res.Doc, ref, images, now, cmd.ErrOrStderr()); err != nil {
				return err
			}
			// A tracked release: the same statements as the version update
			// recorded give that document back, byte for byte.
			if prev, err := p.store.LatestReleaseDocument(ctx, ref); err == nil && prev.Commit == res.Commit {
				st, err := release.Settle(res.Doc, prev, now)
				if err != nil {
					return err
				}
				res.Doc = st.Doc
			}
			for _, u := range res.Unassessed {
				prog.Printf("unassessed at %s: %s (stated as under_investigation)", ref, u)
			}
			for _, s := range res.Skipped {
				prog.Printf("warning: not analysed: %s", s)
			}
			var data bytes.Buffer
			if err := writeVEXAs(&data, res.Doc, format, p.cfg.Project.Repository); err != nil {
				return err
			}
			if output != "" && output != "-" {
				prog.Printf("release %s (%s on %s): %d statements → %s", ref, shortHash(res.Commit), res.Branch, len(res.Doc.Statements), output)
			}
			return writeBytes(cmd.OutOrStdout(), output, data.Bytes())
		},
	}
	pf.register(cmd)
	cmd.Flags().StringVar(&ref, "release", "", "the release point: a `tag` or commit on a maintained branch")
	cmd.Flags().StringVar(&branch, "branch", "", "the maintained `branch` the release was cut from (default: the one holding the release that moved on least since)")
	cmd.Flags().StringArrayVar(&images, "image", nil, "a container `image` of the release (tag or digest; multi-arch indexes give one product per platform; repeatable)")
	cmd.Flags().StringArrayVar(&binaries, "binary", nil, "a Go executable `file` of the release (repeatable)")
	cmd.Flags().StringVarP(&output, "out", "o", "", "write the document to `file` (default stdout)")
	cmd.Flags().StringVar(&format, "format", "openvex", "document `format`: openvex, csaf (CSAF 2.0 VEX) or cyclonedx (CycloneDX 1.6)")
	cmd.Flags().BoolVar(&requireAssessed, "require-assessed", false, "refuse (exit 3) when a vulnerability present at the release has no assessment")
	return cmd
}
