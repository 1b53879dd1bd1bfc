package branch

import "testing"

func TestMatch(t *testing.T) {
	cases := []struct {
		pattern, name string
		want          bool
	}{
		{"main", "main", true},
		{"main", "master", false},
		{"release-1.*", "release-1.32", true},
		{"release-1.*", "release-2.0", false},
		{"release-*", "release-1.0/hotfix", false}, // "*" stops at "/"
		{"release-?.0", "release-1.0", true},
		{"release-[12].0", "release-2.0", true},
		{`a\b`, "ab", false}, // not a glob: only itself
		{`a\b`, `a\b`, true},
		{"[", "[", true}, // a bad pattern matches only itself
		{"[", "x", false},
	}
	for _, c := range cases {
		if got := Match(c.pattern, c.name); got != c.want {
			t.Errorf("Match(%q, %q) = %v, want %v", c.pattern, c.name, got, c.want)
		}
	}
	if !MatchAny([]string{"main", "release-*"}, "release-1.0") || MatchAny(nil, "main") {
		t.Error("MatchAny")
	}
	if CheckPattern("release-[") == nil || CheckPattern("release-1.*") != nil {
		t.Error("CheckPattern")
	}
}
