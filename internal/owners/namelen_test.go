package owners

import (
	"strings"
	"testing"
)

// Logins have at most 39 bytes and entries 100, the lengths checked apart
// from their patterns.
func TestNameLengths(t *testing.T) {
	t.Parallel()
	if !isLoginName("a"+strings.Repeat("-", 38)) || isLoginName("a"+strings.Repeat("-", 39)) || isLoginName("") {
		t.Error("logins: 39 bytes refused, or 40 or none accepted")
	}
	if !isEntryName("a"+strings.Repeat("_", 99)) || isEntryName("a"+strings.Repeat("_", 100)) || isEntryName("_a") {
		t.Error("entries: 100 bytes refused, or 101 or a leading underscore accepted")
	}
}
