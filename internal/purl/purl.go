// Package purl is vexloom's one owner of package URLs: it builds them (Go
// modules and the standard library, OCI images, binaries, the packages of
// OSV ecosystems), normalises what other tools write so that it compares
// equal, reads the module, digest or base out of them, and matches them as
// go-vex does. The conventions are DESIGN.md's:
//
//	pkg:golang/golang.org/x/net@v0.35.0
//	pkg:golang/stdlib@v1.26.8
//	pkg:oci/<name>@sha256:<hex>?repository_url=<registry>/<repo>
//
// Go package URLs are written unescaped with the version's "v"; an OCI
// package URL never carries a tag qualifier. github.com/package-url/packageurl-go
// does the parsing underneath.
package purl

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/package-url/packageurl-go"
	"golang.org/x/mod/semver"

	"github.com/vexloom/vexloom/internal/digest"
	"github.com/vexloom/vexloom/internal/osv"
)

// Is reports whether s is written as a package URL ("pkg:…"), which is
// how vexloom tells a package URL from another identifier.
func Is(s string) bool { return strings.HasPrefix(s, "pkg:") }

// IsGo reports whether s is written as a Go package URL ("pkg:golang/…").
func IsGo(s string) bool { return strings.HasPrefix(s, "pkg:golang/") }

// Go returns the package URL of a Go module at a version, unescaped and
// with the version's "v": pkg:golang/golang.org/x/net@v0.35.0. The standard
// library is pkg:golang/stdlib@v1.26.8. An empty version leaves it out.
func Go(module, version string) string {
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

// GoBinary returns the package URL of a Go binary built from module at
// version whose main package is the module's subpath sub, pinned by the
// checksum qualifier ("sha256:<hex>"):
// pkg:golang/<module>@<version>?checksum=sha256:<hex>#<sub>. An empty
// version or sub is left out. ok is false when that is no valid package URL.
func GoBinary(module, version, sub, checksum string) (string, bool) {
	p := "pkg:golang/" + module
	if version != "" {
		p += "@" + version
	}
	p += "?checksum=" + checksum
	if sub != "" {
		p += "#" + sub
	}
	n, err := Normalize(p)
	return n, err == nil
}

// Generic returns pkg:generic/<name>?checksum=<checksum>, the package URL
// of a file known only by its name and content.
func Generic(name, checksum string) string {
	return packageurl.NewPackageURL("generic", "", name, "",
		packageurl.QualifiersFromMap(map[string]string{"checksum": checksum}), "").ToString()
}

// OCI returns the package URL of an image by digest, in the form DESIGN.md
// fixes: pkg:oci/<name>@sha256:<hex>?repository_url=<registry>/<repo>. It
// carries no tag qualifier: go-vex matches a purl only when each of its
// qualifiers is in the query, so a tag would hide a statement from scans by
// digest.
func OCI(name, digest, repositoryURL string) string {
	return "pkg:oci/" + strings.ToLower(name) + "@" + digest + "?repository_url=" + repositoryURL
}

// Ecosystem returns the package URL of a package of an OSV ecosystem, or ""
// when the ecosystem has no package URL type here. The types are those of
// the purl specification; OSV's ecosystem names are those of the OSV schema.
// Go versions are canonicalised as OSV's Go entries need (osv.CanonicalGo).
func Ecosystem(ecosystem, name, version string) string {
	if name == "" {
		return ""
	}
	eco, _, _ := strings.Cut(ecosystem, ":")
	var typ, ns string
	switch eco {
	case "Go", "":
		if version != "" {
			version = osv.CanonicalGo(version)
		}
		return Go(name, version)
	case "npm":
		typ = packageurl.TypeNPM
		if strings.HasPrefix(name, "@") {
			ns, name, _ = strings.Cut(name, "/")
		}
	case "PyPI":
		typ, name = packageurl.TypePyPi, strings.ToLower(strings.ReplaceAll(name, "_", "-"))
	case "crates.io":
		typ = packageurl.TypeCargo
	case "Maven":
		typ = packageurl.TypeMaven
		ns, name, _ = strings.Cut(name, ":")
		if name == "" {
			return ""
		}
	case "RubyGems":
		typ = packageurl.TypeGem
	case "NuGet":
		typ = packageurl.TypeNuget
	case "Packagist":
		typ = packageurl.TypeComposer
		if i := strings.LastIndex(name, "/"); i > 0 {
			ns, name = name[:i], name[i+1:]
		}
	case "Hex":
		typ = packageurl.TypeHex
	case "Pub":
		typ = packageurl.TypePub
	default:
		return ""
	}
	return packageurl.NewPackageURL(typ, ns, name, version, nil, "").ToString()
}

// Normalize rewrites a package URL the way vexloom writes them, so that
// what other tools wrote compares equal: percent-escapes in the namespace
// and name are decoded ("%2F" → "/"), Go versions get their "v", the type is
// lowercased and qualifiers are sorted. Non-purl identifiers are returned
// unchanged.
func Normalize(s string) (string, error) {
	if !Is(s) {
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
		// The parser decoded the subpath's segments: encode them again, or
		// a "%" they hold would be read as an escape the next time.
		segs := strings.Split(p.Subpath, "/")
		for i, seg := range segs {
			if strings.ContainsFunc(seg, isControl) {
				return "", fmt.Errorf("invalid package URL %q: bad subpath", truncate(s))
			}
			segs[i] = url.PathEscape(seg)
		}
		b.WriteString("#")
		b.WriteString(strings.Join(segs, "/"))
	}
	out := b.String()
	// What vexloom writes must read back the same.
	if _, err := packageurl.FromString(out); err != nil {
		return "", fmt.Errorf("invalid package URL %q: %w", truncate(s), err)
	}
	return out, nil
}

func isControlOrSpace(r rune) bool { return r <= ' ' || r == 0x7f }

func isControl(r rune) bool { return r < ' ' || r == 0x7f }

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

// Module returns the module path and version of a pkg:golang purl.
func Module(s string) (module, version string, ok bool) {
	n, err := Normalize(s)
	if err != nil || !IsGo(n) {
		return "", "", false
	}
	rest := strings.TrimPrefix(n, "pkg:golang/")
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		rest = rest[:i]
	}
	module, version, _ = strings.Cut(rest, "@")
	return module, version, module != ""
}

