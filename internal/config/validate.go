package config

import (
	"errors"
	"fmt"
	"go/version"
	"net"
	"net/url"
	"path"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/mod/module"

	"github.com/vexloom/vexloom/internal/branch"
	"github.com/vexloom/vexloom/internal/redact"
	"github.com/vexloom/vexloom/internal/source"
)

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

// checkModulePath accepts a module path the go command accepts.
var checkModulePath = module.CheckPath

// checkRepository accepts what source.OpenRepository opens: a URL with the
// https, ssh, git or file scheme, scp-like [user@]host:path, or a local path.
// A URL with a password or token is refused: the file is meant to be
// committed.
func checkRepository(s string) error {
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil {
			return errors.New("not a valid URL")
		}
		if _, ok := u.User.Password(); ok {
			return errors.New("the URL holds a password or token: remove it and use a git credential helper")
		}
		if u.RawQuery != "" || u.Fragment != "" {
			return fmt.Errorf("%s: a repository URL has no query or fragment", quote(redact.Location(s)))
		}
		switch u.Scheme {
		case "https", "ssh", "git":
			if u.Host == "" {
				return fmt.Errorf("%s names no host", quote(redact.Location(s)))
			}
			if strings.Trim(u.Path, "/") == "" {
				return fmt.Errorf("%s names no repository on %s", quote(redact.Location(s)), u.Host)
			}
		case "file":
			if u.Host != "" && u.Host != "localhost" {
				return fmt.Errorf("%s: a file URL names a local path (file:///path)", quote(redact.Location(s)))
			}
			if u.Path == "" {
				return fmt.Errorf("%s names no path", quote(redact.Location(s)))
			}
		default:
			return fmt.Errorf("%s: the scheme %s is not supported (use https, ssh, git or file, or user@host:path)", quote(redact.Location(s)), quote(u.Scheme))
		}
		return nil
	}
	if source.IsRemote(s) {
		// scp-like: [user@]host:path
		hostPart, p, _ := strings.Cut(s, ":")
		if i := strings.LastIndexByte(hostPart, '@'); i >= 0 {
			hostPart = hostPart[i+1:]
		}
		if hostPart == "" || strings.Trim(p, "/") == "" {
			return fmt.Errorf("%s: expected user@host:path", quote(s))
		}
		if strings.HasPrefix(hostPart, "-") {
			return fmt.Errorf("%s: a host cannot start with '-'", quote(s))
		}
		return nil
	}
	if strings.HasPrefix(s, "-") {
		return fmt.Errorf("%s: a path cannot start with '-' (write ./%s)", quote(s), s)
	}
	return nil
}

// gitHubOwner returns the owner of a repository on github.com named by a
// URL or scp-like spec.
func gitHubOwner(spec string) (string, bool) {
	var host, p string
	switch {
	case strings.Contains(spec, "://"):
		u, err := url.Parse(spec)
		if err != nil {
			return "", false
		}
		host, p = u.Hostname(), u.Path
	case source.IsRemote(spec):
		host, p, _ = strings.Cut(spec, ":")
		if i := strings.LastIndexByte(host, '@'); i >= 0 {
			host = host[i+1:]
		}
	default:
		return "", false
	}
	if !strings.EqualFold(host, "github.com") && !strings.EqualFold(host, "www.github.com") {
		return "", false
	}
	owner, _, _ := strings.Cut(strings.TrimLeft(p, "/"), "/")
	if !isGitHubOwner(owner) {
		return "", false
	}
	return owner, true
}

// checkBranchPattern accepts a git branch name or a path.Match pattern of
// branch names.
func checkBranchPattern(s string) error {
	if err := branch.CheckPattern(s); err != nil {
		return fmt.Errorf("%s is not a valid pattern: %v", quote(s), err)
	}
	bad := func(why string) error {
		return fmt.Errorf("%s is not a valid branch name or pattern: %s", quote(s), why)
	}
	switch {
	case strings.HasPrefix(s, "-"):
		return bad("it starts with '-'")
	case strings.HasPrefix(s, "refs/"):
		return bad("write the branch name without refs/heads/")
	case strings.HasPrefix(s, "/"), strings.HasSuffix(s, "/"), strings.Contains(s, "//"):
		return bad("misplaced '/'")
	case strings.Contains(s, ".."), strings.Contains(s, "@{"), s == "@":
		return bad("git does not allow '..', '@{' or '@'")
	case strings.ContainsAny(s, " ~^:\\"), strings.ContainsFunc(s, unicode.IsSpace):
		return bad("git does not allow spaces, '~', '^', ':' or '\\'")
	case strings.HasSuffix(s, ".lock"), strings.HasSuffix(s, "."):
		return bad("git does not allow a name ending in '.lock' or '.'")
	}
	for _, elem := range strings.Split(s, "/") {
		if strings.HasPrefix(elem, ".") {
			return bad("git does not allow a component starting with '.'")
		}
	}
	return nil
}

// checkScanModule accepts a module path or a directory relative to the
// repository's root that stays inside it.
func checkScanModule(s string) error {
	if strings.HasPrefix(s, "-") {
		return fmt.Errorf("%s: a module or directory cannot start with '-'", quote(s))
	}
	if strings.Contains(s, "\\") {
		return fmt.Errorf("%s: write directories with '/'", quote(s))
	}
	if path.IsAbs(s) {
		return fmt.Errorf("%s: directories are relative to the repository's root", quote(s))
	}
	if c := path.Clean(s); c == ".." || strings.HasPrefix(c, "../") {
		return fmt.Errorf("%s is outside the repository", quote(s))
	}
	return nil
}

