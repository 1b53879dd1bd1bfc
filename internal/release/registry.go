package release

import (
	"context"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/vexloom/vexloom/internal/artifact"
)

// RemoteRegistry reaches images in their registries, with the options
// (context, authentication) opts returns for a request's context.
func RemoteRegistry(opts func(ctx context.Context) []remote.Option) Registry {
	return Registry{
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
	}
}