// Bare reports whether s (normalised) is a package URL without version,
// qualifiers and subpath: one that names every version of a package.
func Bare(s string) bool {
	p, err := packageurl.FromString(s)
	return err == nil && p.Version == "" && len(p.Qualifiers) == 0 && p.Subpath == ""
}

// Base returns a package URL without version, qualifiers and subpath,
// written as packageurl-go writes it: the key Trivy looks packages up by in
// a VEX repository index.
func Base(s string) (string, bool) {
	p, err := packageurl.FromString(s)
	if err != nil || p.Type == "" || p.Name == "" {
		return "", false
	}
	p.Version = ""
	p.Qualifiers = nil
	p.Subpath = ""
	return p.ToString(), true
}

// Path returns the type, the namespace segments and the name of a package
// URL as packageurl-go reads them, for laying packages out in a tree.
func Path(s string) (typ string, namespace []string, name string, err error) {
	p, err := packageurl.FromString(s)
	if err != nil {
		return "", nil, "", fmt.Errorf("invalid package URL %q: %w", truncate(s), err)
	}
	if p.Type == "" || p.Name == "" {
		return "", nil, "", fmt.Errorf("invalid package URL %q: no type or name", truncate(s))
	}
	if p.Namespace != "" {
		namespace = strings.Split(p.Namespace, "/")
	}
	return p.Type, namespace, p.Name, nil
}

// Digest returns the digest in a package URL's version
// (pkg:oci/kube-apiserver@sha256:…).
func Digest(s string) (digest.Digest, bool) {
	if !Is(s) {
		return digest.Digest{}, false
	}
	p, err := packageurl.FromString(s)
	if err != nil {
		return digest.Digest{}, false
	}
	v, err := url.PathUnescape(p.Version)
	if err != nil {
		return digest.Digest{}, false
	}
	alg, h, ok := strings.Cut(v, ":")
	if !ok {
		return digest.Digest{}, false
	}
	d, err := digest.New(alg, h)
	return d, err == nil
}

// OCIDigest returns the digest an OCI package URL names as its version, as
// written, "" for any other package URL.
func OCIDigest(s string) string {
	rest, ok := strings.CutPrefix(s, "pkg:oci/")
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

// goMention is a Go package URL in prose; its first group is the module
// path (and any package path and version after it), as written.
var goMention = regexp.MustCompile(`(?i)pkg:golang/([A-Za-z0-9._~%/-]+)`)

// FindGo returns the paths named by the Go package URLs in free text,
// unescaped and without their version, and the text with those package
// URLs blanked out.
func FindGo(text string) (paths []string, rest string) {
	for _, m := range goMention.FindAllStringSubmatch(text, -1) {
		p := m[1]
		if u, err := url.PathUnescape(p); err == nil {
			p = u
		}
		paths = append(paths, p)
	}
	return paths, goMention.ReplaceAllString(text, " ")
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

// Parts are the components of a package URL as packageurl-go reads them.
type Parts struct {
	Type, Namespace, Name, Version string
	Qualifiers                     map[string]string
	Subpath                        string
}

// Split reads the components of a package URL.
func Split(s string) (Parts, error) {
	p, err := packageurl.FromString(s)
	if err != nil {
		return Parts{}, fmt.Errorf("invalid package URL %q: %w", truncate(s), err)
	}
	return Parts{Type: p.Type, Namespace: p.Namespace, Name: p.Name, Version: p.Version,
		Qualifiers: p.Qualifiers.Map(), Subpath: p.Subpath}, nil
}

// New returns the package URL of a package of type typ, written as
// packageurl-go writes it (see Go for Go modules, which vexloom writes
// unescaped).
func New(typ, namespace, name, version string) string {
	return packageurl.NewPackageURL(typ, namespace, name, version, nil, "").ToString()
}

// Key returns the package a package URL names, without version,
// qualifiers and subpath (pkg:deb/debian/libc6): what a triage of an image
// package is about. What is not a package URL is its own key.
func Key(s string) string {
	p, err := packageurl.FromString(s)
	if err != nil {
		return s
	}
	return New(p.Type, p.Namespace, p.Name, "")
}

// Read checks and normalises a package URL another tool wrote: vexloom's
// normal form where it applies (Go's "v", unescaped slashes and plus
// signs), else packageurl-go's canonical form (npm scopes). It returns the
// normal form and its components.
func Read(s string) (string, Parts, error) {
	n, err := Normalize(s)
	if err != nil {
		p, perr := packageurl.FromString(s)
		if perr != nil {
			return "", Parts{}, fmt.Errorf("package URL %q: %v", truncate(s), err)
		}
		n = p.ToString()
	}
	p, err := Split(n)
	if err != nil || p.Type == "" || p.Name == "" {
		return "", Parts{}, fmt.Errorf("package URL %q has no type or name", truncate(s))
	}
	return n, p, nil
}

// Type returns the type of a package URL as written ("oci" of
// pkg:oci/app@…), "" for what is not a package URL.
func Type(s string) string {
	rest, ok := strings.CutPrefix(s, "pkg:")
	if !ok {
		return ""
	}
	typ, _, ok := strings.Cut(rest, "/")
	if !ok {
		return ""
	}
	return typ
}
