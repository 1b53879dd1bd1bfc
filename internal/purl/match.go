package purl

import (
	"net/url"
	"strings"

	"github.com/package-url/packageurl-go"
)

// PURL is a package URL reduced to what matching compares.
type PURL struct {
	// base is "type/namespace/name", unescaped.
	base       string
	version    string
	qualifiers map[string]string
}

// Version returns the package URL's version, "" for every version.
func (p PURL) Version() string { return p.version }

// Parse reads a package URL for matching, the way Normalize writes Go ones:
// percent-escapes decoded, the type and qualifier keys lowercased, Go
// versions with their "v", PyPI names as PyPI normalises them. ok is false
// for what is not a package URL.
func Parse(s string) (p PURL, ok bool) {
	if !Is(s) {
		return PURL{}, false
	}
	if strings.HasPrefix(strings.ToLower(s), "pkg:golang/") {
		n, err := Normalize(s)
		if err != nil {
			return PURL{}, false
		}
		s = n
	}
	u, err := packageurl.FromString(s)
	if err != nil {
		return PURL{}, false
	}
	ns, err1 := url.PathUnescape(u.Namespace)
	name, err2 := url.PathUnescape(u.Name)
	if err1 != nil || err2 != nil || name == "" {
		return PURL{}, false
	}
	typ := strings.ToLower(u.Type)
	if typ == packageurl.TypePyPi {
		name = strings.ToLower(strings.ReplaceAll(name, "_", "-"))
	}
	p.base = typ + "/" + name
	if ns != "" {
		p.base = typ + "/" + ns + "/" + name
	}
	p.version = u.Version
	if q := u.Qualifiers.Map(); len(q) > 0 {
		p.qualifiers = make(map[string]string, len(q))
		for k, v := range q {
			p.qualifiers[strings.ToLower(k)] = v
		}
	}
	return p, true
}

// Covers reports whether a statement's package URL s applies to the
// package URL x of what was scanned or shipped. The rule is go-vex's:
//
//   - type, namespace and name must be equal (after normalisation);
//   - a version in s must equal x's version; s without a version covers
//     every version of the package;
//   - every qualifier of s must be in x with the same value; qualifiers of
//     x that s does not name do not matter (so a statement about an image
//     digest without "arch" covers each platform).
func (s PURL) Covers(x PURL) bool {
	if s.base != x.base {
		return false
	}
	if s.version != "" && s.version != x.version {
		return false
	}
	for k, v := range s.qualifiers {
		if xv, ok := x.qualifiers[k]; !ok || xv != v {
			return false
		}
	}
	return true
}
