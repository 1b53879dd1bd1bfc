package publish

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// How a bundle is attached to an image, as cosign writes bundles
// (--new-bundle-format): an OCI 1.1 artifact manifest whose subject is the
// image, with the empty config and the bundle as its only layer.
const (
	// BundleArtifactType is the artifactType of the referrer and the media
	// type of its layer.
	BundleArtifactType = "application/vnd.dev.sigstore.bundle.v0.3+json"
	// AnnotationBundleContent says what the bundle holds.
	AnnotationBundleContent = "dev.sigstore.bundle.content"
	// AnnotationPredicateType is the in-toto predicate type of the bundle's
	// statement.
	AnnotationPredicateType = "dev.sigstore.bundle.predicateType"
	// AnnotationCreated is the OCI creation time annotation.
	AnnotationCreated = "org.opencontainers.image.created"
)

// maxReferrers bounds how many referrers of one image are read.
const maxReferrers = 1000

// emptyJSON is the OCI empty descriptor's content.
var emptyJSON = []byte("{}")

// OCI attaches bundles to images in a registry as OCI 1.1 referrers. On a
// registry without the referrers API, go-containerregistry keeps the
// distribution spec's referrers tag schema instead: an index tagged
// sha256-<hex> (after the image digest) to which every new referrer is
// appended; nothing already attached is removed. Readers (cosign, Trivy,
// remote.Referrers) fall back to the same tag.
type OCI struct {
	ref    string
	repo   name.Repository
	target name.Reference // a digest or tag to attach to; nil: every subject in the repository
	opts   []remote.Option
	now    func() time.Time
}

// Attachment is a bundle attached to an image.
type Attachment struct {
	// Manifest is the referrer manifest's digest.
	Manifest string
	// Bundle is the Sigstore bundle, checked against its layer digest.
	Bundle []byte
	// Annotations are the referrer manifest's annotations.
	Annotations map[string]string
}

// NewOCI returns a store for ref: a repository ("registry/repo", attach to
// every subject found in it), an image by digest ("registry/repo@sha256:…",
// attach to that image only) or by tag (resolved when publishing). opts are
// passed to go-containerregistry (authentication, transport).
func NewOCI(ref string, now func() time.Time, opts ...remote.Option) (*OCI, error) {
	o := &OCI{ref: ref, opts: opts, now: now}
	if o.now == nil {
		o.now = time.Now
	}
	if d, err := name.NewDigest(ref); err == nil {
		o.repo, o.target = d.Context(), d
		return o, nil
	}
	if strings.Contains(ref[strings.LastIndex(ref, "/")+1:], ":") {
		t, err := name.NewTag(ref)
		if err != nil {
			return nil, fmt.Errorf("oci store %q: %w", ref, err)
		}
		o.repo, o.target = t.Context(), t
		return o, nil
	}
	r, err := name.NewRepository(ref)
	if err != nil {
		return nil, fmt.Errorf("oci store %q: %w", ref, err)
	}
	o.repo = r
	return o, nil
}

// Name returns "oci:REF".
func (o *OCI) Name() string { return "oci:" + o.ref }

func (o *OCI) options(ctx context.Context) []remote.Option {
	return append(slices.Clone(o.opts), remote.WithContext(ctx))
}

// Publish attaches obj's bundle to each image subject it names that the
// repository holds (or to the store's own image). The referrer manifest is
// derived from the bundle and the document's timestamp only, so publishing
// the same bundle again finds the existing referrer and writes nothing.
func (o *OCI) Publish(ctx context.Context, obj Object) (Receipt, error) {
	checked, err := Check(obj)
	if err != nil {
		return Receipt{}, err
	}
	if obj.Bundle == nil {
		return Receipt{}, ErrUnsigned
	}
	targets, err := o.targets(ctx, obj, checked)
	if err != nil {
		return Receipt{}, err
	}
	created := o.now()
	if ts := checked.Document.Timestamp; ts != nil {
		created = *ts
	}
	annotations := map[string]string{
		AnnotationBundleContent: "dsse-envelope",
		AnnotationPredicateType: checked.PredicateType,
		AnnotationCreated:       created.UTC().Format(time.RFC3339),
	}
	bundleLayer := static.NewLayer(obj.Bundle, BundleArtifactType)
	configLayer := static.NewLayer(emptyJSON, types.OCIEmptyJSON)
	bundleDigest, _ := bundleLayer.Digest()
	configDigest, _ := configLayer.Digest()

	r := Receipt{Store: o.Name()}
	uploaded := false
	for _, t := range targets {
		existing, err := o.attachments(ctx, t.Digest, false)
		if err != nil {
			return Receipt{}, err
		}
		var at string
		for _, a := range existing {
			if a.layer == bundleDigest {
				at = a.Manifest
				break
			}
		}
		if at == "" {
			if !uploaded {
				for _, l := range []v1.Layer{configLayer, bundleLayer} {
					if err := remote.WriteLayer(o.repo, l, o.options(ctx)...); err != nil {
						return Receipt{}, fmt.Errorf("uploading to %s: %w", o.repo, err)
					}
				}
				uploaded = true
			}
			m := v1.Manifest{
				SchemaVersion: 2,
				MediaType:     types.OCIManifestSchema1,
				ArtifactType:  BundleArtifactType,
				Config:        v1.Descriptor{MediaType: types.OCIEmptyJSON, Size: int64(len(emptyJSON)), Digest: configDigest},
				Layers:        []v1.Descriptor{{MediaType: BundleArtifactType, Size: int64(len(obj.Bundle)), Digest: bundleDigest}},
				Annotations:   annotations,
				Subject:       &v1.Descriptor{MediaType: t.MediaType, Size: t.Size, Digest: t.Digest},
			}
			raw, err := json.Marshal(m)
			if err != nil {
				return Receipt{}, err
			}
			h, _, _ := v1.SHA256(bytes.NewReader(raw))
			at = h.String()
			if err := o.put(ctx, t.Digest, h, raw); err != nil {
				return Receipt{}, err
			}
		}
		loc := o.repo.Digest(at).String()
		if r.Location == "" {
			r.Location, r.ID = loc, at
		}
		r.Locations = append(r.Locations, loc)
	}
	return r, nil
}

