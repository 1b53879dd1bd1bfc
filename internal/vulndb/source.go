package vulndb

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/mod/module"

	"github.com/vexloom/vexloom/internal/osv"
	"github.com/vexloom/vexloom/internal/progress"
	"github.com/vexloom/vexloom/internal/redact"
)

// Version is what a source offers: an identifier and when it was published.
type Version struct {
	ID   string
	Time time.Time
}

// Source is somewhere vulnerability entries come from.
type Source interface {
	// String names the source as the user did, with tokens and userinfo
	// redacted. It is stored as Meta.Source.
	String() string
	// Kind is "module", "dir", "zip" or "mirror".
	Kind() string
	// Latest reports, cheaply, the version the source offers now.
	Latest(ctx context.Context) (Version, error)
	// Fetch calls yield for every usable Go entry of version v, with its
	// raw bytes (a zero "modified" already replaced by v.Time). Malformed
	// entries are skipped.
	Fetch(ctx context.Context, v Version, yield func(e *osv.Entry, raw []byte) error) error
}

// Options configure the sources ParseSource returns.
type Options struct {
	// HTTPClient makes every request; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Env is the environment GOPROXY, GOSUMDB, GONOSUMDB, GOPRIVATE,
	// GONOSUMCHECK and GOFLAGS are read from (the last value of a name
	// wins); nil means os.Environ(). Names it lacks are read from the go
	// command's configuration file (GOENV), then default as in the go
	// command.
	Env []string
	// Now is the clock; nil means time.Now. (The built-in sources take
	// every time from the source itself; Update's clock is
	// UpdateOptions.Now.)
	Now func() time.Time
	// CacheDir is where the module source keeps the checksum database's
	// cache when Fetch is called outside Update ("" means DefaultCacheDir).
	// Update uses its own cacheDir.
	CacheDir string
	// Progress receives progress of Fetch calls made outside Update.
	Progress *progress.Reporter
}

func (o Options) client() *http.Client {
	if o.HTTPClient != nil {
		return o.HTTPClient
	}
	return http.DefaultClient
}

// fetchEnv is what Update gives a source's fetch beyond the public API.
type fetchEnv struct {
	cacheDir string // for the checksum database cache
	tmpDir   string // for downloads; "" means the system's
	prev     *DB    // the current database, if any, for incremental fetches
	progress *progress.Reporter
	stats    *Stats
}

// rawFetcher is implemented by this package's sources: they hand raw bytes
// and the name the source gave them to emit, and leave validation to the
// caller, which counts and reports what it skips.
type rawFetcher interface {
	fetchRaw(ctx context.Context, v Version, env *fetchEnv, emit func(name string, raw []byte) error) error
}

// fetchPublic implements Source.Fetch on top of fetchRaw.
func fetchPublic(ctx context.Context, s rawFetcher, opts Options, v Version, yield func(*osv.Entry, []byte) error) error {
	cacheDir := opts.CacheDir
	if cacheDir == "" {
		d, err := DefaultCacheDir()
		if err != nil {
			return err
		}
		cacheDir = d
	}
	env := &fetchEnv{cacheDir: cacheDir, progress: opts.Progress, stats: &Stats{}}
	return s.fetchRaw(ctx, v, env, func(name string, raw []byte) error {
		e, raw, err := prepare(name, raw, v.Time)
		if err != nil {
			if !errors.Is(err, errNotGo) {
				opts.Progress.Printf("warning: skipping %s: %v", name, err)
			}
			return nil
		}
		return yield(e, raw)
	})
}

const vulndbModule = "golang.org/x/vulndb"

