package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	openvex "github.com/openvex/go-vex/pkg/vex"
	"github.com/spf13/cobra"

	"github.com/vexloom/vexloom/internal/artifact"
	"github.com/vexloom/vexloom/internal/attest"
	"github.com/vexloom/vexloom/internal/jsonx"
	"github.com/vexloom/vexloom/internal/progress"
	"github.com/vexloom/vexloom/internal/publish"
	"github.com/vexloom/vexloom/internal/release"
	"github.com/vexloom/vexloom/internal/scan"
	"github.com/vexloom/vexloom/internal/source"
)

// keptReleases is what update did for the tracked releases.
type keptReleases struct {
	Releases []release.Kept
	Warnings []string
}

// failures lists every release's failure lines.
func (k *keptReleases) failures() []string {
	if k == nil {
		return nil
	}
	var out []string
	for _, r := range k.Releases {
		out = append(out, r.Failures...)
	}
	return out
}

// keepReleases keeps every tracked release of the configuration current:
// re-derived as assemble derives it, signed and published when it changed.
func (p *project) keepReleases(ctx context.Context, g *globals, sdb scan.Database, scanner *scan.Scanner, repo *source.Repository, prog *progress.Reporter) (*keptReleases, error) {
	rc := p.cfg.Releases
	if !rc.Enabled() {
		return nil, nil
	}
	var maintained []string
	for _, b := range p.cfg.Branches {
		bs, err := repo.MatchBranches(ctx, []string{b})
		if errors.Is(err, source.ErrNoBranch) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, x := range bs {
			if !containsString(maintained, x) {
				maintained = append(maintained, x)
			}
		}
	}
	work, err := os.MkdirTemp("", "vexloom-releases-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	opts := func(ctx context.Context) []remote.Option {
		return []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)}
	}
	k := &release.Keeper{
		Store: p.store, Repo: repo, Scanner: scanner, DB: sdb,
		Config: rc, Resolve: p.cfg.Resolve, Maintained: maintained,
		Registry: release.Registry{
			Resolve: func(ctx context.Context, ref string) ([]artifact.Platform, error) {
				return artifact.ResolveImage(ctx, ref, opts(ctx)...)
			},
			Image: func(ctx context.Context, ref string) (v1.Image, error) {
				d, err := name.NewDigest(ref)
				if err != nil {
					return nil, err
				}
				return remote.Image(d, opts(ctx)...)
			},
			Head: func(ctx context.Context, ref string) (string, error) {
				r, err := name.ParseReference(ref)
				if err != nil {
					return "", err
				}
				d, err := remote.Head(r, opts(ctx)...)
				if err != nil {
					return "", err
				}
				return d.Digest.String(), nil
			},
		},
		Signer: func() (attest.Signer, error) { return p.releaseSigner(g) },
		Stores: func(ctx context.Context, repositories []string) ([]publish.Store, error) {
			return publish.OpenStores(ctx, release.StoreSpecs(p.cfg.Releases.Publish, repositories), p.publishing(g, p.feedURL(g)))
		},
		Author: p.author(),
		Now: func() time.Time {
			t, err := g.timestamp()
			if err != nil {
				return g.now()
			}
			return t
		},
		WorkDir:  work,
		Progress: prog,
	}
	kept, warnings, err := k.Run(ctx)
	if err != nil {
		return nil, err
	}
	for _, w := range warnings {
		prog.Printf("warning: %s", w)
	}
	return &keptReleases{Releases: kept, Warnings: warnings}, nil
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// releaseSigner is the configured signer of release documents.
func (p *project) releaseSigner(g *globals) (attest.Signer, error) {
	s := p.cfg.Releases.Signing
	switch {
	case s.Key != "":
		data, err := readBounded(p.cfg.Resolve(s.Key), attest.MaxKeySize)
		if err != nil {
			return nil, fmt.Errorf("reading the release signing key: %w", err)
		}
		return attest.LoadPrivateKey(data, keyPassword(g))
	case s.Keyless:
		tok := g.getenv("SIGSTORE_ID_TOKEN")
		if tok == "" {
			return nil, errors.New("keyless signing needs an OIDC token in SIGSTORE_ID_TOKEN")
		}
		return &attest.Keyless{FulcioURL: s.FulcioURL, RekorURL: s.RekorURL, IDToken: tok}, nil
	}
	return nil, errors.New("releases.signing names no key and is not keyless")
}

