package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vexloom/vexloom/internal/advisory"
	"github.com/vexloom/vexloom/internal/jsonx"
	"github.com/vexloom/vexloom/internal/progress"
	"github.com/vexloom/vexloom/internal/source"
	"github.com/vexloom/vexloom/internal/termtext"
)

func init() { commands = append(commands, newAdvisoriesCmd) }

// advisoryTimeout bounds each request of a sync.
const advisoryTimeout = 2 * time.Minute

func newAdvisoriesCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "advisories",
		Short: "Record the project's own security advisories as statements about its branches and releases",
		Long: `The project's own vulnerabilities, read from its official CVE feed (JSON Feed
1.1 with the _kubernetes_io extension, as the Kubernetes CVE feed) and OSV
entries, become statements about the project itself ("negative VEX"):
affected, with the upgrade target and mitigations, for each maintained branch
and release in an affected range; fixed for those past the fix.

Configure the sources and components in the project file:

  advisories:
    feed: https://example.com/cve-feed.json     # or a file
    osv: advisories/                            # URL, file or directory
    components:
      - name: kube-apiserver
        packages: [k8s.io/apiserver]
        binaries: [kube-apiserver]
        images: [registry.k8s.io/kube-apiserver]`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return usageError("%s needs a subcommand: sync or list\nRun '%s --help' for usage.", cmd.CommandPath(), cmd.CommandPath())
		},
	}
	cmd.AddCommand(newAdvisoriesSyncCmd(g), newAdvisoriesListCmd(g))
	return cmd
}

