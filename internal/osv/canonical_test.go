package osv

import "testing"

func TestCanonical(t *testing.T) {
	for in, want := range map[string]string{
		"1.29.4":          "v1.29.4",
		"v1.29.4":         "v1.29.4",
		" v1.29 ":         "v1.29.0",
		"1":               "v1.0.0",
		"v1.35.0-alpha.1": "v1.35.0-alpha.1",
		"v1.2.3+build.5":  "v1.2.3",
	} {
		got, ok := Canonical(in)
		if !ok || got != want {
			t.Errorf("Canonical(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "v", "1.2.3.4", "banana", "v1.2.x", "01.2.3", "1.2.3-", "go1.22"} {
		if got, ok := Canonical(bad); ok {
			t.Errorf("Canonical(%q) = %q, want not a version", bad, got)
		}
	}
}

func FuzzCanonical(f *testing.F) {
	for _, s := range []string{"1.2.3", "v1.2", "v1.35.0-alpha.1", "1.2.3+x", "", "v", "01.2.3", "1.2.3-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, ok := Canonical(s)
		if !ok {
			return
		}
		again, ok2 := Canonical(c)
		if !ok2 || again != c {
			t.Fatalf("Canonical(%q) = %q, then %q %v", s, c, again, ok2)
		}
	})
}
