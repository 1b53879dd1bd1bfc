// Package artifact turns the artifacts of a release into what its VEX
// document names and analyses: container images resolved to the digest of
// each platform, the Go executables inside them, binary-mode scans of those
// executables with govulncheck's engine, and the OpenVEX products that
// identify each of them the way scanners match them (see DESIGN.md).
package artifact

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/digest"
	"github.com/vexloom/vexloom/internal/purl"
)

// Sentinel errors callers branch on.
var (
	// ErrReference: the image reference cannot be parsed.
	ErrReference = errors.New("invalid image reference")
	// ErrNotFound: the registry has no such repository, tag or digest.
	ErrNotFound = errors.New("image not found")
	// ErrNoPlatform: an index holds no runnable platform image (only
	// attestations, or nothing).
	ErrNoPlatform = errors.New("no platform image")
	// ErrUnsupported: the registry returned something that is not an image
	// or an index of images, or a digest that is not sha256.
	ErrUnsupported = errors.New("unsupported artifact")
)

// maxIndexDepth bounds how deep indexes of indexes are followed.
const maxIndexDepth = 4

// Platform is one platform image of a release image, pinned by the digest
// of its own manifest.
type Platform struct {
	// Repository is registry/repo, e.g. "registry.k8s.io/kube-apiserver".
	Repository string
	// Name is the last path element of the repository, e.g. "kube-apiserver".
	Name string
	// Digest is the platform manifest's digest, "sha256:<hex>".
	Digest string
	// Index is the digest of the index the platform was found in ("" when
	// the reference named a single image).
	Index string
	// OS, Arch and Variant are the platform ("linux", "arm", "v7").
	OS      string
	Arch    string
	Variant string
	// Image reads the image (lazily, from the registry).
	Image v1.Image
}

// String is the platform as os/arch[/variant].
func (p Platform) String() string {
	s := p.OS + "/" + p.Arch
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// Ref is the digest reference of the platform image: repository@sha256:….
func (p Platform) Ref() string { return p.Repository + "@" + p.Digest }

// ResolveImage resolves an image reference (by tag or digest) to the images
// it stands for: one per platform of a multi-arch index, each pinned by its
// platform manifest's digest, or the image itself. Attestation manifests in
// an index (platform unknown/unknown) are skipped. The result is sorted by
// platform.
func ResolveImage(ctx context.Context, ref string, opts ...remote.Option) ([]Platform, error) {
	r, err := name.ParseReference(strings.TrimSpace(ref))
	if err != nil {
		return nil, fmt.Errorf("%w %q: %v", ErrReference, ref, err)
	}
	opts = append(slices.Clone(opts), remote.WithContext(ctx))
	desc, err := remote.Get(r, opts...)
	if err != nil {
		var terr *transport.Error
		if errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound {
			return nil, fmt.Errorf("resolving %s: %w: %w", r, ErrNotFound, err)
		}
		return nil, fmt.Errorf("resolving %s: %w", r, err)
	}
	repo := r.Context()
	base := Platform{Repository: repo.Name(), Name: path.Base(repo.RepositoryStr())}
	var out []Platform
	switch {
	case desc.MediaType.IsIndex():
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, fmt.Errorf("reading index %s: %w", r, err)
		}
		base.Index = desc.Digest.String()
		out, err = platformsOf(idx, base, r.String(), 0)
		if err != nil {
			return nil, err
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("%w in index %s@%s", ErrNoPlatform, repo.Name(), desc.Digest)
		}
	case desc.MediaType.IsImage():
		img, err := desc.Image()
		if err != nil {
			return nil, fmt.Errorf("reading image %s: %w", r, err)
		}
		p, err := platformOf(img, base, desc.Digest, nil)
		if err != nil {
			return nil, fmt.Errorf("reading image %s: %w", r, err)
		}
		out = append(out, p)
	default:
		return nil, fmt.Errorf("%w: %s is a %s", ErrUnsupported, r, desc.MediaType)
	}
	slices.SortFunc(out, func(a, b Platform) int {
		if c := strings.Compare(a.String(), b.String()); c != 0 {
			return c
		}
		return strings.Compare(a.Digest, b.Digest)
	})
	return out, nil
}

