package artifact

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/purl"
)

// releaseIndex is a multi-arch demo image: linux/amd64 and linux/arm64/v8
// carrying the demo binary, plus a BuildKit-style attestation manifest.
type releaseIndex struct {
	Index        v1.ImageIndex
	AMD64, ARM64 v1.Image
	Attestation  v1.Image
}

func demoIndex(t *testing.T, b demoBuilds) releaseIndex {
	t.Helper()
	amd := imageOf(t, v1.Platform{OS: "linux", Architecture: "amd64"},
		layerOf(t, tarBytes(t,
			entry{Name: "usr/", Type: '5'}, entry{Name: "usr/local/", Type: '5'}, entry{Name: "usr/local/bin/", Type: '5'},
			entry{Name: "usr/local/bin/demo", Body: readFile(t, b.MainAMD64)},
			entry{Name: "usr/local/bin/old-demo", Body: readFile(t, b.Release)},
		)),
		layerOf(t, tarBytes(t, entry{Name: "usr/local/bin/.wh.old-demo", Mode: 0o644})),
	)
	arm := imageOf(t, v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"},
		layerOf(t, tarBytes(t, entry{Name: "/usr/local/bin/demo", Body: readFile(t, b.MainARM64)})))
	amdDigest, err := amd.Digest()
	if err != nil {
		t.Fatal(err)
	}
	att, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1),
		static.NewLayer([]byte(`{"_type":"https://in-toto.io/Statement/v1"}`), "application/vnd.in-toto+json"))
	if err != nil {
		t.Fatal(err)
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}}},
		mutate.IndexAddendum{Add: att, Descriptor: v1.Descriptor{
			Platform: &v1.Platform{OS: "unknown", Architecture: "unknown"},
			Annotations: map[string]string{
				"vnd.docker.reference.type":   "attestation-manifest",
				"vnd.docker.reference.digest": amdDigest.String(),
			},
		}},
	)
	return releaseIndex{Index: idx, AMD64: amd, ARM64: arm, Attestation: att}
}

func digestOf(t *testing.T, d interface{ Digest() (v1.Hash, error) }) string {
	t.Helper()
	h, err := d.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

func TestResolveImageIndex(t *testing.T) {
	ctx := context.Background()
	host := newRegistry(t)
	ri := demoIndex(t, demoBinaries(t))
	tag := host + "/vexloom/demo:v1.0.0"
	ref, err := name.ParseReference(tag)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, ri.Index); err != nil {
		t.Fatal(err)
	}
	indexDigest := digestOf(t, ri.Index)

	for _, r := range []string{tag, host + "/vexloom/demo@" + indexDigest} {
		t.Run(r, func(t *testing.T) {
			ps, err := ResolveImage(ctx, r)
			if err != nil {
				t.Fatal(err)
			}
			if len(ps) != 2 {
				t.Fatalf("got %d platforms, want 2 (the attestation manifest skipped): %+v", len(ps), ps)
			}
			want := []struct{ plat, digest string }{
				{"linux/amd64", digestOf(t, ri.AMD64)},
				{"linux/arm64/v8", digestOf(t, ri.ARM64)},
			}
			for i, p := range ps {
				if p.String() != want[i].plat || p.Digest != want[i].digest {
					t.Errorf("platform %d = %s %s, want %s %s", i, p, p.Digest, want[i].plat, want[i].digest)
				}
				if p.Repository != host+"/vexloom/demo" || p.Name != "demo" || p.Index != indexDigest {
					t.Errorf("platform %d = repository %q name %q index %q", i, p.Repository, p.Name, p.Index)
				}
				got, err := p.Image.Digest()
				if err != nil || got.String() != p.Digest {
					t.Errorf("platform %d image digest = %v, %v; want %s", i, got, err, p.Digest)
				}
				if p.Ref() != p.Repository+"@"+p.Digest {
					t.Errorf("Ref() = %s", p.Ref())
				}
			}
		})
	}
}

