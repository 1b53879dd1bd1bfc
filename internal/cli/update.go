package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vexloom/vexloom/internal/jsonx"
	"github.com/vexloom/vexloom/internal/progress"
	"github.com/vexloom/vexloom/internal/publish"
	"github.com/vexloom/vexloom/internal/scan"
	"github.com/vexloom/vexloom/internal/termtext"
	"github.com/vexloom/vexloom/internal/triage"
)

func newUpdateCmd(g *globals) *cobra.Command {
	var (
		pf       projectFlags
		branches []string
		format   string
		api      string
	)
	cmd := &cobra.Command{
		Use:   "update",
		Short: "Run the main job: scan every maintained branch, apply answers, write each branch's VEX",
		Long: `Run vexloom's main job for the project in vexloom.yaml:

  1. refresh the project repository's mirror and scan each maintained branch
     (the configured names and patterns) at its current commit;
  2. record what changed: a vulnerability appearing on a branch opens or
     extends its triage (one per vulnerability and dependency module), one
     disappearing from every branch closes it, and the scanner's automatic
     assessments are recorded with their evidence;
  3. apply maintainers' answers (slash commands) from the triage backend,
     checked against the OWNERS files;
  4. derive every triage's state and write each branch's OpenVEX document
     into the VEX directory, with a new version only when its statements
     changed.

Everything is recorded in the store first, then written out, so a run that
is interrupted is completed by the next one. Two runs on the same store take
turns.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "table" && format != "json" {
				return usageError("--format must be table or json, not %q", format)
			}
			ctx := cmd.Context()
			prog := g.progress(cmd)
			if api != "" {
				g.env = append(g.env, githubAPIEnv+"="+api)
			}
			p, err := pf.open(ctx, g, true)
			if err != nil {
				return err
			}
			defer p.Close()
			sum, err := runUpdate(ctx, g, p, branches, prog)
			if err != nil {
				return err
			}
			if format == "json" {
				out := updateJSON(sum)
				if p.kept != nil {
					out.Releases = p.kept.Releases
				}
				if err := jsonx.Write(cmd.OutOrStdout(), out); err != nil {
					return err
				}
			} else {
				writeUpdateSummary(cmd.OutOrStdout(), sum)
				writeKeptReleases(cmd.OutOrStdout(), p.kept)
			}
			if len(sum.Failures) > 0 {
				return fmt.Errorf("%w: %d %s could not be scanned: %s", scan.ErrIncomplete, len(sum.Failures), plural(len(sum.Failures), "module"), termtext.Line(strings.Join(sum.Failures, "; ")))
			}
			if f := p.kept.failures(); len(f) > 0 {
				return fmt.Errorf("%d tracked %s could not be kept current: %s", len(f), plural(len(f), "release"), f[0])
			}
			return nil
		},
	}
	pf.register(cmd)
	cmd.Flags().StringArrayVarP(&branches, "branch", "b", nil, "scan only these maintained `branch`es (names or patterns; repeatable)")
	cmd.Flags().StringVar(&format, "format", "table", "output `format`: table or json")
	registerGitHubAPI(cmd, &api)
	return cmd
}

// runUpdate runs the main job on an open project.
func runUpdate(ctx context.Context, g *globals, p *project, only []string, prog *progress.Reporter) (*triage.Summary, error) {
	sdb, scanner, err := p.scanner(ctx, g, prog)
	if err != nil {
		return nil, err
	}
	repo, err := p.openRepository(ctx, g, prog)
	if err != nil {
		return nil, err
	}
	policy, err := p.approvers(ctx, repo, prog)
	if err != nil {
		return nil, err
	}
	backend, err := p.backend(ctx, g, prog)
	if err != nil {
		return nil, err
	}
	r := &triage.Runner{
		Store: p.store, Repo: repo, Scanner: scanner, DB: sdb, Approvers: policy,
		Backend: backend, Progress: prog, Now: g.now,
		Branches: p.cfg.Branches, Only: only, Author: p.author(), VEXDir: p.vexDir(),
		// The published store, the feed and the tracked releases are the
		// round's: runners sharing a store leave them to the one that
		// does the round.
		AfterRound: func(ctx context.Context, sum *triage.Summary) (err error) {
			if err := p.publishBranches(ctx, g, sum); err != nil {
				return err
			}
			if err := p.ingestReleaseReports(ctx, repo, prog); err != nil {
				return err
			}
			p.kept, err = p.keepReleases(ctx, g, sdb, scanner, repo, prog)
			return err
		},
	}
	return r.Run(ctx)
}

// publishBranches puts each branch's current document, under the default
// publish policy, into the local published store (unsigned: branch
// documents are working documents; a release is signed) and regenerates the
// feed from it. Publishing what is already there is a no-op, so a run that
// was interrupted catches up.
func (p *project) publishBranches(ctx context.Context, g *globals, sum *triage.Summary) error {
	local, err := p.localPublished(g)
	if err != nil {
		return err
	}
	for _, b := range append(slices.Clip(sum.Branches), sum.Others...) {
		// The default publish policy: under_investigation is never public
		// (it says nothing a user can act on, and would hide an earlier
		// not_affected from scanners that take the latest statement).
		_, err := publish.Document(ctx, b.Doc, publish.Options{
			Kind: publish.KindBranch, Ref: b.Branch, Now: g.now(), Stores: []publish.Store{local},
		})
		if errors.Is(err, publish.ErrAllHeld) {
			continue
		}
		if err != nil {
			return fmt.Errorf("publishing the VEX of %s: %w", b.Branch, err)
		}
	}
	feed, err := p.feed(g, p.feedURL(g))
	if err != nil {
		return err
	}
	_, err = feed.Refresh(ctx)
	return err
}

// feedURL is where the project's feed is served: $VEXLOOM_FEED_URL, else
// vexloom serve's default address.
func (p *project) feedURL(g *globals) string {
	if u := g.getenv("VEXLOOM_FEED_URL"); u != "" {
		return u
	}
	return "http://localhost:8080/feed"
}

func writeUpdateSummary(w io.Writer, sum *triage.Summary) {
	for _, b := range sum.Branches {
		doc := "unchanged"
		if b.Changed {
			doc = "written"
		}
		fmt.Fprintf(w, "%-16s %s  %d %s  VEX v%d %s: %s\n", b.Branch, shortHash(b.Commit), b.Findings, plural(b.Findings, "finding"), b.Version, doc, b.Document)
	}
	for _, c := range sum.Comments {
		fmt.Fprintf(w, "comment by %s on %s: %s\n", termtext.Args(c.Author, c.TriageID, c.Outcome)...)
	}
	// Transitions into open (a person is needed) and closed are listed one
	// by one; the rest are counted.
	counts := map[string]int{}
	var order []string
	for _, t := range sum.Transitions {
		from := string(t.From)
		if from == "" {
			from = "new"
		}
		if t.To == triage.Open || t.To == triage.Closed {
			fmt.Fprintf(w, "%s: %s → %s (%s)\n", termtext.Args(t.TriageID, from, t.To, t.Reason)...)
			continue
		}
		k := from + " → " + string(t.To)
		if counts[k] == 0 {
			order = append(order, k)
		}
		counts[k]++
	}
	for _, k := range order {
		fmt.Fprintf(w, "%d %s: %s\n", counts[k], plural(counts[k], "triage"), k)
	}
	for _, f := range sum.Failures {
		fmt.Fprintf(w, "failed: %s\n", termtext.Args(f)...)
	}
	for _, f := range sum.Failing {
		fmt.Fprintf(w, "%s keeps its last complete scan and VEX: nothing was recorded or published for it\n", termtext.Line(f.Branch))
	}
}
