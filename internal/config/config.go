// Package config reads and writes vexloom.yaml, the project file: which
// project vexloom keeps a VEX feed for, its maintained branches, where the
// vulnerability data comes from, where OWNERS files are read, which backend
// holds the triages and where each branch's OpenVEX document is written.
//
// The file is read through go.yaml.in/yaml/v3's node tree rather than by
// decoding into structs, so that every problem is reported with the file and
// line it is on, unknown keys are caught (with a suggestion when the key is
// close to a known one), duplicate keys are errors, and anchors and aliases
// can never be expanded into more than the schema's few fixed places. All
// problems found are reported together, each wrapping ErrInvalid.
package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/vexloom/vexloom/internal/source"
)

// FileName is the name of the project file at the root of a repository.
const FileName = "vexloom.yaml"

// MaxFileSize bounds the size of a project file (1 MiB).
const MaxFileSize = 1 << 20

// The triage backends.
const (
	BackendLocal  = "local"
	BackendGitHub = "github"
)

// Defaults applied to keys left out or empty.
const (
	DefaultDatabaseSource   = "golang.org/x/vulndb@latest"
	DefaultPackages         = "./..."
	DefaultGitHubAPI        = "https://api.github.com/"
	DefaultWebhookSecretEnv = "VEXLOOM_WEBHOOK_SECRET"
	DefaultVEXDir           = "vex"
	DefaultStorePath        = ".vexloom"
	// DefaultTriageRepository is the name of the repository, under the
	// project repository's GitHub owner, that holds the triages by default.
	DefaultTriageRepository = ".vexloom"
)

// DefaultLabels are the labels the GitHub backend marks a triage's state
// with unless the file names others.
var DefaultLabels = Labels{
	Open:      "vex/open",
	Assessed:  "vex/assessed",
	Published: "vex/published",
	Closed:    "vex/closed",
}

// Sentinel errors callers branch on.
var (
	// ErrNotFound is returned when there is no project file.
	ErrNotFound = errors.New("no " + FileName + " found")
	// ErrInvalid is wrapped by every problem found in a project file: YAML
	// syntax, unknown keys, wrong types, invalid values.
	ErrInvalid = errors.New("invalid configuration")
)

// Config is a parsed and validated project file with its defaults applied.
type Config struct {
	// Version is the version of the file's format; always 1.
	Version  int
	Project  Project
	Branches []string
	Scan     Scan
	Database Database
	Owners   Owners
	Triage   Triage
	VEX      VEX
	Store    Store
	// Advisories configures vexloom advisories sync (advisories.go).
	Advisories Advisories
	// Releases are the tracked releases kept alive by update, and what
	// vexloom images ingest reads about their images (releases.go).
	Releases Releases

	// Path is the file the configuration was read from.
	Path string
	// Dir is the absolute directory relative paths in the file are
	// relative to: the file's directory.
	Dir string
}

// Project names the project.
type Project struct {
	// Module is the path of the project's main Go module.
	Module string
	// Repository is the project's git repository: a URL (https, ssh, git,
	// file), scp-like user@host:path, or a path relative to Dir. Use
	// Config.RepositorySpec to open it.
	Repository string
	// Author is the author of the OpenVEX documents; default
	// "<module> maintainers".
	Author string
}

// Scan says what to scan on each branch.
type Scan struct {
	// Modules are module paths or directories in the repository; empty
	// means every module.
	Modules []string
	// Packages are package patterns; default ./...
	Packages []string
	// Tags are build tags.
	Tags []string
	// GoVersion is the Go version whose standard library is analysed
	// (1.26.8, without "go"); empty means what each branch builds with.
	GoVersion string
}

// Database says where vulnerability data comes from.
type Database struct {
	// Source is a vulnerability database source spec, as vexloom db update
	// --source takes it. Use Config.DatabaseSpec to resolve local paths.
	Source string
}

// Owners says where the OWNERS files are read and who decides any triage.
type Owners struct {
	// Path is a directory holding OWNERS files, relative to Dir; empty
	// means they are read from the repository's default branch.
	Path string
	// SecurityTeam are OWNERS_ALIASES alias names or logins who may decide
	// any triage.
	SecurityTeam []string
}

// Triage says where triages are kept and answered.
type Triage struct {
	// Backend is BackendLocal or BackendGitHub.
	Backend string
	// GitHub configures the GitHub backend; zero unless Backend is
	// BackendGitHub.
	GitHub GitHub
}

// GitHub configures the GitHub triage backend.
type GitHub struct {
	// Repository is the owner/repo whose issues hold the triages.
	Repository string
	// API is the API base URL, ending in a slash.
	API string
	// AppID, InstallationID and PrivateKey (a path relative to Dir)
	// authenticate as a GitHub App; when AppID is zero, GITHUB_TOKEN is
	// used.
	AppID          int64
	InstallationID int64
	PrivateKey     string
	// WebhookSecretEnv names the environment variable holding the webhook
	// secret.
	WebhookSecretEnv string
	// Labels mark a triage's state.
	Labels Labels
}

