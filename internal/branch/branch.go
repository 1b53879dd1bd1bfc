// Package branch is the one rule for matching git branch names against the
// names and glob patterns (release-1.*) a project configures and triage
// scopes name. A pattern is a name or a pattern in the syntax of Go's
// path.Match; a name without glob characters matches only itself.
package branch

import (
	"path"
	"strings"
)

// IsPattern reports whether s has glob characters (*, ? or [).
func IsPattern(s string) bool { return strings.ContainsAny(s, "*?[") }

// Match reports whether the branch name matches pattern: equal to it, or,
// when pattern is a glob pattern, matched by it. Branch names separate
// their parts with "/" on every system, so "*" stops at a "/".
func Match(pattern, name string) bool {
	if pattern == name {
		return true
	}
	if !IsPattern(pattern) {
		return false
	}
	ok, _ := path.Match(pattern, name)
	return ok
}

// MatchAny reports whether name matches one of patterns.
func MatchAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if Match(p, name) {
			return true
		}
	}
	return false
}

// CheckPattern reports a pattern that is not valid path.Match syntax.
func CheckPattern(pattern string) error {
	_, err := path.Match(pattern, "")
	return err
}
