package release

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/vexloom/vexloom/internal/config"
)

// The binaries directory of a tracked release (a template over the tag
// and commit, relative to the project): its regular files are the
// release's binaries; a missing or empty directory is one error naming
// it; what is not a regular file (a FIFO would block, a link could lead
// anywhere) is not read.
func TestKeeperBinaries(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	k := &Keeper{
		Config:  config.Releases{Binaries: "dist/{tag}-{commit}"},
		Resolve: func(p string) string { return filepath.Join(base, p) },
	}
	pt := Point{Name: "v1.0.0", Tag: "v1.0.0", Commit: "abc"}
	dir := filepath.Join(base, "dist", "v1.0.0-abc")

	if _, err := k.binaries(pt); err == nil || err.Error() != "binaries directory "+dir+" does not exist" {
		t.Errorf("missing directory: %v", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if _, err := k.binaries(pt); err == nil || !strings.Contains(err.Error(), dir+" holds no files") {
		t.Errorf("directory without regular files: %v", err)
	}
	for _, f := range []string{"kubectl", "kube-apiserver"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	got, err := k.binaries(pt)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{filepath.Join(dir, "kube-apiserver"), filepath.Join(dir, "kubectl")}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("binaries = %v, want %v", got, want)
	}
	// A release named by commit ships no binaries of a template over the
	// tag (dist/{tag} would be every release's directory), and those of a
	// template over the commit only.
	if got, err := k.binaries(Point{Name: "abc", Commit: "abc"}); got != nil || err != nil {
		t.Errorf("release by commit, template over the tag: %v, %v", got, err)
	}
	k.Config.Binaries = "dist/v1.0.0-{commit}"
	if got, err := k.binaries(Point{Name: "abc", Commit: "abc"}); len(got) != 2 || err != nil {
		t.Errorf("release by commit, template over the commit: %v, %v", got, err)
	}
	// Not configured: no binaries, no error.
	k.Config.Binaries = ""
	if got, err := k.binaries(pt); got != nil || err != nil {
		t.Errorf("no template: %v, %v", got, err)
	}
}

// What is not a Go executable in a binaries directory (an image tarball,
// a .docker_tag file, a truncated binary) is told apart from the Go
// executables and named, not read as one.
func TestGoExecutables(t *testing.T) {
	t.Parallel()
	self, err := os.Executable() // this test binary is a Go executable
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	head, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"kube-apiserver.docker_tag": []byte("v1.0.0\n"),
		"kube-apiserver.tar":        make([]byte, 1024),
		"truncated":                 head[:4096],
	}
	var paths []string
	for name, b := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	gos, others := goExecutables(t.Context(), append(paths, self, filepath.Join(dir, "missing")))
	if len(gos) != 1 || gos[0] != self || len(others) != 4 {
		t.Errorf("Go executables %v, others %v", gos, others)
	}
	if got := listSome(others, 2); !strings.HasSuffix(got, ", and 2 more") || strings.Contains(got, dir) {
		t.Errorf("listSome = %q", got)
	}
}