// platformsOf expands an index into its platform images.
func platformsOf(idx v1.ImageIndex, base Platform, where string, depth int) ([]Platform, error) {
	if depth >= maxIndexDepth {
		return nil, fmt.Errorf("%w: %s nests indexes more than %d deep", ErrUnsupported, where, maxIndexDepth)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("reading index %s: %w", where, err)
	}
	var out []Platform
	for _, d := range im.Manifests {
		if isAttestation(d) {
			continue
		}
		switch {
		case d.MediaType.IsIndex():
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return nil, fmt.Errorf("reading index %s in %s: %w", d.Digest, where, err)
			}
			ps, err := platformsOf(child, base, where+" > "+d.Digest.String(), depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, ps...)
		case d.MediaType.IsImage():
			img, err := idx.Image(d.Digest)
			if err != nil {
				return nil, fmt.Errorf("reading image %s in %s: %w", d.Digest, where, err)
			}
			p, err := platformOf(img, base, d.Digest, d.Platform)
			if err != nil {
				return nil, fmt.Errorf("reading image %s in %s: %w", d.Digest, where, err)
			}
			out = append(out, p)
		default:
			// Artifacts that are not images (signatures, SBOMs pushed as
			// their own media type) describe the images; they are not one.
		}
	}
	return out, nil
}

// isAttestation reports whether an index entry is a build attestation
// manifest (BuildKit writes them with platform unknown/unknown and the
// annotation vnd.docker.reference.type=attestation-manifest).
func isAttestation(d v1.Descriptor) bool {
	if d.Annotations["vnd.docker.reference.type"] == "attestation-manifest" {
		return true
	}
	return d.Platform != nil && d.Platform.OS == "unknown" && d.Platform.Architecture == "unknown"
}

// platformOf describes one image. The platform comes from the index entry,
// else from the image's configuration.
func platformOf(img v1.Image, base Platform, digest v1.Hash, plat *v1.Platform) (Platform, error) {
	if digest.Algorithm != "sha256" || len(digest.Hex) != 64 {
		return Platform{}, fmt.Errorf("%w: digest %s is not sha256", ErrUnsupported, digest)
	}
	p := base
	p.Digest = digest.String()
	p.Image = img
	if plat == nil || plat.OS == "" {
		cf, err := img.ConfigFile()
		if err != nil {
			return Platform{}, fmt.Errorf("reading configuration: %w", err)
		}
		plat = cf.Platform()
	}
	if plat != nil {
		p.OS, p.Arch, p.Variant = plat.OS, plat.Architecture, plat.Variant
	}
	return p, nil
}

// ImageProduct is the OpenVEX product of one platform image, in the form
// DESIGN.md fixes: pkg:oci/<name>@sha256:<hex>?repository_url=<registry>/<repo>
// with the platform manifest's digest as @id and purl identifier, and the
// same digest under hashes. It carries no tag qualifier: go-vex matches a
// purl only when each of its qualifiers is in the query, so a tag would hide
// the statement from scans by digest.
func ImageProduct(p Platform) openvex.Product {
	id := ImagePURL(p)
	prod := openvex.Product{Component: openvex.Component{
		ID:          id,
		Identifiers: map[openvex.IdentifierType]string{openvex.PURL: id},
	}}
	if d, err := digest.Parse(p.Digest); err == nil && d.Algorithm == "sha256" {
		prod.Hashes = map[openvex.Algorithm]openvex.Hash{openvex.SHA256: openvex.Hash(d.Hex)}
	}
	return prod
}

// ImagePURL is the package URL of a platform image (see ImageProduct).
func ImagePURL(p Platform) string {
	return purl.OCI(p.Name, p.Digest, p.Repository)
}
