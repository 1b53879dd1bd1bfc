package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/attest"
	"github.com/vexloom/vexloom/internal/progress"
	"github.com/vexloom/vexloom/internal/publish"
	"github.com/vexloom/vexloom/internal/release"
	"github.com/vexloom/vexloom/internal/scan"
	"github.com/vexloom/vexloom/internal/source"
	"github.com/vexloom/vexloom/internal/termtext"
)

// keptReleases is what update did for the tracked releases.
type keptReleases struct {
	Releases []release.Kept
	Warnings []string
	// Dropped are releases covered before that the configuration no
	// longer selects.
	Dropped []release.Point
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
	maintained, err := release.Maintained(ctx, repo, p.cfg.Branches)
	if err != nil {
		return nil, err
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
		Registry: release.RemoteRegistry(opts),
		Signer:   func() (attest.Signer, error) { return p.releaseSigner(g) },
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
		Packages: func(ctx context.Context, doc *openvex.VEX, release string, images []string, now time.Time) error {
			return addImagePackages(ctx, p, doc, release, images, now, prog.Writer())
		},
	}
	sum, err := k.Run(ctx)
	if err != nil {
		return nil, err
	}
	for _, w := range sum.Warnings {
		prog.Printf("warning: %s", termtext.Line(w))
	}
	return &keptReleases{Releases: sum.Releases, Warnings: sum.Warnings, Dropped: sum.Dropped}, nil
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