// checkPackagePattern accepts what go list takes as a package pattern.
func checkPackagePattern(s string) error {
	if strings.HasPrefix(s, "-") {
		return fmt.Errorf("%s: a package pattern cannot start with '-'", quote(s))
	}
	if strings.ContainsFunc(s, unicode.IsSpace) {
		return fmt.Errorf("%s: a package pattern has no spaces (one pattern per item)", quote(s))
	}
	return nil
}

var buildTag = regexp.MustCompile(`^[A-Za-z0-9_.]+$`)

func checkBuildTag(s string) error {
	if strings.ContainsAny(s, ", ") {
		return fmt.Errorf("%s: one build tag per item", quote(s))
	}
	if !buildTag.MatchString(s) {
		return fmt.Errorf("%s is not a build tag (letters, digits, '_' and '.')", quote(s))
	}
	return nil
}

// checkGoVersion accepts a Go release as 1.26.8 (or go1.26.8), 1.26 or
// 1.27rc1.
func checkGoVersion(s string) error {
	if !version.IsValid("go" + strings.TrimPrefix(s, "go")) {
		return fmt.Errorf("%s is not a Go version (e.g. 1.26.8)", quote(s))
	}
	return nil
}

const vulndbModule = "golang.org/x/vulndb"

func isVulndbModule(s string) bool {
	return s == vulndbModule || strings.HasPrefix(s, vulndbModule+"@")
}

// checkDatabaseSource checks what can be checked of a source spec without
// touching the filesystem or the network (see vulndb.ParseSource).
func checkDatabaseSource(s string) error {
	if strings.HasPrefix(s, vulndbModule+"@") {
		v := strings.TrimPrefix(s, vulndbModule+"@")
		if _, err := module.EscapeVersion(v); v == "" || err != nil || strings.ContainsAny(v, "@ ") {
			return fmt.Errorf("%s: invalid version %s", quote(s), quote(v))
		}
		return nil
	}
	rest := s
	for _, p := range []string{"dir:", "zip:"} {
		if strings.HasPrefix(s, p) {
			rest = strings.TrimPrefix(s, p)
			if rest == "" {
				return fmt.Errorf("%s names no path", quote(s))
			}
		}
	}
	if strings.Contains(rest, "://") {
		u, err := url.Parse(rest)
		if err != nil {
			return errors.New("not a valid URL")
		}
		if _, ok := u.User.Password(); ok {
			return errors.New("the URL holds a password or token: remove it")
		}
		switch u.Scheme {
		case "https", "http", "file":
		default:
			return fmt.Errorf("%s: the scheme %s is not supported (use https or file)", quote(s), quote(u.Scheme))
		}
	}
	return nil
}

// OWNERS_ALIASES names and GitHub logins, at most 100 bytes. The names'
// lengths are checked apart from their patterns here: a bounded repetition
// compiles into as many states as its bound, at every start of the
// program.
var ownerName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

func checkOwnerName(s string) error {
	if len(s) > 100 || !ownerName.MatchString(s) {
		return fmt.Errorf("%s is not an OWNERS_ALIASES alias or a login", quote(s))
	}
	return nil
}

// GitHub owners (at most 39 bytes) and repositories (at most 100).
var (
	gitHubOwnerName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]*$`)
	gitHubRepoName  = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
)

func isGitHubOwner(s string) bool { return len(s) <= 39 && gitHubOwnerName.MatchString(s) }
func isGitHubRepo(s string) bool  { return len(s) <= 100 && gitHubRepoName.MatchString(s) }

func checkGitHubRepository(s string) error {
	owner, repo, ok := strings.Cut(s, "/")
	if !ok || !isGitHubOwner(owner) || !isGitHubRepo(repo) || repo == "." || repo == ".." {
		return fmt.Errorf("%s is not a GitHub repository (owner/repo)", quote(s))
	}
	return nil
}

// checkAPIURL accepts an https URL, or an http one on the loopback
// interface (a test server).
func checkAPIURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return fmt.Errorf("%s is not an absolute URL", quote(redact.Location(s)))
	}
	if u.User != nil {
		return errors.New("the URL holds credentials: remove them")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%s: an API base URL has no query or fragment", quote(redact.Location(s)))
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return fmt.Errorf("%s: use https (http is only for a server on this machine)", quote(s))
		}
	default:
		return fmt.Errorf("%s: the scheme %s is not supported (use https)", quote(s), quote(u.Scheme))
	}
	return nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// normalizeAPIURL makes the API base URL end in a slash, as URLs are
// resolved against it.
func normalizeAPIURL(s string) string {
	if s != "" && !strings.HasSuffix(s, "/") {
		return s + "/"
	}
	return s
}

// Environment variables' names, at most 128 bytes.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func checkEnvName(s string) error {
	if len(s) > 128 || !envName.MatchString(s) {
		return errors.New("not the name of an environment variable: give the variable's name, never the secret itself")
	}
	return nil
}

// checkLabel accepts a GitHub label name (at most 50 characters).
func checkLabel(s string) error {
	if strings.TrimSpace(s) != s {
		return fmt.Errorf("%s: a label has no leading or trailing spaces", quote(s))
	}
	if utf8.RuneCountInString(s) > 50 {
		return fmt.Errorf("%s: a GitHub label has at most 50 characters", quote(s))
	}
	return nil
}

// cleanSlash cleans a slash-separated path from the file for comparison.
func cleanSlash(p string) string {
	return path.Clean(strings.ReplaceAll(p, "\\", "/"))
}
