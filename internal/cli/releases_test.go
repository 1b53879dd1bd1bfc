package cli

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/examples/demo"
	"github.com/vexloom/vexloom/internal/fixture"
	"github.com/vexloom/vexloom/internal/publish"
	"github.com/vexloom/vexloom/internal/release"
	"github.com/vexloom/vexloom/internal/vex"
	"github.com/vexloom/vexloom/internal/viewjson"
)

// releasesProject is the demo with an older release v0.9.0 on release-1.0
// (no golang.org/x/net at all) before v1.0.0, a multi-arch image of
// v1.0.0 on a loopback registry, a signing key and the releases section.
type releasesProject struct {
	*testProject
	host    string
	image   string
	digests map[string]string // arch → platform manifest digest
	pub     string
	work    string
	clock   int // hours after fixture.Now
}

// gitIn runs git in dir with a fixed identity and date.
func gitIn(t *testing.T, dir, date string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL="+os.DevNull, "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=demo", "GIT_AUTHOR_EMAIL=demo@example.com", "GIT_COMMITTER_NAME=demo", "GIT_COMMITTER_EMAIL=demo@example.com",
		"GIT_AUTHOR_DATE="+date, "GIT_COMMITTER_DATE="+date)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// withOlderRelease rebuilds release-1.0 as two commits: v0.9.0, which does
// not use golang.org/x/net, and v1.0.0 on top of it with the demo's release
// content.
func withOlderRelease(t *testing.T, p *testProject) {
	t.Helper()
	dir := p.repo.Dir
	gitIn(t, dir, "2025-12-01T00:00:00Z", "checkout", "--quiet", demo.ReleaseTag)
	files, err := demo.Files(demo.ReleaseBranch)
	if err != nil {
		t.Fatal(err)
	}
	gitIn(t, dir, "2025-12-01T00:00:00Z", "checkout", "--quiet", "--orphan", "older")
	gitIn(t, dir, "2025-12-01T00:00:00Z", "rm", "-rq", "--cached", ".")
	older := map[string]string{
		"go.mod":  "module " + demo.Module + "\n\ngo 1.24.0\n",
		"main.go": "// Command demo greets its arguments.\npackage main\n\nimport (\n\t\"fmt\"\n\t\"os\"\n)\n\nfunc main() { fmt.Println(\"hello\", os.Args[1:]) }\n",
	}
	for _, f := range []string{".go-version", "OWNERS", "OWNERS_ALIASES"} {
		older[f] = string(files[f])
	}
	os.Remove(filepath.Join(dir, "go.sum"))
	for f, c := range older {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
		gitIn(t, dir, "2025-12-01T00:00:00Z", "add", f)
	}
	gitIn(t, dir, "2025-12-01T00:00:00Z", "commit", "--quiet", "-m", "Release 0.9: greet")
	gitIn(t, dir, "2025-12-01T00:00:00Z", "tag", "v0.9.0")
	for f, c := range files {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, f), c, 0o644); err != nil {
			t.Fatal(err)
		}
		gitIn(t, dir, "2026-01-10T00:00:00Z", "add", f)
	}
	gitIn(t, dir, "2026-01-10T00:00:00Z", "commit", "--quiet", "-m", "Release 1.0: greet the arguments as HTML")
	gitIn(t, dir, "2026-01-10T00:00:00Z", "tag", "-f", demo.ReleaseTag)
	gitIn(t, dir, "2026-01-10T00:00:00Z", "branch", "-f", demo.ReleaseBranch, "HEAD")
	gitIn(t, dir, "2026-01-10T00:00:00Z", "checkout", "--quiet", demo.MainBranch)
}

// buildDemoFor builds the demo's command at its release tag for linux/arch.
// A build depends only on the tag's commit and the arch (-trimpath, the
// commits are dated), so each is made once per test binary, in the shared
// directory, and the tests that build the same commit share it: the
// returned file must not be written to.
func buildDemoFor(t *testing.T, p *testProject, tag, arch string) string {
	t.Helper()
	commit := gitIn(t, p.repo.Dir, "2026-01-01T00:00:00Z", "rev-parse", tag+"^{commit}")
	out := filepath.Join(sharedDir(t), "bin", commit+"-"+arch, "demo")
	shared.buildMu.Lock()
	defer shared.buildMu.Unlock()
	if _, err := os.Stat(out); err == nil {
		return out
	}
	// Built beside, then renamed: a failed build leaves nothing behind.
	tmp := filepath.Join(t.TempDir(), "demo")
	for _, args := range [][]string{
		{"git", "checkout", "--quiet", tag},
		{"go", "build", "-buildvcs=true", "-trimpath", "-o", tmp, "."},
		{"git", "checkout", "--quiet", demo.MainBranch},
	} {
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir = p.repo.Dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local", "GOWORK=off", "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch,
			"GIT_CONFIG_GLOBAL="+os.DevNull, "GIT_CONFIG_NOSYSTEM=1")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, b)
		}
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := copyFile(tmp, out+".tmp", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(out+".tmp", out); err != nil {
		t.Fatal(err)
	}
	return out
}

