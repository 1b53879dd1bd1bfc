package cli

import (
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	openvex "github.com/openvex/go-vex/pkg/vex"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/vexloom/vexloom/internal/attest"
	"github.com/vexloom/vexloom/internal/digest"
	"github.com/vexloom/vexloom/internal/fixture"
	"github.com/vexloom/vexloom/internal/gate"
	"github.com/vexloom/vexloom/internal/publish"
	"github.com/vexloom/vexloom/internal/vex"
)

// keyPair writes a generated key pair to dir and returns the paths of the
// private and public key.
func keyPair(t *testing.T, dir, name string) (string, string) {
	t.Helper()
	priv, pub, err := attest.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	privFile, pubFile := filepath.Join(dir, name+".key"), filepath.Join(dir, name+".pub")
	if err := os.WriteFile(privFile, priv, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pubFile, pub, 0o644); err != nil {
		t.Fatal(err)
	}
	return privFile, pubFile
}

// signDocument signs an OpenVEX document into a Sigstore bundle file.
func signTestDocument(t *testing.T, doc *openvex.VEX, keyFile, out string) {
	t.Helper()
	st, err := attest.Statement(doc)
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

// gateResult runs the gate with --format json and returns the result and
// the exit code.
func (p *testProject) gateResult(args ...string) (*gate.Result, string, int) {
	p.t.Helper()
	out, stderr, code := p.cmd(append([]string{"gate", "--format", "json", "-q"}, args...)...)
	if code != 0 && code != 3 {
		p.t.Fatalf("gate %v: exit %d\n%s", args, code, stderr)
	}
	var r gate.Result
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		p.t.Fatalf("gate %v: JSON output: %v\n%s", args, err, out)
	}
	return &r, stderr, code
}

func verdictOf(r *gate.Result, id string) *gate.FindingVerdict {
	for i := range r.Findings {
		f := r.Findings[i].Finding
		if f.ID == id || f.Name() == id {
			return &r.Findings[i]
		}
		for _, a := range f.Aliases {
			if a == id {
				return &r.Findings[i]
			}
		}
	}
	return nil
}

