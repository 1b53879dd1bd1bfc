// Package atomicfile writes files whole or not at all: through a temporary
// file in the same directory, synced, then renamed into place, so a reader
// or a crash never sees half a file.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Write replaces path with data.
func Write(path string, data []byte, perm os.FileMode) error {
	tmp, err := writeTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-", path, data, perm)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// Create writes data to path unless path exists, and reports whether it
// created the file: the write-once form of Write, for stores that never
// rewrite what they hold. The file is written in tmpDir ("" for path's
// directory; it must be on path's file system) and hard-linked into place,
// so it appears complete or not at all, and of two writers one wins.
func Create(path string, data []byte, perm os.FileMode, tmpDir string) (bool, error) {
	if _, err := os.Lstat(path); err == nil {
		return false, nil
	}
	if tmpDir == "" {
		tmpDir = filepath.Dir(path)
	}
	tmp, err := writeTemp(tmpDir, "w-*", path, data, perm)
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); errors.Is(err, fs.ErrExist) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("writing %s: %w", path, err)
	}
	SyncDir(filepath.Dir(path))
	return true, nil
}

// writeTemp writes data, synced and with mode perm, to a new file in dir
// named after pattern, and returns its name.
func writeTemp(dir, pattern, path string, data []byte, perm os.FileMode) (string, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	name := f.Name()
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(name)
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(name)
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(name)
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Chmod(name, perm); err != nil {
		os.Remove(name)
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	return name, nil
}

// SyncDir syncs a directory, so that a file just linked or renamed into it
// survives a crash. Best effort: not every file system syncs directories.
func SyncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
