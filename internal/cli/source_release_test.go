package cli

import (
	"path/filepath"
	"strings"
	"testing"
)

// A source release ships no image or binary: its commit is the subject of
// the signed document, and the signed not_affected opens the gate.
func TestSourceReleaseSignedByCommit(t *testing.T) {
	t.Parallel()
	p := newTestProject(t)
	p.update()
	p.ok("triage", "comment", htmlVuln, "--as", "demo-maintainer", "--config", p.cfg,
		"/not_affected:vulnerable_code_cannot_be_controlled_by_adversary only the operator's pages")
	p.update()
	dir := t.TempDir()
	key := filepath.Join(dir, "release")
	p.ok("keygen", "--out", key)
	doc := filepath.Join(dir, "main.openvex.json")
	p.ok("assemble", "--release", "main", "-o", doc, "--config", p.cfg, "-q")

	if _, stderr, code := p.cmd("gate", "--release", "main", "--vex", "store", "--key", key+".pub", "-q"); code != 3 {
		t.Fatalf("gate before publishing: exit %d: %s", code, stderr)
	}
	out := p.ok("publish", doc, "--ref", "main", "--key", key+".key", "--config", p.cfg, "-q")
	if !strings.Contains(out, "local:") {
		t.Fatalf("publish: %s", out)
	}
	if _, stderr, code := p.cmd("gate", "--release", "main", "--vex", "store", "--key", key+".pub", "-q"); code != 0 {
		t.Fatalf("gate after publishing: exit %d: %s", code, stderr)
	}

	// attest names the commit explicitly; verify checks it as a subject.
	bundle := filepath.Join(dir, "main.bundle.json")
	commit := p.repo.Commits["main"]
	p.ok("attest", doc, "--key", key+".key", "--commit", commit, "-o", bundle)
	p.ok("verify", bundle, "--key", key+".pub", "--digest", "gitCommit:"+commit)
	if _, stderr, code := p.run("verify", bundle, "--key", key+".pub", "--digest", "gitCommit:"+strings.Repeat("a", 40)); code != 3 || !strings.Contains(stderr, "subject") {
		t.Errorf("another commit: exit %d: %s", code, stderr)
	}
	if _, stderr, code := p.run("attest", doc, "--key", key+".key"); code != 1 || !strings.Contains(stderr, "no product with a digest") {
		t.Errorf("attest without a commit or artifact: exit %d: %s", code, stderr)
	}
	if _, stderr, code := p.run("attest", doc, "--key", key+".key", "--commit", "xyz"); code != 2 || !strings.Contains(stderr, "--commit") {
		t.Errorf("a bad --commit: exit %d: %s", code, stderr)
	}
}