// A reachable dependency vulnerability fails the gate until a maintainer's
// signed not_affected is given; a forged unsigned statement, or one signed
// with another key, does not open it; --allow-unsigned lets the unsigned
// one count.
func TestGateSignedVEX(t *testing.T) {
	t.Parallel()
	p := newTestProject(t)
	p.update()
	keys := t.TempDir()
	priv, pub := keyPair(t, keys, "maintainer")
	otherPriv, _ := keyPair(t, keys, "other")

	// main calls html.Parse: symbol level, no statement → fail.
	r, _, code := p.gateResult("--release", "main", "--key", pub)
	v := verdictOf(r, htmlVuln)
	if code != 3 || r.Verdict != gate.VerdictFail || v == nil || v.Verdict != gate.VerdictFail || v.Finding.Level.String() != "symbol" {
		t.Fatalf("main without VEX: exit %d, %+v", code, v)
	}
	if out, _, code := p.cmd("gate", "--release", "main", "--key", pub, "-q"); code != 3 || !strings.Contains(out, "FAIL") || !strings.Contains(out, "CVE-2024-45338") || !strings.Contains(out, "what to do:") {
		t.Errorf("table: exit %d\n%s", code, out)
	}

	// The maintainer's decision, in the release's assembled document, with
	// the release binary's digest (a signed statement needs a subject).
	out := p.ok("assemble", "--config", p.cfg, "--release", "main", "-q")
	doc, err := vex.Parse([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for i := range doc.Statements {
		s := &doc.Statements[i]
		for j := range s.Products {
			s.Products[j].Hashes = map[openvex.Algorithm]openvex.Hash{openvex.SHA256: openvex.Hash(strings.Repeat("ab", 32))}
		}
		if string(s.Vulnerability.Name) == "CVE-2024-45338" {
			found = true
			s.Status, s.Justification = openvex.StatusNotAffected, openvex.VulnerableCodeCannotBeControlledByAdversary
			s.ImpactStatement = "Only the operator's own pages reach html.Parse."
		}
	}
	if !found {
		t.Fatalf("the assembled document has no statement on CVE-2024-45338:\n%s", out)
	}
	dir := t.TempDir()
	signed := filepath.Join(dir, "main.sigstore.json")
	signTestDocumentFor(t, doc, priv, signed, p.repo.Commits["main"])
	r, stderr, code := p.gateResult("--release", "main", "--vex", signed, "--key", pub)
	if v := verdictOf(r, htmlVuln); code != 0 || v == nil || v.Verdict != gate.VerdictPass || v.Statement == nil || !v.Statement.Verified {
		t.Fatalf("with the signed statement: exit %d, %+v\n%s", code, v, stderr)
	}
	if !strings.Contains(stderr, "verified, signed by") {
		t.Errorf("the source is not reported as verified: %s", stderr)
	}

	// Published signed to the project's local store, it counts from there.
	pred, err := vex.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	bundleBytes, err := os.ReadFile(signed)
	if err != nil {
		t.Fatal(err)
	}
	local, err := publish.NewLocal(filepath.Join(p.dir, ".vexloom", "published"), nil)
	if err != nil {
		t.Fatal(err)
	}
	obj := publish.Object{Bundle: bundleBytes, Document: pred, Kind: publish.KindRelease, Ref: "main"}
	for _, s := range doc.Statements {
		for _, pr := range s.Products {
			if !slices.Contains(obj.Products, pr.ID) {
				obj.Products = append(obj.Products, pr.ID)
				obj.Subjects = append(obj.Subjects, digest.SubjectOf(pr.ID, publish.Digest{Algorithm: "sha256", Hex: strings.Repeat("ab", 32)}))
			}
		}
	}
	if _, err := local.Publish(context.Background(), obj); err != nil {
		t.Fatal(err)
	}
	r, stderr, code = p.gateResult("--release", "main", "--vex", "store", "--key", pub)
	if v := verdictOf(r, htmlVuln); code != 0 || v == nil || v.Statement == nil || v.Statement.Source != gate.SourceStore || !v.Statement.Verified {
		t.Fatalf("--vex store with a signed record: exit %d, %+v\n%s", code, v, stderr)
	}

	// A forged statement: the same document, unsigned.
	data, err := vex.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	forged := filepath.Join(dir, "forged.openvex.json")
	if err := os.WriteFile(forged, data, 0o644); err != nil {
		t.Fatal(err)
	}
	r, stderr, code = p.gateResult("--release", "main", "--vex", forged, "--key", pub)
	v = verdictOf(r, htmlVuln)
	if code != 3 || v == nil || v.Verdict != gate.VerdictFail || len(v.Ignored) == 0 || v.Statement != nil || !strings.Contains(v.Reason, "ignored") {
		t.Fatalf("forged: exit %d, %+v", code, v)
	}
	if !strings.Contains(stderr, "unsigned OpenVEX") || !strings.Contains(stderr, "ignored unless --allow-unsigned") {
		t.Errorf("the forged source is not reported: %s", stderr)
	}
	if out, _, _ := p.cmd("gate", "--release", "main", "--vex", forged, "--key", pub, "-q"); !strings.Contains(out, "unverified ignored") {
		t.Errorf("table does not show the ignored statement:\n%s", out)
	}
	// Signed with another key: rejected, with the reason.
	other := filepath.Join(dir, "other.sigstore.json")
	signTestDocument(t, doc, otherPriv, other)
	r, stderr, code = p.gateResult("--release", "main", "--vex", other, "--key", pub)
	if v := verdictOf(r, htmlVuln); code != 3 || v == nil || v.Verdict != gate.VerdictFail || len(v.Ignored) == 0 {
		t.Fatalf("another key: exit %d, %+v", code, v)
	}
	if !strings.Contains(stderr, "REJECTED") || !strings.Contains(stderr, "signature does not verify") {
		t.Errorf("another key is not rejected with a reason: %s", stderr)
	}
	// A directory holding both: the verified statement counts.
	if r, _, code := p.gateResult("--release", "main", "--vex", dir, "--key", pub); code != 0 || r.Verdict != gate.VerdictPass {
		t.Errorf("directory: exit %d, %+v", code, r.Counts)
	}
	// --allow-unsigned counts the forged one.
	r, _, code = p.gateResult("--release", "main", "--vex", forged, "--allow-unsigned")
	if v := verdictOf(r, htmlVuln); code != 0 || v == nil || v.Verdict != gate.VerdictPass || v.Statement == nil || v.Statement.Verified || !r.AllowUnsigned {
		t.Fatalf("--allow-unsigned: exit %d, %+v", code, v)
	}

	// SARIF parses, and names the failure as an error.
	out, _, code = p.cmd("gate", "--release", "main", "--key", pub, "--format", "sarif", "-q")
	var sarif struct {
		Version string `json:"version"`
		Runs    []struct {
			Results []struct {
				RuleID string `json:"ruleId"`
				Level  string `json:"level"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &sarif); err != nil || code != 3 || sarif.Version != "2.1.0" || len(sarif.Runs) != 1 {
		t.Fatalf("sarif: exit %d, %v\n%s", code, err, out)
	}
	levels := map[string]string{}
	for _, res := range sarif.Runs[0].Results {
		levels[res.RuleID] = res.Level
	}
	if levels[htmlVuln] != "error" {
		t.Errorf("sarif levels: %v", levels)
	}

	// The signed result attestation: it verifies with the signing key's
	// public half, not with another, and holds the result.
	att := filepath.Join(dir, "gate.sigstore.json")
	_, stderr, code = p.cmd("gate", "--release", "main", "--vex", signed, "--key", pub, "--attest-result", att, "--signing-key", priv, "-q")
	if code != 0 {
		t.Fatalf("--attest-result: exit %d: %s", code, stderr)
	}
	payload := verifyResultBundle(t, att, filepath.Join(keys, "maintainer.pub"))
	var st struct {
		Type          string `json:"_type"`
		PredicateType string `json:"predicateType"`
		Subject       []struct {
			Name   string            `json:"name"`
			Digest map[string]string `json:"digest"`
		} `json:"subject"`
		Predicate gate.Result `json:"predicate"`
	}
	if err := json.Unmarshal(payload, &st); err != nil {
		t.Fatal(err)
	}
	if st.PredicateType != gate.PredicateType || st.Predicate.Verdict != gate.VerdictPass || len(st.Subject) != 1 || len(st.Subject[0].Digest["gitCommit"]) != 40 {
		t.Errorf("result statement: %s", payload)
	}
	if _, err := verifyResultBundleErr(att, filepath.Join(keys, "other.pub")); err == nil {
		t.Error("the result bundle verifies with another key")
	}
	// The attestation is written when the gate fails too, and the exit is 3.
	failed := filepath.Join(dir, "failed.sigstore.json")
	if _, _, code := p.cmd("gate", "--release", "main", "--key", pub, "--attest-result", failed, "--signing-key", priv, "-q"); code != 3 {
		t.Errorf("failed gate with --attest-result: exit %d", code)
	}
	if _, err := os.Stat(failed); err != nil {
		t.Errorf("no attestation of the failed result: %v", err)
	}
}

func verifyResultBundle(t *testing.T, file, pubFile string) []byte {
	t.Helper()
	payload, err := verifyResultBundleErr(file, pubFile)
	if err != nil {
		t.Fatal(err)
	}
	return payload
}

// verifyResultBundleErr verifies a key-signed bundle with sigstore-go and
// returns its DSSE payload.
func verifyResultBundleErr(file, pubFile string) ([]byte, error) {
	pemBytes, err := os.ReadFile(pubFile)
	if err != nil {
		return nil, err
	}
	pub, err := attest.LoadPublicKey(pemBytes)
	if err != nil {
		return nil, err
	}
	sv, err := signature.LoadVerifier(pub, crypto.SHA256)
	if err != nil {
		return nil, err
	}
	key := root.NewExpiringKey(sv, time.Time{}, time.Time{})
	tm := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) { return key, nil })
	b, err := bundle.LoadJSONFromPath(file)
	if err != nil {
		return nil, err
	}
	v, err := verify.NewVerifier(tm, verify.WithNoObserverTimestamps())
	if err != nil {
		return nil, err
	}
	if _, err := v.Verify(b, verify.NewPolicy(verify.WithoutArtifactUnsafe(), verify.WithKey())); err != nil {
		return nil, err
	}
	env := b.GetDsseEnvelope()
	if env.GetPayloadType() != attest.PayloadType {
		return nil, os.ErrInvalid
	}
	// protojson gives the payload as bytes already decoded.
	if p := env.GetPayload(); len(p) > 0 && p[0] == '{' {
		return p, nil
	}
	return base64.StdEncoding.DecodeString(string(env.GetPayload()))
}

func TestGateBadInputs(t *testing.T) {
	t.Parallel()
	p := newTestProject(t)
	dir := t.TempDir()
	_, pub := keyPair(t, dir, "k")
	scanFile, err := filepath.Abs(filepath.Join("..", "gate", "testdata", "demo.govulncheck.json"))
	if err != nil {
		t.Fatal(err)
	}
	badPolicy := filepath.Join(dir, "policy.yaml")
	os.WriteFile(badPolicy, []byte("rules:\n  - name: x\n    when: finding.nope ==\n    action: fail\n"), 0o644)
	notVEX := filepath.Join(dir, "not-vex.json")
	os.WriteFile(notVEX, []byte(`{"hello": "world"}`), 0o644)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"gate", "--release", "main", "--scan", scanFile, "--allow-unsigned"}, 2, "not both"},
		{[]string{"gate", "--allow-unsigned"}, 2, "--release REF or --scan FILE"},
		{[]string{"gate", "--scan", scanFile}, 2, "--key FILE"},
		{[]string{"gate", "--scan", scanFile, "--key", pub, "--certificate-identity", "x", "--certificate-oidc-issuer", "https://i"}, 2, "not both"},
		{[]string{"gate", "--scan", scanFile, "--certificate-identity", "x"}, 2, "go together"},
		{[]string{"gate", "--scan", scanFile, "--certificate-identity", "(", "--certificate-oidc-issuer", "https://i"}, 2, "--certificate-identity"},
		{[]string{"gate", "--scan", scanFile, "--allow-unsigned", "--format", "xml"}, 2, "--format"},
		{[]string{"gate", "--scan", scanFile, "--allow-unsigned", "--attest-result", filepath.Join(dir, "a.json")}, 2, "--signing-key"},
		{[]string{"gate", "--scan", filepath.Join(dir, "missing.json"), "--allow-unsigned"}, 1, "missing.json"},
		{[]string{"gate", "--scan", scanFile, "--key", filepath.Join(dir, "missing.pub")}, 1, "--key"},
		{[]string{"gate", "--scan", scanFile, "--key", scanFile}, 1, "public key"},
		{[]string{"gate", "--scan", scanFile, "--allow-unsigned", "--vex", filepath.Join(dir, "missing.json")}, 1, "missing.json"},
		{[]string{"gate", "--scan", scanFile, "--allow-unsigned", "--vex", notVEX}, 1, "not a Sigstore bundle"},
		{[]string{"gate", "--scan", scanFile, "--allow-unsigned", "--policy", badPolicy}, 1, "policy"},
		{[]string{"gate", "--scan", scanFile, "--allow-unsigned", "--policy", filepath.Join(dir, "none.yaml")}, 1, "policy"},
		{[]string{"gate", "--scan", scanFile, "--allow-unsigned", "--vex", "feed:ftp://x"}, 2, "http(s)"},
		{[]string{"gate", "--scan", pub, "--allow-unsigned"}, 1, "scan results"},
		{[]string{"gate", "--scan", scanFile, "--allow-unsigned", "--attest-result", filepath.Join(dir, "a.json"), "--signing-key", pub}, 1, "--signing-key"},
		// Before any update there is no store to read releases from.
		{[]string{"gate", "--release", "main", "--allow-unsigned", "--config", p.cfg}, 1, "vexloom update"},
		{[]string{"advisories", "list", "--config", p.cfg}, 1, "vexloom update"},
		{[]string{"advisories"}, 2, "sync or list"},
	} {
		_, stderr, code := p.run(tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, want %d with %q: %s", tc.args, code, tc.code, tc.want, stderr)
		}
	}

	// A scan results file gates without a project: govulncheck's demo
	// stream reaches html.Parse.
	out, stderr, code := p.run("gate", "--scan", scanFile, "--allow-unsigned", "--format", "json", "-q")
	var r gate.Result
	if err := json.Unmarshal([]byte(out), &r); err != nil || code != 3 || verdictOf(&r, htmlVuln) == nil {
		t.Errorf("--scan: exit %d, %v\n%s\n%s", code, err, out, stderr)
	}
	// A policy that allows it opens the gate.
	allow := filepath.Join(dir, "allow.yaml")
	os.WriteFile(allow, []byte("rules:\n  - name: accept-html\n    when: '\"CVE-2024-45338\" in finding.aliases'\n    action: allow\n    reason: only trusted pages\n"), 0o644)
	if out, stderr, code := p.run("gate", "--scan", scanFile, "--allow-unsigned", "--policy", allow, "-q"); code != 0 || !strings.Contains(out, "accept-html") {
		t.Errorf("--policy allow: exit %d\n%s\n%s", code, out, stderr)
	}
	// --vex store reads the project's published documents: update
	// publishes the branch documents unsigned, so they do not count.
	if _, stderr, code := p.cmd("gate", "--release", "main", "--vex", "store", "--key", pub, "-q"); code != 1 || !strings.Contains(stderr, "vexloom update") {
		t.Errorf("--vex store before update: exit %d: %s", code, stderr)
	}
	p.update()
	if _, stderr, code := p.cmd("gate", "--release", "main", "--vex", "store", "--key", pub, "-q"); code != 3 || !strings.Contains(stderr, "vex: published sha256:") || !strings.Contains(stderr, "ignored unless --allow-unsigned") {
		t.Errorf("--vex store: exit %d: %s", code, stderr)
	}
	if _, stderr, code := p.cmd("gate", "--release", "v9.9.9", "--allow-unsigned", "-q"); code != 1 || !strings.Contains(stderr, "v9.9.9") {
		t.Errorf("a missing release: exit %d: %s", code, stderr)
	}
}

// notAffectedHTML is a maintainer's statement that the demo is not affected
// by x/net's html vulnerability, about product.
func notAffectedHTML(product openvex.Component) *openvex.VEX {
	ts := fixture.Now.Add(-time.Hour)
	return &openvex.VEX{
		Metadata: openvex.Metadata{
			Context: openvex.ContextLocator(), ID: "https://openvex.dev/docs/public/vex-gate-test",
			Author: "demo maintainers", Timestamp: &ts, Version: 1,
		},
		Statements: []openvex.Statement{{
			Vulnerability: openvex.Vulnerability{Name: "CVE-2024-45338", Aliases: []openvex.VulnerabilityID{htmlVuln}},
			Products: []openvex.Product{{
				Component:     product,
				Subcomponents: []openvex.Subcomponent{{Component: openvex.Component{ID: "pkg:golang/golang.org/x/net"}}},
			}},
			Status: openvex.StatusNotAffected, Justification: openvex.VulnerableCodeCannotBeControlledByAdversary,
			Timestamp: &ts,
		}},
	}
}

// VEX from a VEX repository (never signed) and from an image's OCI
// referrers (signed bundles, verified against the image digest).
func TestGateVEXSources(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dir := t.TempDir()
	priv, pub := keyPair(t, dir, "maintainer")
	otherPriv, _ := keyPair(t, dir, "other")
	scanFile, err := filepath.Abs(filepath.Join("..", "gate", "testdata", "demo.govulncheck.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, code := e.run("gate", "--scan", scanFile, "--key", pub, "-q"); code != 3 {
		t.Fatalf("without VEX: exit %d", code)
	}

	// A feed: its statements are reported and count only with
	// --allow-unsigned.
	var snap *publish.Snapshot
	feedSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := snap.Files[strings.TrimPrefix(r.URL.Path, "/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	}))
	defer feedSrv.Close()
	doc := notAffectedHTML(openvex.Component{ID: "pkg:golang/golang.org/x/net"})
	data, err := vex.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	snap, err = publish.BuildFeed(publish.FeedConfig{Name: "demo", Description: "demo VEX", BaseURL: feedSrv.URL}, [][]byte{data}, fixture.Now)
	if err != nil {
		t.Fatal(err)
	}
	_, stderr, code := e.run("gate", "--scan", scanFile, "--vex", "feed:"+feedSrv.URL, "--key", pub, "-q")
	if code != 3 || !strings.Contains(stderr, "1 statement in 1 documents, unsigned") {
		t.Errorf("feed with --key: exit %d: %s", code, stderr)
	}
	if _, stderr, code := e.run("gate", "--scan", scanFile, "--vex", "feed:"+feedSrv.URL, "--allow-unsigned", "-q"); code != 0 {
		t.Errorf("feed with --allow-unsigned: exit %d: %s", code, stderr)
	}
	if _, stderr, code := e.run("gate", "--scan", scanFile, "--vex", "feed:"+feedSrv.URL+"/nowhere/", "--allow-unsigned", "-q"); code != 1 || !strings.Contains(stderr, "404") {
		t.Errorf("a missing feed: exit %d: %s", code, stderr)
	}

	// An image in a registry on loopback with a signed statement about it
	// attached as a referrer.
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	host := strings.TrimPrefix(reg.URL, "http://")
	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(host + "/demo/app:v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
	imgDigest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	purl := "pkg:oci/app@" + imgDigest.String() + "?repository_url=" + host + "/demo/app"
	doc = notAffectedHTML(openvex.Component{ID: purl, Hashes: map[openvex.Algorithm]openvex.Hash{openvex.SHA256: openvex.Hash(imgDigest.Hex)}})
	publishSigned := func(keyFile string) {
		t.Helper()
		bf := filepath.Join(t.TempDir(), "b.json")
		signTestDocument(t, doc, keyFile, bf)
		b, _ := os.ReadFile(bf)
		pred, err := vex.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		store, err := publish.NewOCI(host+"/demo/app", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.Publish(context.Background(), publish.Object{
			Bundle: b, Document: pred, Kind: publish.KindRelease, Ref: "v1", Products: []string{purl},
			Subjects: []publish.Subject{digest.SubjectOf(purl, publish.Digest{Algorithm: "sha256", Hex: imgDigest.Hex})},
		}); err != nil {
			t.Fatal(err)
		}
	}
	publishSigned(otherPriv)
	_, stderr, code = e.run("gate", "--scan", scanFile, "--vex", "oci:"+host+"/demo/app:v1", "--key", pub, "-q")
	if code != 3 || !strings.Contains(stderr, "REJECTED") {
		t.Errorf("oci, signed by another key: exit %d: %s", code, stderr)
	}
	publishSigned(priv)
	out, stderr, code := e.run("gate", "--scan", scanFile, "--vex", "oci:"+host+"/demo/app:v1", "--key", pub, "--format", "json", "-q")
	var r gate.Result
	if err := json.Unmarshal([]byte(out), &r); err != nil || code != 0 {
		t.Fatalf("oci, signed: exit %d %v: %s\n%s", code, err, stderr, out)
	}
	if v := verdictOf(&r, htmlVuln); v == nil || v.Statement == nil || !v.Statement.Verified || v.Statement.Source != gate.SourceOCI {
		t.Errorf("oci statement: %+v", v)
	}
	if _, stderr, code := e.run("gate", "--scan", scanFile, "--vex", "oci:"+host+"/demo/missing:v1", "--key", pub, "-q"); code != 1 || !strings.Contains(stderr, "resolving the image") {
		t.Errorf("a missing image: exit %d: %s", code, stderr)
	}
}
