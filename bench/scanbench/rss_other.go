//go:build !unix

package main

import "os"

// maxRSS returns 0: this system does not report a finished process's peak
// resident set size through os.ProcessState, and the RSS ratio is skipped.
func maxRSS(*os.ProcessState) int64 { return 0 }
