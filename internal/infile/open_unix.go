//go:build unix

package infile

import "syscall"

// openFlags: opening a FIFO for reading blocks until a writer comes, unless
// non-blocking; on a regular file the flag changes nothing.
const openFlags = syscall.O_NONBLOCK
