package cli

import (
	"archive/tar"
	"bytes"
	"context"
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
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/examples/demo"
	"github.com/vexloom/vexloom/internal/artifact"
	"github.com/vexloom/vexloom/internal/digest"
	"github.com/vexloom/vexloom/internal/fixture"
	"github.com/vexloom/vexloom/internal/imagevex"
	"github.com/vexloom/vexloom/internal/publish"
	"github.com/vexloom/vexloom/internal/scanreport"
	"github.com/vexloom/vexloom/internal/schematest"
	"github.com/vexloom/vexloom/internal/vex"
	"github.com/vexloom/vexloom/internal/vexformat"
)

// layer is an image layer holding the given files.
func layer(t *testing.T, files map[string]string) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), ModTime: time.Unix(0, 0)}); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return static.NewLayer(buf.Bytes(), types.OCILayer)
}

func pushImage2(t *testing.T, ref string, img v1.Image) v1.Hash {
	t.Helper()
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// attachVEX signs a base VEX document with a key and attaches it to the
// base image as publish --to oci does.
func attachVEX(t *testing.T, repo string, doc *openvex.VEX, keyFile, dir, file string, subject v1.Hash, purl string) {
	t.Helper()
	bf := filepath.Join(dir, file)
	signTestDocument(t, doc, keyFile, bf)
	b, err := os.ReadFile(bf)
	if err != nil {
		t.Fatal(err)
	}
	pred, err := vex.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	st, err := publish.NewOCI(repo, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Publish(context.Background(), publish.Object{Bundle: b, Document: pred, Kind: publish.KindRelease, Ref: "bookworm",
		Products: []string{purl}, Subjects: []publish.Subject{digest.SubjectOf(purl, publish.Digest{Algorithm: "sha256", Hex: subject.Hex})}}); err != nil {
		t.Fatal(err)
	}
}

// attachUnsigned attaches body to the image subject in repo as a referrer
// shaped like a bundle (its artifact and layer media types), unsigned: what
// anyone who may push to the repository can do.
func attachUnsigned(t *testing.T, repo string, subject v1.Hash, body []byte) {
	t.Helper()
	r, err := name.NewRepository(repo)
	if err != nil {
		t.Fatal(err)
	}
	empty := static.NewLayer([]byte("{}"), types.OCIEmptyJSON)
	layer := static.NewLayer(body, publish.BundleArtifactType)
	for _, l := range []v1.Layer{empty, layer} {
		if err := remote.WriteLayer(r, l); err != nil {
			t.Fatal(err)
		}
	}
	desc := func(l v1.Layer) v1.Descriptor {
		d, _ := l.Digest()
		n, _ := l.Size()
		mt, _ := l.MediaType()
		return v1.Descriptor{MediaType: mt, Digest: d, Size: n}
	}
	remoteSubject, err := remote.Get(r.Digest(subject.String()))
	if err != nil {
		t.Fatal(err)
	}
	m := v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, ArtifactType: publish.BundleArtifactType,
		Config: desc(empty), Layers: []v1.Descriptor{desc(layer)}, Subject: &remoteSubject.Descriptor}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	d, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Put(r.Digest(d.String()), rawManifest{raw, types.OCIManifestSchema1}); err != nil {
		t.Fatal(err)
	}
}

type rawManifest struct {
	raw []byte
	mt  types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.raw, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mt, nil }

// The whole loop for a release image, offline: a base image with a package
// list and an image built on it (naming its base in OCI annotations) on a
// loopback registry; the base's VEX signed by its publisher and attached as
// a referrer, and a forged one signed by someone else; a Trivy report of
// the derived image ingested. The base's verified statement answers its
// finding, the forged one is ignored, the other OS-package finding opens a
// triage that a maintainer answers, the Go finding is left to the
// project's analysis, and the release images' document, in every format,
// carries both decisions and validates against the official schemas.
func TestImagesConverge(t *testing.T) {
	// The shared scan cache: assemble below scans the demo's release.
	warmScans(t)
	cache := newEnv(t).cache
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

	// The base image: a Debian package list.
	base, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layer(t, map[string]string{
		"var/lib/dpkg/status": "Package: libc6\nStatus: install ok installed\nVersion: 2.36-9+deb12u10\n\nPackage: zlib1g\nStatus: install ok installed\nVersion: 1:1.2.13.dfsg-1\n",
	}))
	if err != nil {
		t.Fatal(err)
	}
	baseRepo := host + "/base/debian-base"
	baseDigest := pushImage2(t, baseRepo+":bookworm", base)
	// The release image, built on it, saying so in its annotations.
	derived, err := mutate.AppendLayers(base, layer(t, map[string]string{"usr/local/bin/kube-proxy": "not really a binary"}))
	if err != nil {
		t.Fatal(err)
	}
	derived = mutate.Annotations(derived, map[string]string{
		imagevex.AnnotationBaseName: baseRepo + ":bookworm", imagevex.AnnotationBaseDigest: baseDigest.String(),
	}).(v1.Image)
	relRepo := host + "/release/kube-proxy"
	derivedDigest := pushImage2(t, relRepo+":v1.34.2", derived)

	// The base publisher's VEX, and a forger's.
	basePURL := "pkg:oci/debian-base@" + baseDigest.String() + "?repository_url=" + baseRepo
	baseStatement := func(vuln, pkg string) *openvex.VEX {
		ts := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		doc := vex.NewDocument("Debian base image maintainers", "", ts)
		doc.Statements = []openvex.Statement{{
			Vulnerability: openvex.Vulnerability{Name: openvex.VulnerabilityID(vuln)}, Timestamp: &ts,
			Products: []openvex.Product{{
				Component:     openvex.Component{ID: basePURL, Hashes: map[openvex.Algorithm]openvex.Hash{openvex.SHA256: openvex.Hash(baseDigest.Hex)}},
				Subcomponents: []openvex.Subcomponent{{Component: openvex.Component{ID: pkg}}},
			}},
			Status: openvex.StatusNotAffected, Justification: openvex.VulnerableCodeNotInExecutePath,
			ImpactStatement: "The vulnerable iconv path is not used by anything in the image.",
		}}
		if err := vex.Finalize(doc); err != nil {
			t.Fatal(err)
		}
		return doc
	}
	basePriv, basePub := keyPair(t, dir, "base")
	forgerPriv, _ := keyPair(t, dir, "forger")
	attachVEX(t, baseRepo, baseStatement("CVE-2024-1111", "pkg:deb/debian/libc6@2.36-9+deb12u10?arch=amd64"), basePriv, dir, "base.bundle", baseDigest, basePURL)
	attachVEX(t, baseRepo, baseStatement("CVE-2025-3333", "pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?arch=amd64"), forgerPriv, dir, "forged.bundle", baseDigest, basePURL)
	// A statement about a package no scanner reports.
	attachVEX(t, baseRepo, baseStatement("CVE-2024-9999", "pkg:deb/debian/libc6@2.36-9+deb12u10?arch=amd64"), basePriv, dir, "base2.bundle", baseDigest, basePURL)

	// Trivy's report of the release image.
	report := `{"SchemaVersion": 2, "ArtifactName": "` + relRepo + `:v1.34.2", "ArtifactType": "container_image",
	  "Metadata": {"RepoDigests": ["` + relRepo + `@` + derivedDigest.String() + `"]},
	  "Results": [
	    {"Target": "kube-proxy (debian 12.7)", "Class": "os-pkgs", "Type": "debian", "Vulnerabilities": [
	      {"VulnerabilityID": "CVE-2024-1111", "PkgName": "libc6", "InstalledVersion": "2.36-9+deb12u10",
	       "PkgIdentifier": {"PURL": "pkg:deb/debian/libc6@2.36-9%2Bdeb12u10?arch=amd64&distro=debian-12.7"}},
	      {"VulnerabilityID": "CVE-2025-3333", "PkgName": "zlib1g", "InstalledVersion": "1:1.2.13.dfsg-1",
	       "PkgIdentifier": {"PURL": "pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1?arch=amd64&distro=debian-12.7"}}]},
	    {"Target": "usr/local/bin/kube-proxy", "Class": "lang-pkgs", "Type": "gobinary", "Vulnerabilities": [
	      {"VulnerabilityID": "CVE-2025-22871", "PkgName": "stdlib", "InstalledVersion": "v1.24.1", "PkgIdentifier": {"PURL": "pkg:golang/stdlib@v1.24.1"}}]}]}`
	reportFile := filepath.Join(dir, "trivy.json")
	if err := os.WriteFile(reportFile, []byte(report), 0o644); err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "truncated.json")
	if err := os.WriteFile(truncated, []byte(report[:200]), 0o644); err != nil {
		t.Fatal(err)
	}

	out, stderr, code := runCmd("images", "ingest", truncated, reportFile, "--release", "v1.34.2", "--image", relRepo+":v1.34.2",
		"--base-key", basePub, "--config", cfg)
	// The forged referrer and the truncated report are each named on one
	// line and skipped; the rest is recorded.
	if code != ExitError {
		t.Errorf("exit %d, want 1 (inputs skipped)\n%s\n%s", code, out, stderr)
	}
	if !strings.Contains(stderr, "truncated.json: malformed scanner report: not complete JSON") {
		t.Errorf("the truncated report is not named:\n%s", stderr)
	}
	if strings.Count(stderr, "not counted") != 1 || !strings.Contains(stderr, "verified, signed by") {
		t.Errorf("the forged base VEX is not the one refused:\n%s", stderr)
	}
	if !strings.Contains(out, "2 findings in packages of the image (1 covered by the base image's VEX), 2 new triages; 1 Go finding") ||
		!strings.Contains(out, "go: CVE-2025-22871 in pkg:golang/stdlib@v1.24.1: left to the project's own analysis") {
		t.Errorf("summary:\n%s", out)
	}

	// The zlib finding waits for a person; a maintainer answers it.
	list, stderr, code := runCmd("triage", "list", "--state", "all", "--format", "json", "--config", cfg)
	if code != 0 {
		t.Fatalf("triage list: %s", stderr)
	}
	if !strings.Contains(list, "pkg:deb/debian/zlib1g") || !strings.Contains(list, "pkg:deb/debian/libc6") {
		t.Fatalf("triage list does not show the image triages:\n%s", list)
	}
	zlibID := triageIDOf(t, list, "pkg:deb/debian/zlib1g")
	if out, stderr, code := runCmd("triage", "comment", zlibID, "--as", "demo-maintainer",
		"/not_affected:vulnerable_code_not_in_execute_path kube-proxy never inflates untrusted data", "--config", cfg); code != 0 {
		t.Fatalf("triage comment: exit %d\n%s\n%s", code, out, stderr)
	}

	// The release images' document carries the base's verified statement
	// (for the derived image) and the maintainer's decision.
	want := map[string]string{}
	for _, format := range vexformat.Formats {
		out, stderr, code := runCmd("images", "vex", "--release", "v1.34.2", "--format", string(format), "--config", cfg)
		if code != 0 {
			t.Fatalf("images vex --format %s: %s", format, stderr)
		}
		switch format {
		case vexformat.CSAF:
			err = schematest.Validate(schematest.CSAF, []byte(out))
		case vexformat.CycloneDX:
			err = schematest.Validate(schematest.CycloneDX, []byte(out))
		}
		if err != nil {
			t.Errorf("--format %s: %v", format, err)
		}
		doc, _, err := vexformat.Parse([]byte(out))
		if err != nil {
			t.Fatalf("--format %s: %v", format, err)
		}
		got := map[string]string{}
		for _, f := range vex.Facts(doc) {
			got[string(f.Vulnerability.Name)] = f.Product.ID + " | " + f.Subcomponent.ID + " | " + string(f.Status) + " | " + f.StatusNotes
		}
		libc := got["CVE-2024-1111"]
		if strings.Contains(libc, dir) {
			t.Errorf("--format %s: a machine path in the document: %q", format, libc)
		}
		if !strings.HasPrefix(libc, "pkg:oci/kube-proxy@"+derivedDigest.String()+"?repository_url="+relRepo+" | pkg:deb/debian/libc6@2.36-9+deb12u10") ||
			!strings.Contains(libc, "not_affected") || !strings.Contains(libc, "Inherited from the VEX of the base image "+baseRepo) {
			t.Errorf("--format %s: the base's statement for the derived image: %q", format, libc)
		}
		if z := got["CVE-2025-3333"]; !strings.Contains(z, "not_affected") || !strings.Contains(z, "demo-maintainer") {
			t.Errorf("--format %s: the maintainer's decision: %q", format, z)
		}
		if _, ok := got["CVE-2025-22871"]; ok {
			t.Errorf("--format %s: the Go finding was duplicated into the images' document", format)
		}
		if len(want) == 0 {
			want = got
		} else if len(got) != len(want) {
			t.Errorf("--format %s states %d things, openvex %d", format, len(got), len(want))
		}
	}

	// With the image named, the base's verified statements about packages
	// no scanner reported are carried too; the forged one is not, and what
	// the maintainer decided is not duplicated.
	// A forger without a key attaches an unsigned document as if it were a
	// bundle: named, and nothing of it is carried.
	unsigned, err := vex.Marshal(baseStatement("CVE-2025-5555", "pkg:deb/debian/libc6@2.36-9+deb12u10?arch=amd64"))
	if err != nil {
		t.Fatal(err)
	}
	attachUnsigned(t, baseRepo, baseDigest, unsigned)
	out, stderr, code = runCmd("images", "vex", "--release", "v1.34.2", "--image", relRepo+":v1.34.2", "--base-key", basePub, "--config", cfg)
	if code != 0 {
		t.Fatalf("images vex --image: %s", stderr)
	}
	if !strings.Contains(stderr, "not counted: malformed") || strings.Count(stderr, "not counted") != 2 {
		t.Errorf("the unsigned referrer is not the one refused besides the forged one:\n%s", stderr)
	}
	doc, _, err := vexformat.Parse([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, f := range vex.Facts(doc) {
		count[string(f.Vulnerability.Name)]++
		if f.Vulnerability.Name == "CVE-2024-9999" && (f.Status != openvex.StatusNotAffected || !strings.HasPrefix(f.Product.ID, "pkg:oci/kube-proxy@"+derivedDigest.String())) {
			t.Errorf("the inherited statement: %+v", f)
		}
	}
	if count["CVE-2024-9999"] != 1 || count["CVE-2025-3333"] != 1 || count["CVE-2024-1111"] != 1 {
		t.Errorf("statements per vulnerability: %v", count)
	}
	if count["CVE-2025-5555"] != 0 {
		t.Errorf("the unsigned base statement was carried: %v", count)
	}

	// The derived release's own document (assemble, the image a product
	// of it) carries the base's verified statement for the derived image
	// too, beside the project's Go analysis, and validates as CSAF.
	if out, stderr, code := runCmd("images", "ingest", reportFile, "--release", demo.ReleaseTag, "--image", relRepo+":v1.34.2",
		"--base-key", basePub, "--config", cfg); code != ExitError {
		t.Fatalf("images ingest --release %s: exit %d\n%s\n%s", demo.ReleaseTag, code, out, stderr)
	}
	for _, format := range []string{"openvex", "csaf"} {
		rel, stderr, code := runCmd("assemble", "--release", demo.ReleaseTag, "--image", relRepo+":v1.34.2", "--format", format, "-q", "--config", cfg)
		if code != 0 {
			t.Fatalf("assemble --format %s: exit %d\n%s", format, code, stderr)
		}
		if format == "csaf" {
			if err := schematest.Validate(schematest.CSAF, []byte(rel)); err != nil {
				t.Errorf("assemble --format csaf: %v", err)
			}
		}
		doc, _, err := vexformat.Parse([]byte(rel))
		if err != nil {
			t.Fatal(err)
		}
		carried := false
		for _, f := range vex.Facts(doc) {
			if f.Vulnerability.Name == "CVE-2024-1111" && f.Status == openvex.StatusNotAffected &&
				strings.HasPrefix(f.Product.ID, "pkg:oci/kube-proxy@"+derivedDigest.String()) && strings.HasPrefix(f.Subcomponent.ID, "pkg:deb/debian/libc6@") {
				carried = true
			}
			if f.Vulnerability.Name == "CVE-2025-5555" {
				t.Errorf("assemble --format %s: the unsigned base statement was carried", format)
			}
		}
		if !carried {
			t.Errorf("assemble --format %s: the base's verified statement is not carried for the derived image:\n%s", format, rel)
		}
	}

}

// triageIDOf finds the ID of the triage of a dependency in triage list's
// JSON output.
func triageIDOf(t *testing.T, list, dependency string) string {
	t.Helper()
	var rows []map[string]any
	if err := json.Unmarshal([]byte(list), &rows); err != nil {
		var wrapped map[string]json.RawMessage
		if err2 := json.Unmarshal([]byte(list), &wrapped); err2 != nil {
			t.Fatalf("triage list output: %v\n%s", err, list)
		}
		for _, v := range wrapped {
			if json.Unmarshal(v, &rows) == nil && len(rows) > 0 {
				break
			}
		}
	}
	for _, r := range rows {
		if r["dependency"] == dependency {
			if id, ok := r["id"].(string); ok {
				return id
			}
		}
	}
	t.Fatalf("no triage of %s in\n%s", dependency, list)
	return ""
}

// The reports and the base VEX key can come from vexloom.yaml; an image that
// names no base (no annotations, no releases.base_images) and a report in
// no known format are each one line, and the rest is recorded.
func TestImagesIngestFromConfig(t *testing.T) {
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
	_, pub := keyPair(t, dir, "base")
	f, err := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("releases:\n  scanner_reports: [reports/*.json]\n  base_vex_key: " + filepath.Base(pub) + "\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()

	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	host := strings.TrimPrefix(reg.URL, "http://")
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layer(t, map[string]string{"etc/os-release": "ID=debian\n"}))
	if err != nil {
		t.Fatal(err)
	}
	d := pushImage2(t, host+"/release/pause:v1", img)

	if err := os.MkdirAll(filepath.Join(dir, "reports"), 0o755); err != nil {
		t.Fatal(err)
	}
	grype := `{"matches": [{"vulnerability": {"id": "CVE-2025-7777"}, "artifact": {"name": "musl", "version": "1.2.5-r0", "type": "apk",
	  "purl": "pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64"}}],
	  "source": {"type": "image", "target": {"userInput": "` + host + `/release/pause:v1", "repoDigests": ["` + host + `/release/pause@` + d.String() + `"]}},
	  "descriptor": {"name": "grype"}}`
	// A second scanner's report of the same image, with another finding:
	// what one scanner does not report is not gone while the other does.
	trivy := `{"SchemaVersion": 2, "ArtifactName": "` + host + `/release/pause:v1", "Metadata": {"RepoDigests": ["` + host + `/release/pause@` + d.String() + `"]},
	  "Results": [{"Target": "pause", "Class": "os-pkgs", "Type": "alpine", "Vulnerabilities": [
	    {"VulnerabilityID": "CVE-2025-8888", "PkgName": "busybox", "InstalledVersion": "1.36.1-r29"}]}]}`
	for name, body := range map[string]string{"a-grype.json": grype, "a2-trivy.json": trivy, "b-spdx.json": `{"spdxVersion": "SPDX-2.3"}`} {
		if err := os.WriteFile(filepath.Join(dir, "reports", name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, stderr, code := runCmd("images", "ingest", "--release", "v1", "--image", host+"/release/pause:v1", "--config", cfg)
	if code != ExitError {
		t.Errorf("exit %d, want 1\n%s\n%s", code, out, stderr)
	}
	if !strings.Contains(stderr, "release/pause:v1: no base image known") || !strings.Contains(stderr, "b-spdx.json: not a Trivy, Grype or OSV-Scanner JSON report; nothing recorded from it") {
		t.Errorf("stderr:\n%s", stderr)
	}
	if !strings.Contains(out, host+"/release/pause@"+d.String()+" (v1), from "+filepath.Join(dir, "reports", "a-grype.json")+", "+filepath.Join(dir, "reports", "a2-trivy.json")+
		": 2 findings in packages of the image (0 covered by the base image's VEX), 2 new triages") {
		t.Errorf("stdout:\n%s", out)
	}
	doc, _, code := runCmd("images", "vex", "--release", "v1", "--config", cfg)
	if code != 0 || !strings.Contains(doc, "pkg:apk/alpine/musl@1.2.5-r0") || !strings.Contains(doc, "pkg:apk/alpine/busybox@1.36.1-r29") {
		t.Errorf("images vex (exit %d) lacks one scanner's finding:\n%s", code, doc)
	}
}

// A report of one platform of a multi-platform image is told by its
// manifest digest (Grype) or its configuration digest (Trivy's image ID),
// not by the index digest it was pulled by.
func TestScannedPlatform(t *testing.T) {
	var plats []artifact.Platform
	for range 2 {
		img, err := random.Image(64, 1)
		if err != nil {
			t.Fatal(err)
		}
		d, _ := img.Digest()
		plats = append(plats, artifact.Platform{Repository: "r/app", Name: "app", Digest: d.String(), Image: img})
	}
	cfg, err := plats[1].Image.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	index := "sha256:" + strings.Repeat("9", 64)
	if got := imagevex.ScannedPlatform(plats, &scanreport.Report{Digests: []string{index}, ConfigDigest: cfg.String()}); got == nil || got.Digest != plats[1].Digest {
		t.Errorf("by configuration digest: %+v", got)
	}
	if got := imagevex.ScannedPlatform(plats, &scanreport.Report{Digests: []string{index, plats[0].Digest}}); got == nil || got.Digest != plats[0].Digest {
		t.Errorf("by manifest digest: %+v", got)
	}
	if got := imagevex.ScannedPlatform(plats, &scanreport.Report{Digests: []string{index}}); got != nil {
		t.Errorf("an unknown platform was guessed: %+v", got)
	}
}
