package cli

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/examples/demo"
	"github.com/vexloom/vexloom/internal/attest"
	"github.com/vexloom/vexloom/internal/digest"
	"github.com/vexloom/vexloom/internal/fixture"
	"github.com/vexloom/vexloom/internal/publish"
	"github.com/vexloom/vexloom/internal/vex"
	"github.com/vexloom/vexloom/internal/vexformat"
)

// A base image whose publisher serves its VEX as a vex-repo feed (what
// vexloom publish --to feed writes), over HTTP on loopback, named in
// releases.base_images: the statement signed by the trusted key is carried
// into the derived image's document; the one signed by another key and the
// one published unsigned are each named on one line and never count, and
// so is a feed that is not there.
func TestImagesBaseVEXFromFeed(t *testing.T) {
	t.Parallel()
	cache := t.TempDir()
	dir := t.TempDir()
	vars := append(os.Environ(), "SOURCE_DATE_EPOCH=1795000000")
	runCmd := func(args ...string) (string, string, int) {
		var out, errb bytes.Buffer
		g := &globals{now: func() time.Time { return fixture.Now }, env: vars}
		code := run(context.Background(), g, append([]string{"--cache-dir", cache}, args...), strings.NewReader(""), &out, &errb)
		return out.String(), errb.String(), code
	}
	if _, err := demo.Create(context.Background(), filepath.Join(dir, "repo")); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "vexloom.yaml")
	if _, stderr, code := runCmd("init", "-o", cfg, "--module", demo.Module, "--repository", "repo", "--branch", "main"); code != 0 {
		t.Fatalf("init: %s", stderr)
	}

	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	host := strings.TrimPrefix(reg.URL, "http://")
	base, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layer(t, map[string]string{
		"var/lib/dpkg/status": "Package: libc6\nStatus: install ok installed\nVersion: 2.36-9+deb12u10\n\nPackage: zlib1g\nStatus: install ok installed\nVersion: 1:1.2.13.dfsg-1\n",
	}))
	if err != nil {
		t.Fatal(err)
	}
	baseRepo := host + "/base/debian-base"
	baseDigest := pushImage2(t, baseRepo+":bookworm", base)
	// The release image names no base in annotations: the configuration does.
	derived, err := mutate.AppendLayers(base, layer(t, map[string]string{"usr/local/bin/kube-proxy": "not really a binary"}))
	if err != nil {
		t.Fatal(err)
	}
	relRepo := host + "/release/kube-proxy"
	derivedDigest := pushImage2(t, relRepo+":v1", derived)

	// The base publisher's feed: one document signed with its key, one
	// signed by a forger, one published unsigned.
	feedDir := t.TempDir()
	srv := httptest.NewServer(http.FileServer(http.Dir(feedDir)))
	defer srv.Close()
	local, err := publish.NewLocal(t.TempDir(), func() time.Time { return fixture.Now })
	if err != nil {
		t.Fatal(err)
	}
	feed, err := publish.NewFeed(publish.FeedConfig{Name: "Debian base VEX", Description: "VEX of the Debian base images", BaseURL: srv.URL, Dir: feedDir}, local)
	if err != nil {
		t.Fatal(err)
	}
	basePURL := "pkg:oci/debian-base@" + baseDigest.String() + "?repository_url=" + baseRepo
	statement := func(vuln, pkg string) *openvex.VEX {
		ts := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		doc := vex.NewDocument("Debian base image maintainers", "", ts)
		doc.Statements = []openvex.Statement{{
			Vulnerability: openvex.Vulnerability{Name: openvex.VulnerabilityID(vuln)}, Timestamp: &ts,
			Products: []openvex.Product{{
				Component:     openvex.Component{ID: basePURL, Hashes: map[openvex.Algorithm]openvex.Hash{openvex.SHA256: openvex.Hash(baseDigest.Hex)}},
				Subcomponents: []openvex.Subcomponent{{Component: openvex.Component{ID: pkg}}},
			}},
			Status: openvex.StatusNotAffected, Justification: openvex.VulnerableCodeNotInExecutePath,
		}}
		if err := vex.Finalize(doc); err != nil {
			t.Fatal(err)
		}
		return doc
	}
	basePriv, basePub := keyPair(t, dir, "base")
	forgerPriv, _ := keyPair(t, dir, "forger")
	libc, zlib := "pkg:deb/debian/libc6@2.36-9+deb12u10?arch=amd64", "pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?arch=amd64"
	subject := []publish.Subject{digest.SubjectOf(basePURL, publish.Digest{Algorithm: "sha256", Hex: baseDigest.Hex})}
	for i, c := range []struct {
		doc *openvex.VEX
		key string
	}{
		{statement("CVE-2024-1111", libc), basePriv},
		{statement("CVE-2025-3333", zlib), forgerPriv},
		{statement("CVE-2025-4444", libc), ""},
	} {
		body, err := vex.Marshal(c.doc)
		if err != nil {
			t.Fatal(err)
		}
		obj := publish.Object{Document: body, Products: []string{basePURL}, Kind: publish.KindBranch, Ref: "bookworm"}
		if c.key != "" {
			bf := filepath.Join(dir, "feed-"+string(rune('a'+i))+".bundle")
			signTestDocument(t, c.doc, c.key, bf)
			if obj.Bundle, err = os.ReadFile(bf); err != nil {
				t.Fatal(err)
			}
			obj.Kind, obj.Subjects = publish.KindRelease, subject
		}
		if _, err := feed.Publish(context.Background(), obj); err != nil {
			t.Fatal(err)
		}
	}

	f, err := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("releases:\n  base_vex_key: " + filepath.Base(basePub) + "\n  base_images:\n    - image: " + relRepo +
		"\n      base: " + baseRepo + "@" + baseDigest.String() + "\n      vex: [\"feed:" + srv.URL + "\", \"feed:" + srv.URL + "/nowhere\"]\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()

	report := `{"SchemaVersion": 2, "ArtifactName": "` + relRepo + `:v1", "ArtifactType": "container_image",
	  "Metadata": {"RepoDigests": ["` + relRepo + `@` + derivedDigest.String() + `"]},
	  "Results": [{"Target": "kube-proxy (debian 12.7)", "Class": "os-pkgs", "Type": "debian", "Vulnerabilities": [
	    {"VulnerabilityID": "CVE-2024-1111", "PkgName": "libc6", "InstalledVersion": "2.36-9+deb12u10",
	     "PkgIdentifier": {"PURL": "pkg:deb/debian/libc6@2.36-9%2Bdeb12u10?arch=amd64&distro=debian-12.7"}},
	    {"VulnerabilityID": "CVE-2025-3333", "PkgName": "zlib1g", "InstalledVersion": "1:1.2.13.dfsg-1",
	     "PkgIdentifier": {"PURL": "pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1?arch=amd64&distro=debian-12.7"}},
	    {"VulnerabilityID": "CVE-2025-4444", "PkgName": "libc6", "InstalledVersion": "2.36-9+deb12u10",
	     "PkgIdentifier": {"PURL": "pkg:deb/debian/libc6@2.36-9%2Bdeb12u10?arch=amd64&distro=debian-12.7"}}]}]}`
	reportFile := filepath.Join(dir, "trivy.json")
	if err := os.WriteFile(reportFile, []byte(report), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := runCmd("images", "ingest", reportFile, "--release", "v1", "--image", relRepo+":v1", "--config", cfg)
	if code != ExitError {
		t.Errorf("exit %d, want 1 (inputs not counted)\n%s\n%s", code, out, stderr)
	}
	if strings.Count(stderr, "verified, signed by") != 1 || strings.Count(stderr, "not counted: "+attest.ErrSignature.Error()) != 1 {
		t.Errorf("what the feed held is not told apart:\n%s", stderr)
	}
	if !strings.Contains(stderr, srv.URL+" pkg/oci/debian-base/vex.json: not counted: unsigned (2 statements about the base image's packages)") {
		t.Errorf("the unsigned feed document is not named:\n%s", stderr)
	}
	// A feed that is not there is one line; the other is still read.
	if !strings.Contains(stderr, "images: base VEX feed:"+srv.URL+"/nowhere: GET "+srv.URL+"/nowhere/.well-known/vex-repository.json: 404 Not Found; nothing read from it") {
		t.Errorf("the missing feed is not named:\n%s", stderr)
	}
	if !strings.Contains(out, "3 findings in packages of the image (1 covered by the base image's VEX), 3 new triages") {
		t.Errorf("summary:\n%s", out)
	}

	doc, stderr, code := runCmd("images", "vex", "--release", "v1", "--config", cfg)
	if code != 0 {
		t.Fatalf("images vex: %s", stderr)
	}
	parsed, _, err := vexformat.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]vex.Fact{}
	for _, f := range vex.Facts(parsed) {
		got[string(f.Vulnerability.Name)] = f
	}
	if f := got["CVE-2024-1111"]; f.Status != openvex.StatusNotAffected || !strings.HasPrefix(f.Product.ID, "pkg:oci/kube-proxy@"+derivedDigest.String()) ||
		!strings.Contains(f.StatusNotes, "Inherited from the VEX of the base image "+baseRepo) {
		t.Errorf("the feed's signed statement for the derived image: %+v", f)
	}
	for _, v := range []string{"CVE-2025-3333", "CVE-2025-4444"} {
		if f := got[v]; f.Status != openvex.StatusUnderInvestigation {
			t.Errorf("%s (forged or unsigned in the feed) counted: %+v", v, f)
		}
	}
}
