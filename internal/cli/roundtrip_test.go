package cli

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vexloom/vexloom/examples/demo"
	"github.com/vexloom/vexloom/internal/ghfake"
	"github.com/vexloom/vexloom/internal/purl"
	"github.com/vexloom/vexloom/internal/vex"
)

// Issue 5's round trip on the demo: the release's binary in an image on a
// loopback registry, assembled, attested, verified, published to all four
// stores, fetched back from each and verified.
func TestReleaseRoundTripThroughEveryStore(t *testing.T) {
	t.Parallel()
	p := newTestProject(t)
	gh := ghfake.New(t)
	gh.CreateRepo("demo-org/vex")
	gh.AddToken("ghp_ReleaseBotT0kenxxxxxxxxxxxxxxxxxxxxxxx", "release-bot")
	p.vars = append(p.vars, "GITHUB_TOKEN=ghp_ReleaseBotT0kenxxxxxxxxxxxxxxxxxxxxxxx", githubAPIEnv+"="+gh.URL())
	p.update()

	bin := buildDemoRelease(t, p)
	image := pushImage(t, bin)
	repo := image[:strings.LastIndex(image, ":")]
	dir := t.TempDir()
	doc := filepath.Join(dir, "v1.0.0.openvex.json")
	p.ok("assemble", "--release", demo.ReleaseTag, "--binary", bin, "--image", image, "-o", doc, "--config", p.cfg, "-q")
	data, _ := os.ReadFile(doc)
	parsed, err := vex.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	digest := ""
	for _, s := range parsed.Statements {
		for _, pr := range s.Products {
			if d := purl.OCIDigest(pr.ID); d != "" {
				digest = d
			}
		}
	}
	if digest == "" {
		t.Fatal("no image product in the release document")
	}

	key := filepath.Join(dir, "release")
	p.ok("keygen", "-o", key)
	bundle := filepath.Join(dir, "v1.0.0.sigstore.json")
	p.ok("attest", doc, "--key", key+".key", "-o", bundle)
	p.ok("verify", bundle, "--key", key+".pub", "--digest", digest)

	feedDir := filepath.Join(dir, "feed")
	os.MkdirAll(feedDir, 0o755)
	feedSrv := httptest.NewServer(http.FileServer(http.Dir(feedDir)))
	t.Cleanup(feedSrv.Close)
	localDir := filepath.Join(dir, "local")
	out := p.ok("publish", bundle, "--ref", demo.ReleaseTag, "--config", p.cfg, "-q",
		"--to", "local:"+localDir, "--to", "oci:"+repo, "--to", "github:demo-org/vex", "--to", "feed:"+feedDir, "--feed-url", feedSrv.URL)
	for _, want := range []string{"local:", "oci:", "github:", "feed:"} {
		if !strings.Contains(out, want) {
			t.Errorf("publish did not report %s:\n%s", want, out)
		}
	}
	if len(gh.Attestations("demo-org/vex")) != 1 {
		t.Errorf("GitHub holds %d attestations", len(gh.Attestations("demo-org/vex")))
	}

	// Fetched back from each signed store, it verifies.
	// The feed carries the signed document's bundle beside its unsigned
	// per-package documents: the bundle verifies, the documents never do.
	for _, from := range []string{"local:" + localDir, "oci:" + repo, "github:demo-org/vex", "feed:" + feedSrv.URL} {
		out, stderr, code := p.run("pull", "--from", from, "--subject", digest, "--key", key+".pub", "-o", filepath.Join(dir, "pulled", strings.SplitN(from, ":", 2)[0]))
		if code != 0 || !strings.Contains(stderr, "verified, signed by") {
			t.Errorf("pull --from %s: exit %d\n%s\n%s", from, code, out, stderr)
			continue
		}
		var res struct{ Verified int }
		if json.Unmarshal([]byte(out), &res) != nil || res.Verified != 1 {
			t.Errorf("pull --from %s: %s", from, out)
		}
	}
	// With another key nothing verifies.
	other := filepath.Join(dir, "other")
	p.ok("keygen", "-o", other)
	if _, stderr, code := p.run("pull", "--from", "local:"+localDir, "--subject", digest, "--key", other+".pub"); code != 3 || !strings.Contains(stderr, "REJECTED") {
		t.Errorf("pull with another key: exit %d: %s", code, stderr)
	}
	// From the feed with another key: its bundle is rejected and its
	// per-package documents are unsigned, so nothing verifies.
	if _, stderr, code := p.run("pull", "--from", "feed:"+feedSrv.URL, "--subject", digest, "--key", other+".pub"); code != 3 || !strings.Contains(stderr, "unsigned") || !strings.Contains(stderr, "REJECTED") {
		t.Errorf("pull from the feed with another key: exit %d: %s", code, stderr)
	}
	if _, stderr, code := p.run("pull", "--from", "ftp:x", "--subject", digest, "--key", key+".pub"); code != 2 {
		t.Errorf("pull from a bad store: exit %d: %s", code, stderr)
	}
}
