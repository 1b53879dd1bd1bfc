package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/publish"
	"github.com/vexloom/vexloom/internal/vex"
)

// releaseDocument writes a release-shaped OpenVEX document about an image
// pushed to a registry on loopback, and returns its path, the image's
// repository and digest.
func releaseDocument(t *testing.T, dir string) (path, repo, digest string) {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0)), registry.WithReferrersSupport(true)))
	t.Cleanup(srv.Close)
	repo = strings.TrimPrefix(srv.URL, "http://") + "/demo/app"
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := name.ParseReference(repo + ":v1.0.0")
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	digest = d.String()
	purl := "pkg:oci/app@" + digest + "?repository_url=" + repo
	ts := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	doc := vex.NewDocument("demo maintainers", "vexloom test", ts)
	doc.ID = "https://openvex.dev/docs/public/vex-test"
	doc.Statements = []openvex.Statement{
		{
			Vulnerability: openvex.Vulnerability{Name: "CVE-2024-45338", Aliases: []openvex.VulnerabilityID{"GO-2024-3333"}},
			Products: []openvex.Product{{
				Component:     openvex.Component{ID: purl, Hashes: map[openvex.Algorithm]openvex.Hash{openvex.SHA256: openvex.Hash(d.Hex)}},
				Subcomponents: []openvex.Subcomponent{{Component: openvex.Component{ID: "pkg:golang/golang.org/x/net@v0.32.0"}}},
			}},
			Status: openvex.StatusNotAffected, Justification: openvex.VulnerableCodeNotInExecutePath, Timestamp: &ts,
		},
		{
			Vulnerability: openvex.Vulnerability{Name: "CVE-2020-26160"},
			Products:      []openvex.Product{{Component: openvex.Component{ID: purl, Hashes: map[openvex.Algorithm]openvex.Hash{openvex.SHA256: openvex.Hash(d.Hex)}}}},
			Status:        openvex.StatusUnderInvestigation, Timestamp: &ts,
		},
	}
	if err := vex.Finalize(doc); err != nil {
		t.Fatal(err)
	}
	data, err := vex.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(dir, "release.openvex.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path, repo, digest
}

