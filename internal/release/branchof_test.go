package release

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vexloom/vexloom/examples/demo"
	"github.com/vexloom/vexloom/internal/source"
)

// BranchOf finds the branch a release was cut from as Assemble and Track
// do, and says so when it cannot: a release equally close to two
// maintained branches, or on none of them, or no commit at all.
func TestBranchOf(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r, err := demo.Create(ctx, filepath.Join(t.TempDir(), "repo"))
	if err != nil {
		t.Fatal(err)
	}
	// release-1.1 is cut at main's tip, tagged v1.1.0: on both, moved on
	// from neither.
	main := r.Commits[demo.MainBranch]
	if err := r.Tag(ctx, "v1.1.0", main); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("git", "-C", r.Dir, "branch", "release-1.1", main).CombinedOutput(); err != nil {
		t.Fatalf("git branch: %v\n%s", err, out)
	}
	repo, err := source.OpenRepository(ctx, r.Dir, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	all := []string{demo.MainBranch, demo.ReleaseBranch, "release-1.1"}
	for _, c := range []struct {
		ref        string
		maintained []string
		want       string
		err        error
		says       string
	}{
		{demo.ReleaseTag, all, demo.ReleaseBranch, nil, ""},
		{demo.ReleaseTag, []string{demo.MainBranch}, demo.MainBranch, nil, ""},
		{"v1.1.0", []string{demo.MainBranch, demo.ReleaseBranch}, demo.MainBranch, nil, ""},
		{"v1.1.0", all, "", ErrAmbiguousBranch, "equally close to each: main, release-1.1"},
		{"v1.1.0", []string{demo.ReleaseBranch}, "", ErrNotOnBranch, "(release-1.0)"},
		{"v9.9.9", all, "", ErrNotOnBranch, `"v9.9.9"`},
	} {
		got, err := BranchOf(ctx, repo, c.maintained, c.ref)
		if got != c.want || !errors.Is(err, c.err) || (c.err != nil && !strings.Contains(err.Error(), c.says)) {
			t.Errorf("BranchOf(%s, %v) = %q, %v; want %q, %v (%q)", c.ref, c.maintained, got, err, c.want, c.err, c.says)
		}
	}
}
