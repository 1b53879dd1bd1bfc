//go:build unix

package source

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"time"
)

// lockMirror takes an exclusive advisory lock beside a mirror, so that
// runners sharing a cache take turns changing it. The kernel releases it
// when the process dies: a killed run never leaves the mirror locked.
func lockMirror(ctx context.Context, mirror string) (func(), error) {
	f, err := os.OpenFile(mirror+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("locking the mirror %s: %w", mirror, err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
		}
		if err != syscall.EWOULDBLOCK && err != syscall.EINTR {
			f.Close()
			return nil, fmt.Errorf("locking the mirror %s: %w", mirror, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
