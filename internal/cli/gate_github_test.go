package cli

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/vexloom/vexloom/internal/ghfake"
)

// gate --vex github:OWNER/REPO reads GitHub's attestation store, asking it
// about the release commit: a source release published there with publish
// --to github: opens the gate when its signature verifies, and only then.
func TestGateVEXFromGitHub(t *testing.T) {
	t.Parallel()
	p := newTestProject(t)
	gh := ghfake.New(t)
	gh.CreateRepo("demo-org/vex")
	gh.AddToken("ghp_GateReaderT0kenxxxxxxxxxxxxxxxxxxxxxxxx", "release-bot")
	p.vars = append(p.vars, "GITHUB_TOKEN=ghp_GateReaderT0kenxxxxxxxxxxxxxxxxxxxxxxxx", githubAPIEnv+"="+gh.URL())
	p.update()
	p.ok("triage", "comment", htmlVuln, "--as", "demo-maintainer", "--config", p.cfg,
		"/not_affected:vulnerable_code_cannot_be_controlled_by_adversary only the operator's pages")
	p.update()
	dir := t.TempDir()
	key := filepath.Join(dir, "release")
	p.ok("keygen", "--out", key)
	other := filepath.Join(dir, "other")
	p.ok("keygen", "--out", other)
	doc := filepath.Join(dir, "main.openvex.json")
	p.ok("assemble", "--release", "main", "-o", doc, "--config", p.cfg, "-q")

	gate := func(pub string) (string, int) {
		t.Helper()
		_, stderr, code := p.cmd("gate", "--release", "main", "--vex", "github:demo-org/vex", "--key", pub, "-q")
		return stderr, code
	}
	if stderr, code := gate(key + ".pub"); code != 3 {
		t.Fatalf("gate before publishing: exit %d: %s", code, stderr)
	}
	p.ok("publish", doc, "--ref", "main", "--key", key+".key", "--config", p.cfg, "-q", "--to", "github:demo-org/vex")
	if n := len(gh.Attestations("demo-org/vex")); n != 1 {
		t.Fatalf("GitHub holds %d attestations", n)
	}
	stderr, code := gate(key + ".pub")
	if code != 0 || !strings.Contains(stderr, "verified, signed by") || !strings.Contains(stderr, "github:demo-org/vex gitCommit:"+p.repo.Commits["main"]) {
		t.Errorf("gate after publishing: exit %d: %s", code, stderr)
	}
	if stderr, code := gate(other + ".pub"); code != 3 || !strings.Contains(stderr, "REJECTED") {
		t.Errorf("gate with another key: exit %d: %s", code, stderr)
	}
	// GitHub lists attestations by artifact only: a scan file names none.
	scanFile, err := filepath.Abs(filepath.Join("..", "gate", "testdata", "demo.govulncheck.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := p.cmd("gate", "--scan", scanFile, "--vex", "github:demo-org/vex", "--key", key+".pub", "-q"); code != 2 || !strings.Contains(stderr, "--release") {
		t.Errorf("gate --scan with github: exit %d: %s", code, stderr)
	}
}
