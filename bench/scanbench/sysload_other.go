//go:build !linux

package main

// readSystemCPU reports false: only Linux's /proc/stat is read, so elsewhere
// disturbed runs are not detected.
func readSystemCPU() (systemCPU, bool) { return systemCPU{}, false }
