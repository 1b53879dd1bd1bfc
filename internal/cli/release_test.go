package cli

import (
	"archive/tar"
	"bytes"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/examples/demo"
	"github.com/vexloom/vexloom/internal/vex"
)

// buildDemoRelease builds the demo's command at its release tag, for
// linux/amd64 (shared with the other tests that build it: buildDemoFor).
func buildDemoRelease(t *testing.T, p *testProject) string {
	t.Helper()
	return buildDemoFor(t, p, demo.ReleaseTag, "amd64")
}

// pushImage pushes a linux/amd64 image holding the binary at
// /usr/local/bin/demo to a registry on loopback and returns its reference.
func pushImage(t *testing.T, binary string) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	data, err := os.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "usr/local/bin/demo", Mode: 0o755, Size: int64(len(data)), Typeflag: tar.TypeReg})
	tw.Write(data)
	tw.Close()
	layer, err := tarball.LayerFromReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	img, err = mutate.ConfigFile(img, &v1.ConfigFile{OS: "linux", Architecture: "amd64"})
	if err != nil {
		t.Fatal(err)
	}
	ref := strings.TrimPrefix(srv.URL, "http://") + "/demo/app:v1.0.0"
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	return ref
}

// The release VEX of the demo's v1.0.0: the branch's statements re-checked
// at the release commit, for the module at v1.0.0, the binary and the
// image.
func TestAssembleRelease(t *testing.T) {
	t.Parallel()
	p := newTestProject(t)
	p.update()
	// A decision scoped to main does not apply to a release cut from
	// release-1.0; one for release-1.0 does.
	p.ok("triage", "comment", htmlVuln, "--as", "demo-maintainer", "--config", p.cfg,
		"/not_affected:vulnerable_code_cannot_be_controlled_by_adversary branches=main only trusted pages")
	p.ok("triage", "comment", "GO-2020-0017", "--as", "demo-maintainer", "--config", p.cfg,
		"/affected branches=release-1.0 Move to github.com/golang-jwt/jwt.")
	p.update()

	bin := buildDemoRelease(t, p)
	image := pushImage(t, bin)
	outFile := filepath.Join(t.TempDir(), "v1.0.0.openvex.json")
	p.ok("assemble", "--config", p.cfg, "--release", demo.ReleaseTag, "--binary", bin, "--image", image, "-o", outFile, "-q")
	data, err := os.ReadFile(outFile)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := vex.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	byProduct := map[string]map[string]openvex.Statement{}
	kinds := map[string]bool{}
	for _, s := range doc.Statements {
		if err := s.Validate(); err != nil {
			t.Errorf("invalid statement: %v", err)
		}
		for _, pr := range s.Products {
			id := pr.ID
			switch {
			case strings.HasPrefix(id, "pkg:golang/"+demo.Module+"@v1.0.0"):
				kinds["module"] = true
				if id != "pkg:golang/"+demo.Module+"@v1.0.0" {
					kinds["binary"] = true
				}
			case strings.HasPrefix(id, "pkg:oci/app@sha256:"):
				kinds["image"] = true
				if !strings.Contains(id, "?repository_url=") || strings.Contains(id, "tag=") {
					t.Errorf("image product %s", id)
				}
			default:
				t.Errorf("unexpected product %s", id)
			}
			if byProduct[id] == nil {
				byProduct[id] = map[string]openvex.Statement{}
			}
			byProduct[id][string(s.Vulnerability.Name)] = s
		}
	}
	for _, k := range []string{"module", "binary", "image"} {
		if !kinds[k] {
			t.Errorf("no %s product in %s", k, data)
		}
	}
	mod := byProduct["pkg:golang/"+demo.Module+"@v1.0.0"]
	// x/net's html vulnerability is only imported at v1.0.0: not affected,
	// by the release's own evidence, whatever main's decision says.
	if s, ok := mod["CVE-2024-45338"]; !ok || s.Status != "not_affected" || s.Justification != "vulnerable_code_not_in_execute_path" {
		t.Errorf("CVE-2024-45338 at v1.0.0: %+v", s)
	}
	// The decision for release-1.0 applies to its release.
	if s, ok := mod["CVE-2020-26160"]; !ok || s.Status != "affected" || !strings.Contains(s.ActionStatement, "golang-jwt") {
		t.Errorf("CVE-2020-26160 at v1.0.0: %+v", s)
	}
	// x/crypto v0.30.0 is on the release (GO-2024-3321 fixed in v0.31.0 on
	// main): present, required only.
	if s, ok := mod["CVE-2024-45337"]; !ok || s.Status != "not_affected" || s.Justification != "vulnerable_code_not_present" {
		t.Errorf("CVE-2024-45337 at v1.0.0: %+v", s)
	}
	// The image's binary was built from the project: it carries the source
	// statements.
	for id, sts := range byProduct {
		if strings.HasPrefix(id, "pkg:oci/") {
			if s, ok := sts["CVE-2020-26160"]; !ok || s.Status != "affected" {
				t.Errorf("image statement on CVE-2020-26160: %+v", s)
			}
		}
	}
	// Deterministic: the same inputs give the same bytes.
	again := filepath.Join(t.TempDir(), "again.json")
	p.ok("assemble", "--config", p.cfg, "--release", demo.ReleaseTag, "--binary", bin, "--image", image, "-o", again, "-q")
	if b, _ := os.ReadFile(again); !bytes.Equal(b, data) {
		t.Error("two assemblies of the same release differ")
	}
	// --require-assessed refuses a release with a reached, unassessed
	// vulnerability: main's HEAD reaches html.Parse, decided only for main
	// here, so assemble the main commit after withdrawing that decision.
	p.ok("triage", "comment", htmlVuln, "--as", "demo-maintainer", "--config", p.cfg, "/withdraw")
	if _, stderr, code := p.cmd("assemble", "--release", "main", "--require-assessed", "-q"); code != 3 || !strings.Contains(stderr, "CVE-2024-45338") {
		t.Errorf("--require-assessed: exit %d: %s", code, stderr)
	}
	// A release point on no maintained branch, and a missing one.
	if _, stderr, code := p.cmd("assemble", "--release", "v9.9.9", "-q"); code != 1 || !strings.Contains(stderr, "v9.9.9") {
		t.Errorf("a missing tag: exit %d: %s", code, stderr)
	}
	if _, stderr, code := p.cmd("assemble", "-q"); code != 2 || !strings.Contains(stderr, "--release") {
		t.Errorf("no --release: exit %d: %s", code, stderr)
	}
}
