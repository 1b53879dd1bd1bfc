package store

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzOpenStoreFile: whatever bytes the store's database file holds, Open
// either opens a store of the current schema or fails, naming the file
// and leaving it byte for byte as it was, with nothing left beside it.
func FuzzOpenStoreFile(f *testing.F) {
	dir := f.TempDir()
	s, err := Open(context.Background(), dir, nil)
	if err != nil {
		f.Fatal(err)
	}
	s.Close()
	valid, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add([]byte{})
	f.Add(valid[:100])
	f.Add(valid[:4096])
	f.Add([]byte(sqliteMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, FileName)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := Open(context.Background(), dir, nil)
		if err == nil {
			v, verr := s.SchemaVersion(context.Background())
			s.Close()
			if verr != nil || v != len(migrations) {
				t.Fatalf("opened a store at schema version %d: %v", v, verr)
			}
			return
		}
		if errors.Is(err, ErrNoStore) || !bytes.Contains([]byte(err.Error()), []byte(path)) {
			t.Fatalf("the error does not name the file: %v", err)
		}
		after, rerr := os.ReadFile(path)
		if rerr != nil || !bytes.Equal(after, data) {
			t.Fatalf("the file changed (%v): %v", rerr, err)
		}
		for _, side := range []string{"-wal", "-shm", "-journal"} {
			if _, serr := os.Stat(path + side); serr == nil {
				t.Fatalf("%s left behind: %v", side, err)
			}
		}
	})
}
