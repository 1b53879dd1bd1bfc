//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly || windows)

package vulndb

import (
	"os"
	"sync"
)

// Systems without flock or LockFileEx (plan9, js, wasip1, solaris, aix)
// get a lock that only excludes other updates in the same process.
var (
	inProcessMu    sync.Mutex
	inProcessLocks = map[string]bool{}
)

func tryLock(f *os.File) (bool, error) {
	inProcessMu.Lock()
	defer inProcessMu.Unlock()
	if inProcessLocks[f.Name()] {
		return false, nil
	}
	inProcessLocks[f.Name()] = true
	return true, nil
}

func unlock(f *os.File) {
	inProcessMu.Lock()
	delete(inProcessLocks, f.Name())
	inProcessMu.Unlock()
	f.Close()
}
