package cli

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vexloom/vexloom/examples/demo"
	"github.com/vexloom/vexloom/internal/fixture"
)

// Expensive fixtures are made once per test binary and shared:
//
//   - one scan cache directory. Scan results are keyed by the module's
//     content, the database's digest, the Go version, the build environment
//     and the test binary itself, so two tests that scan the same branch at
//     the same commit get the same result, and the second one gets it from
//     the cache instead of running govulncheck again. Every test's own
//     cache directory links its scans/ to it; tests that need a cold cache
//     use newColdEnv.
//   - the demo repository, created once and copied into each test (its
//     commits are dated, so every copy has the same hashes).
//   - the demo's command built for a release, once per commit and arch
//     (buildDemoFor).
//
// The first project test warms the scan cache with an update of the demo
// project, so that tests running in parallel do not all scan the same
// branches at once.
var shared struct {
	mu   sync.Mutex
	dir  string // removed by TestMain
	repo *demo.Repo

	warmOnce sync.Once
	warmErr  string

	// buildMu serialises the demo's builds (buildDemoFor).
	buildMu sync.Mutex
}

// sharedDir returns the directory holding the shared fixtures.
func sharedDir(t testing.TB) string {
	t.Helper()
	d, err := sharedDirErr()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func sharedDirErr() (string, error) {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.dir == "" {
		d, err := os.MkdirTemp("", "vexloom-cli-test-")
		if err != nil {
			return "", err
		}
		shared.dir = d
	}
	return shared.dir, nil
}

// removeShared removes the shared fixtures; TestMain calls it.
func removeShared() {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
}

// sharedScans returns the shared scan cache directory.
func sharedScans(t testing.TB) string {
	t.Helper()
	d := filepath.Join(sharedDir(t), "scans")
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

// demoRepo returns a copy of the demo repository at dir.
func demoRepo(t testing.TB, dir string) *demo.Repo {
	t.Helper()
	r, err := copyDemoRepo(dir)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func copyDemoRepo(dir string) (*demo.Repo, error) {
	base, err := sharedDirErr()
	if err != nil {
		return nil, err
	}
	shared.mu.Lock()
	if shared.repo == nil {
		r, err := demo.Create(context.Background(), filepath.Join(base, "demo-repo"))
		if err != nil {
			shared.mu.Unlock()
			return nil, err
		}
		shared.repo = r
	}
	src := shared.repo
	shared.mu.Unlock()
	if err := copyDir(src.Dir, dir); err != nil {
		return nil, err
	}
	return &demo.Repo{Dir: dir, Commits: maps.Clone(src.Commits)}, nil
}

// warmScans fills the shared scan cache with the demo project's branches,
// once, through the same update every project test runs first.
func warmScans(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the scanned demo project (govulncheck's engine over its branches); run without -short")
	}
	shared.warmOnce.Do(func() {
		// A test of its own, so that a failure is reported here and the
		// temporary directories are those of the warming test.
		e := newEnv(t)
		dir, err := os.MkdirTemp(sharedDir(t), "warm-")
		if err != nil {
			shared.warmErr = err.Error()
			return
		}
		demoRepo(t, filepath.Join(dir, "repo"))
		cfg := filepath.Join(dir, "vexloom.yaml")
		// update and scan of a branch share their results (one cache key):
		// warming through update serves both.
		for _, args := range [][]string{
			{"init", "-o", cfg, "--module", demo.Module, "--repository", "repo", "--branch", "main", "--branch", "release-*", "--security-team", "demo-security"},
			{"update", "--config", cfg, "-q"},
		} {
			if out, stderr, code := e.run(args...); code != 0 {
				shared.warmErr = fmt.Sprintf("warming the scan cache: vexloom %s: exit %d\n%s%s", args[0], code, out, stderr)
				return
			}
		}
	})
	if shared.warmErr != "" {
		t.Fatal(shared.warmErr)
	}
}

// copyDir copies the tree at src to dst, keeping file modes and symbolic
// links.
func copyDir(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, info.Mode().Perm()|0o700)
		case info.Mode()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		default:
			return copyFile(p, target, info.Mode().Perm())
		}
	})
}

func copyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// useSharedScans makes the scan cache under the cache directory cache the
// shared one, warmed first: for tests that set up their own cache
// directory but need no cold scan.
func useSharedScans(t *testing.T, cache string) {
	t.Helper()
	warmScans(t)
	if err := os.Symlink(sharedScans(t), filepath.Join(cache, "scans")); err != nil {
		t.Fatal(err)
	}
}

// release101 makes the demo's release 1.0.1 on release-1.0: a commit that
// changes no file on top of the commit tagged v1.0.0, tagged v1.0.1. Its
// hash is the same in every copy of the demo (the commit is dated), so
// the scan of release-1.0 there is one cache key for every test that
// makes it, computed once. It returns the commit.
func release101(t *testing.T, p *testProject) string {
	t.Helper()
	ctx := context.Background()
	// release-1.0 may have moved on (TestScanFailureKeepsTheBranch): the
	// release is cut from v1.0.0.
	gitIn(t, p.repo.Dir, demo.Epoch.Format(time.RFC3339), "checkout", "--quiet", "--force", "-B", demo.ReleaseBranch, demo.ReleaseTag)
	h, err := p.repo.Commit(ctx, demo.ReleaseBranch, fixture.Now, "Release 1.0.1: bound the page size", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.repo.Tag(ctx, "v1.0.1", h); err != nil {
		t.Fatal(err)
	}
	return h
}
