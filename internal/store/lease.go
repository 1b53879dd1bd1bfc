package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"path/filepath"
)

// Lease is a named lock of a project's store held by one runner: the claim
// on a branch ("branch:release-1.34"), or the right to do a round's
// shared work ("round"). It ends with Release, or when the runner dies:
// the kernel drops a dead process's file lock (SQLite), the server a dead
// session's advisory lock (PostgreSQL), so the next run takes over.
type Lease struct {
	name    string
	release func()
}

// Name is what the lease is on.
func (l *Lease) Name() string { return l.name }

// Release gives the lease up.
func (l *Lease) Release() {
	if l != nil && l.release != nil {
		l.release()
		l.release = nil
	}
}

// TakeLease waits (until ctx is done) for the named lease.
func (s *Store) TakeLease(ctx context.Context, name string) (*Lease, error) {
	return s.lease(ctx, name, true)
}

// TryLease takes the named lease if no one holds it, and returns nil
// (and no error) if someone does.
func (s *Store) TryLease(ctx context.Context, name string) (*Lease, error) {
	return s.lease(ctx, name, false)
}

func (s *Store) lease(ctx context.Context, name string, wait bool) (*Lease, error) {
	if s.Shared() {
		l, err := s.advisoryLock(ctx, "lease:"+name, wait)
		if err != nil || l == nil {
			return nil, err
		}
		return &Lease{name: name, release: l.release}, nil
	}
	sum := sha256.Sum256([]byte(name))
	path := filepath.Join(s.dir, "lease-"+hex.EncodeToString(sum[:8])+".lock")
	lctx := ctx
	if !wait {
		c, cancel := context.WithCancel(ctx)
		cancel()
		lctx = c
	}
	l, err := lockFile(lctx, path)
	if err != nil {
		if !wait && errors.Is(err, ErrLocked) && ctx.Err() == nil {
			return nil, nil
		}
		return nil, err
	}
	return &Lease{name: name, release: l.unlock}, nil
}
