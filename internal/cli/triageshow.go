package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vexloom/vexloom/internal/jsonx"
	"github.com/vexloom/vexloom/internal/store"
	"github.com/vexloom/vexloom/internal/termtext"
	"github.com/vexloom/vexloom/internal/triage"
)

func newTriageShowCmd(g *globals) *cobra.Command {
	var (
		pf     projectFlags
		format string
	)
	cmd := &cobra.Command{
		Use:   "show TRIAGE",
		Short: "Show one triage: where it is found, the decisions in force, its history",
		Long: `Show one triage. TRIAGE is its ID (vx-…) or a vulnerability ID or alias
(GO-…, CVE-…, GHSA-…) that names a single triage.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "table", "json"); err != nil {
				return err
			}
			ctx := cmd.Context()
			p, err := pf.open(ctx, g, false)
			if err != nil {
				return err
			}
			defer p.Close()
			v, err := p.view(ctx, args[0])
			if err != nil {
				return err
			}
			if format == "json" {
				return jsonx.Write(cmd.OutOrStdout(), triageJSON(v, true))
			}
			return writeTriage(cmd.OutOrStdout(), v)
		},
	}
	pf.register(cmd)
	cmd.Flags().StringVar(&format, "format", "table", "output `format`: table or json")
	return cmd
}

// view finds one triage by ID or vulnerability alias.
func (p *project) view(ctx context.Context, ref string) (triage.View, error) {
	t, err := p.store.FindTriage(ctx, ref)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return triage.View{}, fmt.Errorf("no triage %s: run `vexloom triage list` to see them", ref)
		}
		return triage.View{}, err
	}
	maintained, err := p.maintained(ctx)
	if err != nil {
		return triage.View{}, err
	}
	return triage.ViewOf(ctx, p.store, t, maintained)
}

func writeTriage(w io.Writer, v triage.View) error {
	fmt.Fprintf(w, "%s  %s in %s  [%s]\n", termtext.Args(v.ID, v.Name(), v.Dependency, v.State)...)
	if v.Vulnerability.Summary != "" {
		fmt.Fprintf(w, "  %s\n", termtext.Line(v.Vulnerability.Summary))
	}
	if len(v.Vulnerability.Aliases) > 0 || v.VulnID != v.Name() {
		ids := append([]string{v.VulnID}, v.Vulnerability.Aliases...)
		fmt.Fprintf(w, "  also known as: %s\n", termtext.Line(strings.Join(uniqueExcept(ids, v.Name()), ", ")))
	}
	fmt.Fprintln(w)
	if len(v.Branches) == 0 {
		fmt.Fprintln(w, "Not found on any maintained branch.")
	}
	for _, b := range v.Branches {
		fmt.Fprintf(w, "%s @ %s: %s", termtext.Args(b.Branch, shortHash(b.Commit), b.Level)...)
		for _, o := range b.Observations {
			fmt.Fprintf(w, "\n  %s uses %s@%s", termtext.Args(o.Module, v.Dependency, o.DependencyVersion)...)
			if len(o.Symbols) > 0 {
				fmt.Fprintf(w, " (calls %s)", termtext.Line(strings.Join(o.Symbols, ", ")))
			}
		}
		fmt.Fprintln(w)
		switch {
		case b.Flagged:
			fmt.Fprintf(w, "  ! a maintainer's decision no longer holds: the finding is now at %s level; re-assess\n", b.Level)
		case b.Decision == nil:
			fmt.Fprintln(w, "  no decision: needs a person")
		default:
			d := b.Decision
			fmt.Fprintf(w, "  decision: %s", termtext.Line(string(d.Status)))
			if d.Justification != "" {
				fmt.Fprintf(w, " (%s)", termtext.Line(string(d.Justification)))
			}
			fmt.Fprintf(w, " by %s, %s\n", termtext.Line(d.Author), d.At.UTC().Format(time.RFC3339))
			if b.NeedsPerson() {
				fmt.Fprintln(w, "  needs a person")
			}
		}
	}
	fmt.Fprintln(w, "\nHistory:")
	for _, ev := range v.Events {
		fmt.Fprintf(w, "  %s\n", eventLine(ev))
	}
	return nil
}

func uniqueExcept(ids []string, except string) []string {
	var out []string
	seen := map[string]bool{except: true}
	for _, id := range ids {
		if !seen[id] && id != "" {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
