package cli

import (
	"context"
	"fmt"
	"sort"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/vexloom/vexloom/internal/jsonx"
	"github.com/vexloom/vexloom/internal/termtext"
	"github.com/vexloom/vexloom/internal/triage"
)

func newTriageListCmd(g *globals) *cobra.Command {
	var (
		pf     projectFlags
		state  string
		format string
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the triages that need a person, oldest first (--state all: every triage)",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "table", "json"); err != nil {
				return err
			}
			var want triage.State
			if state != "" && state != "all" {
				s, err := triage.ParseState(state)
				if err != nil {
					return usageError("--state: %v", err)
				}
				want = s
			}
			ctx := cmd.Context()
			p, err := pf.open(ctx, g, false)
			if err != nil {
				return err
			}
			defer p.Close()
			views, err := p.views(ctx)
			if err != nil {
				return err
			}
			var out []triage.View
			if state == "" {
				// By default, the queue: what needs a person, the one
				// waiting longest first (as the dashboard shows it).
				out = triage.Queue(views)
			} else {
				for _, v := range views {
					if want == "" || v.State == want {
						out = append(out, v)
					}
				}
			}
			if format == "json" {
				list := []triageOutput{}
				for _, v := range out {
					list = append(list, triageJSON(v, false))
				}
				return jsonx.Write(cmd.OutOrStdout(), struct {
					Schema  string         `json:"schema"`
					Triages []triageOutput `json:"triages"`
				}{schemaBase + "triages/v1", list})
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TRIAGE\tSTATE\tVULNERABILITY\tMODULE\tLEVEL\tBRANCHES")
			for _, v := range out {
				state, branches := string(v.State), v.BranchesText()
				if p.triageProject().IsAdvisory(v) {
					state, branches = "advisory", "(the project's own advisory: vexloom advisories list)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", termtext.Args(v.ID, state, v.Name(), v.Dependency, levelName(v), branches)...)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if len(out) == 0 && state == "" {
				fmt.Fprintln(cmd.ErrOrStderr(), "no triage needs a person (--state all lists every triage)")
			} else if len(out) == 0 {
				fmt.Fprintln(cmd.ErrOrStderr(), "no triages")
			}
			return nil
		},
	}
	pf.register(cmd)
	cmd.Flags().StringVar(&state, "state", "", "list the triages in this `state` (open, assessed, published, closed, or all) instead of those needing a person, oldest first")
	cmd.Flags().StringVar(&format, "format", "table", "output `format`: table or json")
	return cmd
}

// views derives every triage's view against the maintained branches,
// without their histories.
func (p *project) views(ctx context.Context) ([]triage.View, error) {
	maintained, err := p.maintained(ctx)
	if err != nil {
		return nil, err
	}
	views, err := triage.ListViews(ctx, p.store, maintained)
	if err != nil {
		return nil, err
	}
	sort.SliceStable(views, func(i, j int) bool {
		if views[i].State != views[j].State {
			return stateOrder(views[i].State) < stateOrder(views[j].State)
		}
		return views[i].ID < views[j].ID
	})
	return views, nil
}

func stateOrder(s triage.State) int {
	switch s {
	case triage.Open:
		return 0
	case triage.Assessed:
		return 1
	case triage.Published:
		return 2
	}
	return 3
}

func levelName(v triage.View) string {
	l := v.MaxLevel()
	if l == 0 {
		return "-"
	}
	return l.String()
}
