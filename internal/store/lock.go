//go:build unix

package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// fileLock is an exclusive advisory lock on a file in the store directory,
// held by one `vexloom update` at a time. The kernel releases it when the
// process dies, so a killed run never leaves the store locked.
type fileLock struct {
	f *os.File
}

// ErrLocked is returned by TryLock when another process holds the lock.
var ErrLocked = errors.New("another vexloom update is running on this store")

// Lock waits (until ctx is done) for the store's update lock. The lock is
// released by Close.
func (s *Store) Lock(ctx context.Context) error {
	if s.Shared() {
		return s.lockShared(ctx)
	}
	if s.lock != nil {
		return nil
	}
	l, err := lockFile(ctx, filepath.Join(s.dir, "update.lock"))
	if err != nil {
		return err
	}
	s.lock = l
	return nil
}

// lockFile takes an exclusive flock on path, polling until ctx is done.
func lockFile(ctx context.Context, path string) (*fileLock, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening the lock %s: %w", filepath.Base(path), err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return &fileLock{f: f}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("taking the lock %s: %w", filepath.Base(path), err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("%w: %w", ErrLocked, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (l *fileLock) unlock() {
	syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	l.f.Close()
}
