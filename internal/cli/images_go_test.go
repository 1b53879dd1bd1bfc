package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/examples/demo"
	"github.com/vexloom/vexloom/internal/fixture"
	"github.com/vexloom/vexloom/internal/store"
	"github.com/vexloom/vexloom/internal/vex"
)

// goAnalysisDoc is a release document as update keeps it: the project's
// binary as product, the Go module as subcomponent.
func goAnalysisDoc(t *testing.T, status openvex.Status) []byte {
	t.Helper()
	ts := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	doc := vex.NewDocument("demo maintainers", "", ts)
	st := openvex.Statement{
		Vulnerability: openvex.Vulnerability{Name: "GO-2025-3563", Aliases: []openvex.VulnerabilityID{"CVE-2025-22871"}}, Timestamp: &ts,
		Products: []openvex.Product{{
			Component:     openvex.Component{ID: "pkg:golang/" + demo.Module + "@v1.34.2"},
			Subcomponents: []openvex.Subcomponent{{Component: openvex.Component{ID: "pkg:golang/stdlib@v1.24.1"}}},
		}},
		Status: status,
	}
	if status == openvex.StatusNotAffected {
		st.Justification = openvex.VulnerableCodeNotInExecutePath
		st.ImpactStatement = "The vulnerable request parsing is never reached."
	} else {
		st.ActionStatement = "Upgrade."
	}
	doc.Statements = []openvex.Statement{st}
	if err := vex.Finalize(doc); err != nil {
		t.Fatal(err)
	}
	body, err := vex.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// Go findings in a release image's report are matched to the project's own
// analysis of the release held in the store (the tracked release's latest
// document), without --vex, and open no triage: the one the document
// states is covered, the one it never saw is said to be outside it. --vex
// still overrides the store.
func TestImagesGoFindingsMatchedToStore(t *testing.T) {
	cache := t.TempDir()
	dir := t.TempDir()
	runCmd := func(args ...string) (string, string, int) {
		var out, errb bytes.Buffer
		g := &globals{now: func() time.Time { return fixture.Now }, env: append(os.Environ(), "SOURCE_DATE_EPOCH=1795000000")}
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
	// The tracked release's document, as update records it.
	st, err := store.Open(t.Context(), filepath.Join(dir, ".vexloom"), func() time.Time { return fixture.Now })
	if err != nil {
		t.Fatal(err)
	}
	if err := st.RecordReleaseDocument(t.Context(), store.ReleaseDocument{Release: "v1.34.2", Version: 1, Branch: "main", Commit: strings.Repeat("a", 40),
		StatementsHash: "h1", At: fixture.Now, Body: goAnalysisDoc(t, openvex.StatusNotAffected)}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	report := `{"SchemaVersion": 2, "ArtifactName": "example.test/release/kube-proxy:v1.34.2", "ArtifactType": "container_image",
	  "Metadata": {"RepoDigests": ["example.test/release/kube-proxy@sha256:` + strings.Repeat("b", 64) + `"]},
	  "Results": [
	    {"Target": "kube-proxy (debian 12.7)", "Class": "os-pkgs", "Type": "debian", "Vulnerabilities": [
	      {"VulnerabilityID": "CVE-2025-3333", "PkgName": "zlib1g", "InstalledVersion": "1:1.2.13.dfsg-1",
	       "PkgIdentifier": {"PURL": "pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1?arch=amd64&distro=debian-12.7"}}]},
	    {"Target": "usr/local/bin/kube-proxy", "Class": "lang-pkgs", "Type": "gobinary", "Vulnerabilities": [
	      {"VulnerabilityID": "CVE-2025-22871", "PkgName": "stdlib", "InstalledVersion": "v1.24.1", "PkgIdentifier": {"PURL": "pkg:golang/stdlib@v1.24.1"}},
	      {"VulnerabilityID": "CVE-2025-22872", "PkgName": "golang.org/x/net", "InstalledVersion": "v0.37.0", "PkgIdentifier": {"PURL": "pkg:golang/golang.org/x/net@v0.37.0"}}]}]}`
	reportFile := filepath.Join(dir, "trivy.json")
	if err := os.WriteFile(reportFile, []byte(report), 0o644); err != nil {
		t.Fatal(err)
	}

	out, stderr, code := runCmd("images", "ingest", reportFile, "--release", "v1.34.2", "--config", cfg)
	if code != 0 {
		t.Fatalf("images ingest: exit %d\n%s\n%s", code, out, stderr)
	}
	for _, want := range []string{
		"1 finding in packages of the image (0 covered by the base image's VEX), 1 new triage; 2 Go findings",
		"go: CVE-2025-22871 in pkg:golang/stdlib@v1.24.1: covered by the project's analysis: not_affected (version 1 of the VEX of release v1.34.2)",
		"go: CVE-2025-22872 in pkg:golang/golang.org/x/net@v0.37.0: not in the project's analysis (version 1 of the VEX of release v1.34.2); no triage opened",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("images ingest output lacks %q:\n%s", want, out)
		}
	}

	// Only the OS package has a triage: the Go findings are not duplicated.
	list, stderr, code := runCmd("triage", "list", "--state", "all", "--format", "json", "--config", cfg)
	if code != 0 {
		t.Fatalf("triage list: %s", stderr)
	}
	triageIDOf(t, list, "pkg:deb/debian/zlib1g")
	for _, dup := range []string{"stdlib", "golang.org/x/net", "CVE-2025-22871", "CVE-2025-22872"} {
		if strings.Contains(list, dup) {
			t.Errorf("a Go finding opened a triage (%s):\n%s", dup, list)
		}
	}

	// --vex overrides the store.
	own := filepath.Join(dir, "own.json")
	if err := os.WriteFile(own, goAnalysisDoc(t, openvex.StatusAffected), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, code = runCmd("images", "ingest", reportFile, "--release", "v1.34.2", "--vex", own, "--config", cfg)
	if code != 0 {
		t.Fatalf("images ingest --vex: exit %d\n%s\n%s", code, out, stderr)
	}
	if !strings.Contains(out, "go: CVE-2025-22871 in pkg:golang/stdlib@v1.24.1: covered by the project's analysis: affected (--vex own.json)") {
		t.Errorf("--vex does not override the store:\n%s", out)
	}

	// A release the store knows nothing of: said so, still no triage.
	out, stderr, code = runCmd("images", "ingest", reportFile, "--release", "v9.9.9", "--config", cfg)
	if code != 0 {
		t.Fatalf("images ingest (unknown release): exit %d\n%s\n%s", code, out, stderr)
	}
	if !strings.Contains(out, "go: CVE-2025-22871 in pkg:golang/stdlib@v1.24.1: left to the project's own analysis (the store holds none of release v9.9.9 yet") {
		t.Errorf("an unknown release's Go finding:\n%s", out)
	}
	// With its branch named, the branch's triage history is the analysis;
	// nothing was ever seen on main here.
	out, stderr, code = runCmd("images", "ingest", reportFile, "--release", "v9.9.9", "--branch", "main", "--config", cfg)
	if code != 0 {
		t.Fatalf("images ingest --branch: exit %d\n%s\n%s", code, out, stderr)
	}
	if !strings.Contains(out, "go: CVE-2025-22871 in pkg:golang/stdlib@v1.24.1: not in the project's analysis (the triage history of branch main); no triage opened") {
		t.Errorf("--branch:\n%s", out)
	}
	list, _, _ = runCmd("triage", "list", "--state", "all", "--format", "json", "--config", cfg)
	if strings.Contains(list, "stdlib") {
		t.Errorf("a Go finding opened a triage:\n%s", list)
	}
}
