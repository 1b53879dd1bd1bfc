package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vexloom/vexloom/examples/demo"
	"github.com/vexloom/vexloom/internal/config"
	"github.com/vexloom/vexloom/internal/store"
	"github.com/vexloom/vexloom/internal/triage"
)

func newDemoCmd(g *globals) *cobra.Command {
	var (
		dir       string
		serveDash bool
	)
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

			answered, err := demoAnswer(cmd, g, p)
			if err != nil {
				return err
			}
			if answered > 0 {
				fmt.Fprintf(out, "\n$ vexloom update\n")
				sum, err = runUpdate(ctx, g, p, nil, prog)
				if err != nil {
					return err
				}
				writeUpdateSummary(out, sum)
			}
			if err := demoRelease(cmd, g, dir, p); err != nil {
				return err
			}
			st, err := p.status(ctx, g)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "\ntriages: %d open, %d assessed, %d published, %d closed; %d of the project's own advisories\n", st.Triages["open"], st.Triages["assessed"], st.Triages["published"], st.Triages["closed"], st.Advisories)
			fmt.Fprintf(out, "OpenVEX per branch: %s\n", p.vexDir())
			fmt.Fprintf(out, "\nExplore it:\n  cd %s\n  vexloom status\n  vexloom triage list\n  vexloom history\n  vexloom vex --branch main\n  vexloom serve --dashboard-only   (the dashboard, at http://127.0.0.1:8080/)\n", dir)
			if serveDash {
				return demoServe(cmd, g, cfgPath)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "`directory` to create the demo in (default: a new temporary directory)")
	cmd.Flags().BoolVar(&serveDash, "serve", false, "at the end, serve the dashboard on a free local port and print its address (until interrupted)")
	return cmd
}

// demoAnswer answers every open triage with the demo's script of
// comments (demo.Answers), as maintainers would, and says how many it
// decided. The first answer is shown in full, refused and then accepted;
// the others in a line each.
func demoAnswer(cmd *cobra.Command, g *globals, p *project) (int, error) {
	ctx, out := cmd.Context(), cmd.OutOrStdout()
	views, err := p.views(ctx)
	if err != nil {
		return 0, err
	}
	rules, err := p.rules(ctx, g, g.progress(cmd))
	if err != nil {
		return 0, err
	}
	answered := 0
	for _, v := range views {
		if v.State != triage.Open {
			continue
		}
		answers := demo.Answers()
		if answered > 0 {
			answers = answers[1:]
		}
		for _, a := range answers {
			o, err := triage.Apply(ctx, p.store, rules, localComment(v.ID, a.Author, a.Body, g.now()))
			if err != nil {
				return answered, err
			}
			if answered == 0 {
				fmt.Fprintf(out, "\n%s (%s in %s) needs a person: %s\n", v.ID, v.Name(), v.Dependency, v.BranchesText())
				fmt.Fprintf(out, "$ vexloom triage comment %s --as %s %q\n%s\n", v.ID, a.Author, a.Body, o.Kind)
				if o.Reply != "" {
					fmt.Fprintf(out, "%s\n", strings.TrimSpace(o.Reply))
				}
			} else {
				fmt.Fprintf(out, "%s (%s in %s): %s by %s\n", v.ID, v.Name(), v.Dependency, o.Kind, a.Author)
			}
			if o.Kind == triage.OutcomeApplied {
				answered++
				if answered == 1 {
					fmt.Fprintf(out, "\nThe same answer from %s on the other triages that need a person:\n", a.Author)
				}
			}
		}
	}
	return answered, nil
}

// demoRelease runs the release half of the loop on the demo
// (demo.ReleaseSteps), with the commands a release manager would type.
func demoRelease(cmd *cobra.Command, g *globals, dir string, p *project) error {
	ctx := cmd.Context()
	out := cmd.OutOrStdout()
	paths := demo.ReleasePaths{
		Advisories: filepath.Join(dir, "advisories"),
		Key:        filepath.Join(dir, "release"),
		Doc:        filepath.Join(dir, "main.release.openvex.json"),
		// A release ships artifacts; the demo's is its command, built from main.
		Binary: filepath.Join(dir, "bin", "vexloom-demo"),
	}
	if err := demo.WriteAdvisories(paths.Advisories); err != nil {
		return err
	}
	// The project's store is opened by each command; close ours meanwhile.
	if err := p.store.Close(); err != nil {
		return err
	}
	defer func() {
		if st, err := store.Open(ctx, p.store.Dir(), g.now); err == nil {
			p.store = st
		}
	}()
	fmt.Fprintf(out, "\nBuild the demo's command from main, the artifact its release VEX is about:\n$ go build -o %s .\n", paths.Binary)
	if err := demo.Build(ctx, g.env, filepath.Join(dir, "repo"), paths.Binary); err != nil {
		return err
	}
	for _, s := range demo.ReleaseSteps(paths) {
		if s.Why != "" {
			fmt.Fprintf(out, "\n%s\n", s.Why)
		}
		fmt.Fprintf(out, "$ vexloom %s\n", strings.Join(s.Args, " "))
		var stdout, stderr strings.Builder
		args := append([]string{"-q"}, s.Args...)
		if g.cacheDir != "" {
			args = append([]string{"--cache-dir", g.cacheDir}, args...)
		}
		if s.Project {
			args = append(args, "--config", p.cfg.Path)
		}
		want := 0
		if s.Blocks {
			want = ExitPolicy
		}
		// The command parses its flags into its own copy of the globals.
		sub := *g
		code := run(ctx, &sub, args, strings.NewReader(""), &stdout, &stderr)
		fmt.Fprint(out, demoExcerpt(stdout.String()))
		if code != want {
			return fmt.Errorf("the demo expected vexloom %s to exit %d, not %d:\n%s%s", strings.Join(s.Args, " "), want, code, stdout.String(), stderr.String())
		}
		if code != 0 {
			fmt.Fprintf(out, "(exit %d)\n", code)
		}
	}
	return nil
}

// demoExcerpt keeps the demo's output readable: the first lines of long
// outputs.
func demoExcerpt(s string) string {
	lines := strings.SplitAfter(s, "\n")
	const max = 14
	if len(lines) <= max+1 {
		return s
	}
	return strings.Join(lines[:max], "") + fmt.Sprintf("  … (%d more lines)\n", len(lines)-max)
}
