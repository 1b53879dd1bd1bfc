package publish

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/digest"
)

// testRegistry runs go-containerregistry's registry on loopback with a
// random image pushed as repo:v1 and returns the repository and the image
// digest.
func testRegistry(t *testing.T, referrers bool) (string, Digest) {
	t.Helper()
	srv := httptest.NewServer(registry.New(
		registry.WithReferrersSupport(referrers),
		registry.Logger(log.New(io.Discard, "", 0)),
	))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	repo := u.Host + "/kube-apiserver"
	img, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := name.ParseReference(repo + ":v1")
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	h, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return repo, Digest{Algorithm: h.Algorithm, Hex: h.Hex}
}

func releaseObject(t *testing.T, ts time.Time, vuln string, subjects ...Digest) Object {
	t.Helper()
	doc := docBytes(t, ts, stmt(vuln, imageID, openvex.StatusNotAffected, ts, xnet))
	o := Object{Bundle: signedBundle(t, doc, subjects...), Document: doc, Products: []string{imageID}, Kind: KindRelease, Ref: "v1.34.2"}
	for _, s := range subjects {
		o.Subjects = append(o.Subjects, digest.SubjectOf("", s))
	}
	return o
}

func TestOCIReferrers(t *testing.T) {
	for _, referrersAPI := range []bool{true, false} {
		t.Run(map[bool]string{true: "referrers API", false: "tag fallback"}[referrersAPI], func(t *testing.T) {
			ctx := context.Background()
			repo, image := testRegistry(t, referrersAPI)
			store, err := NewOCI(repo, nil)
			if err != nil {
				t.Fatal(err)
			}
			binary := digestOf("a Go binary, not in the registry")
			obj := releaseObject(t, t0, "CVE-1", binary, image)
			r1, err := store.Publish(ctx, obj)
			if err != nil {
				t.Fatal(err)
			}
			if r1.Location != repo+"@"+r1.ID || len(r1.Locations) != 1 {
				t.Fatalf("receipt %+v", r1)
			}
			checkReferrerManifest(t, repo, r1.ID, image)

			again, err := store.Publish(ctx, obj)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(again, r1) {
				t.Fatalf("republish: %+v, first %+v", again, r1)
			}
			atts, err := store.Referrers(ctx, image)
			if err != nil {
				t.Fatal(err)
			}
			if len(atts) != 1 || !bytes.Equal(atts[0].Bundle, obj.Bundle) || atts[0].Manifest != r1.ID {
				t.Fatalf("after republish: %d attachments", len(atts))
			}
			if atts[0].Annotations[AnnotationPredicateType] != "https://openvex.dev/ns/v0.2.0" ||
				atts[0].Annotations[AnnotationCreated] != t0.Format(time.RFC3339) ||
				atts[0].Annotations[AnnotationBundleContent] != "dsse-envelope" {
				t.Errorf("annotations %v", atts[0].Annotations)
			}

			// A new version is a new referrer; the old one stays.
			v2 := releaseObject(t, t0.Add(time.Hour), "CVE-2", image)
			r2, err := store.Publish(ctx, v2)
			if err != nil {
				t.Fatal(err)
			}
			atts, err = store.Referrers(ctx, image)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][]byte{}
			for _, a := range atts {
				got[a.Manifest] = a.Bundle
			}
			if len(atts) != 2 || !bytes.Equal(got[r1.ID], obj.Bundle) || !bytes.Equal(got[r2.ID], v2.Bundle) {
				t.Fatalf("after a second version: %d attachments", len(atts))
			}

			// The fallback tag exists exactly when the registry has no
			// referrers API, and lists both referrers.
			tag, _ := name.NewTag(repo + ":sha256-" + image.Hex)
			desc, err := remote.Get(tag)
			if referrersAPI {
				if err == nil {
					t.Error("fallback tag written although the registry has the referrers API")
				}
				return
			}
			if err != nil {
				t.Fatalf("fallback tag: %v", err)
			}
			var idx v1.IndexManifest
			if err := json.Unmarshal(desc.Manifest, &idx); err != nil {
				t.Fatal(err)
			}
			if len(idx.Manifests) != 2 {
				t.Fatalf("fallback index has %d entries, want 2", len(idx.Manifests))
			}
			for _, d := range idx.Manifests {
				if d.ArtifactType != BundleArtifactType {
					t.Errorf("fallback entry artifactType %q", d.ArtifactType)
				}
			}
		})
	}
}

