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
	openvex "github.com/openvex/go-vex/pkg/vex"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/vexloom/vexloom/internal/artifact"
	"github.com/vexloom/vexloom/internal/attest"
	"github.com/vexloom/vexloom/internal/config"
	"github.com/vexloom/vexloom/internal/infile"
	"github.com/vexloom/vexloom/internal/vex"
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

// BaseSource is where one base image's VEX is read from.
type BaseSource struct {
	// Image is the base image (REPO@DIGEST, or by tag) whose VEX this is;
	// "" when not known (then only statements whose product is an OS
	// package itself can apply).
	Image string
	// VEX is where its VEX is published: oci:REF (the referrers of REF's
	// digests), feed:URL|DIR (a vex-repo feed carrying the bundles of its
	// signed documents), or a bundle file.
	VEX string
}

// String names the source in notes.
func (s BaseSource) String() string { return s.VEX }

// baseOf is the base image of a release image: the one its OCI
// annotations name, else releases.base_images' (with where its VEX is);
// "" when neither says.
func baseOf(ctx context.Context, bases BaseImages, image string) (string, []string, error) {
	ref, err := baseFromAnnotations(ctx, image)
	if err != nil {
		return "", nil, err
	}
	r, err := name.ParseReference(image)
	if err != nil {
		return "", nil, fmt.Errorf("--image %s: %w", image, err)
	}
	var configured []string
	if bases != nil {
		if b, ok := bases(r.Context().Name()); ok {
			if ref == "" {
				ref = b.Base
			}
			configured = b.VEX
		}
	}
	return ref, configured, nil
}

// baseSources says where the base image of a release image publishes its
// VEX: the locations releases.base_images configures for it, else the
// referrers of the base its OCI annotations (or the configuration) name;
// none when nothing names a base.
func baseSources(ctx context.Context, bases BaseImages, image string) ([]BaseSource, error) {
	ref, configured, err := baseOf(ctx, bases, image)
	if err != nil || ref == "" {
		return nil, err
	}
	if len(configured) == 0 {
		return []BaseSource{{Image: ref, VEX: "oci:" + ref}}, nil
	}
	out := make([]BaseSource, 0, len(configured))
	for _, v := range configured {
		out = append(out, BaseSource{Image: ref, VEX: v})
	}
	return out, nil
}

// baseVerifier verifies a base image's VEX documents against one policy,
// noting what counts and what does not.
type baseVerifier struct {
	ctx     context.Context
	pol     *attest.TrustPolicy
	notes   io.Writer
	skipped int
}

// verify checks one bundle for the base digests (any of them; none: the
// bundle need name no artifact) and returns the verified document, or nil
// with a line saying why it does not count.
func (v *baseVerifier) verify(origin string, bundle []byte, digests []string) *BaseDocument {
	if v.pol == nil {
		fmt.Fprintf(v.notes, "images: base VEX %s: not counted: no --base-key or --base-identity to verify it with\n", origin)
		v.skipped++
		return nil
	}
	pl := *v.pol
	if len(digests) == 0 {
		pl.WithoutArtifact = true
	}
	for _, digest := range digests {
		d, err := attest.ParseDigest(digest)
		if err != nil {
			fmt.Fprintf(v.notes, "images: base VEX %s: not counted: %v\n", origin, err)
			v.skipped++
			return nil
		}
		pl.ArtifactDigests = append(pl.ArtifactDigests, d)
	}
	pl.AnyArtifact = len(digests) > 1
	res, err := attest.Verify(v.ctx, bundle, pl)
	if err != nil {
		fmt.Fprintf(v.notes, "images: base VEX %s: not counted: %v\n", origin, err)
		v.skipped++
		return nil
	}
	fmt.Fprintf(v.notes, "images: base VEX %s: verified, signed by %s: %d %s\n", origin, res.SignedBy, len(res.VEX.Statements), plural(len(res.VEX.Statements), "statement"))
	return &BaseDocument{Doc: res.VEX, Source: origin, Verified: true}
}

// LoadBase reads the base image's VEX from one source: the referrers of
// its digests (oci:REF), a vex-repo feed (feed:URL|DIR), or a bundle file.
// It returns the documents that verified against pol, and how many inputs
// were skipped; what it finds and skips is written to notes, one line
// each. Nothing unverified is returned.
func LoadBase(ctx context.Context, src BaseSource, pol *attest.TrustPolicy, notes io.Writer) (Base, int) {
	v := &baseVerifier{ctx: ctx, pol: pol, notes: notes}
	switch {
	case strings.HasPrefix(src.VEX, "oci:"):
		b := loadOCI(ctx, strings.TrimPrefix(src.VEX, "oci:"), v)
		return b, v.skipped
	case strings.HasPrefix(src.VEX, "feed:"):
		b := loadFeed(ctx, src, v)
		return b, v.skipped
	}
	b := Base{Name: src.VEX}
	data, err := infile.Read(context.Background(), src.VEX, attest.MaxBundleSize)
	if err != nil {
		fmt.Fprintf(notes, "images: base VEX %s: %v\n", src.VEX, err)
		return b, 1
	}
	if d := v.verify(src.VEX, data, nil); d != nil {
		b.Docs = append(b.Docs, *d)
	}
	return b, v.skipped
}

