package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vexloom/vexloom/examples/demo"
)

// releases.scanner_reports in update: each tracked release's reports (the
// patterns naming it by {tag}) are ingested as images ingest would; the Go
// finding is matched against the release's branch, then against its
// document once update recorded one. A damaged report and a pattern naming
// no release are one line each, and update still keeps the release. A
// second run records nothing new. (Reports matched to the release images
// of releases.images: imagevex's TestIngestReleases.)
func TestUpdateIngestsReleaseScannerReports(t *testing.T) {
	p := newTestProject(t)
	reports := filepath.Join(p.dir, "reports", demo.ReleaseTag)
	if err := os.MkdirAll(reports, 0o755); err != nil {
		t.Fatal(err)
	}
	image := "example.test/release/app"
	trivy := `{"SchemaVersion": 2, "ArtifactName": "` + image + `:` + demo.ReleaseTag + `", "ArtifactType": "container_image",
	  "Metadata": {"RepoDigests": ["` + image + `@sha256:` + strings.Repeat("a", 64) + `"]},
	  "Results": [
	    {"Target": "app (alpine 3.21)", "Class": "os-pkgs", "Type": "alpine", "Vulnerabilities": [
	      {"VulnerabilityID": "CVE-2025-8888", "PkgName": "busybox", "InstalledVersion": "1.36.1-r29",
	       "PkgIdentifier": {"PURL": "pkg:apk/alpine/busybox@1.36.1-r29?arch=x86_64"}}]},
	    {"Target": "app", "Class": "lang-pkgs", "Type": "gobinary", "Vulnerabilities": [
	      {"VulnerabilityID": "CVE-2025-22871", "PkgName": "stdlib", "InstalledVersion": "v1.24.1", "PkgIdentifier": {"PURL": "pkg:golang/stdlib@v1.24.1"}}]}]}`
	for name, body := range map[string]string{"trivy.json": trivy, "damaged.json": trivy[:150]} {
		if err := os.WriteFile(filepath.Join(reports, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	key := filepath.Join(t.TempDir(), "release")
	p.ok("keygen", "-o", key)
	f, err := os.OpenFile(p.cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("\nreleases:\n  track:\n    - tags: [v1.*]\n      branches: [release-*]\n  signing:\n    key: " + key + ".key\n  publish: [local]\n" +
		"  scanner_reports: [\"reports/{tag}/*.json\", reports/all.json]\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()

	out, stderr, code := p.cmd("update")
	if code != 0 {
		t.Fatalf("update: exit %d\n%s\n%s", code, out, stderr)
	}
	for _, want := range []string{
		`images: releases.scanner_reports "` + filepath.Join(p.dir, "reports", "all.json") + `" names no {tag} or {commit}`,
		filepath.Join(reports, "damaged.json") + ": malformed scanner report",
		"the image it names (\"" + image + ":v1.0.0\") is none of release v1.0.0's images (releases.images)",
		"release v1.0.0: " + image + "@sha256:" + strings.Repeat("a", 64) + " (v1.0.0), from " + filepath.Join(reports, "trivy.json") +
			": 1 finding in packages of the image (0 covered by the base image's VEX), 1 new triage; 1 Go finding",
		"go: CVE-2025-22871 in pkg:golang/stdlib@v1.24.1: not in the project's analysis (the triage history of branch release-1.0)",
		"warning: release v1.0.0: 1 scanner report input skipped",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("update does not say %q:\n%s", want, stderr)
		}
	}
	list, _, code := p.cmd("triage", "list", "--state", "all", "--format", "json")
	if code != 0 || !strings.Contains(list, "pkg:apk/alpine/busybox") || strings.Contains(list, "CVE-2025-22871") {
		t.Errorf("triage list (exit %d): the image's OS finding is not a triage, or its Go finding is:\n%s", code, list)
	}
	// The tracked release's document carries the image's OS package, as
	// assemble's does: one code path.
	doc, _, code := p.cmd("vex", "--release", demo.ReleaseTag)
	if code != 0 || !strings.Contains(doc, "pkg:apk/alpine/busybox") || !strings.Contains(doc, "CVE-2025-8888") {
		t.Errorf("vex --release %s (exit %d) does not carry the image's OS package finding:\n%s", demo.ReleaseTag, code, doc)
	}

	// Again: nothing new, and the Go finding meets the release's document.
	out, stderr, code = p.cmd("update")
	if code != 0 {
		t.Fatalf("update: exit %d\n%s\n%s", code, out, stderr)
	}
	if !strings.Contains(stderr, "1 finding in packages of the image (0 covered by the base image's VEX), 0 new triages; 1 Go finding") ||
		!strings.Contains(stderr, "go: CVE-2025-22871 in pkg:golang/stdlib@v1.24.1: not in the project's analysis (version 1 of the VEX of release v1.0.0)") {
		t.Errorf("second update:\n%s", stderr)
	}
}
