package cli

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteOutputSpecialFiles(t *testing.T) {
	t.Parallel()
	fill := func(w io.Writer) error { _, err := io.WriteString(w, "data\n"); return err }

	if _, err := os.Stat(os.DevNull); err == nil {
		if err := writeOutput(io.Discard, os.DevNull, fill); err != nil {
			t.Fatalf("writing to %s: %v", os.DevNull, err)
		}
		if fi, err := os.Stat(os.DevNull); err != nil || fi.Mode().IsRegular() {
			t.Fatalf("%s was replaced by a regular file", os.DevNull)
		}
	}

	dir := t.TempDir()
	target := filepath.Join(dir, "target.json")
	if err := os.WriteFile(target, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.json")
	if err := os.Symlink(target, link); err != nil {
		t.Skip("no symbolic links here")
	}
	if err := writeOutput(io.Discard, link, fill); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatal("the symbolic link was replaced")
	}
	if b, _ := os.ReadFile(target); string(b) != "data\n" {
		t.Fatalf("the link's target holds %q", b)
	}

	if err := writeOutput(io.Discard, dir, fill); err == nil || !strings.Contains(err.Error(), "directory") {
		t.Fatalf("writing to a directory: %v", err)
	}

	var out bytes.Buffer
	if err := writeOutput(&out, "-", fill); err != nil || out.String() != "data\n" {
		t.Fatalf("stdout: %q %v", out.String(), err)
	}
}
