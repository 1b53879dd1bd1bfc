package publish

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	openvex "github.com/openvex/go-vex/pkg/vex"
	"github.com/package-url/packageurl-go"

	"github.com/vexloom/vexloom/internal/digest"
)

// FuzzPackageLocation checks that no package URL maps to a path outside the
// feed, and that distinct packages never share a path.
func FuzzPackageLocation(f *testing.F) {
	for _, s := range []string{
		"pkg:golang/k8s.io/kubernetes",
		"pkg:oci/kube-apiserver",
		"pkg:npm/%40angular/core",
		"pkg:generic/..",
		"pkg:generic/.",
		"pkg:golang/a%2F..%2F..%2Fetc/passwd",
		"pkg:golang/%2E%2E/%2E%2E/x",
		"pkg:deb/debian/curl",
		"pkg:x/a/b/c/d/e",
		"pkg:golang/C:%5Cwindows/x",
		"pkg:generic/a%00b",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		loc, err := PackageLocation(id)
		if err != nil {
			return
		}
		if !safeLocation(loc) {
			t.Fatalf("%q → unsafe location %q", id, loc)
		}
		// The mapping is injective: the segments decode back to the
		// package URL's parts.
		p, err := packageurl.FromString(id)
		if err != nil {
			t.Fatalf("accepted %q that does not parse: %v", id, err)
		}
		segs := strings.Split(strings.TrimSuffix(strings.TrimPrefix(loc, "pkg/"), "/vex.json"), "/")
		var dec []string
		for _, s := range segs {
			u, err := url.PathUnescape(s)
			if err != nil {
				t.Fatalf("%q → segment %q does not unescape: %v", id, s, err)
			}
			dec = append(dec, u)
		}
		want := []string{strings.ToLower(p.Type)}
		if p.Namespace != "" {
			want = append(want, strings.Split(p.Namespace, "/")...)
		}
		want = append(want, p.Name)
		if strings.Join(dec, "\x00") != strings.Join(want, "\x00") {
			t.Fatalf("%q → %q decodes to %q, want %q", id, loc, dec, want)
		}
	})
}

// FuzzCheck feeds arbitrary documents and bundles to the object check that
// every store runs first: it must return ErrInvalidObject or accept, never
// panic.
func FuzzCheck(f *testing.F) {
	doc := docBytes(f, t0, stmt("CVE-1", kube, openvex.StatusNotAffected, t0, xnet))
	bin := digestOf("bin")
	f.Add(doc, signedBundle(f, doc, bin), bin.Hex)
	f.Add(doc, []byte(nil), bin.Hex)
	f.Add([]byte(`{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{}]}`), []byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`), "")
	f.Add([]byte(`{}`), []byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"x"}},"dsseEnvelope":{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"AA=="}]}}`), bin.Hex)
	f.Fuzz(func(t *testing.T, document, bundle []byte, subject string) {
		obj := Object{Document: document, Bundle: bundle, Products: []string{kube}, Kind: KindRelease, Ref: "v1"}
		if subject != "" {
			obj.Subjects = []Subject{digest.SubjectOf("", Digest{Algorithm: "sha256", Hex: subject})}
		}
		c, err := Check(obj)
		if err != nil {
			if !errors.Is(err, ErrInvalidObject) {
				t.Fatalf("error does not wrap ErrInvalidObject: %v", err)
			}
			return
		}
		if c.Document == nil || (bundle != nil && !strings.HasPrefix(c.PredicateType, OpenVEXPredicatePrefix)) {
			t.Fatalf("accepted without a document or an OpenVEX predicate: %+v", c)
		}
	})
}

// FuzzBuildFeed feeds arbitrary documents to the feed generator: it must
// refuse them or produce a feed whose every location is safe.
func FuzzBuildFeed(f *testing.F) {
	for _, d := range feedDocs(f) {
		f.Add(d)
	}
	f.Add([]byte(`{"@context":"https://openvex.dev/ns/v0.2.0","@id":"x","author":"a","timestamp":"2026-01-01T00:00:00Z","version":1,"statements":[{"vulnerability":{"name":"CVE-1"},"products":[{"@id":"pkg:generic/..%2F..%2Fetc"}],"status":"fixed"}]}`))
	cfg := FeedConfig{Name: "n", Description: "d", BaseURL: "https://vex.example.org", UpdateInterval: time.Hour}
	f.Fuzz(func(t *testing.T, doc []byte) {
		s, err := BuildFeed(cfg, [][]byte{doc}, time.Time{})
		if err != nil {
			return
		}
		for _, p := range s.Packages {
			if !safeLocation(p.Location) {
				t.Fatalf("unsafe location %q for %q", p.Location, p.ID)
			}
		}
	})
}
