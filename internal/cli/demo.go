package cli

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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
			if err := demoRelease(cmd, g, dir, p); err != nil {
				return err
			}
			st, err := p.status(cmd, g)
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

// demoRelease runs the release half of the loop on the demo, with the
// commands a release manager would type: the project's own advisory, a
// signing key, the gate failing on what nobody has signed yet, the release
// VEX assembled, signed and published, and the gate passing.
func demoRelease(cmd *cobra.Command, g *globals, dir string, p *project) error {
	ctx := cmd.Context()
	out := cmd.OutOrStdout()
	advDir := filepath.Join(dir, "advisories")
	if err := os.MkdirAll(advDir, 0o755); err != nil {
		return err
	}
	entries, err := demo.Advisories.ReadDir("advisories")
	if err != nil {
		return err
	}
	for _, e := range entries {
		data, err := demo.Advisories.ReadFile("advisories/" + e.Name())
		if err != nil {
			return err
		}
		if err := writeFileAtomic(filepath.Join(advDir, e.Name()), data, 0o644); err != nil {
			return err
		}
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
	cfg := p.cfg.Path
	key := filepath.Join(dir, "release")
	doc := filepath.Join(dir, "main.release.openvex.json")
	// A release ships artifacts; the demo's is its command, built from main.
	bin := filepath.Join(dir, "bin", "vexloom-demo")
	fmt.Fprintf(out, "\nBuild the demo's command from main, the artifact its release VEX is about:\n$ go build -o %s .\n", bin)
	if err := buildDemo(ctx, g, filepath.Join(dir, "repo"), bin); err != nil {
		return err
	}
	steps := []struct {
		args []string
		want int // the exit code the demo expects
		why  string
		// project: the command works on the project (takes --config).
		project bool
	}{
		{[]string{"advisories", "sync", "--osv", advDir}, 0, "The project's own advisory, CVE-2026-0001, affects v1.0.0:", true},
		{[]string{"keygen", "--out", key}, 0, "A key to sign release VEX with:", false},
		{[]string{"gate", "--release", demo.ReleaseTag, "--vex", "store", "--key", key + ".pub"}, ExitPolicy, "The gate blocks v1.0.0 for the advisory:", true},
		{[]string{"gate", "--release", demo.MainBranch, "--vex", "store", "--key", key + ".pub"}, ExitPolicy, "It blocks main: html.Parse is reached and no signed statement says it is not exploitable yet:", true},
		{[]string{"assemble", "--release", demo.MainBranch, "--binary", bin, "-o", doc}, 0, "Assemble main's VEX, sign it and publish it:", true},
		{[]string{"publish", doc, "--ref", demo.MainBranch, "--key", key + ".key"}, 0, "", true},
		{[]string{"gate", "--release", demo.MainBranch, "--vex", "store", "--key", key + ".pub"}, 0, "Now the maintainers' signed not_affected opens the gate:", true},
	}
	for _, s := range steps {
		if s.why != "" {
			fmt.Fprintf(out, "\n%s\n", s.why)
		}
		fmt.Fprintf(out, "$ vexloom %s\n", strings.Join(s.args, " "))
		var stdout, stderr strings.Builder
		args := append([]string{"-q"}, s.args...)
		if g.cacheDir != "" {
			args = append([]string{"--cache-dir", g.cacheDir}, args...)
		}
		if s.project {
			args = append(args, "--config", cfg)
		}
		// The command parses its flags into its own copy of the globals.
		sub := *g
		code := run(ctx, &sub, args, strings.NewReader(""), &stdout, &stderr)
		fmt.Fprint(out, demoExcerpt(stdout.String()))
		if code != s.want {
			return fmt.Errorf("the demo expected vexloom %s to exit %d, not %d:\n%s%s", strings.Join(s.args, " "), s.want, code, stdout.String(), stderr.String())
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

// buildDemo builds the demo's command from the repository's work tree (on
// main). The modules it needs were downloaded by the scans.
func buildDemo(ctx context.Context, g *globals, repoDir, out string) error {
	c := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=true", "-o", out, ".")
	c.Dir = repoDir
	c.Env = append(slices.Clone(g.env), "GOFLAGS=-mod=mod", "GOWORK=off", "CGO_ENABLED=0")
	if b, err := c.CombinedOutput(); err != nil {
		return fmt.Errorf("building the demo: %v\n%s", err, b)
	}
	return nil
}
