package vexsource

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/vexloom/vexloom/internal/attest"
	"github.com/vexloom/vexloom/internal/digest"
	"github.com/vexloom/vexloom/internal/infile"
)

// MaxFiles bounds the files read from one directory.
const MaxFiles = 10_000

// file is a file of VEX, or every .json file under a directory (hidden
// directories left out). In a directory, a JSON file that is no VEX is
// skipped with a note; any other failure fails the read.
type file struct {
	spec string
	o    Options
}

func (f *file) String() string { return f.spec }
func (f *file) Kind() Kind     { return KindFile }

func (f *file) Documents(ctx context.Context) ([]Document, error) {
	fi, err := os.Stat(f.spec)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		d, err := readFile(ctx, f.spec)
		if err != nil {
			return nil, err
		}
		return []Document{d}, nil
	}
	var out []Document
	n := 0
	err = filepath.WalkDir(f.spec, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != f.spec && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(d.Name(), ".json") || !d.Type().IsRegular() {
			return nil
		}
		if n++; n > MaxFiles {
			return fmt.Errorf("more than %d files", MaxFiles)
		}
		doc, err := readFile(ctx, path)
		if errors.Is(err, ErrNotVEX) {
			f.o.note("vex: %s: skipped, %v", path, err)
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, doc)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// About returns the documents that are bundles or name d as a product:
// a file does not say what a bundle is about until it is verified.
func (f *file) About(ctx context.Context, d digest.Digest) ([]Document, error) {
	docs, err := f.Documents(ctx)
	if err != nil {
		return nil, err
	}
	var out []Document
	for _, doc := range docs {
		if doc.Bundle != nil || Count(doc.VEX, d) > 0 {
			out = append(out, doc)
		}
	}
	return out, nil
}

// readFile reads a file named from outside: a regular file, bounded.
func readFile(ctx context.Context, path string) (Document, error) {
	data, err := infile.Read(ctx, path, attest.MaxBundleSize)
	if err != nil {
		return Document{}, err
	}
	return Read(data, path)
}
