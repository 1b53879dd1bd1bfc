package release

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/examples/demo"
	"github.com/vexloom/vexloom/internal/assess"
	"github.com/vexloom/vexloom/internal/attest"
	"github.com/vexloom/vexloom/internal/config"
	"github.com/vexloom/vexloom/internal/fixture"
	"github.com/vexloom/vexloom/internal/publish"
	"github.com/vexloom/vexloom/internal/scan"
	"github.com/vexloom/vexloom/internal/source"
	"github.com/vexloom/vexloom/internal/store"
	"github.com/vexloom/vexloom/internal/vex"
	"github.com/vexloom/vexloom/internal/vulndb"
)

// databaseWithout builds the fixture database without the entries named,
// into cacheDir.
func databaseWithout(t *testing.T, cacheDir string, ids ...string) scan.Database {
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
	now := func() time.Time { return fixture.Now }
	src, err := vulndb.ParseSource("dir:"+dir, vulndb.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	res, err := vulndb.Update(context.Background(), cacheDir, src, vulndb.UpdateOptions{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	db := res.DB
	return scan.Database{URL: db.URL(), Source: db.Meta.Source, Version: db.Meta.Version, Digest: db.Meta.Digest, Modified: db.Meta.Modified}
}

// binaryStatements are a document's statements about the product whose
// SHA-256 is digest (hex), by vulnerability name.
func binaryStatements(t *testing.T, body []byte, digest string) map[string]openvex.Statement {
	t.Helper()
	doc, err := vex.Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]openvex.Statement{}
	for _, s := range doc.Statements {
		for _, p := range s.Products {
			if string(p.Hashes[openvex.SHA256]) == digest {
				c := s
				c.Products = []openvex.Product{p}
				out[string(s.Vulnerability.Name)] = c
			}
		}
	}
	return out
}

// The keeper end to end on the demo: v1.0.0 covered with its binary; then
// the binaries directory is removed, the tag is moved to a commit on no
// maintained branch, a maintainer decides jwt-go's vulnerability on
// release-1.0 and a vulnerability the binary has appears in the database.
// One run keeps v1.0.0 at its recorded commit and branch, says so in one
// line for the tag and one for the binaries, and writes a version whose
// statements on the recorded binary digest carry the decision and the new
// vulnerability. A newer tag then pushes v1.0.0 out of keep: 1, which is
// a drop, not a failure.
func TestKeeperKeepsWhatVanished(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("end-to-end: scans the demo project twice and builds its binary; run without -short")
	}
	ctx := context.Background()
	cache := t.TempDir()
	r, err := demo.Create(ctx, filepath.Join(t.TempDir(), "repo"))
	if err != nil {
		t.Fatal(err)
	}
	c100 := r.Commits[demo.ReleaseBranch]
	base := t.TempDir()
	binDir := filepath.Join(base, "dist", demo.ReleaseTag)
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		t.Fatal(err)
	}
	gitIn(t, r.Dir, "checkout", "--quiet", demo.ReleaseTag)
	if err := demo.Build(ctx, append(os.Environ(), "GOTOOLCHAIN=local"), r.Dir, filepath.Join(binDir, "demo")); err != nil {
		t.Fatal(err)
	}
	gitIn(t, r.Dir, "checkout", "--quiet", demo.MainBranch)
	// Beside the executable, a file that is not one (as Kubernetes ships
	// .docker_tag files).
	if err := os.WriteFile(filepath.Join(binDir, "demo.docker_tag"), []byte("v1.0.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	st, err := store.Open(ctx, t.TempDir(), func() time.Time { return fixture.Now })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	priv, _, err := attest.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	key, err := attest.LoadPrivateKey(priv, nil)
	if err != nil {
		t.Fatal(err)
	}
	clock := fixture.Now
	k := &Keeper{
		Store:      st,
		Config:     config.Releases{Track: []config.TrackRule{{Tags: []string{"v1.*"}, Line: 3}}, Binaries: "dist/{tag}"},
		Resolve:    func(p string) string { return filepath.Join(base, p) },
		Maintained: []string{demo.MainBranch, demo.ReleaseBranch},
		Signer:     func() (attest.Signer, error) { return key, nil },
		Stores:     func(context.Context, []string) ([]publish.Store, error) { return nil, nil },
		Author:     "Demo Security",
		Now:        func() time.Time { return clock },
		WorkDir:    t.TempDir(),
	}
	scanCache := &scan.Cache{Dir: filepath.Join(cache, "scans")}
	useDB := func(db scan.Database) {
		k.DB, k.Scanner = db, scan.NewScanner(scan.Options{DB: db, Cache: scanCache})
	}
	run := func(step string) (*Summary, Kept) {
		t.Helper()
		repo, err := source.OpenRepository(ctx, r.Dir, cache, nil) // fetches what changed
		if err != nil {
			t.Fatal(err)
		}
		k.Repo = repo
		sum, err := k.Run(ctx)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		for _, kept := range sum.Releases {
			if kept.Release == demo.ReleaseTag {
				return sum, kept
			}
		}
		t.Fatalf("%s: v1.0.0 is not kept: %+v", step, sum)
		return nil, Kept{}
	}

	// Covered with its binary, before GO-2024-3333 (x/net) is known.
	useDB(databaseWithout(t, filepath.Join(cache, "db1"), "GO-2024-3333"))
	_, kept := run("first")
	if !kept.Changed || kept.Version != 1 || len(kept.Failures) > 0 || kept.Commit != c100 || kept.Branch != demo.ReleaseBranch {
		t.Fatalf("first run: %+v", kept)
	}
	bins, err := st.ReleaseBinaries(ctx, demo.ReleaseTag)
	if err != nil || len(bins) != 1 || bins[0].Name != "demo" || bins[0].Module != demo.Module || bins[0].Modules["golang.org/x/net"] != "v0.32.0" {
		t.Fatalf("recorded binaries: %+v, %v", bins, err)
	}
	digest := strings.TrimPrefix(bins[0].Digest, "sha256:")
	v1, err := st.LatestReleaseDocument(ctx, demo.ReleaseTag)
	if err != nil {
		t.Fatal(err)
	}
	before := binaryStatements(t, v1.Body, digest)
	if s, ok := before["CVE-2020-26160"]; !ok || s.Status != openvex.StatusNotAffected {
		t.Fatalf("version 1 has no statement on the binary for CVE-2020-26160 (the scanner's not_affected): %v", before)
	}
	if _, ok := before["CVE-2024-45338"]; ok {
		t.Fatal("version 1 states a vulnerability the database did not have yet")
	}

	// The binaries vanish, the tag moves off the maintained branches, a
	// maintainer decides and the database learns GO-2024-3333.
	if err := os.RemoveAll(filepath.Join(base, "dist")); err != nil {
		t.Fatal(err)
	}
	orphan := orphanCommit(t, r.Dir)
	gitIn(t, r.Dir, "tag", "-f", demo.ReleaseTag, orphan)
	decision := store.Event{Kind: store.KindAssessment, Author: "demo-maintainer", Source: string(assess.SourceMaintainer),
		Branches: []string{demo.ReleaseBranch}, Status: string(openvex.StatusAffected), Action: "Move to github.com/golang-jwt/jwt."}
	if _, _, err := st.EnsureTriage(ctx, jwtVuln, jwtDep, []store.Event{decision}); err != nil {
		t.Fatal(err)
	}
	useDB(databaseWithout(t, filepath.Join(cache, "db2")))
	clock = clock.Add(time.Hour)
	_, kept = run("after the vanish")
	if !kept.Changed || kept.Version != 2 || len(kept.Failures) > 0 || kept.Commit != c100 || kept.Branch != demo.ReleaseBranch {
		t.Fatalf("after the vanish: %+v", kept)
	}
	for _, want := range []string{
		"release v1.0.0: the tag now points at " + shortHash(orphan) + ", on none of the maintained branches, not the recorded commit " + shortHash(c100) + "; the recorded commit stays covered",
		"release v1.0.0: binaries directory " + binDir + " does not exist; its 1 recorded binary stays covered with the recorded digests: demo (sha256:" + digest[:12] + ")",
	} {
		if !strings.Contains(strings.Join(kept.Warnings, "\n"), want) {
			t.Errorf("no line %q in\n%s", want, strings.Join(kept.Warnings, "\n"))
		}
	}
	v2, err := st.LatestReleaseDocument(ctx, demo.ReleaseTag)
	if err != nil || v2.Version != 2 || v2.Commit != c100 || v2.Branch != demo.ReleaseBranch || v2.Bundle == nil {
		t.Fatalf("version 2: %+v, %v", v2, err)
	}
	after := binaryStatements(t, v2.Body, digest)
	for name, s := range before {
		a, ok := after[name]
		if !ok {
			t.Errorf("%s is no longer stated for the vanished binary", name)
			continue
		}
		if a.Products[0].ID != s.Products[0].ID || a.Products[0].Subcomponents[0].ID != s.Products[0].Subcomponents[0].ID {
			t.Errorf("%s: product %s / %s, was %s / %s", name, a.Products[0].ID, a.Products[0].Subcomponents[0].ID, s.Products[0].ID, s.Products[0].Subcomponents[0].ID)
		}
	}
	if s := after["CVE-2020-26160"]; s.Status != openvex.StatusAffected || !strings.Contains(s.ActionStatement, "golang-jwt") {
		t.Errorf("the decision does not reach the vanished binary: %+v", s)
	}
	// The new vulnerability: the recorded build information has x/net at
	// the version the release's source analysis found vulnerable, and the
	// source analysis speaks for the binary, as it did while it was there.
	newVuln, ok := after["CVE-2024-45338"]
	if !ok {
		t.Fatalf("the vulnerability learnt after the binaries vanished does not reach them: %v", after)
	}
	doc2, _ := vex.Parse(v2.Body)
	for _, s := range doc2.Statements {
		if s.Vulnerability.Name == "CVE-2024-45338" && s.Products[0].ID == "pkg:golang/"+demo.Module+"@"+demo.ReleaseTag && s.Status != newVuln.Status {
			t.Errorf("CVE-2024-45338 is %s for the binary, %s for the release's module", newVuln.Status, s.Status)
		}
	}

	// assemble names the release where update keeps it: its recorded
	// commit and branch, even with release-1.0 no longer maintained.
	res, err := Assemble(ctx, Options{Store: st, Repo: k.Repo, Scanner: k.Scanner, DB: k.DB, Ref: demo.ReleaseTag, Commit: c100,
		Maintained: []string{demo.MainBranch}, Author: k.Author, Now: clock, WorkDir: t.TempDir()})
	if err != nil || res.Branch != demo.ReleaseBranch || res.Commit != c100 {
		t.Fatalf("assemble of the kept release: %+v, %v", res, err)
	}
	if s := jwtStatus(t, res); s != openvex.StatusAffected {
		t.Errorf("assemble of the kept release: CVE-2020-26160 is %s, want release-1.0's decision", s)
	}

	// Nothing changed: nothing derived, no version.
	_, kept = run("again")
	if kept.Derived || kept.Changed || kept.Version != 2 {
		t.Errorf("a run with nothing new: %+v", kept)
	}

	// A newer tag on release-1.0 and keep: 1 push v1.0.0 out: a drop by
	// the rule, said as such. The new release, never covered with
	// binaries, fails on its missing directory with one line; v1.0.0's
	// documents stay as they were.
	c, err := r.Commit(ctx, demo.ReleaseBranch, demo.Epoch.Add(72*time.Hour), "Release 1.0.5", map[string][]byte{"NOTES": []byte("1.0.5\n")})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Tag(ctx, "v1.0.5", c); err != nil {
		t.Fatal(err)
	}
	k.Config.Track[0].Keep = 1
	repo, err := source.OpenRepository(ctx, r.Dir, cache, nil)
	if err != nil {
		t.Fatal(err)
	}
	k.Repo = repo
	sum, err := k.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Dropped) != 1 || sum.Dropped[0].Name != demo.ReleaseTag || sum.Dropped[0].Commit != c100 {
		t.Errorf("dropped %+v", sum.Dropped)
	}
	if len(sum.Releases) != 1 || sum.Releases[0].Release != "v1.0.5" || len(sum.Releases[0].Failures) != 1 ||
		!strings.Contains(sum.Releases[0].Failures[0], "release v1.0.5: binaries directory "+filepath.Join(base, "dist", "v1.0.5")+" does not exist") {
		t.Errorf("releases %+v", sum.Releases)
	}
	if docs, err := st.ReleaseDocuments(ctx, demo.ReleaseTag); err != nil || len(docs) != 2 {
		t.Errorf("v1.0.0's documents after the drop: %d, %v", len(docs), err)
	}
}

// What carryBinaries states for binaries that can no longer be read: for
// one built from the project, the source analysis speaks (a new decision
// and a new vulnerability of a module at the version built reach it; what
// the source no longer finds goes); what came from analysing a binary
// itself is carried as it was; a binary not built from the project gets
// nothing from the source analysis.
func TestCarryBinaries(t *testing.T) {
	t.Parallel()
	ts := fixture.Now
	vuln := func(id string) openvex.Vulnerability { return vex.Vulnerability{ID: id}.OpenVEX() }
	module := openvex.Component{ID: "pkg:golang/example.com/p@v1.0.0"}
	src := func(id, dep string, a vex.Assertion) openvex.Statement {
		a.Timestamp = &ts
		return vex.NewStatement(vuln(id), []openvex.Product{vex.Product(module, dep)}, a)
	}
	res := &Result{
		projectModules: map[string]bool{"example.com/p": true},
		source: map[string]openvex.Statement{
			"CVE-1\x00golang.org/x/a": src("CVE-1", "pkg:golang/golang.org/x/a@v0.1.0", vex.Assertion{Status: openvex.StatusAffected, Action: "Upgrade x/a."}),
			"CVE-3\x00golang.org/x/b": src("CVE-3", "pkg:golang/golang.org/x/b@v0.2.0", vex.Assertion{Status: openvex.StatusNotAffected, Justification: openvex.VulnerableCodeNotInExecutePath}),
			"CVE-4\x00golang.org/x/c": src("CVE-4", "pkg:golang/golang.org/x/c@v0.3.0", vex.Assertion{Status: openvex.StatusAffected, Action: "Upgrade x/c."}),
		},
	}
	own := store.ReleaseBinary{Name: "p", Digest: "sha256:" + strings.Repeat("a", 64), Package: "example.com/p", Module: "example.com/p", Version: "v1.0.0",
		Modules: map[string]string{"example.com/p": "v1.0.0", "golang.org/x/a": "v0.1.0", "golang.org/x/b": "v0.2.0", "golang.org/x/c": "v0.2.9"}}
	other := store.ReleaseBinary{Name: "tool", Digest: "sha256:" + strings.Repeat("b", 64), Package: "example.com/other", Module: "example.com/other", Version: "v0.1.0",
		Modules: map[string]string{"golang.org/x/b": "v0.2.0"}}
	productOf := func(r store.ReleaseBinary) openvex.Component {
		return productFor(r).Component
	}
	binStmt := func(r store.ReleaseBinary, id, dep string, a vex.Assertion) openvex.Statement {
		a.Timestamp = &ts
		return vex.NewStatement(vuln(id), []openvex.Product{vex.Product(productOf(r), dep)}, a)
	}
	prevDoc := vex.NewDocument("Demo", "vexloom", ts)
	prevDoc.Statements = []openvex.Statement{
		binStmt(own, "CVE-1", "pkg:golang/golang.org/x/a@v0.1.0", vex.Assertion{Status: openvex.StatusUnderInvestigation, Notes: sourceNote}),
		binStmt(own, "CVE-2", "pkg:golang/golang.org/x/a@v0.1.0", vex.Assertion{Status: openvex.StatusAffected, Notes: sourceNote}),
		binStmt(own, "CVE-5", "pkg:golang/golang.org/x/d@v0.4.0", vex.Assertion{Status: openvex.StatusAffected, Notes: "Binary analysis of p."}),
		binStmt(other, "CVE-6", "pkg:golang/golang.org/x/b@v0.2.0", vex.Assertion{Status: openvex.StatusUnderInvestigation, Notes: "Binary analysis of tool."}),
	}
	if err := vex.Finalize(prevDoc); err != nil {
		t.Fatal(err)
	}
	body, err := vex.Marshal(prevDoc)
	if err != nil {
		t.Fatal(err)
	}
	prev := &store.ReleaseDocument{Release: "v1.0.0", Version: 1, Body: body}

	doc := vex.NewDocument("Demo", "vexloom", ts)
	if err := carryBinaries(doc, prev, res, []store.ReleaseBinary{own, other, own}); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, s := range doc.Statements {
		p := s.Products[0]
		got[string(p.Hashes[openvex.SHA256])[:1]+" "+string(s.Vulnerability.Name)+" "+p.Subcomponents[0].ID] = string(s.Status) + " " + s.ActionStatement
	}
	want := map[string]string{
		"a CVE-1 pkg:golang/golang.org/x/a@v0.1.0": "affected Upgrade x/a.",                    // the source's status now
		"a CVE-3 pkg:golang/golang.org/x/b@v0.2.0": "not_affected ",                            // new, at the version built
		"a CVE-5 pkg:golang/golang.org/x/d@v0.4.0": "affected " + openvex.NoActionStatementMsg, // the binary's own analysis, carried
		"b CVE-6 pkg:golang/golang.org/x/b@v0.2.0": "under_investigation ",                     // the same, for a binary from elsewhere
	}
	if len(got) != len(want) || len(doc.Statements) != len(want) {
		t.Errorf("statements %v, want %v", got, want)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %q, want %q", k, got[k], w)
		}
	}

	// Without a previous version (the first one failed to be written),
	// the source analysis still speaks for the project's binary.
	doc = vex.NewDocument("Demo", "vexloom", ts)
	if err := carryBinaries(doc, nil, res, []store.ReleaseBinary{own}); err != nil {
		t.Fatal(err)
	}
	if len(doc.Statements) != 2 {
		t.Errorf("without a previous version: %d statements", len(doc.Statements))
	}
	// A previous version that does not parse is an error naming it.
	if err := carryBinaries(doc, &store.ReleaseDocument{Release: "v1.0.0", Version: 3, Body: []byte("{")}, res, []store.ReleaseBinary{own}); err == nil ||
		!strings.Contains(err.Error(), "version 3 of the VEX of release v1.0.0") {
		t.Errorf("a previous version that does not parse: %v", err)
	}
}
