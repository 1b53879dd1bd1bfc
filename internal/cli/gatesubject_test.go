package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/attest"
	"github.com/vexloom/vexloom/internal/gate"
	"github.com/vexloom/vexloom/internal/publish"
)

// signTestDocumentFor signs a release document with its commit as the
// subject of the module product, as publish does.
func signTestDocumentFor(t *testing.T, doc *openvex.VEX, keyFile, out, commit string) {
	t.Helper()
	sub, err := publish.CommitSubject(doc, commit)
	if err != nil {
		t.Fatal(err)
	}
	st, err := attest.StatementFor(doc, sub)
	if err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	key, err := attest.LoadPrivateKey(pem, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := attest.Sign(context.Background(), st, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// A bundle signed by the trusted key whose only subject is another commit
// says nothing about the release gated: gate --release refuses it, with
// the reason, as verify --digest does; the same document signed for the
// release's commit opens the gate.
func TestGateRefusesForeignSubject(t *testing.T) {
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
	commit := p.repo.Commits["main"]

	foreign := filepath.Join(dir, "foreign.sigstore.json")
	p.ok("attest", doc, "--key", key+".key", "--commit", strings.Repeat("1", 40), "-o", foreign)
	if _, stderr, code := p.run("verify", foreign, "--key", key+".pub", "--digest", "gitCommit:"+commit); code != 3 || !strings.Contains(stderr, "not a subject") {
		t.Fatalf("verify of a bundle over another commit: exit %d: %s", code, stderr)
	}
	out, stderr, code := p.cmd("gate", "--release", "main", "--vex", foreign, "--key", key+".pub")
	if code != 3 || !strings.Contains(stderr, "REJECTED") || !strings.Contains(stderr, "not a subject") || !strings.Contains(out, "unverified ignored") {
		t.Fatalf("gate with a bundle over another commit: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
	r, _, code := p.gateResult("--release", "main", "--vex", foreign, "--key", key+".pub")
	if v := verdictOf(r, htmlVuln); code != 3 || v == nil || v.Verdict != gate.VerdictFail || v.Statement != nil || len(v.Ignored) == 0 {
		t.Fatalf("gate --format json with a bundle over another commit: exit %d, %+v", code, v)
	}

	own := filepath.Join(dir, "own.sigstore.json")
	p.ok("attest", doc, "--key", key+".key", "--commit", commit, "-o", own)
	r, stderr, code = p.gateResult("--release", "main", "--vex", own, "--key", key+".pub")
	if v := verdictOf(r, htmlVuln); code != 0 || v == nil || v.Verdict != gate.VerdictPass || v.Statement == nil || !v.Statement.Verified {
		t.Fatalf("gate with a bundle over the release commit: exit %d, %+v\n%s", code, v, stderr)
	}
	// Both: the verified one counts, the foreign one is reported.
	r, stderr, code = p.gateResult("--release", "main", "--vex", own, "--vex", foreign, "--key", key+".pub")
	if code != 0 || r.Verdict != gate.VerdictPass || !strings.Contains(stderr, "REJECTED") {
		t.Fatalf("gate with both bundles: exit %d, %+v\n%s", code, r.Counts, stderr)
	}
}
