package config

import (
	"strings"
	"testing"
)

// The names' length limits, checked apart from their patterns, hold at
// their bounds.
func TestNameLengths(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		what  string
		check func(string) bool
		first string
		rest  string
		max   int
	}{
		{"an owner name", func(s string) bool { return checkOwnerName(s) == nil }, "a", "b", 100},
		{"a GitHub owner", isGitHubOwner, "a", "-", 39},
		{"a GitHub repository", isGitHubRepo, ".", "r", 100},
		{"an environment variable", func(s string) bool { return checkEnvName(s) == nil }, "_", "A", 128},
	} {
		if s := c.first + strings.Repeat(c.rest, c.max-1); !c.check(s) {
			t.Errorf("%s of %d bytes refused", c.what, len(s))
		}
		if s := c.first + strings.Repeat(c.rest, c.max); c.check(s) {
			t.Errorf("%s of %d bytes accepted", c.what, len(s))
		}
		if c.check("") || c.check(c.first+"é") {
			t.Errorf("%s: an empty or non-ASCII name accepted", c.what)
		}
	}
}
