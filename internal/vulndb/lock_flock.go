//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package vulndb

import (
	"errors"
	"os"
	"syscall"
)

// tryLock takes an exclusive lock on f without blocking; false means
// another process holds it. The lock goes with the file's close.
func tryLock(f *os.File) (bool, error) {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EWOULDBLOCK):
			return false, nil
		}
		return false, err
	}
}

func unlock(f *os.File) {
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	f.Close()
}
