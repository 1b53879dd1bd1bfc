// Package vex writes and reads OpenVEX documents the way the vexloom feed
// needs them to interoperate (see DESIGN.md): go-vex's types and Validate,
// package URLs in the form scanners match (internal/purl), vulnerability
// names that are CVEs with every other ID as an alias, and byte-for-byte
// reproducible JSON.
package vex

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
