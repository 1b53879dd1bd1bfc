package release

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vexloom/vexloom/examples/demo"
	"github.com/vexloom/vexloom/internal/config"
	"github.com/vexloom/vexloom/internal/fixture"
	"github.com/vexloom/vexloom/internal/source"
	"github.com/vexloom/vexloom/internal/store"
)

// gitIn runs git in dir with a fixed identity and date, and returns its
// output.
func gitIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL="+os.DevNull, "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=demo", "GIT_AUTHOR_EMAIL=demo@example.com", "GIT_COMMITTER_NAME=demo", "GIT_COMMITTER_EMAIL=demo@example.com",
		"GIT_AUTHOR_DATE=2026-02-01T00:00:00Z", "GIT_COMMITTER_DATE=2026-02-01T00:00:00Z")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// orphanCommit makes a commit of main's tree on no branch at all.
func orphanCommit(t *testing.T, dir string) string {
	t.Helper()
	return gitIn(t, dir, "commit-tree", "-m", "Rebuilt elsewhere", demo.MainBranch+"^{tree}")
}

// recordFirst records a release's first document, as the keeper does when
// it first covers the release.
func recordFirst(t *testing.T, st *store.Store, release, commit, branch string) {
	t.Helper()
	if err := st.RecordReleaseDocument(context.Background(), store.ReleaseDocument{Release: release, Version: 1, Branch: branch, Commit: commit,
		StatementsHash: "h", At: fixture.Now, Body: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
}

// pointsOf lists a selection's points as "name commit branch" and their
// notes by name.
func pointsOf(sel *Selection) ([]string, map[string]string) {
	var out []string
	notes := map[string]string{}
	for _, p := range sel.Points {
		out = append(out, p.Name+" "+shortHash(p.Commit)+" "+p.Branch)
		if p.Note != "" {
			notes[p.Name] = p.Note
		}
	}
	return out, notes
}

// A release once covered is the commit it shipped from: when its tag is
// moved (onto another maintained branch's commit, or onto a commit on none
// of them) or deleted, or its branch is no longer maintained, it stays
// tracked at its recorded commit and branch with one line saying why,
// never silently dropped and never re-tracked at the tag's new commit.
// It is dropped only when the rules, applied to it where it was
// recorded, no longer select it (a newer tag pushes it out of keep): an
// intended drop, told apart from a vanished tag.
func TestTrackedKeepsRecordedReleases(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r, err := demo.Create(ctx, filepath.Join(t.TempDir(), "repo"))
	if err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	tagOn := func(name string, at time.Time) string {
		c, err := r.Commit(ctx, demo.ReleaseBranch, at, "Release "+name, map[string][]byte{"NOTES": []byte(name + "\n")})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Tag(ctx, name, c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	c100 := r.Commits[demo.ReleaseBranch]
	c101 := tagOn("v1.0.1", demo.Epoch.Add(48*time.Hour))
	c102 := tagOn("v1.0.2", demo.Epoch.Add(72*time.Hour))
	st, err := store.Open(ctx, t.TempDir(), func() time.Time { return fixture.Now })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	rc := config.Releases{Track: []config.TrackRule{{Tags: []string{"v1.0.*"}, Keep: 2, Line: 7}}}
	both := []string{demo.MainBranch, demo.ReleaseBranch}
	tracked := func(maintained []string) *Selection {
		t.Helper()
		repo, err := source.OpenRepository(ctx, r.Dir, cache, nil) // fetches what changed
		if err != nil {
			t.Fatal(err)
		}
		sel, err := Tracked(ctx, st, repo, rc, maintained)
		if err != nil {
			t.Fatal(err)
		}
		return sel
	}
	check := func(step string, sel *Selection, want []string, notes map[string]string, dropped ...string) {
		t.Helper()
		got, gotNotes := pointsOf(sel)
		if strings.Join(got, "; ") != strings.Join(want, "; ") {
			t.Errorf("%s: points\n%s\nwant\n%s", step, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		for name, note := range gotNotes {
			if notes[name] == "" {
				t.Errorf("%s: unexpected note on %s: %s", step, name, note)
			}
		}
		for name, want := range notes {
			if gotNotes[name] != want {
				t.Errorf("%s: note on %s\n%q\nwant\n%q", step, name, gotNotes[name], want)
			}
		}
		var gotDropped []string
		for _, d := range sel.Dropped {
			gotDropped = append(gotDropped, d.Name)
		}
		if strings.Join(gotDropped, " ") != strings.Join(dropped, " ") {
			t.Errorf("%s: dropped %v, want %v", step, gotDropped, dropped)
		}
	}
	short := shortHash

	// Nothing recorded yet: the two newest tags of release-1.0, and
	// v1.0.0, which main (one commit on from it) holds closer.
	v100 := "v1.0.0 " + short(c100) + " main"
	check("first", tracked(both), []string{v100, "v1.0.2 " + short(c102) + " release-1.0", "v1.0.1 " + short(c101) + " release-1.0"}, nil)
	recordFirst(t, st, "v1.0.1", c101, demo.ReleaseBranch)
	recordFirst(t, st, "v1.0.2", c102, demo.ReleaseBranch)
	check("recorded, unchanged", tracked(both), []string{v100, "v1.0.2 " + short(c102) + " release-1.0", "v1.0.1 " + short(c101) + " release-1.0"}, nil)

	// v1.0.1 is moved to a commit on no branch, v1.0.2 onto main's tip.
	// Track alone loses the first and follows the second; Tracked keeps
	// both where they shipped.
	orphan := orphanCommit(t, r.Dir)
	mainTip := r.Commits[demo.MainBranch]
	gitIn(t, r.Dir, "tag", "-f", "v1.0.1", orphan)
	gitIn(t, r.Dir, "tag", "-f", "v1.0.2", mainTip)
	moved := map[string]string{
		"v1.0.1": "release v1.0.1: the tag now points at " + short(orphan) + ", on none of the maintained branches, not the recorded commit " + short(c101) + "; the recorded commit stays covered",
		"v1.0.2": "release v1.0.2: the tag now points at " + short(mainTip) + ", not the recorded commit " + short(c102) + "; the recorded commit stays covered",
	}
	check("tags moved", tracked(both), []string{v100, "v1.0.2 " + short(c102) + " release-1.0", "v1.0.1 " + short(c101) + " release-1.0"}, moved)
	repo, err := source.OpenRepository(ctx, r.Dir, cache, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sel, err := track(ctx, repo, rc, both, nil); err != nil || len(sel.Points) != 2 || sel.Points[0].Name != "v1.0.2" || sel.Points[0].Commit != mainTip || sel.Points[1].Name != "v1.0.0" {
		t.Errorf("the rules alone, knowing nothing recorded, are expected to follow and lose the moved tags: %+v, %v", sel, err)
	}

	// v1.0.1's tag is deleted.
	gitIn(t, r.Dir, "tag", "-d", "v1.0.1")
	moved["v1.0.1"] = "release v1.0.1: the tag no longer exists; the recorded commit stays covered (" + short(c101) + ")"
	check("tag deleted", tracked(both), []string{v100, "v1.0.2 " + short(c102) + " release-1.0", "v1.0.1 " + short(c101) + " release-1.0"}, moved)

	// A newer tag pushes v1.0.1 (deleted, kept at its recorded commit)
	// out of keep: 2. That is the rule, not a vanish: v1.0.1 is dropped,
	// said as such, with no note.
	c103 := tagOn("v1.0.3", demo.Epoch.Add(96*time.Hour))
	check("aged out", tracked(both), []string{v100, "v1.0.3 " + short(c103) + " release-1.0", "v1.0.2 " + short(c102) + " release-1.0"},
		map[string]string{"v1.0.2": moved["v1.0.2"]}, "v1.0.1")

	// release-1.0 is no longer maintained: its covered releases stay, as
	// many as the rule keeps; main's own tag is tracked as before. A
	// release named by commit on it is not tracked before it was covered,
	// and stays once it was.
	recordFirst(t, st, "v1.0.3", c103, demo.ReleaseBranch)
	rc.Commits = []string{c102}
	mainOnly := []string{demo.MainBranch}
	notes := map[string]string{
		"v1.0.3": "release v1.0.3: its branch release-1.0 is no longer maintained; the recorded commit " + short(c103) + " stays covered on it",
		"v1.0.2": "release v1.0.2: the tag now points at " + short(mainTip) + ", not the recorded commit " + short(c102) + "; the recorded commit stays covered on release-1.0, no longer maintained",
	}
	want := []string{v100, "v1.0.3 " + short(c103) + " release-1.0", "v1.0.2 " + short(c102) + " release-1.0"}
	sel := tracked(mainOnly)
	check("branch no longer maintained", sel, want, notes, "v1.0.1")
	if w := "release " + c102 + ": the commit is on none of the maintained branches"; !strings.Contains(strings.Join(sel.Warnings, "\n"), w) {
		t.Errorf("a release named by commit, never covered, on no maintained branch: warnings %q", sel.Warnings)
	}
	recordFirst(t, st, c102, c102, demo.ReleaseBranch)
	notes[c102] = "release " + short(c102) + ": its branch release-1.0 is no longer maintained; the commit stays covered on it"
	check("commit release covered before", tracked(mainOnly), append(want, c102+" "+short(c102)+" release-1.0"), notes, "v1.0.1")

	// The configuration no longer names the releases: all dropped, none
	// kept by a note.
	rc = config.Releases{Track: []config.TrackRule{{Tags: []string{"v2.*"}, Line: 9}}}
	sel = tracked(both)
	check("configuration changed", sel, nil, nil, c102, "v1.0.1", "v1.0.2", "v1.0.3")
	if len(sel.Warnings) != 1 || !strings.Contains(sel.Warnings[0], "rule at line 9: no tag matching v2.*") {
		t.Errorf("warnings %q", sel.Warnings)
	}
}
