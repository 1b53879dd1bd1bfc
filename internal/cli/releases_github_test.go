package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/examples/demo"
	"github.com/vexloom/vexloom/internal/attest"
	"github.com/vexloom/vexloom/internal/ghfake"
	"github.com/vexloom/vexloom/internal/vex"
)

// keptJSON is a tracked release as update --format json reports it.
type keptJSON struct {
	Release    string   `json:"release"`
	Commit     string   `json:"commit"`
	Branch     string   `json:"branch"`
	Version    int      `json:"version"`
	Changed    bool     `json:"changed"`
	Derived    bool     `json:"derived"`
	Statements int      `json:"statements"`
	Published  []string `json:"published"`
	Warnings   []string `json:"warnings"`
	Failures   []string `json:"failures"`
}

// keepExit runs update with the next hour's clock and returns its tracked
// releases by name and the exit code (1 when a release failed).
func (p *releasesProject) keepExit() (map[string]keptJSON, int) {
	p.t.Helper()
	p.clock++
	start := time.Now()
	out, stderr, code := p.at(p.clock, "update", "--format", "json", "-q")
	p.t.Logf("update at hour %d: exit %d in %s", p.clock, code, time.Since(start).Round(time.Millisecond))
	if code != 0 && code != 1 {
		p.t.Fatalf("update: exit %d\n%s\n%s", code, out, stderr)
	}
	var u struct {
		Releases []keptJSON `json:"releases"`
	}
	if err := json.Unmarshal([]byte(out), &u); err != nil {
		p.t.Fatalf("update output (exit %d): %v\n%s\n%s", code, err, out, stderr)
	}
	m := map[string]keptJSON{}
	for _, r := range u.Releases {
		m[r.Release] = r
	}
	return m, code
}

// storeKinds names the stores published to without the local store's
// directory.
func storeKinds(published []string) []string {
	out := []string{}
	for _, s := range published {
		if strings.HasPrefix(s, "local:") {
			s = "local"
		}
		out = append(out, s)
	}
	return out
}