func TestResolveImageSingle(t *testing.T) {
	ctx := context.Background()
	host := newRegistry(t)
	img := imageOf(t, v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"},
		layerOf(t, tarBytes(t, entry{Name: "hello.txt", Body: []byte("hello")})))
	ref, _ := name.ParseReference(host + "/tools/hello:latest")
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	ps, err := ResolveImage(ctx, host+"/tools/hello")
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 {
		t.Fatalf("got %d platforms, want 1", len(ps))
	}
	p := ps[0]
	if p.String() != "linux/arm/v7" || p.Digest != digestOf(t, img) || p.Index != "" || p.Name != "hello" || p.Repository != host+"/tools/hello" {
		t.Errorf("got %+v", p)
	}
}

func TestResolveImageErrors(t *testing.T) {
	ctx := context.Background()
	host := newRegistry(t)

	// An index of nothing but attestations describes no runnable image.
	att, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1),
		static.NewLayer([]byte(`{}`), "application/vnd.in-toto+json"))
	if err != nil {
		t.Fatal(err)
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: att, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "unknown", Architecture: "unknown"}}})
	ref, _ := name.ParseReference(host + "/only/attestations:v1")
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		ref  string
		is   error
		text string
	}{
		{ref: "UPPER/Case:tag", is: ErrReference},
		{ref: "", is: ErrReference},
		{ref: host + "/only/attestations:v1", is: ErrNoPlatform},
		{ref: host + "/missing/image:v1", is: ErrNotFound, text: "missing/image"},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			_, err := ResolveImage(ctx, tt.ref)
			if err == nil {
				t.Fatal("no error")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %q is not %v", err, tt.is)
			}
			if tt.text != "" && !strings.Contains(err.Error(), tt.text) {
				t.Errorf("error %q does not say %q", err, tt.text)
			}
		})
	}
}

func TestImageProduct(t *testing.T) {
	hex := strings.Repeat("ab", 32)
	p := Platform{Repository: "registry.k8s.io/kube-apiserver", Name: "kube-apiserver", Digest: "sha256:" + hex, OS: "linux", Arch: "amd64"}
	prod := ImageProduct(p)
	want := "pkg:oci/kube-apiserver@sha256:" + hex + "?repository_url=registry.k8s.io/kube-apiserver"
	if prod.ID != want || prod.Identifiers[openvex.PURL] != want {
		t.Errorf("product = %q / %q, want %q", prod.ID, prod.Identifiers[openvex.PURL], want)
	}
	if got := prod.Hashes[openvex.SHA256]; string(got) != hex {
		t.Errorf("sha-256 = %q, want %q", got, hex)
	}
	if strings.Contains(prod.ID, "tag=") || strings.Contains(prod.ID, "arch=") {
		t.Errorf("product %s carries a qualifier DESIGN.md keeps out", prod.ID)
	}
	// vexloom writes purls in normal form: reading it back changes nothing.
	if n, err := purl.Normalize(prod.ID); err != nil || n != prod.ID {
		t.Errorf("NormalizePURL(%s) = %s, %v", prod.ID, n, err)
	}
	// What scanners ask must match: Grype with and without arch, with tag
	// when scanned by tag; Trivy with arch. Another digest must not.
	for _, q := range []string{
		want,
		"pkg:oci/kube-apiserver@sha256:" + hex + "?arch=amd64&repository_url=registry.k8s.io/kube-apiserver",
		"pkg:oci/kube-apiserver@sha256:" + hex + "?arch=amd64&repository_url=registry.k8s.io/kube-apiserver&tag=v1.34.2",
	} {
		if !prod.Matches(q, "") {
			t.Errorf("product does not match the query %s", q)
		}
	}
	other := "pkg:oci/kube-apiserver@sha256:" + strings.Repeat("cd", 32) + "?repository_url=registry.k8s.io/kube-apiserver"
	if prod.Matches(other, "") {
		t.Errorf("product matches another digest")
	}
	st := openvex.Statement{
		Vulnerability: openvex.Vulnerability{Name: "CVE-2024-45338"},
		Products:      []openvex.Product{prod},
		Status:        openvex.StatusNotAffected,
		Justification: openvex.VulnerableCodeNotInExecutePath,
	}
	if err := st.Validate(); err != nil {
		t.Errorf("statement on the product does not validate: %v", err)
	}
}
