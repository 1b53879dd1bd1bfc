package vexsource

import (
	"context"
	"errors"
	"fmt"

	"github.com/vexloom/vexloom/internal/attest"
	"github.com/vexloom/vexloom/internal/digest"
	"github.com/vexloom/vexloom/internal/publish"
)

// gitHub is a repository's artifact attestations on GitHub
// (publish.GitHub). GitHub files them by the subjects of the signed
// statement and lists them only by subject: Documents is
// ErrNeedsArtifact. Anyone who may write to the repository may upload an
// attestation, so every document is Foreign.
type gitHub struct {
	spec, repo string
	o          Options
}

func newGitHub(spec, repo string, o Options) (*gitHub, error) {
	if o.GitHub == nil {
		return nil, fmt.Errorf("%w: %s: no GitHub client", ErrSpec, spec)
	}
	return &gitHub{spec: spec, repo: repo, o: o}, nil
}

func (g *gitHub) String() string { return g.spec }
func (g *gitHub) Kind() Kind     { return KindGitHub }

func (g *gitHub) Documents(context.Context) ([]Document, error) {
	return nil, ErrNeedsArtifact
}

// About returns the attestations GitHub has for d, newest first.
func (g *gitHub) About(ctx context.Context, d digest.Digest) ([]Document, error) {
	client, err := g.o.GitHub(ctx)
	if err != nil {
		return nil, err
	}
	store, err := publish.NewGitHub(client, g.repo)
	if err != nil {
		return nil, err
	}
	bs, err := store.List(ctx, d)
	if err != nil && !errors.Is(err, publish.ErrNotFound) {
		return nil, err
	}
	var out []Document
	for i, b := range bs {
		id := fmt.Sprintf("attestation %d", i+1)
		out = append(out, Document{
			ID:      id,
			Origin:  fmt.Sprintf("%s %s %s", g.spec, d, id),
			Bundle:  b,
			Form:    attest.FormBundle,
			Subject: d,
			Foreign: true,
		})
	}
	return out, nil
}
