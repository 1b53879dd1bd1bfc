package vexsource

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/vexloom/vexloom/internal/artifact"
	"github.com/vexloom/vexloom/internal/attest"
	"github.com/vexloom/vexloom/internal/digest"
	"github.com/vexloom/vexloom/internal/publish"
)

// ociImage is the bundles attached to an image as OCI referrers
// (publish.OCI). They hang off each platform's manifest (its subjects): a
// multi-arch index is expanded, and the index itself is looked at too.
// Anyone who may push to the repository may attach a referrer, so every
// document is Foreign.
type ociImage struct {
	spec string
	ref  name.Reference
	o    Options
}

func newOCI(spec, ref string, o Options) (*ociImage, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, err
	}
	return &ociImage{spec: spec, ref: r, o: o}, nil
}

func (s *ociImage) String() string { return s.spec }
func (s *ociImage) Kind() Kind     { return KindOCI }

func (s *ociImage) options(ctx context.Context) []remote.Option {
	return append([]remote.Option{remote.WithContext(ctx)}, s.o.Remote...)
}

// Documents returns the bundles attached to the image and, for an index,
// to each of its platforms.
func (s *ociImage) Documents(ctx context.Context) ([]Document, error) {
	opts := s.options(ctx)
	desc, err := remote.Head(s.ref, opts...)
	if err != nil {
		return nil, fmt.Errorf("resolving the image: %w", err)
	}
	digests := []string{desc.Digest.String()}
	if desc.MediaType.IsIndex() {
		plats, err := artifact.ResolveImage(ctx, s.ref.String(), opts...)
		if err != nil {
			return nil, err
		}
		for _, p := range plats {
			digests = append(digests, p.Digest)
		}
	}
	var out []Document
	for _, ds := range digests {
		d, err := digest.Parse(ds)
		if err != nil {
			return nil, err
		}
		docs, err := s.About(ctx, d)
		if err != nil {
			return nil, err
		}
		out = append(out, docs...)
	}
	if len(out) == 0 {
		s.o.note("vex: %s: no bundles attached to %s", s.spec, strings.Join(digests, ", "))
	}
	return out, nil
}

// About returns the bundles attached to the image with digest d in the
// repository of the source's reference.
func (s *ociImage) About(ctx context.Context, d digest.Digest) ([]Document, error) {
	store, err := publish.NewOCI(s.ref.Context().Name(), s.o.Now, s.options(ctx)...)
	if err != nil {
		return nil, err
	}
	atts, err := store.Referrers(ctx, d)
	if err != nil {
		return nil, err
	}
	var out []Document
	for _, a := range atts {
		out = append(out, Document{
			ID:      "referrer " + a.Manifest,
			Origin:  s.ref.Context().Name() + "@" + d.String() + " referrer " + a.Manifest,
			Bundle:  a.Bundle,
			Form:    attest.FormBundle,
			Subject: d,
			Foreign: true,
		})
	}
	return out, nil
}
