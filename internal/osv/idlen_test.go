package osv

import (
	"strings"
	"testing"
)

// An ID has at most 128 bytes, the length checked apart from its pattern.
func TestValidIDLength(t *testing.T) {
	t.Parallel()
	if id := "GO-" + strings.Repeat("1", 125); !ValidID(id) {
		t.Errorf("an ID of %d bytes refused", len(id))
	}
	if id := "GO-" + strings.Repeat("1", 126); ValidID(id) {
		t.Errorf("an ID of %d bytes accepted", len(id))
	}
}
