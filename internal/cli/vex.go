package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/vexloom/vexloom/internal/jsonx"
	"github.com/vexloom/vexloom/internal/store"
	"github.com/vexloom/vexloom/internal/vex"
	"github.com/vexloom/vexloom/internal/viewjson"
)

func newVEXCmd(g *globals) *cobra.Command {
	var (
		pf          projectFlags
		branch      string
		releaseName string
		version     int
		output      string
		format      string
	)
	cmd := &cobra.Command{
		Use:   "vex --branch BRANCH | --release TAG",
		Short: "Print a branch's or a tracked release's VEX document as last written by update",
		Long: `Print the OpenVEX document of a maintained branch from the store: the
latest version, or --version N. Every version ever written stays readable.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if releaseName != "" {
				if branch != "" {
					return usageError("--branch and --release exclude each other")
				}
				return releaseVEX(cmd, g, &pf, releaseName, version, format, output)
			}
			if branch == "" {
				return usageError("--branch or --release is required")
			}
			if err := checkFormat(format, "openvex", "json", "csaf", "cyclonedx"); err != nil {
				return err
			}
			ctx := cmd.Context()
			p, err := pf.open(ctx, g, false)
			if err != nil {
				return err
			}
			defer p.Close()
			var doc *store.Document
			if version == 0 {
				doc, err = p.store.LatestDocument(ctx, branch)
				if errors.Is(err, store.ErrNotFound) {
					return fmt.Errorf("no VEX written for %s yet: run `vexloom update`", branch)
				}
				if err != nil {
					return err
				}
			} else {
				docs, err := p.store.Documents(ctx, branch)
				if err != nil {
					return err
				}
				for i := range docs {
					if docs[i].Version == version {
						doc = &docs[i]
					}
				}
				if doc == nil {
					return fmt.Errorf("%s has no VEX version %d (%d written)", branch, version, len(docs))
				}
			}
			// What the store holds is checked before it is handed out.
			parsed, err := vex.Parse(doc.Body)
			if err != nil {
				return fmt.Errorf("the stored VEX of %s version %d does not parse: %w", branch, doc.Version, err)
			}
			return writeOutput(cmd.OutOrStdout(), output, func(w io.Writer) error {
				if format == "csaf" || format == "cyclonedx" {
					return writeVEXAs(w, parsed, format, p.cfg.Project.Repository)
				}
				if format == "json" {
					return jsonx.Write(w, viewjson.BranchVEXOf(*doc))
				}
				_, err := w.Write(doc.Body)
				return err
			})
		},
	}
	pf.register(cmd)
	cmd.Flags().StringVar(&format, "format", "openvex", "output `format`: openvex (the document), csaf or cyclonedx (its statements in CSAF 2.0 or CycloneDX 1.6) or json (the document with its version and where it was written)")
	cmd.Flags().StringVarP(&branch, "branch", "b", "", "the `branch`")
	cmd.Flags().StringVar(&releaseName, "release", "", "a tracked release's `tag` (or commit)")
	cmd.Flags().IntVar(&version, "version", 0, "a document `version` (default: the latest)")
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to `file` instead of stdout")
	return cmd
}
