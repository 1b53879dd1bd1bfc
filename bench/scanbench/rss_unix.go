//go:build unix && !darwin && !ios

package main

import (
	"os"
	"syscall"
)

// maxRSS returns the peak resident set size of a finished process in bytes;
// these systems report ru_maxrss in KiB.
func maxRSS(ps *os.ProcessState) int64 {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok && ru != nil {
		return int64(ru.Maxrss) * 1024
	}
	return 0
}
