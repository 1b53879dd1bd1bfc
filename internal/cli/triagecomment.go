package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/vexloom/vexloom/internal/progress"
	"github.com/vexloom/vexloom/internal/termtext"
	"github.com/vexloom/vexloom/internal/triage"
)

func newTriageCommentCmd(g *globals) *cobra.Command {
	var (
		pf     projectFlags
		author string
	)
	cmd := &cobra.Command{
		Use:   "comment TRIAGE (TEXT | -)",
		Short: "Answer a triage with a comment holding slash commands (the local backend)",
		Long: `Comment on a triage as a maintainer, the way one would on an issue: the
slash commands in TEXT (or standard input, with -) are applied at once if
--as is allowed to decide the triage by the OWNERS files; the answer says
what was done or why nothing was. Run 'vexloom update' to publish the
decision in the branches' VEX documents.

Example:
  vexloom triage comment vx-abc123 --as alice \
    '/not_affected:vulnerable_code_cannot_be_controlled_by_adversary only trusted input reaches html.Parse'`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if author == "" {
				return usageError("--as is required: the login of the person commenting")
			}
			body := args[1]
			if body == "-" {
				b, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), triage.MaxCommentSize+1))
				if err != nil {
					return fmt.Errorf("reading the comment: %w", err)
				}
				body = string(b)
			}
			if len(body) > triage.MaxCommentSize {
				return fmt.Errorf("the comment is larger than %d bytes", triage.MaxCommentSize)
			}
			ctx := cmd.Context()
			prog := g.progress(cmd)
			p, err := pf.open(ctx, g, false)
			if err != nil {
				return err
			}
			defer p.Close()
			t, err := p.store.FindTriage(ctx, args[0])
			if err != nil {
				return err
			}
			rules, err := p.rules(ctx, g, prog)
			if err != nil {
				return err
			}
			out, _, err := triage.HandleComment(ctx, p.store, rules, triage.Local{}, localComment(t.ID, author, body, g.now()))
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			switch out.Kind {
			case triage.OutcomeApplied:
				fmt.Fprintf(w, "%s: applied\n", t.ID)
				if out.Reply != "" {
					fmt.Fprintln(w, termtext.Text(out.Reply))
				}
				fmt.Fprintln(w, "Run `vexloom update` to publish it in the branches' VEX.")
				return nil
			case triage.OutcomeIgnored:
				fmt.Fprintf(w, "%s: no vexloom command in the comment; nothing changed\n", t.ID)
				return nil
			default:
				fmt.Fprintf(w, "%s: %s; nothing changed\n\n%s\n", t.ID, out.Kind, termtext.Text(out.Reply))
				return silentExit(1)
			}
		},
	}
	pf.register(cmd)
	cmd.Flags().StringVar(&author, "as", "", "the `login` of the person commenting (checked against the OWNERS files)")
	return cmd
}

// rules are who may decide the project's triages (the OWNERS files) and
// the branches it maintains.
func (p *project) rules(ctx context.Context, g *globals, prog *progress.Reporter) (triage.Rules, error) {
	repo, err := p.openRepository(ctx, g, prog)
	if err != nil {
		return triage.Rules{}, err
	}
	policy, err := p.approvers(ctx, repo, prog)
	if err != nil {
		return triage.Rules{}, err
	}
	maintained, err := p.maintained(ctx)
	if err != nil {
		return triage.Rules{}, err
	}
	return triage.Rules{Approvers: policy, Maintained: maintained}, nil
}

// localComment is a comment made on the local backend.
func localComment(triageID, author, body string, at time.Time) triage.Comment {
	return triage.Comment{Ref: triage.LocalCommentRef(triageID, author, body, at), TriageID: triageID, Author: author, Body: body, At: at}
}