// shipBinary copies a built binary into a release's binaries directory and
// returns its SHA-256.
func shipBinary(t *testing.T, from, to string) string {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Issue 12's paths beyond the registry: tracked releases whose binaries
// directory (releases.binaries, a template over the tag) holds real Go
// executables, signed keyless through a loopback Fulcio and Rekor, and
// published to the local store and GitHub's attestation store. The
// release's document states the binaries by digest; its bundle verifies
// for the token's identity and issuer; GitHub gets one upload per new
// version and none when nothing changed; GitHub refusing (403, then 500)
// is one line naming the release and the store, the other release is
// still done and nothing is recorded as published there until it is; a
// missing binaries directory is one line; a tag moved after the release
// shipped is reported and the recorded commit stays covered.
func TestTrackedReleaseKeylessGitHubBinaries(t *testing.T) {
	p := &releasesProject{testProject: newTestProject(t), work: t.TempDir()}
	withOlderRelease(t, p.testProject)
	sig := newLoopbackSigstore(t)
	gh := ghfake.New(t)
	gh.CreateRepo("demo-org/vex")
	const token = "ghp_ReleaseKeeperT0kenxxxxxxxxxxxxxxxxxxxx"
	gh.AddToken(token, "release-bot")
	p.vars = append(p.vars, "GITHUB_TOKEN="+token, githubAPIEnv+"="+gh.URL(), "SIGSTORE_ID_TOKEN="+sig.token)

	// Each release's binaries, built from its tag, in dist/{tag}.
	built := map[string]string{}
	sums := map[string]string{}
	for _, tag := range []string{demo.ReleaseTag, "v0.9.0"} {
		built[tag] = buildDemoFor(t, p.testProject, tag, "amd64")
		sums[tag] = shipBinary(t, built[tag], filepath.Join(p.dir, "dist", tag, "demo"))
	}
	// Beside the executables, what a release directory also holds.
	if err := os.WriteFile(filepath.Join(p.dir, "dist", demo.ReleaseTag, "demo.docker_tag"), []byte(demo.ReleaseTag+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile(p.cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg = append(cfg, []byte(`
releases:
  track:
    - tags: ["v*"]
      branches: [release-*]
  binaries: dist/{tag}
  signing:
    keyless: true
    fulcio_url: `+sig.fulcio.URL+`
    rekor_url: `+sig.rekor.URL+`
  publish: [local, github:demo-org/vex]
`)...)
	if err := os.WriteFile(p.cfg, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	p.ok("db", "update", "--source", "dir:"+fixtureDBWithout(t, htmlVuln), "--force", "-q")

	const ghStore = "github:demo-org/vex"
	identity := func(subject string, digests ...attest.Digest) attest.TrustPolicy {
		return attest.TrustPolicy{
			Identity:        &attest.Identity{Issuer: keylessIssuer, SubjectRegexp: subject, WithoutSCTUnsafe: true},
			TrustedMaterial: sig.trust(),
			ArtifactDigests: digests,
		}
	}
	// verifyGitHub checks GitHub holds n attestations and that the newest
	// one for the release's binary verifies for the signing identity and
	// carries version.
	verifyGitHub := func(step, tag string, n, version int) {
		t.Helper()
		atts := gh.Attestations("demo-org/vex")
		if len(atts) != n {
			t.Fatalf("%s: GitHub holds %d attestations, want %d", step, len(atts), n)
		}
		var newest *ghfake.Attestation
		for i := range atts {
			if slices.Contains(atts[i].SubjectDigests, "sha256:"+sums[tag]) {
				newest = &atts[i]
			}
		}
		if newest == nil {
			t.Fatalf("%s: no attestation of %s's binary sha256:%s on GitHub", step, tag, sums[tag])
		}
		d, err := attest.ParseDigest("sha256:" + sums[tag])
		if err != nil {
			t.Fatal(err)
		}
		res, err := attest.Verify(t.Context(), []byte(newest.Bundle), identity(regexp.QuoteMeta(keylessSubject), d))
		if err != nil {
			t.Fatalf("%s: the bundle on GitHub does not verify: %v", step, err)
		}
		if !strings.Contains(res.SignedBy, keylessSubject) || res.VEX == nil || res.VEX.Version != version {
			t.Errorf("%s: signed by %q, version %v", step, res.SignedBy, res.VEX)
		}
		if _, err := attest.Verify(t.Context(), []byte(newest.Bundle), identity(`someone-else@vexloom\.example`, d)); !errors.Is(err, attest.ErrIdentity) {
			t.Errorf("%s: verified for another identity: %v", step, err)
		}
	}

	// First update: both releases written, signed keyless, published.
	first, code := p.keepExit()
	if code != 0 || len(first) != 2 {
		t.Fatalf("first update: exit %d, %+v", code, first)
	}
	r := first[demo.ReleaseTag]
	if r.Version != 1 || !r.Changed || len(r.Failures) > 0 || !slices.Equal(storeKinds(r.Published), []string{"local", ghStore}) {
		t.Fatalf("first update, v1.0.0: %+v", r)
	}
	if want := []string{"release v1.0.0: binaries: 1 file is not a Go executable, not covered: demo.docker_tag"}; !slices.Equal(r.Warnings, want) {
		t.Errorf("first update, v1.0.0's warnings: %q, want %q", r.Warnings, want)
	}
	if sig.issued.Load() == 0 || sig.logged.Load() != sig.issued.Load() {
		t.Errorf("Fulcio issued %d certificates, Rekor logged %d entries", sig.issued.Load(), sig.logged.Load())
	}
	atFirst := len(gh.Attestations("demo-org/vex"))
	verifyGitHub("first update", demo.ReleaseTag, atFirst, 1)
	// The document states the binary by its digest, with the module it
	// ships as subcomponent.
	body := p.ok("vex", "--release", demo.ReleaseTag, "--config", p.cfg)
	doc, err := vex.Parse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	binaryStatements := 0
	for _, s := range doc.Statements {
		for _, pr := range s.Products {
			if string(pr.Hashes[openvex.SHA256]) == sums[demo.ReleaseTag] {
				binaryStatements++
				if !strings.HasPrefix(pr.ID, "pkg:golang/") || !strings.Contains(pr.ID, "sha256:"+sums[demo.ReleaseTag]) || len(pr.Subcomponents) == 0 {
					t.Errorf("binary product: %+v", pr)
				}
			}
		}
	}
	if binaryStatements == 0 {
		t.Fatalf("v1.0.0's document has no statement about its binary sha256:%s:\n%s", sums[demo.ReleaseTag], body)
	}

	// Nothing new: nothing derived, signed or uploaded.
	gh.ResetLog()
	issued := sig.issued.Load()
	again, code := p.keepExit()
	for name, r := range again {
		if code != 0 || r.Derived || r.Changed || len(r.Published) > 0 {
			t.Errorf("update with nothing new, %s: exit %d, %+v", name, code, r)
		}
	}
	for _, req := range gh.Log() {
		if req.Method == http.MethodPost {
			t.Errorf("update with nothing new uploaded: %+v", req)
		}
	}
	if sig.issued.Load() != issued {
		t.Error("update with nothing new asked Fulcio for a certificate")
	}

	// The vulnerability appears in the database while Rekor refuses to
	// log: signing fails in one line, nothing is recorded or published,
	// and the next update signs again.
	sig.refuse.Store(true)
	p.ok("db", "update", "--source", "dir:"+fixtureDBWithout(t), "--force", "-q")
	unsigned, code := p.keepExit()
	r = unsigned[demo.ReleaseTag]
	if code != 1 || r.Version != 1 || r.Changed || len(r.Published) > 0 || len(r.Failures) != 1 ||
		!strings.HasPrefix(r.Failures[0], "release v1.0.0: signing: ") {
		t.Errorf("Rekor refusing, v1.0.0: exit %d, %+v", code, r)
	}
	if old := unsigned["v0.9.0"]; !old.Derived || len(old.Failures) > 0 {
		t.Errorf("Rekor refusing, v0.9.0 was not done: %+v", old)
	}
	if n := len(gh.Attestations("demo-org/vex")); n != atFirst {
		t.Errorf("GitHub holds %d attestations after signing failed, had %d", n, atFirst)
	}
	sig.refuse.Store(false)

	// GitHub refuses the upload of the new version (403): one line naming
	// the release and the store; the local store has it, GitHub is not
	// recorded, v0.9.0 is still done.
	gh.Fail(ghfake.Fault{Method: http.MethodPost, Path: "/repos/demo-org/vex/attestations", Status: http.StatusForbidden,
		Body: `{"message":"Resource not accessible by integration"}`})
	refused, code := p.keepExit()
	r = refused[demo.ReleaseTag]
	if code != 1 || r.Version != 2 || !r.Changed || !slices.Equal(storeKinds(r.Published), []string{"local"}) || len(r.Failures) != 1 ||
		!strings.HasPrefix(r.Failures[0], "release v1.0.0: publishing version 2 to "+ghStore+": ") || !strings.Contains(r.Failures[0], "403") {
		t.Errorf("GitHub refusing with 403, v1.0.0: exit %d, %+v", code, r)
	}
	if old := refused["v0.9.0"]; len(old.Failures) > 0 || old.Version != 1 {
		t.Errorf("GitHub refusing, v0.9.0: %+v", old)
	}
	published := func() map[string]bool {
		pubs, err := openStore(t, p.testProject).ReleasePublications(t.Context(), demo.ReleaseTag)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]bool{}
		for _, pb := range pubs {
			m[fmt.Sprintf("%s@%d", storeKinds([]string{pb.Store})[0], pb.Version)] = true
		}
		return m
	}
	if pubs := published(); !pubs["local@2"] || !pubs[ghStore+"@1"] || pubs[ghStore+"@2"] {
		t.Errorf("publications after the refusal: %v", pubs)
	}
	if n := len(gh.Attestations("demo-org/vex")); n != atFirst {
		t.Errorf("GitHub holds %d attestations after refusing, had %d", n, atFirst)
	}

	// GitHub fails (500) on the retry: the same, as one line of text (an
	// upload is not retried: it is not idempotent).
	gh.Fail(ghfake.Fault{Method: http.MethodPost, Path: "/repos/demo-org/vex/attestations", Status: http.StatusInternalServerError,
		Body: `{"message":"Server Error"}`})
	p.clock++
	out, stderr, code := p.at(p.clock, "update")
	lines := 0
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "failed: ") {
			lines++
			if !strings.HasPrefix(l, "failed: release v1.0.0: publishing version 2 to "+ghStore+": ") || !strings.Contains(l, "500") {
				t.Errorf("failure line: %q", l)
			}
		}
	}
	if code != 1 || lines != 1 {
		t.Errorf("GitHub failing with 500: exit %d, %d failure lines\n%s\n%s", code, lines, out, stderr)
	}
	if published()[ghStore+"@2"] {
		t.Error("a failed upload is recorded as published")
	}

	// GitHub accepts again: version 2 is uploaded once, nothing derived.
	retried, code := p.keepExit()
	r = retried[demo.ReleaseTag]
	if code != 0 || r.Derived || r.Changed || !slices.Equal(storeKinds(r.Published), []string{ghStore}) {
		t.Errorf("retrying the upload: exit %d, %+v", code, r)
	}
	verifyGitHub("after the retry", demo.ReleaseTag, atFirst+1, 2)
	if !published()[ghStore+"@2"] {
		t.Error("the upload is not recorded")
	}

	// v0.9.0's binaries directory vanished: one line naming the release,
	// the directory and the binary that stays covered by its recorded
	// digest; v1.0.0 is still done; v0.9.0 keeps its document.
	if err := os.RemoveAll(filepath.Join(p.dir, "dist", "v0.9.0")); err != nil {
		t.Fatal(err)
	}
	p.clock++
	if _, stderr, code := p.at(p.clock, "triage", "comment", htmlVuln, "--as", "demo-maintainer",
		"/not_affected:vulnerable_code_cannot_be_controlled_by_adversary branches=release-1.0 The demo parses only its own arguments."); code != 0 {
		t.Fatal(stderr)
	}
	gone, code := p.keepExit()
	old := gone["v0.9.0"]
	wantGone := "release v0.9.0: binaries directory " + filepath.Join(p.dir, "dist", "v0.9.0") + " does not exist; its 1 recorded binary stays covered with the recorded digests: demo (sha256:" + sums["v0.9.0"][:12] + ")"
	if code != 0 || len(old.Failures) != 0 || !old.Derived || !slices.Equal(old.Warnings, []string{wantGone}) {
		t.Errorf("missing binaries directory: exit %d, %+v\nwant the warning %q", code, old, wantGone)
	}
	if r := gone[demo.ReleaseTag]; r.Version != 3 || !r.Changed || len(r.Failures) > 0 || !slices.Equal(storeKinds(r.Published), []string{"local", ghStore}) {
		t.Errorf("missing binaries of v0.9.0, v1.0.0: %+v", r)
	}
	if old.Version != 1 || old.Statements == 0 || len(old.Published) > 0 {
		t.Errorf("v0.9.0 without its binaries does not keep its document: %+v", old)
	}
	verifyGitHub("with v0.9.0's binaries missing", demo.ReleaseTag, atFirst+2, 3)
	shipBinary(t, built["v0.9.0"], filepath.Join(p.dir, "dist", "v0.9.0", "demo"))

	// The tag v1.0.0 is moved to a later commit on the branch after the
	// release shipped: reported in one line, and the recorded commit stays
	// the one covered, as the version it shipped as (a decision forces a
	// new version of the document).
	shipped := first[demo.ReleaseTag].Commit
	dir := p.repo.Dir
	gitIn(t, dir, "2026-02-01T00:00:00Z", "checkout", "--quiet", demo.ReleaseBranch)
	if err := os.WriteFile(filepath.Join(dir, "NOTES"), []byte("moved\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitIn(t, dir, "2026-02-01T00:00:00Z", "add", "NOTES")
	gitIn(t, dir, "2026-02-01T00:00:00Z", "commit", "--quiet", "-m", "After the release")
	gitIn(t, dir, "2026-02-01T00:00:00Z", "tag", "-f", demo.ReleaseTag)
	movedTo := gitIn(t, dir, "2026-02-01T00:00:00Z", "rev-parse", "HEAD")
	gitIn(t, dir, "2026-02-01T00:00:00Z", "checkout", "--quiet", demo.MainBranch)
	p.clock++
	if _, stderr, code := p.at(p.clock, "triage", "comment", "GO-2020-0017", "--as", "demo-maintainer",
		"/affected branches=release-1.0 Move to github.com/golang-jwt/jwt."); code != 0 {
		t.Fatal(stderr)
	}
	moved, code := p.keepExit()
	r = moved[demo.ReleaseTag]
	want := "release v1.0.0: the tag now points at " + movedTo[:12] + ", not the recorded commit " + shipped[:12] + "; the recorded commit stays covered"
	if code != 0 || r.Commit != shipped || r.Version != 4 || !r.Changed || !slices.Contains(r.Warnings, want) {
		t.Errorf("moved tag: exit %d, %+v\nwant the warning %q", code, r, want)
	}
	docs, err := openStore(t, p.testProject).ReleaseDocuments(t.Context(), demo.ReleaseTag)
	if err != nil {
		t.Fatal(err)
	}
	v1, err := vex.Parse(docs[0].Body)
	if err != nil {
		t.Fatal(err)
	}
	last, err := vex.Parse(docs[len(docs)-1].Body)
	if err != nil {
		t.Fatal(err)
	}
	if docs[len(docs)-1].Commit != shipped || last.ID != v1.ID || !strings.Contains(string(docs[len(docs)-1].Body), "golang-jwt") {
		t.Errorf("after the tag moved, version %d is of commit %s (id %s, first %s)", docs[len(docs)-1].Version, docs[len(docs)-1].Commit, last.ID, v1.ID)
	}
	// Its statements are still about the module at the version shipped.
	if s := statementFor(last, "CVE-2020-26160", "pkg:golang/"+demo.Module+"@"+demo.ReleaseTag, "pkg:golang/github.com/dgrijalva/jwt-go@v3.2.0+incompatible"); s == nil || s.Status != openvex.StatusAffected {
		t.Errorf("after the tag moved, the statement on the module at %s: %+v\n%s", demo.ReleaseTag, s, docs[len(docs)-1].Body)
	}
	verifyGitHub("after the tag moved", demo.ReleaseTag, atFirst+3, 4)
	// Nothing new after the move: the moved tag alone changes nothing but
	// the warning.
	still, _ := p.keepExit()
	if r := still[demo.ReleaseTag]; r.Derived || r.Changed || r.Commit != shipped || !slices.Equal(r.Warnings, []string{want}) {
		t.Errorf("update after the move: %+v", r)
	}
	// assemble and the gate name the same release: the commit it shipped
	// from, not the one the tag was moved to.
	assembled := filepath.Join(t.TempDir(), "assembled.json")
	if _, stderr, code := p.at(p.clock, "assemble", "--release", demo.ReleaseTag, "-o", assembled); code != 0 || !strings.Contains(stderr, "release "+demo.ReleaseTag+" ("+shipped[:12]+" on ") {
		t.Errorf("assemble after the tag moved: exit %d, want the shipped commit %s:\n%s", code, shipped[:12], stderr)
	}
	if _, stderr, code := p.at(p.clock, "gate", "--release", demo.ReleaseTag, "--allow-unsigned", "--vex", assembled); code > 3 || !strings.Contains(stderr, "release "+demo.ReleaseTag+": commit "+shipped[:12]) {
		t.Errorf("gate after the tag moved: exit %d, want the shipped commit %s:\n%s", code, shipped[:12], stderr)
	}
}
