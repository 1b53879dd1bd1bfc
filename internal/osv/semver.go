package osv

import (
	"strings"

	"golang.org/x/mod/semver"
)

// The Go vulnerability database writes SEMVER versions without the leading
// "v" that Go modules use; these helpers convert and compare.

// CanonicalGo returns v with a leading "v", as Go modules write versions.
// Go toolchain versions ("go1.22.3", "1.22") become "v1.22.3" and "v1.22.0".
func CanonicalGo(v string) string {
	v = strings.TrimPrefix(v, "go")
	if v == "" {
		return ""
	}
	if !strings.HasPrefix(v, "v") {
		v = "v" + v
	}
	// Go release candidates are written go1.22rc1; semver needs 1.22.0-rc.1.
	if i := strings.Index(v, "rc"); i > 0 && !strings.Contains(v, "-") {
		v = v[:i] + "-rc." + v[i+2:]
	} else if i := strings.Index(v, "beta"); i > 0 && !strings.Contains(v, "-") {
		v = v[:i] + "-beta." + v[i+4:]
	}
	core, pre := v, ""
	if i := strings.IndexAny(v, "-+"); i >= 0 {
		core, pre = v[:i], v[i:]
	}
	core = spellOut(core)
	if semver.IsValid(core + pre) {
		return core + pre
	}
	return v
}

// Canonical returns a semantic version, as Kubernetes writes its versions
// and OSV its SEMVER ranges, in the form
// golang.org/x/mod/semver compares: with its leading "v" ("1.29.4" →
// "v1.29.4"), a short "1.29" spelled out as "v1.29.0" and build metadata
// dropped. It reports false for anything that is not a semantic version.
func Canonical(v string) (string, bool) {
	v = strings.TrimSpace(v)
	if v == "" || len(v) > 64 {
		return "", false
	}
	if !strings.HasPrefix(v, "v") {
		v = "v" + v
	}
	core, rest := v, ""
	if i := strings.IndexAny(v, "-+"); i >= 0 {
		core, rest = v[:i], v[i:]
	}
	v = spellOut(core) + rest
	if !semver.IsValid(v) {
		return "", false
	}
	// The bound holds for what is returned too (spelling out adds up to
	// four bytes), so that a canonical version reads back as itself.
	if c := semver.Canonical(v); len(c) <= 64 {
		return c, true
	}
	return "", false
}

// spellOut spells out the shorthand "v1.22" and "v1" as "v1.22.0" and
// "v1.0.0", which golang.org/x/mod/semver accepts but does not order by.
func spellOut(core string) string {
	switch strings.Count(core, ".") {
	case 0:
		return core + ".0.0"
	case 1:
		return core + ".0"
	}
	return core
}

// lessSemver compares two OSV SEMVER versions ("" and "0" sort first).
func lessSemver(a, b string) bool {
	if a == "" || a == "0" {
		return b != "" && b != "0"
	}
	if b == "" || b == "0" {
		return false
	}
	return semver.Compare(CanonicalGo(a), CanonicalGo(b)) < 0
}

// LatestFix returns the fixed version govulncheck's module index pre-filters
// on: the highest "fixed" event over the SEMVER ranges, or "" when the
// vulnerability was introduced again after that fix (no version is safe by
// being new enough). Without a leading "v", as OSV writes it.
func LatestFix(ranges []Range) string {
	var latest string
	for _, r := range ranges {
		if r.Type != RangeSemver {
			continue
		}
		for _, e := range r.Events {
			if e.Fixed != "" && lessSemver(latest, e.Fixed) {
				latest = e.Fixed
			}
		}
		for _, e := range r.Events {
			if e.Introduced != "" && e.Introduced != "0" && lessSemver(latest, e.Introduced) {
				latest = ""
				break
			}
		}
	}
	return latest
}

// Affects reports whether version (Go form, with or without "v") falls in
// one of the SEMVER ranges. An entry with no SEMVER range affects every
// version.
func Affects(ranges []Range, version string) bool {
	v := CanonicalGo(version)
	any := false
	for _, r := range ranges {
		if r.Type != RangeSemver {
			continue
		}
		any = true
		if rangeAffects(r.Events, v) {
			return true
		}
	}
	return !any
}

func rangeAffects(events []Event, v string) bool {
	r, _ := Compile(events, canonicalGo) // canonicalGo refuses nothing
	return r.Affects(v)
}
