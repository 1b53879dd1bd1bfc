//go:build !unix

package store

import (
	"context"
	"errors"
)

// ErrLocked is returned when another process holds the lock.
var ErrLocked = errors.New("another vexloom update is running on this store")

type fileLock struct{}

func (l *fileLock) unlock() {}

// Lock is a no-op where flock(2) is not available; the store's
// transactional uniqueness still keeps concurrent updates from duplicating
// anything.
func (s *Store) Lock(ctx context.Context) error {
	if s.Shared() {
		return s.lockShared(ctx)
	}
	return nil
}

func lockFile(ctx context.Context, path string) (*fileLock, error) { return &fileLock{}, nil }
