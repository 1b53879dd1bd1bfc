package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vexloom/vexloom/examples/demo"
	"github.com/vexloom/vexloom/internal/config"
	"github.com/vexloom/vexloom/internal/triage"
)

func newDemoCmd(g *globals) *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run vexloom's whole loop on a demo project it creates",
		Long: `Create the demo project — a Go module in a git repository with the branches
main and release-1.0 and an OWNERS file, depending on one module whose
vulnerable code it calls, one whose vulnerable package it imports without
calling the vulnerable code, and one it only requires — then run vexloom's
main job on it, as a project would:

  1. write the project file (vexloom init) and run vexloom update: fetch
     the vulnerability database, scan both branches with reachability
     analysis, open triages, record the automatic assessments, write each
     branch's OpenVEX document;
  2. answer the triage that needs a person with slash commands: once as a
     reviewer (refused: not an approver in OWNERS), once as an approver;
  3. run vexloom update again: the decision is published in both branches'
     VEX, and the triage's state moves to published.

Nothing outside --dir and the cache directory is written. The first run
downloads the Go vulnerability database and the demo's dependencies through
the Go module proxy.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			out := cmd.OutOrStdout()
			prog := g.progress(cmd)
			if dir == "" {
				d, err := os.MkdirTemp("", "vexloom-demo-")
				if err != nil {
					return err
				}
				dir = d
			}
			dir, err := filepath.Abs(dir)
			if err != nil {
				return err
			}
			repo, err := demo.Create(ctx, filepath.Join(dir, "repo"))
			if err != nil {
				return fmt.Errorf("creating the demo repository: %w", err)
			}
			fmt.Fprintf(out, "demo repository: %s (branches %s and %s)\n", repo.Dir, demo.MainBranch, demo.ReleaseBranch)

			cfgPath := filepath.Join(dir, config.FileName)
			data, err := config.Starter(config.InitOptions{
				Module: demo.Module, Repository: "repo",
				Branches:     []string{demo.MainBranch, "release-*"},
				SecurityTeam: []string{"demo-security"},
				Author:       "vexloom demo maintainers",
			})
			if err != nil {
				return err
			}
			if err := writeFileAtomic(cfgPath, data, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(out, "project file:    %s\n", cfgPath)
			pf := projectFlags{config: cfgPath}
			p, err := pf.open(ctx, g, true)
			if err != nil {
				return err
			}
			defer p.Close()

			fmt.Fprintf(out, "\n$ vexloom update\n")
			sum, err := runUpdate(ctx, g, p, nil, prog)
			if err != nil {
				return err
			}
			writeUpdateSummary(out, sum)
			if len(sum.Failures) > 0 {
				return fmt.Errorf("the demo could not scan everything: %s", sum.Failures[0])
			}

			views, err := p.views(ctx)
			if err != nil {
				return err
			}
			repoSrc, err := p.openRepository(ctx, g, prog)
			if err != nil {
				return err
			}
			policy, err := p.policy(ctx, repoSrc, prog)
			if err != nil {
				return err
			}
			maintained, err := p.maintained(ctx)
			if err != nil {
				return err
			}
			rules := triage.Rules{Policy: policy, Maintained: maintained}
			answered := 0
			for _, v := range views {
				if v.State != triage.Open {
					continue
				}
				// The first answer is shown in full, refused and then
				// accepted; the others in a line each.
				comments := demoComments(v)
				if answered > 0 {
					comments = comments[1:]
				}
				for _, c := range comments {
					now := g.now()
					c.Ref = localCommentRef(v.ID, c.Author, c.Body, now)
					c.TriageID, c.At = v.ID, now
					o, err := triage.Apply(ctx, p.store, rules, c)
					if err != nil {
						return err
					}
					if answered == 0 {
						fmt.Fprintf(out, "\n%s (%s in %s) needs a person: %s\n", v.ID, v.Name(), v.Dependency, branchSummary(v))
						fmt.Fprintf(out, "$ vexloom triage comment %s --as %s %q\n%s\n", v.ID, c.Author, c.Body, o.Kind)
						if o.Reply != "" {
							fmt.Fprintf(out, "%s\n", strings.TrimSpace(o.Reply))
						}
					} else {
						fmt.Fprintf(out, "%s (%s in %s): %s by %s\n", v.ID, v.Name(), v.Dependency, o.Kind, c.Author)
					}
					if o.Kind == triage.OutcomeApplied {
						answered++
						if answered == 1 {
							fmt.Fprintf(out, "\nThe same answer from %s on the other triages that need a person:\n", c.Author)
						}
					}
				}
			}
			if answered > 0 {
				fmt.Fprintf(out, "\n$ vexloom update\n")
				sum, err = runUpdate(ctx, g, p, nil, prog)
				if err != nil {
					return err
				}
				writeUpdateSummary(out, sum)
			}
			st, err := p.status(cmd)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "\ntriages: %d open, %d assessed, %d published, %d closed\n", st.Triages["open"], st.Triages["assessed"], st.Triages["published"], st.Triages["closed"])
			fmt.Fprintf(out, "OpenVEX per branch: %s\n", p.vexDir())
			fmt.Fprintf(out, "\nExplore it:\n  cd %s\n  vexloom status\n  vexloom triage list\n  vexloom history\n  vexloom vex --branch main\n", dir)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "`directory` to create the demo in (default: a new temporary directory)")
	return cmd
}

// demoComments are the demo's answers to a triage that needs a person: one
// from a reviewer, whom the OWNERS file does not allow to decide, and one
// from an approver.
func demoComments(v triage.View) []triage.Comment {
	decision := "/not_affected:vulnerable_code_cannot_be_controlled_by_adversary\n" +
		"The demo only parses pages its operator supplies on stdin; no remote party controls that input."
	return []triage.Comment{
		{Author: "demo-reviewer", Body: "LGTM\n" + decision},
		{Author: "demo-maintainer", Body: "Reviewed the call sites.\n" + decision + "\n/lgtm"},
	}
}
