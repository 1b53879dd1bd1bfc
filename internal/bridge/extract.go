package bridge

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"golang.org/x/mod/module"

	"github.com/vexloom/vexloom/internal/purl"
)

// MaxText bounds the title and body read from one issue, in bytes. GitHub
// caps an issue body at 65536 characters, at most four bytes each.
const MaxText = 4 * 65536

// Errors of ModuleOf, which callers report as the reason for skipping an
// issue.
var (
	ErrNoModule        = errors.New("no Go module path in the title or body")
	ErrAmbiguousModule = errors.New("several Go modules are named and nothing says which is affected")
	ErrTooLarge        = errors.New("the issue is too large to read")
)

// The vulnerability ID forms: CVE-YYYY-NNNN (four or more digits), the Go
// database's GO-YYYY-NNNN, and GitHub's GHSA-xxxx-xxxx-xxxx (four
// characters of its base-32 alphabet in each group; lower case is
// canonical there, upper case is accepted as people write it).
var (
	idPattern = regexp.MustCompile(`(?i)\b(?:CVE-[0-9]{4}-[0-9]{4,12}|GO-[0-9]{4}-[0-9]{4,12}|GHSA(?:-[23456789cfghjmpqrvwx]{4}){3})\b`)
)

// VulnIDs returns the vulnerability IDs written in text, upper-cased,
// deduplicated and sorted (CVE- before GHSA- before GO-).
func VulnIDs(text string) []string {
	var ids []string
	for _, m := range idPattern.FindAllString(text, -1) {
		ids = append(ids, strings.ToUpper(m))
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// Reading module paths out of prose is hand-rolled: no library reads Go
// module paths from free text. The rules lean towards finding nothing
// rather than the wrong module, since a triage opened for the wrong module
// is worse than an issue skipped with a reason.
var (
	// A URL, to be removed: its path is a web page, not a module
	// (pkg.go.dev and GitHub links would otherwise read as modules).
	urlPattern = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^\s<>()\[\]"'` + "`" + `]*`)
	// A run of the characters of a module path (module.CheckPath decides
	// the rest).
	pathPattern = regexp.MustCompile(`[A-Za-z0-9][A-Za-z0-9._~/-]*`)
	// A major-version element, v2 and up.
	majorPattern = regexp.MustCompile(`^v[1-9][0-9]*$`)
)

// Hosts whose paths are web pages about vulnerabilities, not modules.
var pageHosts = map[string]bool{
	"pkg.go.dev":    true,
	"go.dev":        true,
	"vuln.go.dev":   true,
	"osv.dev":       true,
	"nvd.nist.gov":  true,
	"cve.org":       true,
	"www.cve.org":   true,
	"cve.mitre.org": true,
}

// Parts of GitHub's web paths after github.com/owner/repo that no Go
// package is likely to be named after and every issue links to.
var githubPages = map[string]bool{
	"issues": true, "pull": true, "pulls": true, "blob": true, "tree": true,
	"commit": true, "commits": true, "compare": true, "releases": true,
	"security": true, "advisories": true, "actions": true, "wiki": true,
}

// Modules returns the Go module paths text names: every valid module path
// (module.CheckPath) that contains a "/", outside URLs, from a
// pkg:golang/ package URL or as written (a version after "@" dropped), with
// the paths under another one named too folded into it (golang.org/x/net
// and golang.org/x/net/html are one module, but github.com/foo/bar/v2 is
// not github.com/foo/bar). Sorted.
func Modules(text string) []string {
	seen := map[string]bool{}
	// A Go package URL names a module exactly.
	paths, text := purl.FindGo(text)
	for _, p := range paths {
		if c, ok := candidate(p); ok {
			seen[c] = true
		}
	}
	text = urlPattern.ReplaceAllString(text, " ")
	for _, loc := range pathPattern.FindAllStringIndex(text, -1) {
		// A path glued to something before it is part of a larger
		// word: an e-mail address, a file path, a URL without scheme.
		if loc[0] > 0 && strings.ContainsRune("@:/\\%.", rune(text[loc[0]-1])) {
			continue
		}
		if c, ok := candidate(text[loc[0]:loc[1]]); ok {
			seen[c] = true
		}
	}
	var all []string
	for p := range seen {
		all = append(all, p)
	}
	slices.Sort(all)
	var roots []string
	for _, p := range all {
		if !underAny(p, seen) {
			roots = append(roots, p)
		}
	}
	return roots
}

// underAny reports whether p is under one of the paths in set.
func underAny(p string, set map[string]bool) bool {
	for i := len(p) - 1; i > 0; i-- {
		if p[i] == '/' && set[p[:i]] && under(p, p[:i]) {
			return true
		}
	}
	return false
}

// candidate cleans a written path and reports whether it is a module path.
func candidate(p string) (string, bool) {
	if at := strings.IndexByte(p, '@'); at >= 0 {
		p = p[:at]
	}
	p = strings.TrimRight(p, "._~/-")
	if !strings.Contains(p, "/") || strings.Contains(p, "//") {
		return "", false
	}
	if module.CheckPath(p) != nil {
		return "", false
	}
	elems := strings.Split(p, "/")
	if pageHosts[elems[0]] {
		return "", false
	}
	if elems[0] == "github.com" && (len(elems) > 1 && elems[1] == "advisories" || len(elems) > 3 && githubPages[elems[3]]) {
		return "", false
	}
	for _, e := range elems {
		if idPattern.MatchString(e) {
			return "", false
		}
	}
	return p, true
}

// under reports whether p is a package path inside the module root: below
// it, and not through a major-version element (root/v2 is another module).
func under(p, root string) bool {
	rest, ok := strings.CutPrefix(p, root+"/")
	if !ok {
		return false
	}
	first, _, _ := strings.Cut(rest, "/")
	return !majorPattern.MatchString(first) || first == "v1"
}

// ModuleOf returns the one Go module an issue is about: the one its title
// names, or when the title names none, the one its body names. It returns
// an error wrapping ErrNoModule, ErrAmbiguousModule (naming the modules) or
// ErrTooLarge otherwise.
func ModuleOf(title, body string) (string, error) {
	if len(title)+len(body) > MaxText {
		return "", fmt.Errorf("%w (%d bytes; at most %d are read)", ErrTooLarge, len(title)+len(body), MaxText)
	}
	for _, part := range []struct{ where, text string }{{"title", title}, {"body", body}} {
		mods := Modules(part.text)
		switch len(mods) {
		case 0:
			continue
		case 1:
			return mods[0], nil
		}
		const show = 5
		listed := mods
		if len(listed) > show {
			listed = append(slices.Clone(listed[:show]), fmt.Sprintf("%d more", len(mods)-show))
		}
		return "", fmt.Errorf("%w: the %s names %s", ErrAmbiguousModule, part.where, strings.Join(listed, ", "))
	}
	return "", ErrNoModule
}
