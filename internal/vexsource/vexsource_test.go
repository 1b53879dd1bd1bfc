package vexsource

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-github/v75/github"
	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/attest"
	"github.com/vexloom/vexloom/internal/digest"
	"github.com/vexloom/vexloom/internal/fixture"
	"github.com/vexloom/vexloom/internal/ghfake"
	"github.com/vexloom/vexloom/internal/publish"
	"github.com/vexloom/vexloom/internal/vex"
)

// about is a document saying not_affected about an image platform.
func about(d digest.Digest) *openvex.VEX {
	doc := seedDocument()
	doc.Statements[0].Products = []openvex.Product{{Component: openvex.Component{
		ID:     "pkg:oci/app@" + d.String() + "?repository_url=registry.example/app",
		Hashes: map[openvex.Algorithm]openvex.Hash{openvex.SHA256: openvex.Hash(d.Hex)},
	}}}
	return doc
}

// signed signs doc with a new key; it returns the bundle and the policy
// that verifies it.
func signed(t *testing.T, doc *openvex.VEX) ([]byte, attest.TrustPolicy) {
	t.Helper()
	priv, pub, err := attest.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	key, err := attest.LoadPrivateKey(priv, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := attest.Statement(doc)
	if err != nil {
		t.Fatal(err)
	}
	b, err := attest.Sign(context.Background(), st, key)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := attest.LoadPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return b, attest.TrustPolicy{PublicKey: pk}
}

func object(t *testing.T, doc *openvex.VEX, bundle []byte, d digest.Digest) publish.Object {
	t.Helper()
	body, err := vex.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	pd, err := publish.ParseDigest(d.String())
	if err != nil {
		t.Fatal(err)
	}
	return publish.Object{Bundle: bundle, Document: body, Kind: publish.KindRelease, Ref: "v1",
		Products: []string{doc.Statements[0].Products[0].ID}, Subjects: []publish.Subject{digest.SubjectOf("app", pd)}}
}

func digestOf(s string) digest.Digest {
	sum := sha256.Sum256([]byte(s))
	return digest.Digest{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
}

func TestOpenSpecs(t *testing.T) {
	o := Options{GitHub: func(context.Context) (*github.Client, error) { return nil, errors.New("no") }}
	for spec, want := range map[string]Kind{
		"store": KindLocal, "local": KindLocal, "local:/tmp/x": KindLocal,
		"oci:registry.example/app:v1": KindOCI, "github:org/repo": KindGitHub,
		"feed:https://vex.example/feed": KindFeed, "feed:/srv/feed": KindFeed,
		"vex/": KindFile, "doc.openvex.json": KindFile,
	} {
		src, err := Open(spec, o)
		if err != nil || src.Kind() != want || src.String() != spec {
			t.Errorf("Open(%q) = %v, %v; want a %s source", spec, src, err, want)
		}
	}
	for _, spec := range []string{"", "local:", "feed:", "feed:ftp://x", "feed:http://"} {
		if _, err := Open(spec, o); !errors.Is(err, ErrSpec) {
			t.Errorf("Open(%q): %v, want ErrSpec", spec, err)
		}
	}
	if _, err := Open("oci:Not A Reference", o); err == nil {
		t.Error("Open(oci:<bad reference>) opened")
	}
}

func TestFilesAndDirectories(t *testing.T) {
	ctx := context.Background()
	d := digestOf("app")
	doc := about(d)
	bundle, _ := signed(t, doc)
	plain, err := vex.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	st, err := attest.Statement(doc)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, data := range map[string][]byte{
		"a.openvex.json": plain, "b.intoto.json": st, "c.sigstore.json": bundle,
		"d.json": []byte(`{"other": 1}`), "notes.txt": []byte("x"), ".git/e.json": plain,
	} {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var notes bytes.Buffer
	src, err := Open(dir, Options{Notes: &notes})
	if err != nil {
		t.Fatal(err)
	}
	docs, err := src.Documents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var forms []attest.Form
	for _, d := range docs {
		forms = append(forms, d.Form)
	}
	if want := []attest.Form{attest.FormOpenVEX, attest.FormStatement, attest.FormBundle}; !slices.Equal(forms, want) {
		t.Errorf("forms %v, want %v", forms, want)
	}
	if !strings.Contains(notes.String(), "d.json: skipped") {
		t.Errorf("notes: %q", notes.String())
	}
	if docs[2].Bundle == nil || docs[2].VEX != nil || docs[0].VEX == nil || docs[0].Bundle != nil {
		t.Error("a bundle is kept for verification, an unsigned document is read")
	}
	// One file that is not VEX is an error; so is one that does not exist.
	for _, f := range []string{filepath.Join(dir, "d.json"), filepath.Join(dir, "missing.json")} {
		src, _ := Open(f, Options{})
		if _, err := src.Documents(ctx); err == nil {
			t.Errorf("%s read", f)
		}
	}
	// What a file holds about another artifact is only what might be.
	got, err := src.About(ctx, digestOf("other"))
	if err != nil || len(got) != 1 || got[0].Bundle == nil {
		t.Errorf("About(other) = %d documents, %v; want the bundle only", len(got), err)
	}
}

func TestLocalStore(t *testing.T) {
	ctx := context.Background()
	d := digestOf("app")
	doc := about(d)
	bundle, pol := signed(t, doc)
	dir := filepath.Join(t.TempDir(), "published")
	var notes bytes.Buffer
	project := Options{Published: func() (string, error) { return dir, nil }, Notes: &notes}
	src, err := Open("store", project)
	if err != nil {
		t.Fatal(err)
	}
	if docs, err := src.Documents(ctx); err != nil || len(docs) != 0 || !strings.Contains(notes.String(), "nothing published") {
		t.Fatalf("an empty project store: %d documents, %v, %q", len(docs), err, notes.String())
	}
	if _, err := (&local{spec: "local:" + dir, dir: dir}).Documents(ctx); err == nil {
		t.Error("a local store named by a directory that does not exist is read as empty")
	}
	l, err := publish.NewLocal(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Publish(ctx, object(t, doc, bundle, d)); err != nil {
		t.Fatal(err)
	}
	docs, err := src.Documents(ctx)
	if err != nil || len(docs) != 1 || docs[0].Bundle == nil || !strings.HasPrefix(docs[0].Origin, "published sha256:") {
		t.Fatalf("Documents: %+v, %v", docs, err)
	}
	src, _ = Open("local:"+dir, Options{})
	p, err := Pull(ctx, src, d, pol)
	if err != nil || len(p.Verified()) != 1 {
		t.Fatalf("Pull: %+v, %v", p, err)
	}
	if p, err := Pull(ctx, src, digestOf("other"), pol); err != nil || len(p.Bundles) != 0 {
		t.Errorf("Pull(other): %+v, %v", p, err)
	}
}

func TestFeed(t *testing.T) {
	ctx := context.Background()
	d := digestOf("app")
	data, err := vex.Marshal(about(d))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()
	snap, err := publish.BuildFeed(publish.FeedConfig{Name: "n", Description: "d", BaseURL: srv.URL}, [][]byte{data}, fixture.Now)
	if err != nil {
		t.Fatal(err)
	}
	if err := snap.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	for _, spec := range []string{"feed:" + srv.URL, "feed:" + dir} {
		var notes bytes.Buffer
		src, err := Open(spec, Options{Notes: &notes})
		if err != nil {
			t.Fatal(err)
		}
		p, err := Pull(ctx, src, d, attest.TrustPolicy{})
		if err != nil || len(p.Bundles) != 0 || p.Unsigned != 1 {
			t.Errorf("%s: Pull = %+v, %v; want one unsigned statement", spec, p, err)
		}
		if !strings.Contains(notes.String(), "1 statement in 1 documents, unsigned") {
			t.Errorf("%s: notes %q", spec, notes.String())
		}
	}
	src, _ := Open("feed:"+srv.URL+"/nowhere/", Options{})
	if _, err := src.Documents(ctx); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("a missing feed: %v", err)
	}
}

func TestOCIReferrers(t *testing.T) {
	ctx := context.Background()
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	host := strings.TrimPrefix(reg.URL, "http://")
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(host + "/demo/app:v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
	h, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	d := digest.Digest{Algorithm: "sha256", Hex: h.Hex}
	var notes bytes.Buffer
	src, err := Open("oci:"+host+"/demo/app:v1", Options{Notes: &notes})
	if err != nil {
		t.Fatal(err)
	}
	if docs, err := src.Documents(ctx); err != nil || len(docs) != 0 || !strings.Contains(notes.String(), "no bundles attached") {
		t.Fatalf("nothing attached: %d, %v, %q", len(docs), err, notes.String())
	}
	doc := about(d)
	bundle, pol := signed(t, doc)
	store, err := publish.NewOCI(host+"/demo/app", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Publish(ctx, object(t, doc, bundle, d)); err != nil {
		t.Fatal(err)
	}
	docs, err := src.Documents(ctx)
	if err != nil || len(docs) != 1 || docs[0].Subject != d || !docs[0].Foreign {
		t.Fatalf("Documents: %+v, %v", docs, err)
	}
	p, err := Pull(ctx, src, d, pol)
	if err != nil || len(p.Verified()) != 1 {
		t.Fatalf("Pull: %+v, %v", p, err)
	}
	missing, _ := Open("oci:"+host+"/demo/missing:v1", Options{})
	if _, err := missing.Documents(ctx); err == nil || !strings.Contains(err.Error(), "resolving the image") {
		t.Errorf("a missing image: %v", err)
	}
}

func TestGitHubAttestations(t *testing.T) {
	ctx := context.Background()
	gh := ghfake.New(t)
	gh.CreateRepo("org/vex")
	gh.AddToken("tok", "release-bot")
	client := gh.Client(t, "tok")
	d := digestOf("app")
	doc := about(d)
	bundle, pol := signed(t, doc)
	store, err := publish.NewGitHub(client, "org/vex")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Publish(ctx, object(t, doc, bundle, d)); err != nil {
		t.Fatal(err)
	}
	src, err := Open("github:org/vex", Options{GitHub: func(context.Context) (*github.Client, error) { return client, nil }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Documents(ctx); !errors.Is(err, ErrNeedsArtifact) {
		t.Errorf("Documents: %v, want ErrNeedsArtifact", err)
	}
	p, err := Pull(ctx, src, d, pol)
	if err != nil || len(p.Verified()) != 1 || p.Bundles[0].ID != "attestation 1" {
		t.Fatalf("Pull: %+v, %v", p, err)
	}
	// Verified for another artifact, it is rejected.
	other, _ := signed(t, about(digestOf("other")))
	if _, err := store.Publish(ctx, object(t, about(digestOf("other")), other, digestOf("other"))); err != nil {
		t.Fatal(err)
	}
	if p, err := Pull(ctx, src, digestOf("other"), pol); err != nil || len(p.Bundles) != 1 || p.Bundles[0].Err == nil {
		t.Errorf("Pull(other) with another key: %+v, %v", p, err)
	}
	if p, err := Pull(ctx, src, digestOf("nothing"), pol); err != nil || len(p.Bundles) != 0 {
		t.Errorf("Pull(nothing): %+v, %v", p, err)
	}
}
