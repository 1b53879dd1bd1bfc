package gate

import (
	"net/url"
	"strings"

	"github.com/package-url/packageurl-go"

	"github.com/vexloom/vexloom/internal/osv"
	"github.com/vexloom/vexloom/internal/vex"
)

// ecosystemPURL returns the package URL of a package of an OSV ecosystem,
// or "" when the ecosystem has no package URL type here. The types are
// those of the purl specification; OSV's ecosystem names are those of the
// OSV schema.
func ecosystemPURL(ecosystem, name, version string) string {
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
		return vex.GoPURL(name, version)
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

// purl is a package URL reduced to what matching compares.
type purl struct {
	// base is "type/namespace/name", unescaped.
	base       string
	version    string
	qualifiers map[string]string
}

// parsePURL reads a package URL the way NormalizePURL writes Go ones:
// percent-escapes decoded, the type and qualifier keys lowercased, Go
// versions with their "v". ok is false for what is not a package URL.
func parsePURL(s string) (p purl, ok bool) {
	if !strings.HasPrefix(s, "pkg:") {
		return purl{}, false
	}
	if strings.HasPrefix(strings.ToLower(s), "pkg:golang/") {
		n, err := vex.NormalizePURL(s)
		if err != nil {
			return purl{}, false
		}
		s = n
	}
	u, err := packageurl.FromString(s)
	if err != nil {
		return purl{}, false
	}
	ns, err1 := url.PathUnescape(u.Namespace)
	name, err2 := url.PathUnescape(u.Name)
	if err1 != nil || err2 != nil || name == "" {
		return purl{}, false
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

// covers reports whether a statement's package URL s applies to the
// package URL x of what was scanned or shipped. The rule:
//
//   - type, namespace and name must be equal (after normalisation);
//   - a version in s must equal x's version; s without a version covers
//     every version of the package;
//   - every qualifier of s must be in x with the same value; qualifiers of
//     x that s does not name do not matter (as go-vex matches, so a
//     statement about an image digest without "arch" covers each platform).
func (s purl) covers(x purl) bool {
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
