package digest

import (
	"slices"
	"strings"
	"testing"
)

func TestSubjectDigests(t *testing.T) {
	a := Digest{Algorithm: "sha512", Hex: strings.Repeat("cd", 64)}
	b := Digest{Algorithm: "sha256", Hex: strings.Repeat("ab", 32)}
	s := SubjectOf("app", a, b)
	if s.Name != "app" || len(s.Digest) != 2 || !s.Has(a) || !s.Has(b) {
		t.Fatalf("SubjectOf: %+v", s)
	}
	// Sorted by algorithm, whatever the order given: stores index and
	// list a subject the same way every time.
	if got := s.Digests(); !slices.Equal(got, []Digest{b, a}) {
		t.Errorf("Digests() = %v, want sha256 then sha512", got)
	}
	if got := SubjectOf("").Digests(); len(got) != 0 {
		t.Errorf("a subject without digests has %v", got)
	}
}