// repoLocks serialises the publishers of one process per repository.
var repoLocks sync.Map // repository name → *sync.Mutex

// put writes the referrer manifest and checks that listing the subject's
// referrers shows it. On a registry without the referrers API,
// go-containerregistry updates the fallback tag by read-modify-write
// without a conditional request, so concurrent publishers can drop each
// other's entry (the referrer manifest itself stays): publishers in one
// process are serialised per repository, and a writer that does not find
// its entry writes again, which re-appends it. Publishers in separate
// processes racing on such a registry can still lose an index entry
// written by the other between its check and its write; publishing again
// restores it.
func (o *OCI) put(ctx context.Context, subject, manifest v1.Hash, raw []byte) error {
	mu, _ := repoLocks.LoadOrStore(o.repo.Name(), &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	ref := o.repo.Digest(manifest.String())
	for attempt := 0; attempt < 4; attempt++ {
		if err := remote.Put(ref, rawManifest{raw: raw, mediaType: types.OCIManifestSchema1}, o.options(ctx)...); err != nil {
			return fmt.Errorf("attaching to %s: %w", o.repo.Digest(subject.String()), err)
		}
		listed, err := o.attachments(ctx, subject, true)
		if err != nil {
			return err
		}
		for _, a := range listed {
			if a.Manifest == manifest.String() {
				return nil
			}
		}
	}
	return fmt.Errorf("attaching to %s: the referrer %s does not show in the referrers list", o.repo.Digest(subject.String()), manifest)
}

type rawManifest struct {
	raw       []byte
	mediaType types.MediaType
}

func (r rawManifest) RawManifest() ([]byte, error)        { return r.raw, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return r.mediaType, nil }

// targets returns the descriptors of the images to attach to.
func (o *OCI) targets(ctx context.Context, obj Object, checked *Checked) ([]*v1.Descriptor, error) {
	if o.target != nil {
		desc, err := remote.Head(o.target, o.options(ctx)...)
		if err != nil {
			return nil, fmt.Errorf("resolving %s: %w", o.target, err)
		}
		d := Digest{Algorithm: desc.Digest.Algorithm, Hex: desc.Digest.Hex}
		if slices.Contains(checked.StatementSubjects, d) {
			return []*v1.Descriptor{desc}, nil
		}
		if desc.MediaType.IsIndex() {
			// A multi-arch tag or index digest: its platform manifests are
			// the subjects (one product per platform).
			return o.indexTargets(ctx, desc, checked)
		}
		return nil, fmt.Errorf("%w: %s (%s) is not a subject of the signed statement", ErrInvalidObject, o.target, desc.Digest)
	}
	candidates := checked.StatementSubjects
	if len(obj.Subjects) > 0 {
		candidates = nil
		for _, s := range obj.Subjects {
			candidates = append(candidates, s.Digests()...)
		}
	}
	var out []*v1.Descriptor
	seen := map[Digest]bool{}
	for _, d := range candidates {
		if d.Algorithm != "sha256" || seen[d] {
			continue
		}
		seen[d] = true
		desc, err := remote.Head(o.repo.Digest(d.String()), o.options(ctx)...)
		if isNotFound(err) {
			continue // a binary, or an image in another repository
		} else if err != nil {
			return nil, fmt.Errorf("looking up %s: %w", o.repo.Digest(d.String()), err)
		}
		out = append(out, desc)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no subject of the object is an image in %s", ErrNotFound, o.repo)
	}
	return out, nil
}

// indexTargets returns the manifests of an index that are subjects of the
// statement; none is an error naming the index.
func (o *OCI) indexTargets(ctx context.Context, desc *v1.Descriptor, checked *Checked) ([]*v1.Descriptor, error) {
	idx, err := remote.Index(o.repo.Digest(desc.Digest.String()), o.options(ctx)...)
	if err != nil {
		return nil, fmt.Errorf("reading the index %s: %w", o.target, err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("reading the index %s: %w", o.target, err)
	}
	var out []*v1.Descriptor
	for i := range m.Manifests {
		c := m.Manifests[i]
		if slices.Contains(checked.StatementSubjects, Digest{Algorithm: c.Digest.Algorithm, Hex: c.Digest.Hex}) {
			out = append(out, &c)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: neither %s (%s) nor any of its %d platform manifests is a subject of the signed statement", ErrInvalidObject, o.target, desc.Digest, len(m.Manifests))
	}
	return out, nil
}

func isNotFound(err error) bool {
	var terr *transport.Error
	return errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound
}

// Referrers returns the bundles attached to the image with the given
// digest, in the order the registry lists them.
func (o *OCI) Referrers(ctx context.Context, subject Digest) ([]Attachment, error) {
	if err := subject.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidObject, err)
	}
	h, err := v1.NewHash(subject.String())
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidObject, err)
	}
	found, err := o.attachments(ctx, h, false)
	if err != nil {
		return nil, err
	}
	var out []Attachment
	for _, a := range found {
		layer, err := remote.Layer(o.repo.Digest(a.layer.String()), o.options(ctx)...)
		if err != nil {
			return nil, fmt.Errorf("fetching bundle %s: %w", a.layer, err)
		}
		rc, err := layer.Compressed()
		if err != nil {
			return nil, fmt.Errorf("fetching bundle %s: %w", a.layer, err)
		}
		b, err := io.ReadAll(io.LimitReader(rc, MaxBundleSize+1))
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("fetching bundle %s: %w", a.layer, err)
		}
		if len(b) > MaxBundleSize {
			return nil, fmt.Errorf("%w: bundle %s is larger than %d bytes", ErrInvalidObject, a.layer, MaxBundleSize)
		}
		if got, _, _ := v1.SHA256(bytes.NewReader(b)); got != a.layer {
			return nil, fmt.Errorf("%w: bundle %s has digest %s", ErrCorrupt, a.layer, got)
		}
		a.Bundle = b
		out = append(out, a.Attachment)
	}
	return out, nil
}

