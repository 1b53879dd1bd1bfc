// Package vex writes and reads OpenVEX documents the way the vexloom feed
// needs them to interoperate (see DESIGN.md): go-vex's types and Validate,
// package URLs in the form scanners match, vulnerability names that are CVEs
// with every other ID as an alias, and byte-for-byte reproducible JSON.
package vex

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/package-url/packageurl-go"
	"golang.org/x/mod/semver"
)

// GoPURL returns the package URL of a Go module at a version, unescaped and
// with the version's "v": pkg:golang/golang.org/x/net@v0.35.0. The standard
// library is pkg:golang/stdlib@v1.26.8. An empty version leaves it out.
func GoPURL(module, version string) string {
	p := "pkg:golang/" + module
	if version != "" {
		p += "@" + goVersion(module, version)
	}
	return p
}

// goVersion writes versions the way Go modules do: with a leading "v"; the
// standard library's "go1.26.8" becomes "v1.26.8".
func goVersion(module, v string) string {
	if module == "stdlib" || module == "toolchain" {
		v = strings.TrimPrefix(v, "go")
	}
	if !strings.HasPrefix(v, "v") && (semver.IsValid("v"+v) || module == "stdlib" || module == "toolchain") {
		v = "v" + v
	}
	return v
}

// NormalizePURL rewrites a package URL the way vexloom writes them, so that
// what other tools wrote compares equal: percent-escapes in the namespace
// and name are decoded ("%2F" → "/"), Go versions get their "v", the type is
// lowercased and qualifiers are sorted. Non-purl identifiers are returned
// unchanged.
func NormalizePURL(s string) (string, error) {
	if !strings.HasPrefix(s, "pkg:") {
		return s, nil
	}
	p, err := packageurl.FromString(s)
	if err != nil {
		return "", fmt.Errorf("invalid package URL %q: %w", truncate(s), err)
	}
	typ := strings.ToLower(p.Type)
	ns, err := url.PathUnescape(p.Namespace)
	if err != nil {
		return "", fmt.Errorf("invalid package URL %q: %w", truncate(s), err)
	}
	name, err := url.PathUnescape(p.Name)
	if err != nil {
		return "", fmt.Errorf("invalid package URL %q: %w", truncate(s), err)
	}
	full := name
	if ns != "" {
		full = ns + "/" + name
	}
	for _, seg := range strings.Split(full, "/") {
		if seg == "" || seg == "." || seg == ".." || strings.ContainsAny(seg, "@?#%") || strings.ContainsFunc(seg, isControlOrSpace) {
			return "", fmt.Errorf("invalid package URL %q: bad name segment %q", truncate(s), truncate(seg))
		}
	}
	if strings.ContainsAny(p.Version, "?#") || strings.ContainsFunc(p.Version, isControlOrSpace) {
		return "", fmt.Errorf("invalid package URL %q: bad version", truncate(s))
	}
	version := p.Version
	if typ == "golang" && version != "" {
		version = goVersion(full, version)
	}
	var b strings.Builder
	b.WriteString("pkg:")
	b.WriteString(typ)
	b.WriteString("/")
	b.WriteString(full)
	if version != "" {
		b.WriteString("@")
		b.WriteString(version)
	}
	q := p.Qualifiers.Map()
	if len(q) > 0 {
		keys := make([]string, 0, len(q))
		for k := range q {
			keys = append(keys, k)
		}
		sortStrings(keys)
		b.WriteString("?")
		for i, k := range keys {
			if i > 0 {
				b.WriteString("&")
			}
			b.WriteString(strings.ToLower(k))
			b.WriteString("=")
			b.WriteString(escapeQualifier(q[k]))
		}
	}
	if p.Subpath != "" {
		b.WriteString("#")
		b.WriteString(p.Subpath)
	}
	out := b.String()
	// What vexloom writes must read back the same.
	if _, err := packageurl.FromString(out); err != nil {
		return "", fmt.Errorf("invalid package URL %q: %w", truncate(s), err)
	}
	return out, nil
}

func isControlOrSpace(r rune) bool { return r <= ' ' || r == 0x7f }

// escapeQualifier percent-encodes what cannot stand in a qualifier value;
// "/" and ":" are kept, as in repository_url=registry.k8s.io/kube-apiserver.
func escapeQualifier(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '-', c == '.', c == '_', c == '~', c == '/', c == ':':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// ModuleFromPURL returns the module path and version of a pkg:golang purl.
func ModuleFromPURL(s string) (module, version string, ok bool) {
	n, err := NormalizePURL(s)
	if err != nil || !strings.HasPrefix(n, "pkg:golang/") {
		return "", "", false
	}
	rest := strings.TrimPrefix(n, "pkg:golang/")
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		rest = rest[:i]
	}
	module, version, _ = strings.Cut(rest, "@")
	return module, version, module != ""
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// OCIDigest returns the digest an OCI package URL names as its version
// (pkg:oci/app@sha256:…?repository_url=…), as written and unescaped; ""
// for any other package URL.
func OCIDigest(purl string) string {
	rest, ok := strings.CutPrefix(purl, "pkg:oci/")
	if !ok {
		return ""
	}
	_, version, ok := strings.Cut(rest, "@")
	if !ok {
		return ""
	}
	version, _, _ = strings.Cut(version, "?")
	version, _, _ = strings.Cut(version, "#")
	if v, err := url.PathUnescape(version); err == nil {
		return v
	}
	return version
}
