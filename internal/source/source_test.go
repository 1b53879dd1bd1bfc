package source

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vexloom/vexloom/examples/demo"
	"github.com/vexloom/vexloom/internal/branch"
	"github.com/vexloom/vexloom/internal/progress"
)

func newDemo(t *testing.T) *demo.Repo {
	t.Helper()
	r, err := demo.Create(context.Background(), filepath.Join(t.TempDir(), "repo"))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRepositoryBranchesAndModules(t *testing.T) {
	ctx := context.Background()
	d := newDemo(t)
	cache := t.TempDir()
	repo, err := OpenRepository(ctx, d.Dir, cache, nil)
	if err != nil {
		t.Fatal(err)
	}
	def, err := repo.DefaultBranch(ctx)
	if err != nil || def != demo.MainBranch {
		t.Fatalf("DefaultBranch = %q, %v", def, err)
	}
	got, err := repo.MatchBranches(ctx, []string{"release-*", "main"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "release-1.0,main" {
		t.Errorf("MatchBranches = %v", got)
	}
	if _, err := repo.MatchBranches(ctx, []string{"release-2.*"}); !errors.Is(err, ErrNoBranch) {
		t.Errorf("pattern matching nothing: %v", err)
	}
	_, err = repo.ResolveBranch(ctx, "nope")
	if !errors.Is(err, ErrNoBranch) || !strings.Contains(err.Error(), "main, release-1.0") {
		t.Errorf("missing branch error = %v", err)
	}
	mainC, err := repo.ResolveBranch(ctx, demo.MainBranch)
	if err != nil || mainC.Hash != d.Commits[demo.MainBranch] {
		t.Fatalf("ResolveBranch(main) = %v, %v; want %s", mainC, err, d.Commits[demo.MainBranch])
	}
	if !mainC.Time.Equal(demo.Epoch.Add(24 * time.Hour)) {
		t.Errorf("commit time %v", mainC.Time)
	}
	tagC, err := repo.ResolveRevision(ctx, demo.ReleaseTag)
	if err != nil || tagC.Hash != d.Commits[demo.ReleaseBranch] {
		t.Fatalf("ResolveRevision(tag) = %v, %v", tagC, err)
	}
	if !repo.Contains(ctx, demo.MainBranch, tagC.Hash) || repo.Contains(ctx, demo.ReleaseBranch, mainC.Hash) {
		t.Error("Contains is wrong")
	}
	if _, err := repo.ResolveRevision(ctx, "deadbeef"); !errors.Is(err, ErrNoCommit) {
		t.Errorf("unknown revision: %v", err)
	}
	tags, _ := repo.Tags(ctx, tagC.Hash)
	if len(tags) != 1 || tags[0] != demo.ReleaseTag {
		t.Errorf("Tags = %v", tags)
	}

	mods, err := repo.Modules(ctx, mainC.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if len(mods) != 1 || mods[0].Path != demo.Module || mods[0].Dir != "." || mods[0].GoDirective != "1.24.0" {
		t.Fatalf("Modules = %+v", mods)
	}
	gv, err := ResolveGoVersion(mods[0], "", repo.FileReaderAt(ctx, mainC.Hash), "go1.99.0")
	if err != nil || gv.Version != "go1.26.8" || gv.Source != ".go-version" {
		t.Errorf("ResolveGoVersion = %+v, %v", gv, err)
	}

	h1, _ := repo.ContentHash(ctx, mainC.Hash, mods[0])
	h2, _ := repo.ContentHash(ctx, tagC.Hash, mods[0])
	h3, _ := repo.ContentHash(ctx, mainC.Hash, mods[0])
	if h1 == h2 || h1 != h3 || !strings.HasPrefix(h1, "sha256:") {
		t.Errorf("content hashes: %s %s %s", h1, h2, h3)
	}

	// A new commit on the source shows after the next open (fetch).
	newHash, err := d.Commit(ctx, demo.MainBranch, demo.Epoch.Add(48*time.Hour), "touch", map[string][]byte{"NOTES": []byte("x\n")})
	if err != nil {
		t.Fatal(err)
	}
	repo2, err := OpenRepository(ctx, d.Dir, cache, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := repo2.ResolveBranch(ctx, demo.MainBranch); c.Hash != newHash {
		t.Errorf("after fetch main = %s, want %s", c.Hash, newHash)
	}
}

func TestCheckoutIsCleanedUp(t *testing.T) {
	ctx := context.Background()
	d := newDemo(t)
	repo, err := OpenRepository(ctx, d.Dir, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	wt, err := repo.Checkout(ctx, d.Commits[demo.ReleaseBranch])
	if err != nil {
		t.Fatal(err)
	}
	main, err := os.ReadFile(filepath.Join(wt.Dir, "main.go"))
	if err != nil || !strings.Contains(string(main), "EscapeString") || strings.Contains(string(main), "html.Parse(") {
		t.Fatalf("checked out the wrong content: %v", err)
	}
	if err := wt.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(wt.Dir); !os.IsNotExist(err) {
		t.Errorf("worktree %s still exists", wt.Dir)
	}
	if err := wt.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	out, err := repo.git.run(ctx, repo.Mirror, "worktree", "list")
	if err != nil || strings.Count(strings.TrimSpace(out), "\n") != 0 {
		t.Errorf("worktrees left registered: %q %v", out, err)
	}
	// The user's repository was not touched.
	if _, err := os.Stat(filepath.Join(d.Dir, ".git", "worktrees")); !os.IsNotExist(err) {
		t.Error("the source repository got worktrees")
	}
}

func TestOpenRepositoryErrors(t *testing.T) {
	ctx := context.Background()
	cache := t.TempDir()
	plain := t.TempDir()
	if _, err := OpenRepository(ctx, plain, cache, nil); !errors.Is(err, ErrNotRepo) {
		t.Errorf("plain directory: %v", err)
	}
	if _, err := OpenRepository(ctx, filepath.Join(plain, "missing"), cache, nil); err == nil {
		t.Error("missing directory accepted")
	}
	_, err := OpenRepository(ctx, "file://"+filepath.Join(plain, "nothing-here.git"), cache, nil)
	if !errors.Is(err, ErrUnreachable) {
		t.Errorf("unreachable remote: %v", err)
	}
	// Nothing half-made is left in the cache.
	entries, _ := os.ReadDir(filepath.Join(cache, "repos"))
	for _, e := range entries {
		t.Errorf("left in cache: %s", e.Name())
	}
	_, err = OpenRepository(ctx, "https://user:s3cret@127.0.0.1:1/repo.git", cache, nil)
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("credentials not redacted or no error: %v", err)
	}
}

func TestIsRemote(t *testing.T) {
	for spec, want := range map[string]bool{
		"https://github.com/kubernetes/kubernetes": true,
		"git@github.com:kubernetes/kubernetes.git": true,
		"file:///srv/git/repo":                     true,
		"ssh://git@host/repo":                      true,
		"../repo":                                  false,
		"/abs/repo":                                false,
		"./a:b":                                    false,
	} {
		if got := IsRemote(spec); got != want {
			t.Errorf("IsRemote(%q) = %v", spec, got)
		}
	}
}

func TestGoModPaths(t *testing.T) {
	got := GoModPaths([]string{
		"go.mod", "staging/src/k8s.io/api/go.mod", "vendor/x/go.mod", "a/testdata/go.mod",
		"_output/go.mod", ".github/go.mod", "hack/tools/go.mod", "README.md", "docs/vendor.go.mod",
	})
	want := "go.mod,hack/tools/go.mod,staging/src/k8s.io/api/go.mod"
	if strings.Join(got, ",") != want {
		t.Errorf("GoModPaths = %v", got)
	}
}

func TestParseModule(t *testing.T) {
	m := ParseModule("go.mod", []byte("module k8s.io/kubernetes\n\ngo 1.24.0\n\ntoolchain go1.24.3\n\nreplace (\n\tk8s.io/api => ./staging/src/k8s.io/api\n\tk8s.io/x => ../outside\n\tk8s.io/y => k8s.io/y v1.0.0\n)\n"))
	if m.Err != nil || m.Path != "k8s.io/kubernetes" || m.Toolchain != "go1.24.3" {
		t.Fatalf("%+v", m)
	}
	if strings.Join(m.LocalReplaces, ",") != "staging/src/k8s.io/api" {
		t.Errorf("LocalReplaces = %v", m.LocalReplaces)
	}
	bad := ParseModule("sub/go.mod", []byte("module x\n\nrequire (\n\tfoo\n"))
	if !errors.Is(bad.Err, ErrGoMod) || !strings.Contains(bad.Err.Error(), "sub/go.mod:") {
		t.Errorf("bad go.mod error = %v", bad.Err)
	}
	none := ParseModule("go.mod", []byte("go 1.22\n"))
	if !errors.Is(none.Err, ErrGoMod) {
		t.Errorf("go.mod without module line: %v", none.Err)
	}
}

func TestResolveGoVersion(t *testing.T) {
	files := map[string]string{}
	read := func(rel string) ([]byte, error) {
		if s, ok := files[rel]; ok {
			return []byte(s), nil
		}
		return nil, os.ErrNotExist
	}
	m := Module{Dir: "sub", GoDirective: "1.22", Toolchain: "go1.22.5"}
	check := func(configured, wantV, wantSrc string) {
		t.Helper()
		gv, err := ResolveGoVersion(m, configured, read, "go1.26.8")
		if err != nil || gv.Version != wantV || gv.Source != wantSrc {
			t.Errorf("got %+v, %v; want %s from %s", gv, err, wantV, wantSrc)
		}
	}
	check("", "go1.22.5", "toolchain")
	m.Toolchain = ""
	check("", "go1.22.0", "go directive")
	files[".go-version"] = "1.23.4\n"
	check("", "go1.23.4", ".go-version")
	files["sub/.go-version"] = "go1.25.1"
	check("", "go1.25.1", ".go-version")
	check("1.26.0", "go1.26.0", "config")
	files["sub/.go-version"] = "latest"
	if _, err := ResolveGoVersion(m, "", read, "go1.26.8"); err == nil || !strings.Contains(err.Error(), "sub/.go-version") {
		t.Errorf("bad .go-version: %v", err)
	}
	m2 := Module{Dir: "."}
	if gv, _ := ResolveGoVersion(m2, "", func(string) ([]byte, error) { return nil, os.ErrNotExist }, "go1.26.8"); gv.Source != "installed" {
		t.Errorf("no version anywhere: %+v", gv)
	}
}

func TestNormalizeGoVersion(t *testing.T) {
	for in, want := range map[string]string{"1.24.3": "go1.24.3", "go1.24": "go1.24.0", "1.20": "go1.20", "go1.25rc2": "go1.25rc2"} {
		if got, err := NormalizeGoVersion(in); err != nil || got != want {
			t.Errorf("NormalizeGoVersion(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "latest", "1", "go1.24.3; rm -rf /", "2.0.0", "go1.24.03"} {
		if _, err := NormalizeGoVersion(bad); err == nil {
			t.Errorf("NormalizeGoVersion(%q) accepted", bad)
		}
	}
}

func TestTreeModulesAndContentHash(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, s string) {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/root\n\ngo 1.24.0\n\nreplace example.com/lib => ./lib\n")
	write("main.go", "package main\nfunc main() {}\n")
	write("lib/go.mod", "module example.com/lib\n")
	write("lib/lib.go", "package lib\n")
	write("tools/go.mod", "module example.com/tools\n")
	write("vendor/example.com/v/go.mod", "module example.com/v\n")
	tree, err := OpenTree(dir)
	if err != nil {
		t.Fatal(err)
	}
	mods, err := tree.Modules()
	if err != nil || len(mods) != 3 {
		t.Fatalf("Modules = %+v, %v", mods, err)
	}
	ctx := context.Background()
	root := mods[0]
	h1, _ := tree.ContentHash(ctx, root, mods)
	write("tools/x.go", "package tools\n")
	h2, _ := tree.ContentHash(ctx, root, mods)
	if h1 != h2 {
		t.Error("a nested module's change changed the root module's hash")
	}
	write("lib/lib.go", "package lib // changed\n")
	h3, _ := tree.ContentHash(ctx, root, mods)
	if h3 == h2 {
		t.Error("a change in a replaced directory did not change the hash")
	}
	if _, err := OpenTree(filepath.Join(dir, "main.go")); err == nil {
		t.Error("a file accepted as a tree")
	}
	empty, _ := OpenTree(t.TempDir())
	if _, err := empty.Modules(); !errors.Is(err, ErrNoModule) {
		t.Errorf("empty tree: %v", err)
	}
}

// TestCredentialsNeverShown: a repository URL's userinfo and query
// values (either can hold a token) appear neither in the progress lines
// nor in the error of a failed clone.
func TestCredentialsNeverShown(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens: the clone fails
	for _, spec := range []string{
		"http://user:s3cretpw@" + addr + "/o/r.git",
		"http://s3cretpw@" + addr + "/o/r.git",
		"http://" + addr + "/o/r.git?access_token=s3cretpw",
	} {
		var buf bytes.Buffer
		_, err := OpenRepository(context.Background(), spec, t.TempDir(), progress.New(&buf))
		if err == nil {
			t.Fatalf("%s: cloned from nothing", spec)
		}
		if strings.Contains(err.Error(), "s3cretpw") || strings.Contains(buf.String(), "s3cretpw") {
			t.Errorf("%s: the credential is shown:\n%v\n%s", spec, err, buf.String())
		}
	}
}

func FuzzParseModule(f *testing.F) {
	f.Add([]byte("module k8s.io/kubernetes\n\ngo 1.24.0\n\nreplace k8s.io/api => ./staging/src/k8s.io/api\n"))
	f.Add([]byte("module x\ntoolchain go1.22.1\n"))
	f.Add([]byte("module \"quoted\"\nreplace a => ../../etc\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m := ParseModule("dir/go.mod", data)
		if m.Err != nil {
			if !errors.Is(m.Err, ErrGoMod) {
				t.Fatalf("error not ErrGoMod: %v", m.Err)
			}
			return
		}
		for _, r := range m.LocalReplaces {
			// "..0" is a directory's name; ".." and "../x" leave the tree.
			if r == ".." || strings.HasPrefix(r, "../") || filepath.IsAbs(r) {
				t.Fatalf("replace escapes the tree: %q", r)
			}
		}
		_, _ = ResolveGoVersion(m, "", func(string) ([]byte, error) { return nil, os.ErrNotExist }, "go1.26.8")
	})
}

func FuzzNormalizeGoVersion(f *testing.F) {
	for _, s := range []string{"1.24.3", "go1.22rc1", "latest", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := NormalizeGoVersion(s)
		if err == nil && (!strings.HasPrefix(v, "go1") || strings.ContainsAny(v, " \n=;")) {
			t.Fatalf("NormalizeGoVersion(%q) = %q", s, v)
		}
	})
}

// TestMatchBranchesAgreesWithBranchMatch: the branches update scans
// (MatchBranches) are exactly those the project's other commands count as
// configured (branch.Match, used by status and the store's maintained
// branches).
func TestMatchBranchesAgreesWithBranchMatch(t *testing.T) {
	ctx := context.Background()
	d := newDemo(t)
	repo, err := OpenRepository(ctx, d.Dir, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	all, err := repo.Branches(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, pats := range [][]string{{"main"}, {"release-*"}, {"*"}, {"release-?.0", "main"}, {"rel*-1.[0-9]"}} {
		got, err := repo.MatchBranches(ctx, pats)
		if err != nil {
			t.Fatalf("%q: %v", pats, err)
		}
		var want []string
		for _, b := range all {
			if branch.MatchAny(pats, b) {
				want = append(want, b)
			}
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%q: MatchBranches = %q, branch.MatchAny = %q", pats, got, want)
		}
	}
}

// TestReopenFollowsTheOrigin opens a local repository's mirror again after
// each kind of change in the origin: each is seen, and an unchanged origin
// is not fetched at all.
func TestReopenFollowsTheOrigin(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := newDemo(t)
	cache := t.TempDir()
	open := func() *Repository {
		t.Helper()
		r, err := OpenRepository(ctx, d.Dir, cache, nil)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	gitIn := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = d.Dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	r := open()
	fetchHead := filepath.Join(r.Mirror, "FETCH_HEAD")
	before, err := os.Stat(fetchHead)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	r = open()
	if after, err := os.Stat(fetchHead); err != nil || !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("an unchanged origin was fetched again (%v)", err)
	}
	if c, err := r.ResolveBranch(ctx, demo.MainBranch); err != nil || c.Hash != d.Commits[demo.MainBranch] {
		t.Fatalf("main = %v, %v", c, err)
	}

	// A new commit, a new tag, a deleted tag, a new branch, a new default.
	hash, err := d.Commit(ctx, demo.ReleaseBranch, demo.Epoch.Add(48*time.Hour), "a fix", map[string][]byte{"fix.txt": []byte("fix\n")})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Tag(ctx, "v1.0.1", hash); err != nil {
		t.Fatal(err)
	}
	gitIn("tag", "-d", demo.ReleaseTag)
	gitIn("branch", "release-1.1", hash)
	gitIn("symbolic-ref", "HEAD", "refs/heads/release-1.1")
	r = open()
	if c, err := r.ResolveBranch(ctx, demo.ReleaseBranch); err != nil || c.Hash != hash {
		t.Errorf("release branch = %v, %v; want %s", c, err, hash)
	}
	if c, err := r.ResolveRevision(ctx, "v1.0.1"); err != nil || c.Hash != hash || !c.Time.Equal(demo.Epoch.Add(48*time.Hour)) {
		t.Errorf("new tag = %v, %v", c, err)
	}
	if _, err := r.ResolveRevision(ctx, demo.ReleaseTag); !errors.Is(err, ErrNoCommit) {
		t.Errorf("deleted tag still resolves: %v", err)
	}
	if tags, _ := r.Tags(ctx, hash); !slices.Equal(tags, []string{"v1.0.1"}) {
		t.Errorf("Tags = %v", tags)
	}
	if def, err := r.DefaultBranch(ctx); err != nil || def != "release-1.1" {
		t.Errorf("default branch = %q, %v", def, err)
	}
	if bs, _ := r.Branches(ctx); !slices.Equal(bs, []string{"main", "release-1.0", "release-1.1"}) {
		t.Errorf("Branches = %v", bs)
	}
	if !r.Contains(ctx, "release-1.1", d.Commits[demo.ReleaseBranch]) || r.Contains(ctx, demo.MainBranch, hash) {
		t.Error("Contains is wrong after the change")
	}

	// A detached HEAD in the origin leaves the mirror's default alone, and
	// moving a branch back is seen too.
	gitIn("checkout", "--quiet", "--detach", hash)
	gitIn("branch", "-f", demo.ReleaseBranch, d.Commits[demo.ReleaseBranch])
	r = open()
	if c, _ := r.ResolveBranch(ctx, demo.ReleaseBranch); c.Hash != d.Commits[demo.ReleaseBranch] {
		t.Errorf("branch moved back: %s", c.Hash)
	}
	if def, _ := r.DefaultBranch(ctx); def != "release-1.1" {
		t.Errorf("default after detaching = %q", def)
	}
}

// TestCommitAnswersAreStable reads the same commit through two mirrors and
// a missing path twice: the answers kept for the process equal git's.
func TestCommitAnswersAreStable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := newDemo(t)
	commit := d.Commits[demo.MainBranch]
	for i := range 2 {
		r, err := OpenRepository(ctx, d.Dir, t.TempDir(), nil)
		if err != nil {
			t.Fatal(err)
		}
		files, err := r.Files(ctx, commit)
		if err != nil {
			t.Fatal(err)
		}
		out, err := r.git.run(ctx, r.Mirror, "ls-tree", "-r", "-z", "--name-only", "--full-tree", commit)
		if err != nil {
			t.Fatal(err)
		}
		if want := strings.Split(strings.TrimSuffix(out, "\x00"), "\x00"); !slices.Equal(files, want) {
			t.Errorf("read %d: Files = %v, git lists %v", i, files, want)
		}
		files[0] = "changed by the caller"
		if again, _ := r.Files(ctx, commit); again[0] == files[0] {
			t.Error("a caller's change reached the kept list")
		}
		gomod, err := r.ReadFile(ctx, commit, "go.mod")
		if err != nil || !bytes.Contains(gomod, []byte("module ")) {
			t.Fatalf("go.mod: %q %v", gomod, err)
		}
		gomod[0] = 'X'
		if again, _ := r.ReadFile(ctx, commit, "go.mod"); again[0] == 'X' {
			t.Error("a caller's change reached the kept content")
		}
		if _, err := r.ReadFile(ctx, commit, "no-such-file"); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("missing file: %v", err)
		}
		if h, err := r.TreeHash(ctx, commit, "."); err != nil || !isFullHash(h) {
			t.Errorf("TreeHash = %q, %v", h, err)
		}
		if h, err := r.TreeHash(ctx, commit, "no/such/dir"); err != nil || h != "" {
			t.Errorf("TreeHash of a missing directory = %q, %v", h, err)
		}
	}
}