// ParseSource turns a user's source spec into a Source:
//
//	"", golang.org/x/vulndb[@latest]    the Go vulnerability database module through GOPROXY
//	golang.org/x/vulndb@<version>       that version of it
//	dir:PATH, or an existing directory  OSV *.json files (recursively), or a govulncheck-layout database
//	zip:PATH, zip:https://…, *.zip      an osv.dev export: <ID>.json files at the zip root
//	https://…, http://…                 a mirror in vuln.go.dev's layout
func ParseSource(spec string, opts Options) (Source, error) {
	spec = strings.TrimSpace(spec)
	switch {
	case spec == "" || spec == vulndbModule || spec == vulndbModule+"@latest":
		return newModuleSource("", opts)
	case strings.HasPrefix(spec, vulndbModule+"@"):
		v := strings.TrimPrefix(spec, vulndbModule+"@")
		if v == "" || strings.ContainsAny(v, " \t\n@") {
			return nil, fmt.Errorf("source %q: invalid version", spec)
		}
		if _, err := module.EscapeVersion(v); err != nil {
			return nil, fmt.Errorf("source %q: invalid version: %v", spec, err)
		}
		return newModuleSource(v, opts)
	case strings.HasPrefix(spec, "dir:"):
		return newDirSource(strings.TrimPrefix(spec, "dir:"), opts)
	case strings.HasPrefix(spec, "zip:"):
		rest := strings.TrimPrefix(spec, "zip:")
		if isHTTPURL(rest) {
			return newRemoteZipSource(rest, opts)
		}
		return newZipSource(rest, opts)
	case isHTTPURL(spec):
		u, err := parseHTTPURL(spec)
		if err != nil {
			return nil, err
		}
		if strings.HasSuffix(strings.ToLower(u.Path), ".zip") {
			return newRemoteZipSource(spec, opts)
		}
		return newMirrorSource(spec, opts)
	case strings.HasPrefix(spec, "file://"):
		u, err := url.Parse(spec)
		if err != nil {
			return nil, fmt.Errorf("source %q: %v", spec, err)
		}
		p, err := fileURLPath(u)
		if err != nil {
			return nil, fmt.Errorf("source %q: %v", spec, err)
		}
		if strings.HasSuffix(strings.ToLower(p), ".zip") {
			return newZipSource(p, opts)
		}
		return newDirSource(p, opts)
	case strings.HasSuffix(strings.ToLower(spec), ".zip"):
		return newZipSource(spec, opts)
	}
	if fi, err := os.Stat(spec); err == nil && fi.IsDir() {
		return newDirSource(spec, opts)
	}
	return nil, fmt.Errorf("unknown vulnerability database source %q: want golang.org/x/vulndb[@version], "+
		"a directory (dir:PATH), an osv.dev zip export (zip:PATH or zip:https://…), "+
		"or the https:// URL of a mirror in vuln.go.dev's layout", redact.Location(spec))
}

func isHTTPURL(s string) bool {
	l := strings.ToLower(s)
	return strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "http://")
}

func parseHTTPURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("source %q: %v", redact.Location(s), errors.Unwrap(err))
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("source %q: want an http:// or https:// URL with a host", redact.URL(u))
	}
	u.Fragment, u.RawFragment = "", ""
	return u, nil
}

func fileURLPath(u *url.URL) (string, error) {
	if u.Host != "" && u.Host != "localhost" {
		return "", fmt.Errorf("file URL with a host")
	}
	p := u.Path
	if runtime.GOOS == "windows" {
		p = strings.TrimPrefix(p, "/")
	}
	return filepath.FromSlash(p), nil
}

// goEnv reads go command variables the way the go command does: the
// process environment (opts.Env), then the GOENV file, then defaults.
type goEnv struct {
	vars map[string]string
	file map[string]string

	mu    sync.Mutex
	asked map[string]string
}

func newGoEnv(env []string) *goEnv {
	if env == nil {
		env = os.Environ()
	}
	g := &goEnv{vars: map[string]string{}}
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			g.vars[k] = v
		}
	}
	g.file = readGoEnvFile(g.vars)
	return g
}

func (g *goEnv) get(key string) string {
	if v, ok := g.vars[key]; ok {
		return v
	}
	if v, ok := g.file[key]; ok {
		return v
	}
	switch key {
	case "GOPROXY", "GOSUMDB":
		// Their defaults live in the Go distribution ($GOROOT/go.env);
		// the go command knows them.
		return g.fromGoCommand(key)
	}
	return ""
}

// fromGoCommand asks `go env` for a variable, once.
func (g *goEnv) fromGoCommand(key string) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	if v, ok := g.asked[key]; ok {
		return v
	}
	if g.asked == nil {
		g.asked = map[string]string{}
	}
	var env []string
	for k, v := range g.vars {
		env = append(env, k+"="+v)
	}
	cmd := exec.Command("go", "env", key)
	cmd.Env = env
	out, err := cmd.Output()
	v := ""
	if err == nil {
		v = strings.TrimSpace(string(out))
	}
	g.asked[key] = v
	return v
}

// readGoEnvFile reads the file `go env -w` writes: $GOENV, else
// <user config dir>/go/env. GOENV=off disables it.
func readGoEnvFile(vars map[string]string) map[string]string {
	p, ok := vars["GOENV"]
	if p == "off" {
		return nil
	}
	if !ok || p == "" {
		var dir string
		switch {
		case vars["XDG_CONFIG_HOME"] != "":
			dir = vars["XDG_CONFIG_HOME"]
		case runtime.GOOS == "windows" && vars["AppData"] != "":
			dir = vars["AppData"]
		case runtime.GOOS == "darwin" && vars["HOME"] != "":
			dir = filepath.Join(vars["HOME"], "Library", "Application Support")
		case vars["HOME"] != "":
			dir = filepath.Join(vars["HOME"], ".config")
		default:
			return nil
		}
		p = filepath.Join(dir, "go", "env")
	}
	f, err := os.Open(p)
	if err != nil {
		return nil
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			out[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return out
}

// isSyncUnsupported reports whether err means the system cannot fsync a
// directory.
func isSyncUnsupported(err error) bool {
	return runtime.GOOS == "windows" || errors.Is(err, errors.ErrUnsupported) ||
		errors.Is(err, syscall.EINVAL)
}