// Labels are the GitHub labels for each state of a triage.
type Labels struct {
	Open      string
	Assessed  string
	Published string
	Closed    string
}

// VEX says where the branch VEX documents are written.
type VEX struct {
	// Dir is relative to Config.Dir.
	Dir string
	// FeedFormat is the format of the feed's per-package documents:
	// openvex (the default) or csaf.
	FeedFormat string
}

// Store says where vexloom's store is: the embedded SQLite store in a
// directory, or a PostgreSQL database shared by many runners and projects.
type Store struct {
	// Path is relative to Config.Dir. With a URL, it holds the files kept
	// beside the database (the published store).
	Path string
	// URL, when set, is a PostgreSQL database (postgres://…). It carries no
	// password: that comes from PGPASSWORD, a password file or a service
	// file.
	URL string
}

// checkStoreURL accepts a PostgreSQL URL without a password.
func checkStoreURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || (u.Host == "" && u.Query().Get("host") == "" && u.Query().Get("service") == "") {
		return errors.New("want a PostgreSQL URL such as postgres://vexloom@db.example.com/vexloom")
	}
	if _, ok := u.User.Password(); ok || u.Query().Has("password") {
		return errors.New("the URL holds a password: leave it out and set PGPASSWORD, a password file (PGPASSFILE) or a service file instead")
	}
	return nil
}

// Load reads, parses and validates the project file at path. A missing file
// is ErrNotFound (and fs.ErrNotExist); anything wrong in it is ErrInvalid.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %w; run `vexloom init` to create one", ErrNotFound, err)
		}
		return nil, fmt.Errorf("reading configuration: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading configuration: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("reading configuration: %s is not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading configuration: %w", err)
	}
	c, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	if abs, err := filepath.Abs(path); err == nil {
		c.Path = abs
		c.Dir = filepath.Dir(abs)
	}
	return c, nil
}

// Parse parses and validates a project file's content; name is the file's
// path, used in error messages and as the base of relative paths. Every
// problem found is reported, each as an *Error wrapping ErrInvalid, joined.
func Parse(name string, data []byte) (*Config, error) {
	if name == "" {
		name = FileName
	}
	d := newDecoder(name)
	if len(data) > MaxFileSize {
		d.errorf(0, "larger than %d bytes (1 MiB)", MaxFileSize)
		return nil, d.err()
	}
	root := d.document(data)
	if root == nil {
		return nil, d.err()
	}
	c := &Config{Path: name, Dir: filepath.Dir(name)}
	if abs, err := filepath.Abs(c.Dir); err == nil {
		c.Dir = abs
	}
	d.config(root, c)
	if err := d.err(); err != nil {
		return nil, err
	}
	return c, nil
}

// Resolve makes a path from the file (slash-separated, relative to the
// file's directory) absolute. An absolute path is only cleaned; an empty path
// (a key left unset) stays empty.
func (c *Config) Resolve(p string) string {
	if p == "" {
		return ""
	}
	p = filepath.FromSlash(p)
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(c.Dir, p)
}

// RepositorySpec returns the project repository as a URL (unchanged) or an
// absolute path, the form source.OpenRepository takes.
func (c *Config) RepositorySpec() string {
	if source.IsRemote(c.Project.Repository) {
		return c.Project.Repository
	}
	return c.Resolve(c.Project.Repository)
}

// DatabaseSpec returns the database source with any local directory or zip
// file made absolute, the form vulndb.ParseSource takes.
func (c *Config) DatabaseSpec() string {
	s := c.Database.Source
	switch {
	case isVulndbModule(s), strings.Contains(s, "://"):
		return s
	case strings.HasPrefix(s, "dir:"):
		return "dir:" + c.Resolve(strings.TrimPrefix(s, "dir:"))
	case strings.HasPrefix(s, "zip:"):
		rest := strings.TrimPrefix(s, "zip:")
		if strings.Contains(rest, "://") {
			return s
		}
		return "zip:" + c.Resolve(rest)
	}
	return c.Resolve(s)
}

// Find looks for the project file in dir and then in its parents, up to the
// top of the git work tree (a directory holding .git) or the filesystem
// root, and returns its path. When there is none it returns ErrNotFound.
func Find(dir string) (string, error) {
	start, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("looking for %s: %w", FileName, err)
	}
	for d := start; ; {
		p := filepath.Join(d, FileName)
		fi, err := os.Stat(p)
		switch {
		case err == nil && fi.Mode().IsRegular():
			return p, nil
		case err == nil:
			return "", fmt.Errorf("looking for %s: %s is not a regular file", FileName, p)
		case !errors.Is(err, fs.ErrNotExist):
			return "", fmt.Errorf("looking for %s: %w", FileName, err)
		}
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			return "", fmt.Errorf("%w in %s or its parents up to the repository root %s; run `vexloom init` to create one",
				ErrNotFound, start, d)
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("%w in %s or any of its parents; run `vexloom init` to create one", ErrNotFound, start)
		}
		d = parent
	}
}
