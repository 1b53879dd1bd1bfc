package publish

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// publish --to oci:REPO:TAG where the tag is a multi-arch index: the
// platform manifests are the statement's subjects, so the bundle is
// attached to each of them; by the index digest too. An index none of whose
// platforms is a subject is refused, naming it.
func TestOCIPublishToMultiArchTag(t *testing.T) {
	ctx := context.Background()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	repo := u.Host + "/kube-apiserver"
	var idx v1.ImageIndex = mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	var plats []Digest
	for _, arch := range []string{"amd64", "arm64", "s390x"} {
		img, err := random.Image(256, 1)
		if err != nil {
			t.Fatal(err)
		}
		h, _ := img.Digest()
		plats = append(plats, Digest{Algorithm: h.Algorithm, Hex: h.Hex})
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	tag, _ := name.NewTag(repo + ":v1.34.2")
	if err := remote.WriteIndex(tag, idx); err != nil {
		t.Fatal(err)
	}
	idxDigest, _ := idx.Digest()

	// The statement names two of the three platforms.
	store, err := NewOCI(repo+":v1.34.2", nil)
	if err != nil {
		t.Fatal(err)
	}
	obj := releaseObject(t, t0, "CVE-1", plats[0], plats[1])
	r, err := store.Publish(ctx, obj)
	if err != nil {
		t.Fatalf("publishing to a multi-arch tag: %v", err)
	}
	if len(r.Locations) != 2 {
		t.Errorf("attached at %v, want the two platform manifests", r.Locations)
	}
	for i, p := range plats {
		as, err := store.Referrers(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]int{true: 1, false: 0}[i < 2]; len(as) != want {
			t.Errorf("platform %d has %d referrers, want %d", i, len(as), want)
		}
	}
	// By the index digest: the same, and idempotent.
	byDigest, err := NewOCI(repo+"@"+idxDigest.String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := byDigest.Publish(ctx, obj)
	if err != nil || r2.ID != r.ID {
		t.Errorf("by index digest: %+v, %v (first %s)", r2, err, r.ID)
	}
	// No platform of the index is a subject.
	_, err = store.Publish(ctx, releaseObject(t, t0, "CVE-2", digestOf("elsewhere")))
	if !errors.Is(err, ErrInvalidObject) || !strings.Contains(err.Error(), "nor any of its 3 platform manifests") {
		t.Errorf("an index with no subject platform: %v", err)
	}
}
