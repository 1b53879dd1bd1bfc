package release

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/examples/demo"
	"github.com/vexloom/vexloom/internal/assess"
	"github.com/vexloom/vexloom/internal/fixture"
	"github.com/vexloom/vexloom/internal/scan"
	"github.com/vexloom/vexloom/internal/source"
	"github.com/vexloom/vexloom/internal/store"
)

// jwtVuln is GO-2020-0017 (CVE-2020-26160) in github.com/dgrijalva/jwt-go,
// which both demo branches import.
const (
	jwtVuln = "GO-2020-0017"
	jwtDep  = "github.com/dgrijalva/jwt-go"
)

// assembleFixture is the demo repository (release-1.0 tagged v1.0.0, main
// one commit ahead of the tag), its mirror, a scanner over the fixture
// database and a store in which a maintainer decided jwt-go's
// vulnerability for release-1.0 only.
func assembleFixture(t *testing.T) Options {
	t.Helper()
	ctx := context.Background()
	cache := t.TempDir()
	db := fixture.Database(t, cache)
	r, err := demo.Create(ctx, filepath.Join(t.TempDir(), "repo"))
	if err != nil {
		t.Fatal(err)
	}
	repo, err := source.OpenRepository(ctx, r.Dir, cache, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, t.TempDir(), func() time.Time { return fixture.Now })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	decision := store.Event{Kind: store.KindAssessment, Author: "demo-maintainer", Source: string(assess.SourceMaintainer),
		Branches: []string{demo.ReleaseBranch}, Status: string(openvex.StatusAffected), Action: "Move to github.com/golang-jwt/jwt."}
	if _, _, err := st.EnsureTriage(ctx, jwtVuln, jwtDep, []store.Event{decision}); err != nil {
		t.Fatal(err)
	}
	sdb := scan.Database{URL: db.URL(), Source: db.Meta.Source, Version: db.Meta.Version, Digest: db.Meta.Digest, Modified: db.Meta.Modified}
	return Options{
		Store:   st,
		Repo:    repo,
		Scanner: scan.NewScanner(scan.Options{DB: sdb, Cache: &scan.Cache{Dir: filepath.Join(cache, "scans")}}),
		DB:      sdb,
		Author:  "Demo Security",
		Now:     fixture.Now,
		WorkDir: t.TempDir(),
	}
}

// jwtStatus is the status of CVE-2020-26160 on the release's module.
func jwtStatus(t *testing.T, res *Result) openvex.Status {
	t.Helper()
	var found openvex.Status
	for _, s := range res.Doc.Statements {
		if err := s.Validate(); err != nil {
			t.Errorf("statement on %s: %v", s.Vulnerability.Name, err)
		}
		if s.Vulnerability.Name == "CVE-2020-26160" {
			found = s.Status
		}
	}
	if found == "" {
		t.Fatalf("no statement on CVE-2020-26160")
	}
	return found
}

// v1.0.0 is reachable from release-1.0 (its tip) and from main (one
// commit on): it is release-1.0's release, whatever order the maintained
// branches are listed in, and release-1.0's decisions apply to it.
func TestAssembleChoosesTheBranchThatMovedOnLeast(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("end-to-end: scans two branches of the demo project; run without -short")
	}
	ctx := context.Background()
	o := assembleFixture(t)
	tag, err := o.Repo.ResolveRevision(ctx, demo.ReleaseTag)
	if err != nil {
		t.Fatal(err)
	}
	if o.Repo.Behind(ctx, demo.MainBranch, tag.Hash) != 1 || o.Repo.Behind(ctx, demo.ReleaseBranch, tag.Hash) != 0 {
		t.Fatalf("the demo is not as this test expects: %s is %d behind main, %d behind release-1.0", demo.ReleaseTag,
			o.Repo.Behind(ctx, demo.MainBranch, tag.Hash), o.Repo.Behind(ctx, demo.ReleaseBranch, tag.Hash))
	}
	for _, order := range [][]string{{demo.MainBranch, demo.ReleaseBranch}, {demo.ReleaseBranch, demo.MainBranch}} {
		o := o
		o.Ref, o.Maintained = demo.ReleaseTag, order
		res, err := Assemble(ctx, o)
		if err != nil {
			t.Fatalf("maintained %v: %v", order, err)
		}
		if res.Branch != demo.ReleaseBranch || res.Commit != tag.Hash || res.Version != demo.ReleaseTag {
			t.Errorf("maintained %v: branch %s, commit %s, version %s; want %s, %s, %s", order, res.Branch, res.Commit, res.Version, demo.ReleaseBranch, tag.Hash, demo.ReleaseTag)
		}
		if s := jwtStatus(t, res); s != openvex.StatusAffected {
			t.Errorf("maintained %v: CVE-2020-26160 is %s, want release-1.0's decision (affected)", order, s)
		}
	}

	// Told it is main's: main's view, where release-1.0's decision does
	// not apply.
	o.Ref, o.Maintained, o.Branch = demo.ReleaseTag, []string{demo.MainBranch, demo.ReleaseBranch}, demo.MainBranch
	res, err := Assemble(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Branch != demo.MainBranch {
		t.Errorf("--branch main: branch %s", res.Branch)
	}
	if s := jwtStatus(t, res); s != openvex.StatusNotAffected {
		t.Errorf("as main's release, CVE-2020-26160 is %s, want the scanner's not_affected", s)
	}
}

func TestAssembleReleaseOnNoMaintainedBranch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	o := assembleFixture(t)
	head, err := o.Repo.ResolveBranch(ctx, demo.MainBranch)
	if err != nil {
		t.Fatal(err)
	}
	// main's tip is on main only.
	o.Ref, o.Maintained = head.Hash, []string{demo.ReleaseBranch}
	if _, err := Assemble(ctx, o); err == nil || !strings.Contains(err.Error(), "on none of the maintained branches (release-1.0)") {
		t.Errorf("a commit on no maintained branch: %v", err)
	}
	o.Maintained, o.Branch = []string{demo.MainBranch, demo.ReleaseBranch}, demo.ReleaseBranch
	if _, err := Assemble(ctx, o); err == nil || !strings.Contains(err.Error(), "is not on release-1.0") {
		t.Errorf("--branch naming a branch without the commit: %v", err)
	}
	o.Ref, o.Branch = "v9.9.9", ""
	if _, err := Assemble(ctx, o); err == nil || !strings.Contains(err.Error(), "v9.9.9") {
		t.Errorf("a missing tag: %v", err)
	}
}
