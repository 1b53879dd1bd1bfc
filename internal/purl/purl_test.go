package purl

import (
	"strings"
	"testing"

	"github.com/package-url/packageurl-go"
)

func TestGo(t *testing.T) {
	cases := []struct{ mod, ver, want string }{
		{"golang.org/x/net", "v0.35.0", "pkg:golang/golang.org/x/net@v0.35.0"},
		{"stdlib", "v1.26.8", "pkg:golang/stdlib@v1.26.8"},
		{"stdlib", "go1.26.8", "pkg:golang/stdlib@v1.26.8"},
		{"github.com/dgrijalva/jwt-go", "v3.2.0+incompatible", "pkg:golang/github.com/dgrijalva/jwt-go@v3.2.0+incompatible"},
		{"k8s.io/kubernetes", "", "pkg:golang/k8s.io/kubernetes"},
	}
	for _, c := range cases {
		got := Go(c.mod, c.ver)
		if got != c.want {
			t.Errorf("Go(%q, %q) = %q, want %q", c.mod, c.ver, got, c.want)
		}
		// Every purl vexloom writes parses with the reference library.
		if _, err := packageurl.FromString(got); err != nil {
			t.Errorf("%s does not parse: %v", got, err)
		}
	}
}

func TestNormalize(t *testing.T) {
	cases := map[string]string{
		"pkg:golang/golang.org%2Fx%2Fnet@0.35.0": "pkg:golang/golang.org/x/net@v0.35.0",
		"pkg:golang/golang.org/x/net@v0.35.0":    "pkg:golang/golang.org/x/net@v0.35.0",
		"pkg:GOLANG/stdlib@1.26.8":               "pkg:golang/stdlib@v1.26.8",
		"pkg:oci/kube-apiserver@sha256%3Aabc?repository_url=registry.k8s.io%2Fkube-apiserver&arch=amd64": "pkg:oci/kube-apiserver@sha256:abc?arch=amd64&repository_url=registry.k8s.io/kube-apiserver",
		"https://example.com/not-a-purl": "https://example.com/not-a-purl",
	}
	for in, want := range cases {
		got, err := Normalize(in)
		if err != nil || got != want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := Normalize("pkg:"); err == nil {
		t.Error("empty purl accepted")
	}
	m, v, ok := Module("pkg:golang/golang.org%2Fx%2Fnet@0.35.0")
	if !ok || m != "golang.org/x/net" || v != "v0.35.0" {
		t.Errorf("ModuleFromPURL = %q %q %v", m, v, ok)
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"pkg:golang/golang.org%2Fx%2Fnet@0.35.0", "pkg:oci/x@sha256:ab?repository_url=r/x", "pkg:", "pkg:golang/stdlib@go1.2", "pkg:oci/app@sha256%3Aab?repository_url=r%2Fapp&arch=amd64", "pkg:GOLANG/golang.org/x/net@0.35.0?type=module#html"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Normalize(s)
		if err != nil {
			return
		}
		again, err := Normalize(n)
		if err != nil {
			t.Fatalf("normal form %q of %q does not parse: %v", n, s, err)
		}
		if again != n {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, n, again)
		}
	})
}

func TestNormalizeQualifierOrder(t *testing.T) {
	a, err1 := Normalize("pkg:oci/app@sha256:ab?repository_url=r%2Fapp&arch=amd64")
	b, err2 := Normalize("pkg:OCI/app@sha256%3Aab?arch=amd64&repository_url=r/app")
	if err1 != nil || err2 != nil || a != b {
		t.Errorf("%q, %v; %q, %v", a, err1, b, err2)
	}
}

func TestCoversAsGoVEX(t *testing.T) {
	cases := []struct {
		statement, target string
		want              bool
	}{
		{"pkg:oci/app@sha256:ab?repository_url=r/app", "pkg:oci/app@sha256:ab?arch=amd64&repository_url=r/app", true},
		{"pkg:oci/app@sha256:ab?arch=amd64&repository_url=r/app", "pkg:oci/app@sha256:ab?repository_url=r/app", false},
		{"pkg:oci/app@sha256:ab?tag=v1", "pkg:oci/app@sha256:ab", false},
		{"pkg:golang/golang.org/x/net", "pkg:golang/golang.org%2Fx%2Fnet@0.35.0", true},
		{"pkg:golang/golang.org/x/net@v0.35.0", "pkg:golang/golang.org/x/net@v0.36.0", false},
	}
	for _, c := range cases {
		s, ok1 := Parse(c.statement)
		x, ok2 := Parse(c.target)
		if !ok1 || !ok2 {
			t.Fatalf("parse %q %v, %q %v", c.statement, ok1, c.target, ok2)
		}
		if got := s.Covers(x); got != c.want {
			t.Errorf("%s covers %s = %v, want %v", c.statement, c.target, got, c.want)
		}
	}
}

func TestOCI(t *testing.T) {
	d := "sha256:" + strings.Repeat("ab", 32)
	p := OCI("Kube-APIServer", d, "registry.k8s.io/kube-apiserver")
	if p != "pkg:oci/kube-apiserver@"+d+"?repository_url=registry.k8s.io/kube-apiserver" {
		t.Errorf("OCI = %s", p)
	}
	if n, err := Normalize(p); err != nil || n != p {
		t.Errorf("Normalize(%s) = %s, %v", p, n, err)
	}
	if got, ok := Digest(p); !ok || got.String() != d {
		t.Errorf("Digest = %v, %v", got, ok)
	}
	if OCIDigest(p) != d || OCIDigest("pkg:golang/x@v1") != "" {
		t.Errorf("OCIDigest")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"pkg:golang/golang.org%2Fx%2Fnet@0.35.0", "pkg:oci/x@sha256:ab?repository_url=r/x&arch=amd64", "pkg:", "pkg:pypi/Foo_Bar@1"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		p, ok := Parse(a)
		if !ok {
			return
		}
		if !p.Covers(p) {
			t.Fatalf("%q does not cover itself", a)
		}
		if n, err := Normalize(a); err == nil {
			if q, ok := Parse(n); !ok || !p.Covers(q) || !q.Covers(p) {
				t.Fatalf("%q and its normal form %q differ", a, n)
			}
		}
		if q, ok := Parse(b); ok && p.Covers(q) && q.Covers(p) && p.Version() != q.Version() {
			t.Fatalf("%q and %q cover each other with different versions", a, b)
		}
	})
}

// A subpath is written with its segments encoded again: a "%" in one stays
// a "%" (found by FuzzNormalize: it was written bare, and read back as an
// escape).
func TestNormalizeSubpath(t *testing.T) {
	for in, want := range map[string]string{
		"pkg:golang/golang.org/x/net@v0.35.0#html": "pkg:golang/golang.org/x/net@v0.35.0#html",
		"pkg:generic/a#cmd/kubectl":                "pkg:generic/a#cmd/kubectl",
		"pkg:generic/a#%25000":                     "pkg:generic/a#%25000",
		"pkg:generic/a#with%20space":               "pkg:generic/a#with%20space",
	} {
		got, err := Normalize(in)
		if err != nil || got != want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if got, err := Normalize("pkg:generic/a#x%00y"); err == nil {
		t.Errorf("a control character in the subpath was accepted: %q", got)
	}
}
