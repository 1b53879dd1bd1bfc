package bridge

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/mod/module"
)

func TestVulnIDs(t *testing.T) {
	for _, tc := range []struct {
		text string
		want []string
	}{
		{"CVE-2025-22870: golang.org/x/net", []string{"CVE-2025-22870"}},
		{"cve-2024-45338 and GO-2024-3333, GHSA-w32m-9786-jp63 (also ghsa-W32M-9786-JP63)",
			[]string{"CVE-2024-45338", "GHSA-W32M-9786-JP63", "GO-2024-3333"}},
		{"CVE-2024-45338 CVE-2024-45338\nCVE-2023-1234567", []string{"CVE-2023-1234567", "CVE-2024-45338"}},
		{"https://pkg.go.dev/vuln/GO-2025-3487", []string{"GO-2025-3487"}},
		{"(CVE-2025-0001).", []string{"CVE-2025-0001"}},
		// Not IDs: too few digits, glued to a word, GHSA with letters outside its alphabet.
		{"CVE-2025-123 XCVE-2025-12345 CVE-2025-12345X GHSA-aaaa-bbbb-cccc GO-25-1234", nil},
		{"", nil},
	} {
		if got := VulnIDs(tc.text); !slices.Equal(got, tc.want) {
			t.Errorf("VulnIDs(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
}

func TestModuleOf(t *testing.T) {
	for _, tc := range []struct {
		name, title, body string
		want              string
		err               error
	}{
		{name: "title", title: "CVE-2025-22870: golang.org/x/net", want: "golang.org/x/net"},
		{name: "title with version", title: "Bump golang.org/x/net@v0.33.0 for CVE-2024-45338", want: "golang.org/x/net"},
		{name: "major version", title: "GO-2024-2687 in github.com/foo/bar/v2", want: "github.com/foo/bar/v2"},
		{name: "backticks and sentence", title: "CVE-2025-0001", body: "The module `github.com/golang-jwt/jwt/v4` is affected.", want: "github.com/golang-jwt/jwt/v4"},
		{name: "package folded into module", title: "CVE-2025-22870",
			body: "golang.org/x/net/html.Parse is reachable.\n\nModule: golang.org/x/net\nFound in: golang.org/x/net@v0.32.0\nFixed in: golang.org/x/net@v0.33.0",
			want: "golang.org/x/net"},
		{name: "purl", title: "CVE-2025-0002", body: "subcomponent pkg:golang/github.com%2Fopencontainers%2Frunc@v1.1.0", want: "github.com/opencontainers/runc"},
		{name: "gopkg.in", title: "CVE-2022-28948 gopkg.in/yaml.v3", want: "gopkg.in/yaml.v3"},
		{name: "urls are not modules", title: "CVE-2025-0003: k8s.io/apimachinery",
			body: "See https://github.com/kubernetes/kubernetes/issues/12345 and https://pkg.go.dev/golang.org/x/crypto and pkg.go.dev/vuln/GO-2025-3487 and github.com/kubernetes/kubernetes/pull/1.",
			want: "k8s.io/apimachinery"},
		{name: "title wins over body", title: "CVE-2025-0004 in golang.org/x/crypto", body: "we also use golang.org/x/net and github.com/foo/bar", want: "golang.org/x/crypto"},
		{name: "body when the title has none", title: "CVE-2025-0005 in a dependency", body: "Affected module: google.golang.org/grpc (see https://github.com/grpc/grpc-go/security/advisories/GHSA-xxxx)", want: "google.golang.org/grpc"},
		{name: "v1 and v2 are two modules", title: "CVE-2025-0006", body: "github.com/foo/bar and github.com/foo/bar/v2", err: ErrAmbiguousModule},
		{name: "two in the title", title: "CVE-2025-0007: golang.org/x/net, golang.org/x/crypto", err: ErrAmbiguousModule},
		{name: "two in the body", title: "CVE-2025-0008", body: "golang.org/x/net\ngithub.com/docker/docker", err: ErrAmbiguousModule},
		{name: "none", title: "CVE-2025-0009 in the standard library", body: "net/http is affected; see vendor/modules.txt", err: ErrNoModule},
		{name: "file paths and mentions are not modules", title: "CVE-2025-0010",
			body: "@kubernetes/sig-security-leads look at staging/src/k8s.io/api and vendor/golang.org/x/net/html/parse.go, or mail me@example.com/x", err: ErrNoModule},
		{name: "domain without path", title: "CVE-2025-0011 registry.k8s.io", err: ErrNoModule},
		{name: "too large", title: "CVE-2025-0012", body: strings.Repeat("a", MaxText), err: ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ModuleOf(tc.title, tc.body)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("ModuleOf = %q, %v; want %v", got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ModuleOf = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestAmbiguousNamesModules(t *testing.T) {
	_, err := ModuleOf("CVE-2025-0007: golang.org/x/net, golang.org/x/crypto", "")
	if err == nil || !strings.Contains(err.Error(), "golang.org/x/crypto, golang.org/x/net") || !strings.Contains(err.Error(), "title") {
		t.Fatalf("error does not name the modules and where: %v", err)
	}
}

func FuzzExtract(f *testing.F) {
	for _, s := range []string{
		"CVE-2025-22870: golang.org/x/net",
		"GO-2024-2687 github.com/foo/bar/v2@v2.1.0 pkg:golang/github.com%2Ffoo%2Fbar@v1",
		"ghsa-w32m-9786-jp63 https://github.com/a/b/issues/1 `gopkg.in/yaml.v3`.",
		"golang.org/x/net/html golang.org/x/net golang.org/x/net/v2/x",
		"pkg:golang/%ZZ pkg:golang/stdlib@v1.22.0 a.b/c//d -x.y/z",
		"\xff\xfeCVE-2025-0001\x00example.com/Ü/x",
	} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, title, body string) {
		for _, id := range VulnIDs(title + "\n" + body) {
			if id != strings.ToUpper(id) || !idPattern.MatchString(id) {
				t.Fatalf("bad ID %q", id)
			}
		}
		mods := Modules(body)
		if !slices.IsSorted(mods) {
			t.Fatalf("modules not sorted: %q", mods)
		}
		for _, m := range mods {
			if err := module.CheckPath(m); err != nil || !utf8.ValidString(m) {
				t.Fatalf("invalid module %q: %v", m, err)
			}
			for _, o := range mods {
				if under(m, o) {
					t.Fatalf("%q is under %q but both were returned", m, o)
				}
			}
		}
		mod, err := ModuleOf(title, body)
		switch {
		case err == nil:
			if module.CheckPath(mod) != nil {
				t.Fatalf("ModuleOf returned invalid %q", mod)
			}
		case !errors.Is(err, ErrNoModule) && !errors.Is(err, ErrAmbiguousModule) && !errors.Is(err, ErrTooLarge):
			t.Fatalf("unexpected error %v", err)
		}
	})
}
