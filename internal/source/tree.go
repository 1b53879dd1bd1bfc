package source

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// ErrNoModule is returned for a directory that holds no Go module.
var ErrNoModule = errors.New("no Go module")

// Tree is a directory scanned as it is on disk (uncommitted changes
// included).
type Tree struct {
	Root string
}

// OpenTree checks that dir exists and is a directory.
func OpenTree(dir string) (*Tree, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s is a file, not a directory", dir)
	}
	return &Tree{Root: abs}, nil
}

// ReadFile reads a file by its slash-separated path relative to the root.
func (t *Tree) ReadFile(rel string) ([]byte, error) {
	return os.ReadFile(filepath.Join(t.Root, filepath.FromSlash(rel)))
}

// GoModFiles finds the go.mod files of the tree, skipping vendor/, testdata/
// and directories the go command ignores.
func (t *Tree) GoModFiles() ([]string, error) {
	var files []string
	err := filepath.WalkDir(t.Root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(t.Root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel != "." && ignoredDir(rel) {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Name() == "go.mod" {
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return GoModPaths(files), nil
}

// Modules returns the tree's modules.
func (t *Tree) Modules() ([]Module, error) {
	gomods, err := t.GoModFiles()
	if err != nil {
		return nil, err
	}
	if len(gomods) == 0 {
		return nil, fmt.Errorf("%w in %s: no go.mod file (outside vendor/ and testdata/)", ErrNoModule, t.Root)
	}
	var mods []Module
	for _, f := range gomods {
		data, err := t.ReadFile(f)
		if err != nil {
			return nil, err
		}
		mods = append(mods, ParseModule(f, data))
	}
	return mods, nil
}

// ContentHash hashes every file that can affect the build of m: the files of
// its directory (nested modules excluded, they are separate builds) and of
// the directories its replace directives point at. Names, modes and
// contents all count.
func (t *Tree) ContentHash(ctx context.Context, m Module, all []Module) (string, error) {
	nested := map[string]bool{}
	for _, o := range all {
		nested[o.Dir] = true
	}
	h := sha256.New()
	dirs := append([]string{m.Dir}, m.LocalReplaces...)
	for _, dir := range dirs {
		fmt.Fprintf(h, "dir %s\n", dir)
		if err := t.hashDir(ctx, h, dir, nested); err != nil {
			return "", err
		}
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

func (t *Tree) hashDir(ctx context.Context, h io.Writer, dir string, nested map[string]bool) error {
	root := filepath.Join(t.Root, filepath.FromSlash(dir))
	if _, err := os.Stat(root); errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(h, "missing\n")
		return nil
	}
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, _ := filepath.Rel(t.Root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			if rel != dir && nested[rel] {
				if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
					return filepath.SkipDir
				}
			}
			return nil
		}
		files = append(files, rel)
		return nil
	})
	if err != nil {
		return err
	}
	slices.Sort(files)
	buf := make([]byte, 256<<10)
	for _, rel := range files {
		p := filepath.Join(t.Root, filepath.FromSlash(rel))
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %o %d\n", rel, fi.Mode(), fi.Size())
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			io.WriteString(h, target)
		case fi.Mode().IsRegular():
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			_, err = io.CopyBuffer(h, f, buf)
			f.Close()
			if err != nil {
				return err
			}
		}
		io.WriteString(h, "\n")
	}
	return nil
}

// Modules returns the modules of the repository at commit.
func (r *Repository) Modules(ctx context.Context, commit string) ([]Module, error) {
	files, err := r.Files(ctx, commit)
	if err != nil {
		return nil, err
	}
	gomods := GoModPaths(files)
	if len(gomods) == 0 {
		return nil, fmt.Errorf("%w in %s at %s: no go.mod file (outside vendor/ and testdata/)", ErrNoModule, r.Spec, short(commit))
	}
	var mods []Module
	for _, f := range gomods {
		data, err := r.ReadFile(ctx, commit, f)
		if err != nil {
			return nil, err
		}
		mods = append(mods, ParseModule(f, data))
	}
	return mods, nil
}

// ContentHash identifies everything that can affect the build of m at
// commit: the git trees of its directory and of its local replacements.
func (r *Repository) ContentHash(ctx context.Context, commit string, m Module) (string, error) {
	h := sha256.New()
	for _, dir := range append([]string{m.Dir}, m.LocalReplaces...) {
		tree, err := r.TreeHash(ctx, commit, dir)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %s\n", dir, tree)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// FileReaderAt returns a FileReader over the repository at commit.
func (r *Repository) FileReaderAt(ctx context.Context, commit string) FileReader {
	return func(rel string) ([]byte, error) {
		return r.ReadFile(ctx, commit, strings.TrimPrefix(path.Clean(rel), "./"))
	}
}
