package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-github/v75/github"
	"github.com/spf13/cobra"

	"github.com/vexloom/vexloom/internal/attest"
	"github.com/vexloom/vexloom/internal/progress"
	"github.com/vexloom/vexloom/internal/publish"
	"github.com/vexloom/vexloom/internal/termtext"
	"github.com/vexloom/vexloom/internal/vex"
)

func init() { commands = append(commands, newPublishCmd) }

func newPublishCmd(g *globals) *cobra.Command {
	var (
		pf                   projectFlags
		sf                   signerFlags
		to                   []string
		kind, ref            string
		feedURL              string
		holdUntilFixed       bool
		holdUntil            string
		publishInvestigation bool
	)
	cmd := &cobra.Command{
		Use:   "publish FILE --ref NAME [--key FILE] [--to local[:DIR]|feed[:DIR]|oci:REF|github:OWNER/REPO]...",
		Short: "Sign and publish a VEX document to stores that keep every version",
		Long: `Publish an OpenVEX document (signed here with --key or --keyless) or an
already signed Sigstore bundle to one or more stores. No store overwrites
history: a new version is a new object, old ones stay readable.

  local[:DIR]         a content-addressed store, indexed by subject digest
                      and by product: the project's (<store>/published, the
                      default) or DIR
  feed[:DIR]          the vex-repo feed generated from the project's local
                      store, written to <vex dir>/feed or DIR, which 'trivy
                      vex repo' can subscribe to; 'vexloom serve' serves it at
                      /feed/
  oci:REF             the image's registry, as an OCI 1.1 referrer of each
                      image product (tag scheme where referrers are missing)
  github:OWNER/REPO   GitHub's attestation store (GITHUB_TOKEN)

A publish policy can hold statements back before signing: --hold-affected-
until-fixed, --hold-affected-until DATE; under_investigation statements are
never public unless --publish-under-investigation. What is held, and why, is
printed and recorded in the store.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if ref == "" {
				return usageError("--ref is required: the release (tag) or branch the document belongs to")
			}
			if kind != publish.KindRelease && kind != publish.KindBranch {
				return usageError("--kind must be %s or %s", publish.KindRelease, publish.KindBranch)
			}
			if len(to) == 0 {
				to = []string{"local"}
			}
			hold := publish.HoldPolicy{PublishUnderInvestigation: publishInvestigation, HoldAffectedUntilFixed: holdUntilFixed}
			if holdUntil != "" {
				t, err := time.Parse(time.DateOnly, holdUntil)
				if err != nil {
					return usageError("--hold-affected-until takes a date (2026-12-31), not %q", holdUntil)
				}
				hold.HoldAffectedUntil = t
			}
			data, err := readInput(cmd, args[0])
			if err != nil {
				return err
			}
			p, err := pf.open(ctx, g, true)
			if err != nil {
				return err
			}
			defer p.Close()
			stores, err := publish.OpenStores(ctx, to, p.publishing(g, feedURL))
			if errors.Is(err, publish.ErrStoreSpec) {
				return usageError("--to: %v", err)
			} else if err != nil {
				return err
			}
			opts := publish.Options{Kind: kind, Ref: ref, Stores: stores}
			var res publish.Result
			if attest.Sniff(data) == attest.FormBundle {
				if sf.key != "" || sf.keyless {
					return usageError("%s is already signed; publish it without --key", args[0])
				}
				res, err = publish.Bundle(ctx, data, opts)
				if res.Document != nil {
					fmt.Fprintln(cmd.ErrOrStderr(), "note: a signed bundle is published as it is; no publish policy applies")
				}
			} else {
				doc, err := vex.Parse(data)
				if err != nil {
					return fmt.Errorf("%s: %w", args[0], err)
				}
				if sf.key != "" || sf.keyless {
					if opts.Signer, err = sf.signer(g); err != nil {
						return err
					}
				} else if kind == publish.KindRelease {
					return usageError("a release document is published signed: pass --key FILE or --keyless")
				}
				opts.Hold, opts.Now, opts.Held = hold, g.now(), p.store
				opts.ResolveCommit = func(ctx context.Context) (string, error) {
					return p.resolveCommit(ctx, g, g.progress(cmd), ref)
				}
				res, err = publish.Document(ctx, doc, opts)
				for _, h := range res.Held {
					fmt.Fprintf(cmd.ErrOrStderr(), "held: %s for %s (%s): %s\n", termtext.Args(h.Vulnerability, h.Product, h.Status, h.Reason)...)
				}
				for _, n := range res.Notes {
					g.progress(cmd).Printf("note: %s", termtext.Line(n))
				}
				if errors.Is(err, publish.ErrAllHeld) {
					err = fmt.Errorf("nothing left to publish: every statement of %s is held", args[0])
				}
			}
			for _, r := range res.Receipts {
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %s %s\n", r.Store, r.ID, r.Location)
			}
			return err
		},
	}
	pf.register(cmd)
	sf.register(cmd)
	cmd.Flags().StringArrayVar(&to, "to", nil, "a `store`: local[:DIR], feed[:DIR], oci:REF or github:OWNER/REPO (repeatable; default local, the project's store)")
	cmd.Flags().StringVar(&kind, "kind", publish.KindRelease, "what the document is: release or branch")
	cmd.Flags().StringVar(&ref, "ref", "", "the release (tag) or branch `name` the document belongs to")
	cmd.Flags().StringVar(&feedURL, "feed-url", "http://localhost:8080/feed", "the `URL` the feed is served at (what users give to trivy vex repo)")
	cmd.Flags().BoolVar(&holdUntilFixed, "hold-affected-until-fixed", false, "hold affected statements back until a fix exists")
	cmd.Flags().StringVar(&holdUntil, "hold-affected-until", "", "hold affected statements back until this `date` (YYYY-MM-DD)")
	cmd.Flags().BoolVar(&publishInvestigation, "publish-under-investigation", false, "publish under_investigation statements too")
	return cmd
}

// publishing is the project's stores, against which publish resolves the
// stores named on the command line: its local store (<store>/published)
// and its feed (<vex dir>/feed, served at feedURL).
func (p *project) publishing(g *globals, feedURL string) publish.Project {
	return publish.Project{
		LocalDir: filepath.Join(p.store.Dir(), "published"),
		Feed: publish.FeedConfig{
			Name:        p.cfg.Project.Module,
			Description: "VEX for " + p.cfg.Project.Module + ", published by vexloom",
			Author:      p.author(),
			BaseURL:     feedURL,
			Dir:         filepath.Join(p.vexDir(), "feed"),
			Format:      feedFormat(p),
		},
		Now: g.now,
		OCI: []remote.Option{remote.WithAuthFromKeychain(authn.DefaultKeychain)},
		GitHub: func(ctx context.Context) (*github.Client, error) {
			if strings.TrimSpace(g.getenv("GITHUB_TOKEN")) == "" {
				return nil, errors.New("publishing to GitHub needs GITHUB_TOKEN")
			}
			client, _, err := githubClient(ctx, g, nil, "", nil)
			return client, err
		},
	}
}

// localPublished is the project's content-addressed store of published
// documents.
func (p *project) localPublished(g *globals) (*publish.Local, error) {
	return p.publishing(g, "").Local()
}

// feed is the project's vex-repo feed, generated from the local store and
// written to <vex dir>/feed.
func (p *project) feed(g *globals, baseURL string) (*publish.Feed, error) {
	pp := p.publishing(g, baseURL)
	return pp.FeedIn(pp.Feed.Dir)
}

// resolveCommit is the commit ref names in the project's repository.
func (p *project) resolveCommit(ctx context.Context, g *globals, prog *progress.Reporter, ref string) (string, error) {
	repo, err := p.openRepository(ctx, g, prog)
	if err != nil {
		return "", err
	}
	c, err := repo.ResolveRevision(ctx, ref)
	if err != nil {
		return "", err
	}
	return c.Hash, nil
}