func checkReferrerManifest(t *testing.T, repo, digest string, subject Digest) {
	t.Helper()
	ref, _ := name.NewDigest(repo + "@" + digest)
	desc, err := remote.Get(ref)
	if err != nil {
		t.Fatal(err)
	}
	var m v1.Manifest
	if err := json.Unmarshal(desc.Manifest, &m); err != nil {
		t.Fatal(err)
	}
	if m.MediaType != types.OCIManifestSchema1 || m.ArtifactType != BundleArtifactType ||
		m.Config.MediaType != types.OCIEmptyJSON || m.Config.Size != 2 ||
		len(m.Layers) != 1 || m.Layers[0].MediaType != BundleArtifactType ||
		m.Subject == nil || m.Subject.Digest.Hex != subject.Hex || m.Subject.MediaType == "" {
		t.Fatalf("referrer manifest %s", desc.Manifest)
	}
}

func TestOCIRefusals(t *testing.T) {
	ctx := context.Background()
	repo, image := testRegistry(t, true)
	store, err := NewOCI(repo, nil)
	if err != nil {
		t.Fatal(err)
	}
	unsigned := releaseObject(t, t0, "CVE-1", image)
	unsigned.Bundle = nil
	if _, err := store.Publish(ctx, unsigned); !errors.Is(err, ErrUnsigned) {
		t.Errorf("unsigned: %v", err)
	}
	if _, err := store.Publish(ctx, releaseObject(t, t0, "CVE-1", digestOf("elsewhere"))); !errors.Is(err, ErrNotFound) {
		t.Errorf("no subject in the repository: %v", err)
	}
	// A store pinned to an image the statement does not name.
	pinned, err := NewOCI(repo+"@sha256:"+image.Hex, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pinned.Publish(ctx, releaseObject(t, t0, "CVE-1", digestOf("elsewhere"))); !errors.Is(err, ErrInvalidObject) {
		t.Errorf("pinned to an image the statement does not name: %v", err)
	}
	// By tag: resolved to the image digest.
	tagged, err := NewOCI(repo+":v1", nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := tagged.Publish(ctx, releaseObject(t, t0, "CVE-1", image))
	if err != nil {
		t.Fatal(err)
	}
	checkReferrerManifest(t, repo, r.ID, image)
	for _, bad := range []string{"", "UPPER/Case", "registry/repo@sha256:nothex"} {
		if _, err := NewOCI(bad, nil); err == nil {
			t.Errorf("NewOCI(%q) accepted", bad)
		}
	}
}

func TestOCIConcurrentPublishersKeepEveryReferrer(t *testing.T) {
	for _, referrersAPI := range []bool{true, false} {
		ctx := context.Background()
		repo, image := testRegistry(t, referrersAPI)
		const n = 8
		objs := make([]Object, n)
		for i := range objs {
			objs[i] = releaseObject(t, t0.Add(time.Duration(i)*time.Minute), "CVE-1", image)
			if i%2 == 1 {
				objs[i].Subjects = nil // the statement's subjects are used
			}
		}
		errs := make(chan error, n)
		for i := range objs {
			go func() {
				store, err := NewOCI(repo, nil)
				if err == nil {
					_, err = store.Publish(ctx, objs[i])
				}
				errs <- err
			}()
		}
		for range n {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		store, _ := NewOCI(repo, nil)
		atts, err := store.Referrers(ctx, image)
		if err != nil {
			t.Fatal(err)
		}
		if len(atts) != n {
			t.Errorf("referrers API %v: %d referrers listed, want %d", referrersAPI, len(atts), n)
		}
	}
}
