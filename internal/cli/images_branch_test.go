package cli

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vexloom/vexloom/examples/demo"
	"github.com/vexloom/vexloom/internal/fixture"
)

// Without --branch and with no document of the release in the store, the
// Go findings of a report are matched against the triage history of the
// branch the release was cut from, found as tracked releases find it; when
// two maintained branches are equally close, one line says so and asks
// for --branch. A report without Go findings opens no repository.
func TestImagesIngestFindsTheReleaseBranch(t *testing.T) {
	t.Parallel()
	cache := t.TempDir()
	dir := t.TempDir()
	runCmd := func(args ...string) (string, string, int) {
		var out, errb bytes.Buffer
		g := &globals{now: func() time.Time { return fixture.Now }, env: append(os.Environ(), "SOURCE_DATE_EPOCH=1795000000")}
		code := run(context.Background(), g, append([]string{"--cache-dir", cache}, args...), strings.NewReader(""), &out, &errb)
		return out.String(), errb.String(), code
	}
	r, err := demo.Create(context.Background(), filepath.Join(dir, "repo"))
	if err != nil {
		t.Fatal(err)
	}
	// release-1.1 cut at main's tip and tagged there: v1.1.0 is on both,
	// equally close.
	main := r.Commits[demo.MainBranch]
	if err := r.Tag(context.Background(), "v1.1.0", main); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("git", "-C", r.Dir, "branch", "release-1.1", main).CombinedOutput(); err != nil {
		t.Fatalf("git branch: %v\n%s", err, out)
	}
	cfg := filepath.Join(dir, "vexloom.yaml")
	if _, stderr, code := runCmd("init", "-o", cfg, "--module", demo.Module, "--repository", "repo", "--branch", "main", "--branch", "release-*"); code != 0 {
		t.Fatalf("init: %s", stderr)
	}
	write := func(name, body string) string {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	goReport := write("go.json", `{"SchemaVersion": 2, "ArtifactName": "example.test/release/kube-proxy:v1", "ArtifactType": "container_image",
	  "Metadata": {"RepoDigests": ["example.test/release/kube-proxy@sha256:`+strings.Repeat("b", 64)+`"]},
	  "Results": [{"Target": "usr/local/bin/kube-proxy", "Class": "lang-pkgs", "Type": "gobinary", "Vulnerabilities": [
	    {"VulnerabilityID": "CVE-2025-22871", "PkgName": "stdlib", "InstalledVersion": "v1.24.1", "PkgIdentifier": {"PURL": "pkg:golang/stdlib@v1.24.1"}}]}]}`)
	osReport := write("os.json", `{"SchemaVersion": 2, "ArtifactName": "example.test/release/pause:v1", "ArtifactType": "container_image",
	  "Metadata": {"RepoDigests": ["example.test/release/pause@sha256:`+strings.Repeat("c", 64)+`"]},
	  "Results": [{"Target": "pause", "Class": "os-pkgs", "Type": "alpine", "Vulnerabilities": [
	    {"VulnerabilityID": "CVE-2025-8888", "PkgName": "busybox", "InstalledVersion": "1.36.1-r29"}]}]}`)

	for _, c := range []struct {
		args         []string
		stderr, goes string
	}{
		// The tag on release-1.0 is also on main, one commit behind it.
		{[]string{"--release", demo.ReleaseTag},
			"images: release v1.0.0: cut from release-1.0 (the maintained branch holding it that moved on least since)",
			"not in the project's analysis (the triage history of branch release-1.0)"},
		{[]string{"--release", "v1.1.0"},
			"images: release v1.1.0: v1.1.0 (" + main[:12] + ") is on more than one maintained branch, equally close to each: main, release-1.1; give --branch",
			"left to the project's own analysis"},
		{[]string{"--release", "v9.9.9"},
			"images: release v9.9.9: not on a maintained branch: ",
			"left to the project's own analysis"},
		{[]string{"--release", "v1.1.0", "--branch", "release-1.1"},
			"",
			"not in the project's analysis (the triage history of branch release-1.1)"},
	} {
		out, stderr, code := runCmd(append([]string{"images", "ingest", goReport, "--config", cfg}, c.args...)...)
		if code != 0 {
			t.Errorf("%v: exit %d\n%s\n%s", c.args, code, out, stderr)
		}
		if c.stderr != "" && !strings.Contains(stderr, c.stderr) || c.stderr == "" && strings.Contains(stderr, "images: release") {
			t.Errorf("%v: stderr does not say %q:\n%s", c.args, c.stderr, stderr)
		}
		if !strings.Contains(out, "go: CVE-2025-22871 in pkg:golang/stdlib@v1.24.1: "+c.goes) {
			t.Errorf("%v: the Go finding is not %q:\n%s", c.args, c.goes, out)
		}
	}

	// No Go finding: the repository is not opened and nothing is said of
	// the branch.
	out, stderr, code := runCmd("images", "ingest", osReport, "--release", "v1.1.0", "--config", cfg)
	if code != 0 || strings.Contains(stderr, "images: release") || !strings.Contains(out, "1 new triage; 0 Go findings") {
		t.Errorf("exit %d\n%s\n%s", code, out, stderr)
	}
}
