package source

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The branch HEAD names, read from the HEAD file, is git's answer, for a
// repository, a bare one and a branch switched to; a detached HEAD, a
// worktree (whose .git is a file), a reftable repository's placeholder
// and damaged files answer false, and the caller asks git.
func TestSymbolicHeadIsGits(t *testing.T) {
	t.Parallel()
	run := func(dir string, args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL="+os.DevNull, "GIT_CONFIG_NOSYSTEM=1",
			"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	dir := t.TempDir()
	run(dir, "init", "--quiet", "--initial-branch", "trunk")
	run(dir, "commit", "--quiet", "--allow-empty", "-m", "one")
	bare := filepath.Join(t.TempDir(), "bare.git")
	run(dir, "clone", "--quiet", "--bare", dir, bare)
	check := func(name, repo string) {
		t.Helper()
		d := gitDir(repo)
		got, ok := symbolicHead(d)
		if want := run(repo, "symbolic-ref", "--quiet", "HEAD"); d == "" || !ok || got != want {
			t.Errorf("%s: %q, %v from %q; git says %q", name, got, ok, d, want)
		}
	}
	check("repository", dir)
	check("bare", bare)
	run(dir, "checkout", "--quiet", "-b", "release-1.0")
	check("switched", dir)

	run(dir, "checkout", "--quiet", "--detach")
	if got, ok := symbolicHead(gitDir(dir)); ok {
		t.Errorf("detached: %q", got)
	}
	wt := filepath.Join(t.TempDir(), "wt")
	run(dir, "worktree", "add", "--quiet", wt, "trunk")
	if d := gitDir(wt); d != "" {
		t.Errorf("a worktree's git directory read as %q", d)
	}
	for name, content := range map[string]string{
		"reftable": "ref: refs/heads/.invalid\n",
		"tag":      "ref: refs/tags/v1\n",
		"empty":    "",
		"garbage":  "\x00\xff ref: refs/heads/x",
		"two refs": "ref: refs/heads/a\nref: refs/heads/b\n",
		"no name":  "ref: refs/heads/\n",
		"huge":     "ref: refs/heads/" + strings.Repeat("x", 4096) + "\n",
	} {
		d := t.TempDir()
		if err := os.WriteFile(filepath.Join(d, "HEAD"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if got, ok := symbolicHead(d); ok {
			t.Errorf("%s: read as %q", name, got)
		}
	}
	if got, ok := symbolicHead(t.TempDir()); ok {
		t.Errorf("no HEAD file: %q", got)
	}
}

func FuzzSymbolicHead(f *testing.F) {
	for _, s := range []string{"ref: refs/heads/main\n", "ref: refs/heads/.invalid\n", "0123456789abcdef0123456789abcdef01234567\n", "ref: refs/heads/a\nb"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d := t.TempDir()
		if err := os.WriteFile(filepath.Join(d, "HEAD"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		ref, ok := symbolicHead(d)
		if ok && (!strings.HasPrefix(ref, "refs/heads/") || len(ref) == len("refs/heads/") || strings.ContainsAny(ref, "\n\r\x00")) {
			t.Fatalf("%q read as %q", b, ref)
		}
	})
}
