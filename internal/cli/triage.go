package cli

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/vexloom/vexloom/internal/chatops"
)

func newTriageCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "triage",
		Short: "List, show and answer triages",
		Long: `A triage is the conversation about one vulnerability in one dependency
module, across every maintained branch where it shows up. Its state is
derived from its history:

  open       a branch needs a person's assessment
  assessed   every branch has a decision, not yet all published
  published  every branch's decision is in its VEX document
  closed     the vulnerability is on no maintained branch any more

Maintainers answer with slash commands (run 'vexloom triage help').`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newTriageListCmd(g), newTriageShowCmd(g), newTriageCommentCmd(g), newTriageHelpCmd())
	return cmd
}

func newTriageHelpCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "help",
		Short: "Show the slash commands maintainers answer triages with",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := io.WriteString(cmd.OutOrStdout(), chatops.Help())
			return err
		},
	}
}
