package cli

import (
	"context"
	"io"
	"time"

	openvex "github.com/openvex/go-vex/pkg/vex"
	"github.com/spf13/cobra"

	"github.com/vexloom/vexloom/internal/imagevex"
)

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
			o := imagevex.DocumentOptions{
				Store: p.store, Release: release, Author: p.author(), Now: now,
				Images: images, BaseImages: p.cfg.BaseImageOf, Inherit: len(images) > 0, Notes: cmd.ErrOrStderr(),
			}
			if o.Inherit {
				if o.Policy, err = trust.policy(p.baseVEXKey()); err != nil {
					return err
				}
			}
			doc, err := imagevex.Document(ctx, o)
			if err != nil {
				return err
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
// images' packages (imagevex.AddPackages): what images ingest recorded,
// and, when releases.base_vex_key is configured, the base images' verified
// statements about the packages no scanner reported.
func addImagePackages(ctx context.Context, p *project, doc *openvex.VEX, release string, images []string, now time.Time, stderr io.Writer) error {
	o := imagevex.DocumentOptions{
		Store: p.store, Release: release, Author: p.author(), Now: now,
		Images: images, BaseImages: p.cfg.BaseImageOf, Notes: stderr,
		Inherit: p.baseVEXKey() != "" && len(images) > 0,
	}
	if o.Inherit {
		pol, err := (&baseTrust{}).policy(p.baseVEXKey())
		if err != nil {
			return err
		}
		o.Policy = pol
	}
	return imagevex.AddPackages(ctx, doc, o)
}