// pushMultiArch pushes an index of one image per arch, each holding its
// binary at /usr/local/bin/demo, and returns the platform digests.
func pushMultiArch(t *testing.T, ref string, bins map[string]string) map[string]string {
	t.Helper()
	var idx v1.ImageIndex = mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	digests := map[string]string{}
	for arch, bin := range bins {
		data, err := os.ReadFile(bin)
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
		img, err = mutate.ConfigFile(img, &v1.ConfigFile{OS: "linux", Architecture: arch})
		if err != nil {
			t.Fatal(err)
		}
		d, _ := img.Digest()
		digests[arch] = d.String()
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(tag, idx); err != nil {
		t.Fatal(err)
	}
	return digests
}

// fixtureDBWithout writes the fixture OSV entries except those named.
func fixtureDBWithout(t *testing.T, ids ...string) string {
	t.Helper()
	dir := t.TempDir()
	es, err := os.ReadDir(fixture.OSVDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		skip := false
		for _, id := range ids {
			skip = skip || e.Name() == id+".json"
		}
		if skip {
			continue
		}
		b, err := os.ReadFile(filepath.Join(fixture.OSVDir(), e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func newReleasesProject(t *testing.T, publishTo string) *releasesProject {
	t.Helper()
	p := newTestProject(t)
	withOlderRelease(t, p)
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	rp := &releasesProject{testProject: p, host: strings.TrimPrefix(srv.URL, "http://"), work: t.TempDir()}
	rp.image = rp.host + "/demo/app"
	rp.digests = pushMultiArch(t, rp.image+":"+demo.ReleaseTag, map[string]string{
		"amd64": buildDemoFor(t, p, demo.ReleaseTag, "amd64"),
		"arm64": buildDemoFor(t, p, demo.ReleaseTag, "arm64"),
	})
	pushMultiArch(t, rp.image+":v0.9.0", map[string]string{"amd64": buildDemoFor(t, p, "v0.9.0", "amd64")})
	key := filepath.Join(rp.work, "release")
	p.ok("keygen", "-o", key)
	rp.pub = key + ".pub"
	cfg, err := os.ReadFile(p.cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg = append(cfg, []byte(`
releases:
  track:
    - tags: ["v*"]
      branches: [release-*]
      keep: 5
  images:
    - `+rp.image+`:{tag}
  signing:
    key: `+key+`.key
  publish: [`+publishTo+`]
`)...)
	if err := os.WriteFile(p.cfg, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	return rp
}

// at runs a project command with the clock at fixture.Now plus hours.
func (p *releasesProject) at(hours int, args ...string) (string, string, int) {
	p.t.Helper()
	var out, errb bytes.Buffer
	g := &globals{now: func() time.Time { return fixture.Now.Add(time.Duration(hours) * time.Hour) }, env: p.vars}
	code := run(context.Background(), g, append([]string{"--cache-dir", p.cache, "--config", p.cfg}, args...), strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

// keep runs update and returns its releases by name.
func (p *releasesProject) keep() map[string]releaseKeptJSON {
	p.t.Helper()
	p.clock++
	out, stderr, code := p.at(p.clock, "update", "--format", "json", "-q")
	if code != 0 {
		p.t.Fatalf("update: exit %d\n%s\n%s", code, out, stderr)
	}
	var u struct {
		Releases []releaseKeptJSON `json:"releases"`
	}
	if err := json.Unmarshal([]byte(out), &u); err != nil {
		p.t.Fatalf("update output: %v\n%s", err, out)
	}
	m := map[string]releaseKeptJSON{}
	for _, r := range u.Releases {
		m[r.Release] = r
	}
	return m
}

type releaseKeptJSON struct {
	Release    string   `json:"release"`
	Commit     string   `json:"commit"`
	Branch     string   `json:"branch"`
	Version    int      `json:"version"`
	Changed    bool     `json:"changed"`
	Derived    bool     `json:"derived"`
	Statements int      `json:"statements"`
	Published  []string `json:"published"`
	Failures   []string `json:"failures"`
}

// statementFor finds what a document says about vuln for a product and
// subcomponent, as go-vex matches it for a scanner's query.
func statementFor(doc *openvex.VEX, vuln, product, sub string) *openvex.Statement {
	sts := doc.Matches(vuln, product, []string{sub})
	if len(sts) == 0 {
		return nil
	}
	return &sts[len(sts)-1]
}

// Issue 12's "done when": a release tagged, its images pushed multi-arch,
// a vulnerability appearing in the database after the release, a
// maintainer's decision on the branch, one update — and the release's new
// document is signed, published to the local store, the feed and as an OCI
// referrer, pulled back, verified and matched by Trivy- and Grype-shaped
// queries for the image by digest; the older release without the
// vulnerable version gets no statement for it.
func TestTrackedReleaseLivesOn(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("end-to-end: scans the release against two databases; run without -short")
	}
	p := newReleasesProject(t, "local, feed, oci")
	// The database as it was on release day: without GO-2024-3333.
	p.ok("db", "update", "--source", "dir:"+fixtureDBWithout(t, htmlVuln), "--force", "-q")
	first := p.keep()
	if len(first) != 2 {
		t.Fatalf("tracked releases: %+v", first)
	}
	for _, name := range []string{demo.ReleaseTag, "v0.9.0"} {
		r := first[name]
		if r.Branch != demo.ReleaseBranch || r.Version != 1 || !r.Changed || len(r.Failures) > 0 {
			t.Errorf("first update, %s: %+v", name, r)
		}
	}
	if got := first[demo.ReleaseTag].Published; len(got) != 3 {
		t.Errorf("v1.0.0 published to %v, want the local store, the feed and the registry", got)
	}

	// Nothing new: nothing derived, signed or pushed.
	again := p.keep()
	for name, r := range again {
		if r.Derived || r.Changed || len(r.Published) > 0 || r.Version != 1 {
			t.Errorf("update with nothing new, %s: %+v", name, r)
		}
	}

	// The vulnerability appears in the database after the release.
	p.ok("db", "update", "--source", "dir:"+fixtureDBWithout(t), "--force", "-q")
	appeared := p.keep()
	if r := appeared[demo.ReleaseTag]; r.Version != 2 || !r.Changed {
		t.Errorf("after the database change, v1.0.0: %+v", r)
	}
	// v0.9.0 has no golang.org/x/net: re-derived, unchanged, not re-signed.
	if r := appeared["v0.9.0"]; !r.Derived || r.Changed || r.Version != 1 || len(r.Published) > 0 {
		t.Errorf("after the database change, v0.9.0: %+v", r)
	}

	// A maintainer decides on the branch; one update takes it to the
	// release.
	p.clock++
	if out, stderr, code := p.at(p.clock, "triage", "comment", htmlVuln, "--as", "demo-maintainer",
		"/not_affected:vulnerable_code_cannot_be_controlled_by_adversary branches=release-1.0 The demo parses only its own arguments."); code != 0 {
		t.Fatalf("triage comment: exit %d\n%s\n%s", code, out, stderr)
	}
	decided := p.keep()
	r := decided[demo.ReleaseTag]
	if r.Version != 3 || !r.Changed || len(r.Published) != 3 || len(r.Failures) > 0 {
		t.Fatalf("after the decision, v1.0.0: %+v", r)
	}
	if r := decided["v0.9.0"]; r.Changed || r.Version != 1 {
		t.Errorf("after the decision, v0.9.0: %+v", r)
	}

	const cve = "CVE-2024-45338"
	netSub := "pkg:golang/golang.org/x/net@v0.32.0"
	// Grype's query: the image by platform digest (with and without arch).
	for arch, digest := range p.digests {
		pulled := filepath.Join(p.work, "pulled-"+arch)
		out, stderr, code := p.run("pull", "--from", "oci:"+p.image, "--subject", digest, "--key", p.pub, "-o", pulled)
		if code != 0 {
			t.Fatalf("pull %s: exit %d\n%s\n%s", arch, code, out, stderr)
		}
		latest := newestPulled(t, pulled)
		if latest == nil || latest.Version != 3 {
			t.Fatalf("pulled from the registry for %s: newest %+v", arch, latest)
		}
		for _, q := range []string{
			"pkg:oci/app@" + digest + "?repository_url=" + p.image,
			"pkg:oci/app@" + digest + "?arch=" + arch + "&repository_url=" + p.image,
		} {
			s := statementFor(latest, cve, q, netSub)
			if s == nil || s.Status != openvex.StatusNotAffected || s.Justification != openvex.VulnerableCodeCannotBeControlledByAdversary {
				t.Errorf("Grype-shaped query %s: %+v", q, s)
			}
		}
	}
	// The local store holds it, signed; it verifies.
	out, stderr, code := p.run("pull", "--from", "local:"+filepath.Join(p.dir, ".vexloom", "published"), "--subject", p.digests["amd64"], "--key", p.pub, "-o", filepath.Join(p.work, "local"))
	if code != 0 || newestPulled(t, filepath.Join(p.work, "local")).Version != 3 {
		t.Errorf("pull from the local store: exit %d\n%s\n%s", code, out, stderr)
	}
	// Trivy's query through the feed: the module at the release version
	// with the dependency as subcomponent.
	feedDoc := feedPackage(t, filepath.Join(p.dir, "vex", "feed"), "pkg:golang/"+demo.Module)
	s := statementFor(feedDoc, cve, "pkg:golang/"+demo.Module+"@"+demo.ReleaseTag, netSub)
	if s == nil || s.Justification != openvex.VulnerableCodeCannotBeControlledByAdversary {
		t.Errorf("Trivy-shaped query in the feed: %+v", s)
	}
	// The older release says nothing about it.
	old := feedDoc.Matches(cve, "pkg:golang/"+demo.Module+"@v0.9.0", nil)
	if len(old) > 0 {
		t.Errorf("v0.9.0 has a statement on %s: %+v", cve, old)
	}
	body := p.ok("vex", "--release", "v0.9.0", "--config", p.cfg)
	if strings.Contains(body, cve) {
		t.Errorf("v0.9.0's document names %s:\n%s", cve, body)
	}

	// assemble derives the same document update published.
	current := p.ok("vex", "--release", demo.ReleaseTag, "--config", p.cfg)
	assembled := p.ok("assemble", "--release", demo.ReleaseTag, "--image", p.image+":"+demo.ReleaseTag, "--config", p.cfg, "-q")
	if assembled != current {
		t.Errorf("assemble and update differ:\n%s\n---\n%s", assembled, current)
	}
	if v1 := p.ok("vex", "--release", demo.ReleaseTag, "--version", "1", "--config", p.cfg); strings.Contains(v1, cve) {
		t.Errorf("version 1 names %s", cve)
	}
	// In JSON, the same document with its version (the dashboard's API
	// writes the same view).
	var view viewjson.ReleaseVEX
	if err := json.Unmarshal([]byte(p.ok("vex", "--release", demo.ReleaseTag, "--format", "json", "--config", p.cfg)), &view); err != nil {
		t.Fatal(err)
	}
	if view.Schema != viewjson.SchemaReleaseVEX || view.Release != demo.ReleaseTag || view.Version < 2 || view.Hash == "" || !strings.Contains(string(view.Document), cve) {
		t.Errorf("vex --release --format json: %+v", view)
	}

	// status shows each tracked release; history which releases the
	// decision reached.
	var st statusOutput
	if err := json.Unmarshal([]byte(p.ok("status", "--format", "json", "--config", p.cfg)), &st); err != nil {
		t.Fatal(err)
	}
	var rel *release.Status
	for i := range st.Releases {
		if st.Releases[i].Release == demo.ReleaseTag {
			rel = &st.Releases[i]
		}
	}
	if rel == nil || rel.VEXVersion != 3 || len(rel.Images) != 2 || len(rel.PublishedTo) != 3 || rel.LastPublished == nil ||
		rel.Statements["not_affected"] == 0 || rel.Commit != decided[demo.ReleaseTag].Commit {
		t.Errorf("status of v1.0.0: %+v", rel)
	}
	table := p.ok("status", "--config", p.cfg)
	if !strings.Contains(table, "RELEASE") || !strings.Contains(table, "v1.0.0") || !strings.Contains(table, "2 image platforms") {
		t.Errorf("status table:\n%s", table)
	}
	hist := p.ok("history", htmlVuln, "--config", p.cfg)
	if !strings.Contains(hist, "reached releases: v1.0.0@v3") || strings.Contains(hist, "v0.9.0@") {
		t.Errorf("history does not say which releases the decision reached:\n%s", hist)
	}
}

// newestPulled reads the pulled documents in dir and returns the newest.
func newestPulled(t *testing.T, dir string) *openvex.VEX {
	t.Helper()
	es, _ := os.ReadDir(dir)
	var best *openvex.VEX
	for _, e := range es {
		if !strings.HasSuffix(e.Name(), ".openvex.json") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		d, err := vex.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		if best == nil || d.Version > best.Version {
			best = d
		}
	}
	return best
}

// feedPackage reads a package's document from a feed directory as Trivy
// does: index.json names its location.
func feedPackage(t *testing.T, dir, purl string) *openvex.VEX {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var idx struct {
		Packages []publish.FeedPackage `json:"packages"`
	}
	if err := json.Unmarshal(b, &idx); err != nil {
		t.Fatal(err)
	}
	for _, pk := range idx.Packages {
		if pk.ID == purl {
			d, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(pk.Location)))
			if err != nil {
				t.Fatal(err)
			}
			doc, err := vex.Parse(d)
			if err != nil {
				t.Fatal(err)
			}
			return doc
		}
	}
	t.Fatalf("the feed has no package %s: %s", purl, b)
	return nil
}
