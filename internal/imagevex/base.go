package imagevex

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/vexloom/vexloom/internal/artifact"
	"github.com/vexloom/vexloom/internal/attest"
	"github.com/vexloom/vexloom/internal/config"
	"github.com/vexloom/vexloom/internal/infile"
	"github.com/vexloom/vexloom/internal/vexsource"
)

// The OCI annotations naming the image an image was built on.
const (
	AnnotationBaseName   = "org.opencontainers.image.base.name"
	AnnotationBaseDigest = "org.opencontainers.image.base.digest"
)

// BaseImages says which base image a release image repository is
// configured with (releases.base_images); nil when none is.
type BaseImages func(repository string) (config.BaseImage, bool)

// Trust is who may sign a base image's VEX: a public key file, or a
// keyless identity (a regexp) and its OIDC issuer, with an optional
// Sigstore trusted root file.
type Trust struct {
	Key, Identity, Issuer, TrustedRoot string
}

// Policy is the verification policy of t; nil when no trust is configured
// (then no base statement counts). An identity needs an issuer: the
// caller checks that.
func (t Trust) Policy() (*attest.TrustPolicy, error) {
	switch {
	case t.Key != "":
		data, err := infile.Read(context.Background(), t.Key, attest.MaxKeySize)
		if err != nil {
			return nil, fmt.Errorf("reading --base-key: %w", err)
		}
		pub, err := attest.LoadPublicKey(data)
		if err != nil {
			return nil, fmt.Errorf("--base-key %s: %w", t.Key, err)
		}
		return &attest.TrustPolicy{PublicKey: pub}, nil
	case t.Identity != "":
		var (
			tm  root.TrustedMaterial
			err error
		)
		if t.TrustedRoot != "" {
			tm, err = root.NewTrustedRootFromPath(t.TrustedRoot)
		} else {
			tm, err = root.FetchTrustedRoot()
		}
		if err != nil {
			return nil, fmt.Errorf("reading the Sigstore trusted root: %w", err)
		}
		return &attest.TrustPolicy{Identity: &attest.Identity{Issuer: t.Issuer, SubjectRegexp: t.Identity}, TrustedMaterial: tm}, nil
	}
	return nil, nil
}

func registryOptions(ctx context.Context) []remote.Option {
	return []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)}
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// baseFromAnnotations reads the base image an image names in its OCI
// annotations (on the index or the manifest): REPO@DIGEST, or "".
func baseFromAnnotations(ctx context.Context, image string) (string, error) {
	r, err := name.ParseReference(image)
	if err != nil {
		return "", fmt.Errorf("--image %s: %w", image, err)
	}
	desc, err := remote.Get(r, registryOptions(ctx)...)
	if err != nil {
		return "", fmt.Errorf("reading the image %s: %w", image, err)
	}
	var m struct {
		Annotations map[string]string `json:"annotations"`
	}
	if err := json.Unmarshal(desc.Manifest, &m); err != nil {
		return "", fmt.Errorf("reading the manifest of %s: %w", image, err)
	}
	n, d := m.Annotations[AnnotationBaseName], m.Annotations[AnnotationBaseDigest]
	if n == "" || d == "" {
		return "", nil
	}
	base, err := name.ParseReference(n)
	if err != nil {
		return "", fmt.Errorf("%s of %s: %w", AnnotationBaseName, image, err)
	}
	return base.Context().Name() + "@" + d, nil
}

// baseSources says where the base image of a release image publishes its
// VEX: the base its OCI annotations name, else releases.base_images; none
// when neither says.
func baseSources(ctx context.Context, bases BaseImages, image string) ([]string, error) {
	ref, err := baseFromAnnotations(ctx, image)
	if err != nil {
		return nil, err
	}
	if ref != "" {
		return []string{"oci:" + ref}, nil
	}
	r, err := name.ParseReference(image)
	if err != nil {
		return nil, fmt.Errorf("--image %s: %w", image, err)
	}
	if bases == nil {
		return nil, nil
	}
	if b, ok := bases(r.Context().Name()); ok {
		if len(b.VEX) > 0 {
			return b.VEX, nil
		}
		return []string{"oci:" + b.Base}, nil
	}
	return nil, nil
}