type attachment struct {
	Attachment
	layer v1.Hash
}

// attachments lists the bundle referrers of subject. With all, every
// referrer is returned (to check one is listed), not only bundles.
func (o *OCI) attachments(ctx context.Context, subject v1.Hash, all bool) ([]attachment, error) {
	idx, err := remote.Referrers(o.repo.Digest(subject.String()), o.options(ctx)...)
	if isNotFound(err) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("listing referrers of %s: %w", o.repo.Digest(subject.String()), err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("listing referrers of %s: %w", o.repo.Digest(subject.String()), err)
	}
	if len(im.Manifests) > maxReferrers {
		return nil, fmt.Errorf("%s has %d referrers, more than the %d read", o.repo.Digest(subject.String()), len(im.Manifests), maxReferrers)
	}
	var out []attachment
	for _, d := range im.Manifests {
		if all {
			out = append(out, attachment{Attachment: Attachment{Manifest: d.Digest.String()}})
			continue
		}
		// Registries report the artifactType from the manifest or, like
		// go-containerregistry's, from the config media type; anything else
		// is not a bundle.
		switch d.ArtifactType {
		case "", BundleArtifactType, string(types.OCIEmptyJSON):
		default:
			continue
		}
		desc, err := remote.Get(o.repo.Digest(d.Digest.String()), o.options(ctx)...)
		if err != nil {
			return nil, fmt.Errorf("fetching referrer %s: %w", d.Digest, err)
		}
		var m v1.Manifest
		if err := json.Unmarshal(desc.Manifest, &m); err != nil {
			continue // not an image manifest: not ours
		}
		if m.ArtifactType != BundleArtifactType || m.Subject == nil || m.Subject.Digest != subject ||
			len(m.Layers) != 1 || m.Layers[0].MediaType != BundleArtifactType {
			continue
		}
		out = append(out, attachment{
			Attachment: Attachment{Manifest: d.Digest.String(), Annotations: m.Annotations},
			layer:      m.Layers[0].Digest,
		})
	}
	return out, nil
}