// baseDigests are the digests of a base image: the one its reference
// names, its index's and each platform's.
func baseDigests(ctx context.Context, ref string) (name.Reference, []string, error) {
	plats, err := artifact.ResolveImage(ctx, ref, registryOptions(ctx)...)
	if err != nil {
		return nil, nil, err
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, nil, err
	}
	var digests []string
	if d, ok := r.(name.Digest); ok {
		digests = append(digests, d.DigestStr())
	}
	for _, pl := range plats {
		for _, d := range []string{pl.Index, pl.Digest} {
			if d != "" && !slices.Contains(digests, d) {
				digests = append(digests, d)
			}
		}
	}
	return r, digests, nil
}

// loadOCI reads the referrers of each digest of the base image ref.
func loadOCI(ctx context.Context, ref string, v *baseVerifier) Base {
	b := Base{Name: ref}
	r, digests, err := baseDigests(ctx, ref)
	if err != nil {
		fmt.Fprintf(v.notes, "images: base image %s: %v; its VEX is not read\n", ref, err)
		v.skipped++
		return b
	}
	b.Digests = digests
	// The referrers of each digest, through the one reader of published VEX.
	source, err := vexsource.Open("oci:"+r.Context().Name(), vexsource.Options{Remote: []remote.Option{remote.WithAuthFromKeychain(authn.DefaultKeychain)}})
	if err != nil {
		fmt.Fprintf(v.notes, "images: base image %s: %v\n", ref, err)
		v.skipped++
		return b
	}
	found := 0
	for _, digest := range b.Digests {
		d, err := attest.ParseDigest(digest)
		if err != nil {
			continue
		}
		docs, err := source.About(ctx, d)
		if err != nil {
			fmt.Fprintf(v.notes, "images: base image %s@%s: reading its referrers: %v\n", r.Context().Name(), digest, err)
			v.skipped++
			continue
		}
		for _, doc := range docs {
			found++
			if d := v.verify(doc.Origin, doc.Bundle, []string{digest}); d != nil {
				b.Docs = append(b.Docs, *d)
			}
		}
	}
	if found == 0 {
		fmt.Fprintf(v.notes, "images: base image %s: no VEX attached to %s\n", ref, strings.Join(b.Digests, ", "))
	}
	return b
}

// loadFeed reads a vex-repo feed for the base image src.Image: each bundle
// the feed carries whose subjects name one of the base's digests is
// verified (attest.Verify); the feed's per-package documents are unsigned
// and never count — one that states something about the base's packages
// that no verified document states is named on one line.
func loadFeed(ctx context.Context, src BaseSource, v *baseVerifier) Base {
	b := Base{Name: src.Image}
	if src.Image == "" {
		fmt.Fprintf(v.notes, "images: base VEX %s: not read: no base image known to look it up for (give --image with base-image annotations, or releases.base_images)\n", src.VEX)
		v.skipped++
		return b
	}
	_, digests, err := baseDigests(ctx, src.Image)
	if err != nil {
		fmt.Fprintf(v.notes, "images: base image %s: %v; its VEX is not read\n", src.Image, err)
		v.skipped++
		return b
	}
	b.Digests = digests
	source, err := vexsource.Open(src.VEX, vexsource.Options{})
	if err != nil {
		fmt.Fprintf(v.notes, "images: base VEX %s: %v\n", src.VEX, err)
		v.skipped++
		return b
	}
	docs, err := source.Documents(ctx)
	if err != nil {
		fmt.Fprintf(v.notes, "images: base VEX %s: %v; nothing read from it\n", src.VEX, err)
		v.skipped++
		return b
	}
	var unsigned []vexsource.Document
	found := 0
	for _, doc := range docs {
		if doc.Bundle == nil {
			unsigned = append(unsigned, doc)
			continue
		}
		_, subjects, err := attest.ReadBundleUnverified(doc.Bundle)
		if err != nil {
			fmt.Fprintf(v.notes, "images: base VEX %s: not counted: %v\n", doc.Origin, err)
			v.skipped++
			continue
		}
		var about []string
		for _, d := range digests {
			if pd, err := attest.ParseDigest(d); err == nil && slices.ContainsFunc(subjects, func(s attest.Subject) bool { return s.Has(pd) }) {
				about = append(about, d)
			}
		}
		if len(about) == 0 {
			continue // about another image
		}
		found++
		if d := v.verify(doc.Origin, doc.Bundle, about); d != nil {
			b.Docs = append(b.Docs, *d)
		}
	}
	// What the verified documents say; an unsigned document restating it
	// adds nothing, one saying more is named.
	said := map[string]bool{}
	for _, d := range b.Docs {
		for _, f := range vex.Facts(d.Doc) {
			if pkg, ok := basePackage(f, digests); ok {
				said[factKey(f, pkg)] = true
			}
		}
	}
	for _, doc := range unsigned {
		n := 0
		for _, f := range vex.Facts(doc.VEX) {
			if pkg, ok := basePackage(f, digests); ok && !said[factKey(f, pkg)] {
				n++
			}
		}
		if n > 0 {
			found++
			fmt.Fprintf(v.notes, "images: base VEX %s: not counted: unsigned (%d %s about the base image's packages)\n", doc.Origin, n, plural(n, "statement"))
			v.skipped++
		}
	}
	if found == 0 {
		fmt.Fprintf(v.notes, "images: base image %s: %s holds no VEX about %s\n", src.Image, src.VEX, strings.Join(digests, ", "))
	}
	return b
}

// factKey identifies what a base statement says about one package.
func factKey(f vex.Fact, pkg openvex.Component) string {
	k := vex.ComponentKey(pkg)
	return string(f.Vulnerability.Name) + "\x00" + packageKey(k) + "\x00" + packageVersion(k) + "\x00" + string(f.Status)
}
