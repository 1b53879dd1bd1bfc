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
	"github.com/vexloom/vexloom/internal/config"
	"github.com/vexloom/vexloom/internal/jsonx"
	"github.com/vexloom/vexloom/internal/progress"
	"github.com/vexloom/vexloom/internal/publish"
	"github.com/vexloom/vexloom/internal/release"
	"github.com/vexloom/vexloom/internal/scan"
	"github.com/vexloom/vexloom/internal/source"
	"github.com/vexloom/vexloom/internal/store"
	"github.com/vexloom/vexloom/internal/vex"
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
	docs, err := p.store.ReleaseDocuments(ctx, name)
	if err != nil {
		return err
	}
	if len(docs) == 0 {
		return fmt.Errorf("no VEX written for the release %s yet: is it tracked (releases in %s), and has update run?", name, config.FileName)
	}
	doc := &docs[len(docs)-1]
	if version != 0 {
		doc = nil
		for i := range docs {
			if docs[i].Version == version {
				doc = &docs[i]
			}
		}
		if doc == nil {
			return fmt.Errorf("the release %s has no VEX version %d (%d written)", name, version, len(docs))
		}
	}
	if _, err := vex.Parse(doc.Body); err != nil {
		return fmt.Errorf("the stored VEX of the release %s version %d does not parse: %w", name, doc.Version, err)
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

// releaseStatus is a tracked release in status/v1.
type releaseStatus struct {
	Release string `json:"release"`
	Branch  string `json:"branch"`
	Commit  string `json:"commit"`
	// Images are the recorded platform images.
	Images     []releaseImageStatus `json:"images"`
	VEXVersion int                  `json:"vex_version"`
	Written    time.Time            `json:"written"`
	// Statements counts the current document's statements by status.
	Statements map[string]int `json:"statements"`
	// LastPublished is when a version was last pushed, and PublishedTo
	// where the current version is.
	LastPublished *time.Time `json:"last_published"`
	PublishedTo   []string   `json:"published_to"`
}

type releaseImageStatus struct {
	Reference string `json:"reference"`
	Platform  string `json:"platform"`
	Digest    string `json:"digest"`
}

// releaseStatuses describes every release with a document in the store.
func (p *project) releaseStatuses(ctx context.Context) ([]releaseStatus, error) {
	docs, err := p.store.ReleaseDocuments(ctx, "")
	if err != nil {
		return nil, err
	}
	latest := map[string]store.ReleaseDocument{}
	var names []string
	for _, d := range docs {
		if _, ok := latest[d.Release]; !ok {
			names = append(names, d.Release)
		}
		latest[d.Release] = d
	}
	out := []releaseStatus{}
	for _, n := range names {
		d := latest[n]
		rs := releaseStatus{Release: n, Branch: d.Branch, Commit: d.Commit, VEXVersion: d.Version, Written: d.At.UTC(),
			Images: []releaseImageStatus{}, Statements: map[string]int{}, PublishedTo: []string{}}
		imgs, err := p.store.ReleaseImages(ctx, n)
		if err != nil {
			return nil, err
		}
		for _, im := range imgs {
			rs.Images = append(rs.Images, releaseImageStatus{Reference: im.Reference, Platform: im.Platform, Digest: im.Digest})
		}
		if doc, err := vex.Parse(d.Body); err == nil {
			for _, s := range doc.Statements {
				rs.Statements[string(s.Status)]++
			}
		}
		pubs, err := p.store.ReleasePublications(ctx, n)
		if err != nil {
			return nil, err
		}
		for _, pb := range pubs {
			at := pb.At.UTC()
			rs.LastPublished = &at
			if pb.Version == d.Version && !containsString(rs.PublishedTo, pb.Store) {
				rs.PublishedTo = append(rs.PublishedTo, pb.Store)
			}
		}
		out = append(out, rs)
	}
	return out, nil
}

// writeReleaseStatus prints the tracked releases of status.
func writeReleaseStatus(w io.Writer, rs []releaseStatus) {
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

// releasesReached maps each decision's Seq to the tracked releases whose
// VEX it reached, as RELEASE@vVERSION (the first version stating it).
func (p *project) releasesReached(ctx context.Context) (map[int64][]string, error) {
	docs, err := p.store.ReleaseDocuments(ctx, "")
	if err != nil {
		return nil, err
	}
	out := map[int64][]string{}
	seen := map[string]bool{}
	for _, d := range docs {
		for _, seq := range d.Decisions {
			k := fmt.Sprintf("%d\x00%s", seq, d.Release)
			if seen[k] {
				continue
			}
			seen[k] = true
			out[seq] = append(out[seq], fmt.Sprintf("%s@v%d", d.Release, d.Version))
		}
	}
	return out, nil
}

// trackedCommit finds the commit of a tracked release whose document doc
// is (any version of it), in the project's store.
func trackedCommit(ctx context.Context, g *globals, pf *projectFlags, doc *openvex.VEX) (string, error) {
	p, err := pf.open(ctx, g, false)
	if err != nil {
		return "", fmt.Errorf("no project to look the release up in: %w", err)
	}
	defer p.Close()
	docs, err := p.store.ReleaseDocuments(ctx, "")
	if err != nil {
		return "", err
	}
	for i := len(docs) - 1; i >= 0; i-- {
		d, err := vex.Parse(docs[i].Body)
		if err == nil && d.ID == doc.ID {
			return docs[i].Commit, nil
		}
	}
	return "", errors.New("it is not a document of a release the project tracks")
}
