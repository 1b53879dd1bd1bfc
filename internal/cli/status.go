package cli

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vexloom/vexloom/internal/jsonx"
	"github.com/vexloom/vexloom/internal/release"
	"github.com/vexloom/vexloom/internal/termtext"
	"github.com/vexloom/vexloom/internal/triage"
)

func newStatusCmd(g *globals) *cobra.Command {
	var (
		pf          projectFlags
		format      string
		allProjects bool
	)
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Summarise the project: branches scanned, VEX versions, triages by state",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "table", "json"); err != nil {
				return err
			}
			ctx := cmd.Context()
			if allProjects {
				u, err := pf.fleetURL(g)
				if err != nil {
					return err
				}
				return statusAllProjects(ctx, g, u, cmd.OutOrStdout(), format)
			}
			p, err := pf.open(ctx, g, false)
			if err != nil {
				return err
			}
			defer p.Close()
			st, err := p.status(ctx, g)
			if err != nil {
				return err
			}
			if format == "json" {
				return jsonx.Write(cmd.OutOrStdout(), st)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "project %s (%s)\n\n", termtext.Args(st.Project, st.Store)...)
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "BRANCH\tCOMMIT\tSCANNED\tFINDINGS\tOPEN\tASSESSED\tPUBLISHED\tOLDEST OPEN\tVEX\tFILE")
			for _, b := range st.Branches {
				oldest := "-"
				if b.OldestOpen != nil {
					oldest = fmt.Sprintf("%dd (since %s)", b.OldestOpenDays, b.OldestOpen.Format(time.DateOnly))
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\tv%d\t%s\n", termtext.Args(b.Branch, shortHash(b.Commit), b.Scanned.Format(time.RFC3339), b.Findings, b.Open, b.Assessed, b.Published, oldest, b.VEXVersion, b.VEXFile)...)
			}
			tw.Flush()
			for _, b := range st.Branches {
				if f := b.Failing; f != nil {
					kept := "no complete scan yet"
					if b.Commit != "" {
						kept = "keeps its last complete scan of " + shortHash(b.Commit)
					}
					fmt.Fprintf(w, "failing: %s since %s (%d %s, latest at %s on %s; %s): %s\n", termtext.Line(b.Branch), f.Since.Format(time.RFC3339), f.Attempts, plural(f.Attempts, "attempt"), f.At.Format(time.RFC3339), shortHash(f.Commit), kept, termtext.Line(f.Reason))
				}
				if in := b.Interrupted; in != nil {
					kept := "no observed scan yet"
					if b.Commit != "" {
						kept = "keeps its last observed scan of " + shortHash(b.Commit)
					}
					fmt.Fprintf(w, "interrupted: %s: the scan of %s recorded at %s was not observed (its update stopped); %s until the branch's next update\n", termtext.Line(b.Branch), shortHash(in.Commit), in.At.Format(time.RFC3339), kept)
				}
			}
			writeReleaseStatus(w, st.Releases)
			fmt.Fprintf(w, "\ntriages: %d open, %d assessed, %d published, %d closed; %d of the project's own advisories\n", st.Triages["open"], st.Triages["assessed"], st.Triages["published"], st.Triages["closed"], st.Advisories)
			for _, id := range st.NeedsPerson {
				fmt.Fprintf(w, "  needs a person: %s\n", termtext.Line(id))
			}
			return nil
		},
	}
	pf.register(cmd)
	cmd.Flags().StringVar(&format, "format", "table", "output `format`: table or json")
	cmd.Flags().BoolVar(&allProjects, "all-projects", false, "summarise every project whose store is in the PostgreSQL database (--store, VEXLOOM_STORE_URL or store.url)")
	return cmd
}

// statusOutput is where the project stands (schema status/v1): its
// branches and triages, and its tracked releases.
type statusOutput struct {
	*triage.Status
	// Releases are the tracked releases (releases.go).
	Releases []release.Status `json:"releases"`
}

// status is where the project stands.
func (p *project) status(ctx context.Context, g *globals) (*statusOutput, error) {
	st, err := triage.ProjectStatus(ctx, p.store, p.triageProject(), g.now())
	if err != nil {
		return nil, err
	}
	st.Schema, st.Store = schemaBase+"status/v1", p.store.Location()
	out := &statusOutput{Status: st}
	if out.Releases, err = release.Statuses(ctx, p.store); err != nil {
		return nil, err
	}
	return out, nil
}
