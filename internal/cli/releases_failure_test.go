package cli

import (
	"bytes"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/vexloom/vexloom/examples/demo"
	"github.com/vexloom/vexloom/internal/fixture"
	"github.com/vexloom/vexloom/internal/store"
	"github.com/vexloom/vexloom/internal/vex"
)

// hostileRegistry is a loopback registry that can refuse every write, and
// can forget manifests (an image that vanished).
type hostileRegistry struct {
	mu     sync.Mutex
	refuse bool
	gone   []string
}

func (h *hostileRegistry) set(refuse bool, gone ...string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.refuse, h.gone = refuse, gone
}

func (h *hostileRegistry) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		refuse, gone := h.refuse, h.gone
		h.mu.Unlock()
		if refuse && r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, `{"errors":[{"code":"DENIED","message":"read-only registry"}]}`, http.StatusForbidden)
			return
		}
		for _, g := range gone {
			if strings.Contains(r.URL.Path, g) {
				http.Error(w, `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"gone"}]}`, http.StatusNotFound)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// Bad input and failure: a rule matching no tag, an image that cannot be
// resolved, a registry refusing the push, an image that vanished and a tag
// that moved. Each is one line naming the release and the artifact; the
// other releases are done; nothing is recorded as published that was not
// pushed; a vanished image stays covered by its recorded digest.
func TestTrackedReleaseFailures(t *testing.T) {
	t.Parallel()
	p := newTestProject(t)
	hr := &hostileRegistry{}
	srv := httptest.NewServer(hr.wrap(registry.New(registry.Logger(log.New(io.Discard, "", 0)))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	bin := buildDemoFor(t, p, demo.ReleaseTag, "amd64")
	digests := pushMultiArch(t, host+"/demo/app:"+demo.ReleaseTag, map[string]string{"amd64": bin})
	key := t.TempDir() + "/release"
	p.ok("keygen", "-o", key)
	cfg, _ := os.ReadFile(p.cfg)
	cfg = append(cfg, []byte(`
releases:
  track:
    - tags: ["v1.*"]
    - tags: ["v9.*"]
      branches: [release-*]
  commits: [`+p.repo.Commits[demo.MainBranch]+`]
  images:
    - `+host+`/demo/app:{tag}
    - `+host+`/demo/gone:{tag}
  signing:
    key: `+key+`.key
  publish: [local, oci]
`)...)
	if err := os.WriteFile(p.cfg, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	rp := &releasesProject{testProject: p}

	// demo/gone:v1.0.0 does not exist: v1.0.0 fails with one line naming
	// it, the release named by commit is still done, and the rule for
	// v9.* is reported.
	out, stderr, code := rp.at(1, "update")
	if code != 1 {
		t.Fatalf("update with an unresolvable image: exit %d\n%s\n%s", code, out, stderr)
	}
	if want := "failed: release v1.0.0: image " + host + "/demo/gone:v1.0.0 cannot be resolved"; !strings.Contains(out, want) {
		t.Errorf("no line %q in\n%s", want, out)
	}
	if !strings.Contains(stderr, "no tag matching v9.* on release-*") {
		t.Errorf("the rule matching nothing is not reported:\n%s", stderr)
	}
	commitRelease := p.repo.Commits[demo.MainBranch]
	if !strings.Contains(out, "release "+commitRelease) || !strings.Contains(out, "VEX v1 written") {
		t.Errorf("the release named by commit was not done:\n%s", out)
	}
	if _, _, code := rp.at(1, "vex", "--release", demo.ReleaseTag); code == 0 {
		t.Error("v1.0.0 has a document although its image could not be resolved")
	}

	// attest on the source release's document needs no --commit: the
	// project knows its commit. A document the project does not track is
	// refused with a message naming --commit.
	docFile := filepath.Join(t.TempDir(), "src.openvex.json")
	if _, stderr, code := rp.at(1, "vex", "--release", commitRelease, "-o", docFile); code != 0 {
		t.Fatal(stderr)
	}
	bundle := docFile + ".sigstore.json"
	if _, stderr, code := rp.at(1, "attest", docFile, "--key", key+".key", "-o", bundle); code != 0 {
		t.Fatalf("attest a tracked source release without --commit: exit %d: %s", code, stderr)
	}
	if _, stderr, code := p.run("verify", bundle, "--key", key+".pub", "--digest", "gitCommit:"+commitRelease); code != 0 {
		t.Errorf("the bundle does not name the release commit: %s", stderr)
	}
	data, _ := os.ReadFile(docFile)
	os.WriteFile(docFile, bytes.Replace(data, []byte(`"@id": "https://openvex.dev/docs/public/vex-`), []byte(`"@id": "https://openvex.dev/docs/public/vex-0`), 1), 0o644)
	if _, stderr, code := rp.at(1, "attest", docFile, "--key", key+".key", "-o", bundle); code != 1 || !strings.Contains(stderr, "pass --commit SHA") {
		t.Errorf("attest an untracked source document: exit %d: %s", code, stderr)
	}

	// The image appears, but the registry refuses every push: the
	// document is written and published locally, the registry's refusal
	// is one line, and no publication to it is recorded.
	pushMultiArch(t, host+"/demo/gone:"+demo.ReleaseTag, map[string]string{"amd64": bin})
	hr.set(true)
	out, _, code = rp.at(2, "update")
	if code != 1 || !strings.Contains(out, "failed: release v1.0.0: publishing version 1 to oci:"+host+"/demo/") {
		t.Fatalf("update with a refusing registry: exit %d\n%s", code, out)
	}
	pubs, err := openStore(t, p).ReleasePublications(t.Context(), demo.ReleaseTag)
	if err != nil {
		t.Fatal(err)
	}
	for _, pb := range pubs {
		if strings.HasPrefix(pb.Store, "oci:") {
			t.Errorf("a refused push is recorded as published: %+v", pb)
		}
	}
	if len(pubs) != 1 {
		t.Errorf("publications after the refusal: %+v", pubs)
	}

	// The registry accepts again: the next update pushes what is missing,
	// without deriving or signing anything again.
	hr.set(false)
	kept := rp.keep()
	r := kept[demo.ReleaseTag]
	if r.Derived || r.Changed || len(r.Published) != 2 || len(r.Failures) > 0 {
		t.Errorf("retrying the push: %+v", r)
	}

	// The image vanishes from the registry and the tag of the other one
	// moves; a decision on the branch forces a new derivation. The
	// recorded digests stay covered, with the decision.
	pushMultiArch(t, host+"/demo/app:"+demo.ReleaseTag, map[string]string{"arm64": bin})
	hr.set(false, strings.TrimPrefix(digests["amd64"], "sha256:"))
	if _, stderr, code := rp.at(5, "triage", "comment", "GO-2020-0017", "--as", "demo-maintainer",
		"/affected branches=release-1.0 Move to github.com/golang-jwt/jwt."); code != 0 {
		t.Fatal(stderr)
	}
	rp.clock = 5
	out, stderr, code = rp.at(6, "update")
	if code != 0 {
		t.Fatalf("update with a vanished image: exit %d\n%s\n%s", code, out, stderr)
	}
	for _, want := range []string{
		"warning: release v1.0.0: image " + host + "/demo/app@" + digests["amd64"] + " (linux/amd64) cannot be read",
		"warning: release v1.0.0: image " + host + "/demo/app:v1.0.0 now points at sha256:",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no line %q in\n%s", want, out)
		}
	}
	body, _, _ := rp.at(6, "vex", "--release", demo.ReleaseTag)
	doc, err := vex.Parse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if doc.Version != 2 {
		t.Errorf("version %d after the decision", doc.Version)
	}
	found := false
	for _, s := range doc.Statements {
		for _, pr := range s.Products {
			if strings.Contains(pr.ID, digests["amd64"]) && s.Vulnerability.Name == "CVE-2020-26160" {
				found = true
				if s.Status != "affected" || !strings.Contains(s.ActionStatement, "golang-jwt") {
					t.Errorf("the vanished image's statement does not carry the decision: %+v", s)
				}
			}
		}
	}
	if !found {
		t.Errorf("the vanished image is no longer covered:\n%s", body)
	}
}

// openStore opens the project's store for reading what was recorded.
func openStore(t *testing.T, p *testProject) *store.Store {
	t.Helper()
	s, err := store.Open(t.Context(), filepath.Join(p.dir, ".vexloom"), func() time.Time { return fixture.Now })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