func TestSignVerifyPublish(t *testing.T) {
	t.Parallel()
	p := newTestProject(t)
	dir := t.TempDir()
	doc, repo, digest := releaseDocument(t, dir)
	key := filepath.Join(dir, "release")
	p.ok("keygen", "--out", key)
	if fi, err := os.Stat(key + ".key"); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("private key mode: %v %v", fi, err)
	}
	if _, stderr, code := p.run("keygen", "--out", key); code != 1 || !strings.Contains(stderr, "exists") {
		t.Errorf("keygen over a key: exit %d %s", code, stderr)
	}
	other := filepath.Join(dir, "other")
	p.ok("keygen", "--out", other)

	bundle := filepath.Join(dir, "release.bundle.json")
	p.ok("attest", doc, "--key", key+".key", "-o", bundle)

	// Verifies against the key and the image digest; prints the document.
	out := p.ok("verify", bundle, "--key", key+".pub", "--digest", digest)
	got, err := vex.Parse([]byte(out))
	if err != nil || len(got.Statements) != 2 {
		t.Fatalf("verified document: %v\n%s", err, out)
	}
	// Rejections, each with its reason and nothing printed.
	data, _ := os.ReadFile(bundle)
	tampered := filepath.Join(dir, "tampered.json")
	var b map[string]any
	json.Unmarshal(data, &b)
	env := b["dsseEnvelope"].(map[string]any)
	env["payload"] = strings.Replace(env["payload"].(string), "A", "B", 1)
	tb, _ := json.Marshal(b)
	os.WriteFile(tampered, tb, 0o644)
	malformed := filepath.Join(dir, "malformed.json")
	os.WriteFile(malformed, []byte(`{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"}`), 0o644)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"verify", bundle, "--key", other + ".pub", "--digest", digest}, 3, "signature"},
		{[]string{"verify", tampered, "--key", key + ".pub", "--without-artifact"}, 3, "does not verify"},
		{[]string{"verify", bundle, "--key", key + ".pub", "--digest", "sha256:" + strings.Repeat("0", 64)}, 3, "subject"},
		{[]string{"verify", malformed, "--key", key + ".pub", "--without-artifact"}, 3, "malformed"},

		{[]string{"verify", bundle, "--digest", digest}, 2, "--key"},
		{[]string{"attest", doc}, 2, "--key"},
		{[]string{"attest", filepath.Join(dir, "missing.json"), "--key", key + ".key"}, 1, "missing.json"},
	} {
		out, stderr, code := p.run(tc.args...)
		if code != tc.code || !strings.Contains(strings.ToLower(stderr), tc.want) || (code != 0 && out != "") {
			t.Errorf("%v: exit %d (want %d), stderr %q, stdout %q", tc.args, code, tc.code, stderr, out)
		}
	}

	// Publish: signed here, under the default policy (under_investigation
	// is held back, and recorded), to the local store, the feed and the
	// image's registry as a referrer.
	out, stderr, code := p.cmd("publish", doc, "--ref", "v1.0.0", "--key", key+".key", "--to", "local", "--to", "feed", "--to", "oci:"+repo, "--feed-url", "https://vex.example/feed")
	if code != 0 {
		t.Fatalf("publish: exit %d\n%s\n%s", code, out, stderr)
	}
	if !strings.Contains(stderr, "held: CVE-2020-26160") {
		t.Errorf("nothing held: %s", stderr)
	}
	for _, want := range []string{"local:", "feed:", "oci:"} {
		if !strings.Contains(out, want) {
			t.Errorf("publish output lacks %s:\n%s", want, out)
		}
	}
	local, err := publish.NewLocal(filepath.Join(p.dir, ".vexloom", "published"), nil)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := local.List(t.Context(), publish.Query{})
	if err != nil || len(recs) != 1 || recs[0].Object.Bundle == nil {
		t.Fatalf("local store: %v %+v", err, recs)
	}
	if bytes.Contains(recs[0].Object.Document, []byte("CVE-2020-26160")) {
		t.Error("a held statement was published")
	}
	// The referrer is on the image, and what it carries verifies.
	oci, err := publish.NewOCI(repo, nil)
	if err != nil {
		t.Fatal(err)
	}
	pd, _ := publish.ParseDigest(digest)
	atts, err := oci.Referrers(t.Context(), pd)
	if err != nil || len(atts) != 1 {
		t.Fatalf("referrers: %v %d", err, len(atts))
	}
	// The feed was written for trivy.
	if _, err := os.Stat(filepath.Join(p.dir, "vex", "feed", "index.json")); err != nil {
		t.Errorf("feed: %v", err)
	}
	// Publishing again keeps history: the same object is not duplicated; a
	// signed bundle is published as it is.
	p.ok("publish", bundle, "--ref", "v1.0.0", "--config", p.cfg)
	recs, _ = local.List(t.Context(), publish.Query{})
	if len(recs) != 2 {
		t.Errorf("after publishing the bundle: %d records", len(recs))
	}
	if _, stderr, code := p.cmd("publish", bundle, "--ref", "v1.0.0", "--key", key+".key", "--config", p.cfg); code != 2 || !strings.Contains(stderr, "already signed") {
		t.Errorf("a bundle with --key: exit %d %s", code, stderr)
	}
	if _, stderr, code := p.cmd("publish", doc, "--ref", "v1.0.0"); code != 2 || !strings.Contains(stderr, "signed") {
		t.Errorf("an unsigned release: exit %d %s", code, stderr)
	}
	if _, stderr, code := p.cmd("publish", doc, "--ref", "v1.0.0", "--key", key+".key", "--to", "ftp:x"); code != 2 || !strings.Contains(stderr, "--to") {
		t.Errorf("a bad store: exit %d %s", code, stderr)
	}
}
