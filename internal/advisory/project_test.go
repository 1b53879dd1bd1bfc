package advisory

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vexloom/vexloom/examples/demo"
	"github.com/vexloom/vexloom/internal/progress"
	"github.com/vexloom/vexloom/internal/source"
	"github.com/vexloom/vexloom/internal/store"
)

// NewProject judges advisories against each maintained branch at the
// version its latest scan found (a branch with no semantic version is left
// out, with a warning) and each release tag of the module's major version
// reachable from one, never a tag with build metadata, of another major
// version, or that is no version.
func TestNewProject(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r, err := demo.Create(ctx, filepath.Join(t.TempDir(), "repo"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"v1.1.0+build", "v2.0.0", "nightly"} {
		if err := r.Tag(ctx, tag, r.Commits[demo.ReleaseBranch]); err != nil {
			t.Fatal(err)
		}
	}
	st, err := store.Open(ctx, t.TempDir(), func() time.Time { return demo.Epoch })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	const pseudo = "v1.0.1-0.20260115090000-abcdefabcdef"
	for branch, version := range map[string]string{demo.MainBranch: pseudo, demo.ReleaseBranch: "(devel)"} {
		sc := &store.Scan{Branch: branch, Commit: r.Commits[branch], At: demo.Epoch, Modules: []store.ScannedModule{{Path: demo.Module, Version: version}}}
		if err := st.RecordScan(ctx, sc, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	cache := t.TempDir()
	opened := 0
	openRepo := func() (*source.Repository, error) {
		opened++
		return source.OpenRepository(ctx, r.Dir, cache, nil)
	}
	var warnings strings.Builder
	components := []Component{{Name: "vexloom-demo"}}
	proj, err := NewProject(ctx, st, openRepo, demo.Module, components, []string{demo.MainBranch, demo.ReleaseBranch}, progress.New(&warnings))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range proj.Products {
		got = append(got, string(p.Kind)+" "+p.Ref+" "+p.Version+" "+strings.Join(p.Purls, ","))
	}
	want := []string{
		"branch main " + pseudo + " pkg:golang/example.com/vexloom-demo@" + pseudo,
		"release v1.0.0 v1.0.0 pkg:golang/example.com/vexloom-demo@v1.0.0",
	}
	if !slices.Equal(got, want) {
		t.Errorf("products:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if proj.Module != demo.Module || len(proj.Components) != 1 {
		t.Errorf("project %+v", proj)
	}
	if !strings.Contains(warnings.String(), "release-1.0") || !strings.Contains(warnings.String(), "not a semantic version") {
		t.Errorf("no warning about the branch left out: %q", warnings.String())
	}

	// Nothing scanned: nothing to judge against, and no repository opened.
	opened = 0
	if _, err := NewProject(ctx, st, openRepo, demo.Module, nil, nil, nil); !errors.Is(err, ErrNoBranch) || opened != 0 {
		t.Errorf("no branch: %v (repository opened %d times)", err, opened)
	}
	// A repository that does not open fails the whole.
	broken := func() (*source.Repository, error) { return nil, errors.New("no such repository") }
	if _, err := NewProject(ctx, st, broken, demo.Module, nil, []string{demo.MainBranch}, nil); err == nil || !strings.Contains(err.Error(), "no such repository") {
		t.Errorf("a repository that does not open: %v", err)
	}
}
