package source

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// A run killed while git changed the mirror leaves git's lock files behind;
// the next run opens the mirror all the same.
func TestMirrorSurvivesAKilledGit(t *testing.T) {
	ctx := context.Background()
	d := newDemo(t)
	cache := t.TempDir()
	repo, err := OpenRepository(ctx, d.Dir, cache, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The repository gains a branch; git's lock files from a killed run
	// stand where the fetch must write.
	if out, err := exec.Command("git", "-C", d.Dir, "branch", "release-9.9").CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	locks := []string{"config.lock", "packed-refs.lock", filepath.Join("refs", "heads", "release-9.9.lock")}
	for _, l := range locks {
		if err := os.WriteFile(filepath.Join(repo.Mirror, l), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	again, err := OpenRepository(ctx, d.Dir, cache, nil)
	if err != nil {
		t.Fatalf("opening the mirror after a killed git: %v", err)
	}
	if _, err := again.ResolveBranch(ctx, "release-9.9"); err != nil {
		t.Errorf("the new branch was not fetched: %v", err)
	}
	for _, l := range locks[:2] {
		if _, err := os.Stat(filepath.Join(repo.Mirror, l)); !os.IsNotExist(err) {
			t.Errorf("%s is still there", l)
		}
	}
}