// writeKeptReleases prints one line per tracked release, then its
// warnings and failures.
func writeKeptReleases(w io.Writer, k *keptReleases) {
	if k == nil {
		return
	}
	for _, r := range k.Releases {
		state := "unchanged"
		switch {
		case r.Changed:
			state = "written"
		case r.Version == 0:
			state = "not written"
		}
		pub := ""
		if len(r.Published) > 0 {
			pub = " → " + strings.Join(r.Published, ", ")
		}
		fmt.Fprintf(w, "release %-12s %s on %s  %d %s  VEX v%d %s%s\n", r.Release, shortHash(r.Commit), r.Branch, r.Statements, plural(r.Statements, "statement"), r.Version, state, pub)
		for _, x := range r.Warnings {
			fmt.Fprintf(w, "warning: %s\n", x)
		}
		for _, f := range r.Failures {
			fmt.Fprintf(w, "failed: %s\n", f)
		}
	}
}

// releaseVEX prints a tracked release's document: the latest version, or
// version.
func releaseVEX(cmd *cobra.Command, g *globals, pf *projectFlags, name string, version int, format, output string) error {
	if err := checkFormat(format, "openvex", "json"); err != nil {
		return err
	}
	ctx := cmd.Context()
	p, err := pf.open(ctx, g, false)
	if err != nil {
		return err
	}
	defer p.Close()
	doc, err := release.Document(ctx, p.store, name, version)
	if err != nil {
		return err
	}
	return writeOutput(cmd.OutOrStdout(), output, func(w io.Writer) error {
		if format == "json" {
			return jsonx.Write(w, struct {
				Schema   string          `json:"schema"`
				Release  string          `json:"release"`
				Branch   string          `json:"branch"`
				Commit   string          `json:"commit"`
				Version  int             `json:"version"`
				Hash     string          `json:"statements_hash"`
				Written  time.Time       `json:"written"`
				Signed   bool            `json:"signed"`
				Document json.RawMessage `json:"document"`
			}{schemaBase + "release-vex/v1", doc.Release, doc.Branch, doc.Commit, doc.Version, doc.StatementsHash, doc.At.UTC(), doc.Bundle != nil, json.RawMessage(doc.Body)})
		}
		_, err := w.Write(doc.Body)
		return err
	})
}

// writeReleaseStatus prints the tracked releases of status.
func writeReleaseStatus(w io.Writer, rs []release.Status) {
	if len(rs) == 0 {
		return
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RELEASE\tBRANCH\tCOMMIT\tARTIFACTS\tVEX\tSTATEMENTS\tLAST PUBLISHED\tWHERE")
	for _, r := range rs {
		var counts []string
		for _, st := range []string{"not_affected", "affected", "fixed", "under_investigation"} {
			if n := r.Statements[st]; n > 0 {
				counts = append(counts, fmt.Sprintf("%d %s", n, st))
			}
		}
		if len(counts) == 0 {
			counts = []string{"none"}
		}
		last := "never"
		if r.LastPublished != nil {
			last = r.LastPublished.Format(time.RFC3339)
		}
		where := strings.Join(r.PublishedTo, ", ")
		if where == "" {
			where = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d %s\tv%d\t%s\t%s\t%s\n", r.Release, r.Branch, shortHash(r.Commit), len(r.Images), plural(len(r.Images), "image platform"),
			r.VEXVersion, strings.Join(counts, ", "), last, where)
	}
	tw.Flush()
}

// trackedCommit finds the commit of a tracked release whose document doc
// is (any version of it), in the project's store.
func trackedCommit(ctx context.Context, g *globals, pf *projectFlags, doc *openvex.VEX) (string, error) {
	p, err := pf.open(ctx, g, false)
	if err != nil {
		return "", fmt.Errorf("no project to look the release up in: %w", err)
	}
	defer p.Close()
	return release.TrackedCommit(ctx, p.store, doc.ID)
}
