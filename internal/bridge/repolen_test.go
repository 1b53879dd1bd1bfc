package bridge

import (
	"strings"
	"testing"
)

// An owner's or a repository's name has at most 100 bytes, the length
// checked apart from its pattern.
func TestRepoPartLength(t *testing.T) {
	t.Parallel()
	if s := strings.Repeat("r", 100); !isRepoPart(s) {
		t.Errorf("a name of %d bytes refused", len(s))
	}
	if s := strings.Repeat("r", 101); isRepoPart(s) || isRepoPart("") || isRepoPart("a/b") {
		t.Errorf("a name of %d bytes, an empty one or one with a slash accepted", len(s))
	}
}
