package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/vexloom/vexloom/examples/demo"
	"github.com/vexloom/vexloom/internal/report"
	"github.com/vexloom/vexloom/internal/scan"
	"github.com/vexloom/vexloom/internal/source"
)

func newDemoCmd(g *globals) *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run vexloom end to end on a demo project it creates",
		Long: `Create the demo project — a Go module in a git repository with the branches
main and release-1.0, depending on one module whose vulnerable code it calls,
one whose vulnerable package it imports without calling the vulnerable code,
and one it only requires — then run vexloom's main job on it: fetch the
vulnerability database, scan both branches with reachability analysis and
write each branch's OpenVEX document.

Nothing outside --dir and the cache directory is written. The first run
downloads the Go vulnerability database and the demo's dependencies through
the Go module proxy.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			out := cmd.OutOrStdout()
			p := g.progress(cmd)
			if dir == "" {
				d, err := os.MkdirTemp("", "vexloom-demo-")
				if err != nil {
					return err
				}
				dir = d
			}
			repoDir := filepath.Join(dir, "repo")
			repo, err := demo.Create(ctx, repoDir)
			if err != nil {
				return fmt.Errorf("creating the demo repository: %w", err)
			}
			fmt.Fprintf(out, "demo repository: %s (branches %s and %s)\n", repo.Dir, demo.MainBranch, demo.ReleaseBranch)

			cacheDir, err := g.cache()
			if err != nil {
				return err
			}
			db, err := openDB(ctx, g, cacheDir, p)
			if err != nil {
				return err
			}
			scanner := scan.NewScanner(scan.Options{
				DB:       scanDatabase(db),
				Cache:    &scan.Cache{Dir: filepath.Join(cacheDir, "scans")},
				Progress: p,
				Env:      g.env,
			})
			r, err := source.OpenRepository(ctx, repo.Dir, cacheDir, p)
			if err != nil {
				return err
			}
			now, err := g.timestamp()
			if err != nil {
				return err
			}
			vexDir := filepath.Join(dir, "vex")
			if err := os.MkdirAll(vexDir, 0o755); err != nil {
				return err
			}
			var targets []*scan.Target
			for _, b := range []string{demo.MainBranch, demo.ReleaseBranch} {
				c, err := r.ResolveBranch(ctx, b)
				if err != nil {
					return err
				}
				t, err := scanner.ScanCommit(ctx, r, b, c)
				if err != nil {
					return err
				}
				targets = append(targets, t)
				one := report.Build(scanDatabase(db), []*scan.Target{t}, now)
				path := filepath.Join(vexDir, b+".openvex.json")
				if err := writeOutput(out, path, func(w io.Writer) error {
					return report.WriteOpenVEX(w, one, report.Options{Author: "vexloom demo", Now: now})
				}); err != nil {
					return err
				}
			}
			rep := report.Build(scanDatabase(db), targets, now)
			fmt.Fprintln(out)
			if err := report.WriteTable(out, rep, report.Options{MinLevel: scan.LevelSymbol}); err != nil {
				return err
			}
			fmt.Fprintf(out, "\nOpenVEX per branch: %s\n", vexDir)
			if f := rep.Failures(); len(f) > 0 {
				return fmt.Errorf("the demo could not scan everything: %s", f[0])
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "`directory` to create the demo in (default: a new temporary directory)")
	return cmd
}