// LoadBase reads the base image's VEX from one source (oci:REF, the
// referrers of its digests, or a bundle file): its documents, each verified
// against pol or not counted, and how many were skipped. What it finds and
// skips is written to notes.
func LoadBase(ctx context.Context, src string, pol *attest.TrustPolicy, notes io.Writer) (Base, int) {
	skipped := 0
	verify := func(origin string, bundle []byte, digest string) *BaseDocument {
		if pol == nil {
			fmt.Fprintf(notes, "images: base VEX %s: not counted: no --base-key or --base-identity to verify it with\n", origin)
			skipped++
			return nil
		}
		pl := *pol
		if digest != "" {
			d, err := attest.ParseDigest(digest)
			if err != nil {
				fmt.Fprintf(notes, "images: base VEX %s: not counted: %v\n", origin, err)
				skipped++
				return nil
			}
			pl.ArtifactDigests = []attest.Digest{d}
		} else {
			pl.WithoutArtifact = true
		}
		res, err := attest.Verify(ctx, bundle, pl)
		if err != nil {
			fmt.Fprintf(notes, "images: base VEX %s: not counted: %v\n", origin, err)
			skipped++
			return nil
		}
		fmt.Fprintf(notes, "images: base VEX %s: verified, signed by %s: %d %s\n", origin, res.SignedBy, len(res.VEX.Statements), plural(len(res.VEX.Statements), "statement"))
		return &BaseDocument{Doc: res.VEX, Source: origin, Verified: true}
	}
	ref, isOCI := strings.CutPrefix(src, "oci:")
	if !isOCI {
		b := Base{Name: src}
		data, err := infile.Read(context.Background(), src, attest.MaxBundleSize)
		if err != nil {
			fmt.Fprintf(notes, "images: base VEX %s: %v\n", src, err)
			return b, 1
		}
		if d := verify(src, data, ""); d != nil {
			b.Docs = append(b.Docs, *d)
		}
		return b, skipped
	}
	b := Base{Name: ref}
	plats, err := artifact.ResolveImage(ctx, ref, registryOptions(ctx)...)
	if err != nil {
		fmt.Fprintf(notes, "images: base image %s: %v; its VEX is not read\n", ref, err)
		return b, 1
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		fmt.Fprintf(notes, "images: base image %s: %v\n", ref, err)
		return b, 1
	}
	if d, ok := r.(name.Digest); ok {
		b.Digests = append(b.Digests, d.DigestStr())
	}
	for _, pl := range plats {
		for _, d := range []string{pl.Index, pl.Digest} {
			if d != "" && !slices.Contains(b.Digests, d) {
				b.Digests = append(b.Digests, d)
			}
		}
	}
	// The referrers of each digest, through the one reader of published VEX.
	source, err := vexsource.Open("oci:"+r.Context().Name(), vexsource.Options{Remote: []remote.Option{remote.WithAuthFromKeychain(authn.DefaultKeychain)}})
	if err != nil {
		fmt.Fprintf(notes, "images: base image %s: %v\n", ref, err)
		return b, 1
	}
	found := 0
	for _, digest := range b.Digests {
		d, err := attest.ParseDigest(digest)
		if err != nil {
			continue
		}
		docs, err := source.About(ctx, d)
		if err != nil {
			fmt.Fprintf(notes, "images: base image %s@%s: reading its referrers: %v\n", r.Context().Name(), digest, err)
			skipped++
			continue
		}
		for _, doc := range docs {
			found++
			if d := verify(doc.Origin, doc.Bundle, digest); d != nil {
				b.Docs = append(b.Docs, *d)
			}
		}
	}
	if found == 0 {
		fmt.Fprintf(notes, "images: base image %s: no VEX attached to %s\n", ref, strings.Join(b.Digests, ", "))
	}
	return b, skipped
}
