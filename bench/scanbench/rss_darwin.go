//go:build darwin || ios

package main

import (
	"os"
	"syscall"
)

// maxRSS returns the peak resident set size of a finished process in bytes;
// Darwin reports ru_maxrss in bytes.
func maxRSS(ps *os.ProcessState) int64 {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok && ru != nil {
		return int64(ru.Maxrss)
	}
	return 0
}
