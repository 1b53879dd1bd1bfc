package scan

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"hash"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// The analysed code of a module: a digest of what the engine's findings
// for a module's content depend on, and of nothing else, so that release
// commits that differ only where the analysis cannot see share one delta
// analysis (share.go).
//
// What counts, in the directory of the module and of its local
// replacements (nested modules excluded, as the go command excludes them):
//
//   - every file's name and mode;
//   - the content of every file that is not a Go file (go.mod, go.sum,
//     vendor/, assembly, cgo sources, embedded files: all of it, whether
//     the go command reads it or not);
//   - a Go file as its tokens, each with its line and column, comments
//     included, except that a string literal counts by its kind and length
//     and not by its text. An import path, a struct tag and every literal of
//     a file that imports "C" count in full. A file that does not parse
//     counts byte for byte;
//   - a test file (_test.go) by its name only: the engine analyses the
//     build without tests, and never reads them.
//
// Why a string's text does not count. The engine type-checks the packages,
// builds their SSA form (golang.org/x/tools/go/ssa), computes a call graph
// (CHA, then VTA twice) and walks it from the entry points to the
// vulnerable symbols; findings name functions, packages, modules and the
// positions of call sites. In a program that type-checks (the code has a
// base, so the engine loaded it), the text of a string literal decides
// only constant values: of string type, of len() (which is why the length
// counts) and of comparisons, which are booleans. No type depends on one,
// go/ssa does not fold constant conditions ("for better fidelity to the
// source code", its builder says), and CHA and VTA follow types, not
// values. Positions do not move either: the position of every token
// counts. So two contents with the same digest give the engine the same
// program up to constant strings, and the same findings.

// analysisFormat changes whenever what the digest covers changes.
const analysisFormat = "vexloom-analysed-code/1"

// AnalysisDigest returns the digest of the analysed code of the module
// whose directories (the module's and its local replacements', slash
// separated and relative to root) are dirs.
func AnalysisDigest(ctx context.Context, root string, dirs []string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n", analysisFormat)
	for _, dir := range dirs {
		fmt.Fprintf(h, "dir %q\n", dir)
		if err := digestDir(ctx, h, root, dir); err != nil {
			return "", err
		}
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

func digestDir(ctx context.Context, h hash.Hash, root, dir string) error {
	top := filepath.Join(root, filepath.FromSlash(dir))
	if _, err := os.Lstat(top); errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(h, "missing\n")
		return nil
	}
	var files []string
	err := filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(top, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.Name() == ".git" && rel != "." {
			// git's own: a directory, or in a worktree a file naming
			// it. The go command does not load packages from either.
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			// A nested module is a build of its own (a local
			// replacement of this one is walked as a dir of its own).
			if rel != "." && !inVendor(rel) {
				if _, err := os.Lstat(filepath.Join(p, "go.mod")); err == nil {
					return filepath.SkipDir
				}
			}
			return nil
		}
		files = append(files, rel)
		return nil
	})
	if err != nil {
		return fmt.Errorf("reading the analysed code in %s: %w", dir, err)
	}
	slices.Sort(files)
	for _, rel := range files {
		p := filepath.Join(top, filepath.FromSlash(rel))
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "file %q %v\n", rel, fi.Mode().Type())
		switch {
		case strings.HasSuffix(rel, "_test.go"):
			continue
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(h, "-> %q\n", target)
			// What it points at, if it is a file.
			if b, err := os.ReadFile(p); err == nil {
				sum := sha256.Sum256(b)
				fmt.Fprintf(h, "bytes %x\n", sum)
			}
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if strings.HasSuffix(rel, ".go") {
				h.Write(goFileDigest(b))
			} else {
				sum := sha256.Sum256(b)
				fmt.Fprintf(h, "bytes %x\n", sum)
			}
		}
	}
	return nil
}

func inVendor(rel string) bool {
	return rel == "vendor" || strings.HasPrefix(rel, "vendor/") || strings.Contains(rel, "/vendor/")
}

// goFileDigest is the digest of a Go file's tokens with the text of its
// string literals left out (see above).
func goFileDigest(src []byte) []byte {
	raw := func() []byte {
		sum := sha256.Sum256(src)
		return []byte(fmt.Sprintf("bytes %x\n", sum))
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "", src, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		return raw()
	}
	for _, imp := range f.Imports {
		if p, err := strconv.Unquote(imp.Path.Value); err != nil || p == "C" {
			return raw()
		}
	}
	// The offsets of the string literals whose text does not count.
	loose := map[int]bool{}
	kept := map[int]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.ImportSpec:
			return false
		case *ast.Field:
			if n.Tag != nil {
				kept[fset.Position(n.Tag.Pos()).Offset] = true
			}
		case *ast.BasicLit:
			if n.Kind == token.STRING {
				loose[fset.Position(n.Pos()).Offset] = true
			}
		}
		return true
	})
	for off := range kept {
		delete(loose, off)
	}

	h := sha256.New()
	sfset := token.NewFileSet()
	file := sfset.AddFile("", -1, len(src))
	var s scanner.Scanner
	bad := false
	s.Init(file, src, func(token.Position, string) { bad = true }, scanner.ScanComments)
	for {
		pos, tok, lit := s.Scan()
		if tok == token.EOF {
			break
		}
		p := file.Position(pos)
		if tok == token.STRING && loose[p.Offset] {
			v, err := strconv.Unquote(lit)
			if err != nil {
				return raw()
			}
			fmt.Fprintf(h, "%d:%d string %c %d\n", p.Line, p.Column, lit[0], len(v))
			continue
		}
		fmt.Fprintf(h, "%d:%d %s %q\n", p.Line, p.Column, tok, lit)
	}
	if bad {
		return raw()
	}
	return []byte(fmt.Sprintf("go %x\n", h.Sum(nil)))
}

// moduleRoot returns the root of the tree of the module in dir: dir
// without the module's directory relative to the root (modDir, slash
// separated, "." for the root).
func moduleRoot(dir, modDir string) (string, bool) {
	if modDir == "." || modDir == "" {
		return dir, true
	}
	d := filepath.ToSlash(filepath.Clean(dir))
	rest, ok := strings.CutSuffix(d, "/"+path.Clean(modDir))
	if !ok {
		return "", false
	}
	return filepath.FromSlash(rest), true
}