func newAdvisoriesSyncCmd(g *globals) *cobra.Command {
	var (
		pf     projectFlags
		feed   string
		osv    string
		format string
	)
	cmd := &cobra.Command{
		Use:   "sync [--feed URL|FILE] [--osv URL|DIR]",
		Short: "Read the advisory sources and record what changed",
		Long: `Read the project's advisory sources and record, for every published
advisory, what it says about each product of the project:

  - each maintained branch that has been scanned (vexloom update), at the
    version of the project's main module there: a tag at the branch tip,
    else the pseudo-version the go command stamps. A pseudo-version such as
    v1.0.1-0.20260101000000-abcdef123456 is used as it is: semantic
    versioning orders it after v1.0.0 and before v1.0.1, which is where the
    branch is, so a branch is judged affected by a range fixed in v1.0.1
    until that release is on its history;
  - each release: every semantic-version tag reachable from a maintained
    branch, at its own version.

Products are named pkg:golang/<module>@<version>. Sources are read
incrementally (ETag, Last-Modified): an unchanged feed is not read again.
Nothing is said about an advisory before its publication time.

--feed and --osv override advisories.feed and advisories.osv of the project
file.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" {
				return usageError("--format %q: want text or json", format)
			}
			ctx := cmd.Context()
			prog := g.progress(cmd)
			p, err := pf.open(ctx, g, false)
			if err != nil {
				return err
			}
			defer p.Close()
			src := advisory.Source{Feed: feed, OSV: osv}
			if src.Feed == "" && src.OSV == "" {
				src.Feed = p.cfg.AdvisorySource(p.cfg.Advisories.Feed)
				src.OSV = p.cfg.AdvisorySource(p.cfg.Advisories.OSV)
			}
			if src.Feed == "" && src.OSV == "" {
				return usageError("no advisory source: give --feed or --osv, or set advisories.feed or advisories.osv in %s", p.cfg.Path)
			}
			proj, err := p.advisoryProject(ctx, g, prog)
			if err != nil {
				return err
			}
			res, err := advisory.Sync(ctx, p.store, src, advisory.Options{
				Project: proj,
				Client:  &http.Client{Timeout: advisoryTimeout},
				Now:     g.now,
			})
			if err != nil {
				return err
			}
			if format == "json" {
				return jsonx.Write(cmd.OutOrStdout(), syncOutput{Result: res, Recorded: len(res.Recorded), Products: proj.Products})
			}
			return writeSyncText(cmd.OutOrStdout(), res)
		},
	}
	pf.register(cmd)
	cmd.Flags().StringVar(&feed, "feed", "", "the project's CVE feed: an http(s) `URL` or a file (default advisories.feed)")
	cmd.Flags().StringVar(&osv, "osv", "", "OSV advisories: an http(s) `URL`, a file or a directory (default advisories.osv)")
	cmd.Flags().StringVarP(&format, "format", "f", "text", "output format: text or json")
	return cmd
}

// syncOutput is the JSON of advisories sync.
type syncOutput struct {
	*advisory.Result
	// Recorded counts the events recorded.
	Recorded int                `json:"recorded"`
	Products []advisory.Product `json:"products"`
}

func writeSyncText(w io.Writer, res *advisory.Result) error {
	var b strings.Builder
	if res.NotModified {
		b.WriteString("advisory sources unchanged since the last sync: nothing recorded\n")
		_, err := io.WriteString(w, b.String())
		return err
	}
	for _, a := range res.Advisories {
		var parts []string
		for _, s := range a.Statements {
			parts = append(parts, fmt.Sprintf("%s %s", s.Product.Ref, s.Status))
		}
		if len(parts) == 0 {
			parts = append(parts, "concerns no product")
		}
		fmt.Fprintf(&b, "advisory %s: %s\n", termtext.Args(a.ID, strings.Join(parts, ", "))...)
	}
	for _, e := range res.Embargoed {
		fmt.Fprintf(&b, "embargoed %s: nothing said before %s\n", termtext.Line(e.ID), e.Published.UTC().Format(time.RFC3339))
	}
	for _, pr := range res.Ignored {
		fmt.Fprintf(&b, "ignored %s: %s\n", termtext.Args(pr.ID, pr.Reason)...)
	}
	fmt.Fprintf(&b, "recorded %d %s\n", len(res.Recorded), plural(len(res.Recorded), "event"))
	_, err := io.WriteString(w, b.String())
	return err
}

// advisoryProject is the project as advisories are judged against it
// (advisory.NewProject).
func (p *project) advisoryProject(ctx context.Context, g *globals, prog *progress.Reporter) (advisory.Project, error) {
	var components []advisory.Component
	for _, c := range p.cfg.Advisories.Components {
		components = append(components, advisory.Component{Name: c.Name, Packages: c.Packages, Binaries: c.Binaries, Images: c.Images})
	}
	branches, err := p.maintained(ctx)
	if err != nil {
		return advisory.Project{Module: p.cfg.Project.Module, Components: components}, err
	}
	return advisory.NewProject(ctx, p.store, func() (*source.Repository, error) { return p.openRepository(ctx, g, prog) }, p.cfg.Project.Module, components, branches, prog)
}

func newAdvisoriesListCmd(g *globals) *cobra.Command {
	var (
		pf     projectFlags
		format string
	)
	cmd := &cobra.Command{
		Use:   "list [--format table|json]",
		Short: "List the recorded advisories and what each says about the branches and releases",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "table" && format != "json" {
				return usageError("--format %q: want table or json", format)
			}
			ctx := cmd.Context()
			p, err := pf.open(ctx, g, false)
			if err != nil {
				return err
			}
			defer p.Close()
			advs, err := advisory.List(ctx, p.store)
			if err != nil {
				return err
			}
			if format == "json" {
				return advisory.WriteJSON(cmd.OutOrStdout(), advs)
			}
			if len(advs) == 0 {
				_, err := fmt.Fprintln(cmd.OutOrStdout(), "no advisories recorded: run `vexloom advisories sync`")
				return err
			}
			return advisory.WriteTable(cmd.OutOrStdout(), advs)
		},
	}
	pf.register(cmd)
	cmd.Flags().StringVarP(&format, "format", "f", "table", "output format: table or json")
	return cmd
}
