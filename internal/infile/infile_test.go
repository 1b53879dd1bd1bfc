//go:build unix

package infile

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// promptly runs f and fails the test if it takes more than a few seconds:
// what is tested here used to hang.
func promptly(t *testing.T, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("did not return")
	}
}

func TestReadRefusesWhatIsNotARegularFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "bundle.json")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	link := filepath.Join(dir, "link.json")
	if err := os.Symlink(fifo, link); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{fifo, link, dir, os.DevNull} {
		promptly(t, func() {
			_, err := Read(context.Background(), path, 1<<20)
			if !errors.Is(err, ErrNotRegular) {
				t.Errorf("%s: err = %v, want ErrNotRegular", path, err)
			}
			t.Logf("%s: %v", path, err)
			if _, err := Copy(context.Background(), &bytes.Buffer{}, path); !errors.Is(err, ErrNotRegular) {
				t.Errorf("Copy %s: err = %v", path, err)
			}
		})
	}
}

func TestReadBoundsAndCancels(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "doc.json")
	data := bytes.Repeat([]byte("x"), 3*chunk+5)
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if got, err := Read(ctx, file, int64(len(data))); err != nil || !bytes.Equal(got, data) {
		t.Errorf("at the limit: %d bytes, %v", len(got), err)
	}
	if _, err := Read(ctx, file, int64(len(data))-1); !errors.Is(err, ErrTooLarge) {
		t.Errorf("over the limit: %v", err)
	}
	if _, err := Read(ctx, filepath.Join(dir, "missing"), 10); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Read(cancelled, file, 1<<30); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if _, err := Copy(cancelled, &bytes.Buffer{}, file); !errors.Is(err, context.Canceled) {
		t.Errorf("Copy cancelled: %v", err)
	}
	var buf bytes.Buffer
	if n, err := Copy(ctx, &buf, file); err != nil || n != int64(len(data)) || !bytes.Equal(buf.Bytes(), data) {
		t.Errorf("Copy: %d, %v", n, err)
	}
}

// A read that blocks (a pipe nobody writes to, as stdin can be) gives up
// when the context is cancelled.
func TestReadAllBlockedIsCancelled(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	promptly(t, func() {
		if _, err := ReadAll(ctx, r, "stdin", 1<<20); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v", err)
		}
	})
}
