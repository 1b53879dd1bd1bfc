package vulndb

import (
	"archive/zip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
	"golang.org/x/mod/sumdb/dirhash"
	modzip "golang.org/x/mod/zip"

	"github.com/vexloom/vexloom/internal/osv"
	"github.com/vexloom/vexloom/internal/redact"
)

// maxModuleZip bounds the download of the database module's zip (it is
// about 25 MB; the go command allows module zips up to 500 MiB).
const maxModuleZip = 512 << 20

// moduleSource reads golang.org/x/vulndb through the GOPROXY protocol.
type moduleSource struct {
	path    string
	version string // "" = latest
	opts    Options
	client  *http.Client
	env     *goEnv
}

func newModuleSource(version string, opts Options) (*moduleSource, error) {
	s := &moduleSource{path: vulndbModule, version: version, opts: opts, client: opts.client(), env: newGoEnv(opts.Env)}
	// Fail early on a malformed GOPROXY or GOSUMDB.
	if _, err := s.proxies(); err != nil {
		return nil, err
	}
	if _, err := s.sumdbConfig(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *moduleSource) String() string {
	if s.version == "" {
		return s.path
	}
	return s.path + "@" + s.version
}

func (s *moduleSource) Kind() string { return "module" }

// goproxy returns GOPROXY, defaulting as the go command does.
func (s *moduleSource) goproxy() string {
	return s.env.get("GOPROXY")
}

type proxySpec struct {
	url             string // a URL, "direct" or "off"
	fallBackOnError bool
}

// proxies parses GOPROXY as the go command does.
func (s *moduleSource) proxies() ([]proxySpec, error) {
	goproxy := s.goproxy()
	if strings.TrimSpace(goproxy) == "" {
		return nil, errors.New("GOPROXY is not set and the go command could not tell its default; set GOPROXY to a module proxy")
	}
	var list []proxySpec
	for goproxy != "" {
		var u string
		fallBack := false
		if i := strings.IndexAny(goproxy, ",|"); i >= 0 {
			u, fallBack, goproxy = goproxy[:i], goproxy[i] == '|', goproxy[i+1:]
		} else {
			u, goproxy = goproxy, ""
		}
		u = strings.TrimSpace(u)
		if u == "" {
			continue
		}
		if u == "off" || u == "direct" {
			list = append(list, proxySpec{url: u})
			break
		}
		if strings.ContainsAny(u, ".:/") && !strings.Contains(u, ":/") && !filepath.IsAbs(u) && !path.IsAbs(u) {
			u = "https://" + u
		}
		pu, err := parseProxyURL(u)
		if err != nil {
			return nil, err
		}
		list = append(list, proxySpec{url: pu, fallBackOnError: fallBack})
	}
	if len(list) == 0 {
		return nil, errors.New("GOPROXY list is not the empty string, but contains no entries")
	}
	return list, nil
}

func parseProxyURL(u string) (string, error) {
	if strings.HasPrefix(u, "file://") || isHTTPURL(u) {
		if _, err := parseAnyURL(u); err != nil {
			return "", fmt.Errorf("invalid GOPROXY entry %q: %v", redact.Location(u), err)
		}
		return strings.TrimRight(u, "/"), nil
	}
	return "", fmt.Errorf("invalid GOPROXY entry %q: want an http, https or file URL, \"direct\" or \"off\"", redact.Location(u))
}

// errDirect is returned when GOPROXY reaches "direct": vexloom does not
// clone repositories.
func (s *moduleSource) errDirect() error {
	return &proxyStopError{fmt.Sprintf("vexloom reads the Go vulnerability database (%s) only through a module proxy, "+
		"and GOPROXY=%s leaves only \"direct\" (the origin repository); "+
		"set GOPROXY to a module proxy", s.path, redactProxyList(s.goproxy()))}
}

func (s *moduleSource) errOff() error {
	return &proxyStopError{fmt.Sprintf("module lookup disabled by GOPROXY=off; vexloom reads the Go vulnerability database %s through a module proxy: set GOPROXY", s.path)}
}

// proxyStopError is the error of a GOPROXY list that reaches "direct" or
// "off".
type proxyStopError struct{ msg string }

func (e *proxyStopError) Error() string { return e.msg }

func redactProxyList(v string) string {
	var out []string
	for _, p := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == '|' }) {
		out = append(out, redact.Location(strings.TrimSpace(p)))
	}
	return strings.Join(out, ",")
}

// tryProxies calls f with each proxy URL in turn, as the go command does:
// after a comma, only "not found" (404, 410) falls through to the next; after
// a pipe, any error does. The most useful error is returned.
func (s *moduleSource) tryProxies(ctx context.Context, f func(base string) error) error {
	list, err := s.proxies()
	if err != nil {
		return err
	}
	var bestErr error
	bestIsNotExist := true
	for _, p := range list {
		if p.url == "off" || p.url == "direct" {
			stop := s.errOff()
			if p.url == "direct" {
				stop = s.errDirect()
			}
			switch {
			case bestErr == nil:
				return stop
			case bestIsNotExist:
				return fmt.Errorf("%w; then %w", bestErr, stop)
			}
			return bestErr
		}
		err := f(p.url)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		notExist := errors.Is(err, fs.ErrNotExist)
		if bestErr == nil || (bestIsNotExist && !notExist) {
			bestErr, bestIsNotExist = err, notExist
		}
		if !p.fallBackOnError && !notExist {
			break
		}
	}
	return bestErr
}

type proxyInfo struct {
	Version string
	Time    time.Time
}

// Latest asks the proxies for the version, as the go command resolves
// "latest": the highest tagged version in @v/list, else @latest, else the
// newest pseudo-version in @v/list (some proxies serve no @latest). A pinned
// version is resolved through its .info, which also canonicalises queries
// such as a branch name.
func (s *moduleSource) Latest(ctx context.Context) (Version, error) {
	epath, err := module.EscapePath(s.path)
	if err != nil {
		return Version{}, err
	}
	var info proxyInfo
	err = s.tryProxies(ctx, func(base string) error {
		var err error
		if s.version != "" {
			info, err = s.stat(ctx, base, epath, s.version)
		} else {
			info, err = s.latestFrom(ctx, base, epath)
		}
		return err
	})
	if err != nil {
		return Version{}, fmt.Errorf("looking up %s: %w", s.String(), err)
	}
	if !semver.IsValid(info.Version) || module.Check(s.path, info.Version) != nil || module.CanonicalVersion(info.Version) != info.Version {
		return Version{}, fmt.Errorf("looking up %s: the proxy answered an invalid version %q", s.String(), info.Version)
	}
	if info.Time.IsZero() {
		return Version{}, fmt.Errorf("looking up %s: the proxy gave no time for %s", s.String(), info.Version)
	}
	return Version{ID: info.Version, Time: info.Time.UTC()}, nil
}

// stat reads <base>/<module>/@v/<version>.info.
func (s *moduleSource) stat(ctx context.Context, base, epath, version string) (proxyInfo, error) {
	ev, err := module.EscapeVersion(version)
	if err != nil {
		return proxyInfo{}, err
	}
	return s.getInfo(ctx, base, epath+"/@v/"+ev+".info")
}

func (s *moduleSource) getInfo(ctx context.Context, base, rel string) (proxyInfo, error) {
	b, err := get(ctx, s.client, joinURL(base, rel), 1<<20)
	if err != nil {
		return proxyInfo{}, err
	}
	var i proxyInfo
	if err := json.Unmarshal(b, &i); err != nil {
		return proxyInfo{}, fmt.Errorf("%s: reading %s: %v", redact.Location(base), rel, err)
	}
	return i, nil
}

func (s *moduleSource) latestFrom(ctx context.Context, base, epath string) (proxyInfo, error) {
	listData, listErr := get(ctx, s.client, joinURL(base, epath+"/@v/list"), 16<<20)
	if listErr != nil && !errors.Is(listErr, fs.ErrNotExist) {
		return proxyInfo{}, listErr
	}
	lines := strings.Split(string(listData), "\n")
	var release, pre string
	for _, line := range lines {
		f := strings.Fields(line)
		if len(f) == 0 || !semver.IsValid(f[0]) || module.IsPseudoVersion(f[0]) {
			continue
		}
		if semver.Prerelease(f[0]) == "" {
			if release == "" || semver.Compare(f[0], release) > 0 {
				release = f[0]
			}
		} else if pre == "" || semver.Compare(f[0], pre) > 0 {
			pre = f[0]
		}
	}
	if release != "" {
		return s.stat(ctx, base, epath, release)
	}
	if pre != "" {
		return s.stat(ctx, base, epath, pre)
	}
	info, err := s.getInfo(ctx, base, epath+"/@latest")
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return info, err
	}
	// No @latest: the newest pseudo-version the list names.
	var best string
	var bestTime time.Time
	for _, line := range lines {
		f := strings.Fields(line)
		if len(f) == 0 || !semver.IsValid(f[0]) {
			continue
		}
		var t time.Time
		if len(f) >= 2 {
			t, _ = time.Parse(time.RFC3339, f[1])
		} else if module.IsPseudoVersion(f[0]) {
			t, _ = module.PseudoVersionTime(f[0])
		}
		if t.After(bestTime) {
			best, bestTime = f[0], t
		}
	}
	if best == "" {
		return proxyInfo{}, err
	}
	return s.stat(ctx, base, epath, best)
}

func (s *moduleSource) Fetch(ctx context.Context, v Version, yield func(*osv.Entry, []byte) error) error {
	return fetchPublic(ctx, s, s.opts, v, yield)
}

func (s *moduleSource) fetchRaw(ctx context.Context, v Version, env *fetchEnv, emit func(string, []byte) error) error {
	mv := module.Version{Path: s.path, Version: v.ID}
	if err := module.Check(mv.Path, mv.Version); err != nil || module.CanonicalVersion(v.ID) != v.ID {
		return fmt.Errorf("invalid version %q of %s", v.ID, s.path)
	}
	epath, _ := module.EscapePath(mv.Path)
	ev, _ := module.EscapeVersion(mv.Version)
	rel := epath + "/@v/" + ev + ".zip"

	tmp, err := os.CreateTemp(env.tmpDir, ".tmp-module-*.zip")
	if err != nil {
		return err
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}()
	env.progress.Printf("downloading %s", mv)
	var size int64
	err = s.tryProxies(ctx, func(base string) error {
		n, err := download(ctx, s.client, joinURL(base, rel), tmp, maxModuleZip)
		size = n
		return err
	})
	if err != nil {
		return fmt.Errorf("downloading %s: %w", mv, err)
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	env.progress.Printf("downloaded %s (%.1f MB)", mv, float64(size)/1e6)

	if err := s.authenticate(ctx, mv, tmp.Name(), env); err != nil {
		return err
	}
	cf, err := modzip.CheckZip(mv, tmp.Name())
	if err == nil {
		err = cf.Err()
	}
	if err != nil {
		return fmt.Errorf("%s: invalid module zip: %v", mv, err)
	}

	zr, err := zip.OpenReader(tmp.Name())
	if err != nil {
		return fmt.Errorf("%s: reading module zip: %v", mv, err)
	}
	defer zr.Close()
	prefix := mv.Path + "@" + mv.Version + "/data/osv/"
	var files []*zip.File
	for _, f := range zr.File {
		name, ok := strings.CutPrefix(f.Name, prefix)
		if !ok || strings.Contains(name, "/") || !strings.HasSuffix(name, ".json") {
			continue
		}
		files = append(files, f)
	}
	sort.SliceStable(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	if len(files) == 0 {
		return fmt.Errorf("%s has no data/osv/*.json entries", mv)
	}
	env.progress.Printf("reading %d entries from %s", len(files), mv)
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		raw, err := readZipEntry(f)
		if err != nil {
			return fmt.Errorf("%s: %s: %v", mv, f.Name, err)
		}
		if err := emit(strings.TrimPrefix(f.Name, mv.Path+"@"+mv.Version+"/"), raw); err != nil {
			return err
		}
	}
	return nil
}

// readZipEntry reads one zip member; one over osv.MaxEntrySize is returned
// cut at MaxEntrySize+1 bytes so the builder rejects it without reading it
// all.
func readZipEntry(f *zip.File) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(io.LimitReader(rc, osv.MaxEntrySize+1))
}

// authenticate checks the zip against the checksum database, unless the
// environment says not to, as the go command does.
func (s *moduleSource) authenticate(ctx context.Context, mv module.Version, zipFile string, env *fetchEnv) error {
	cfg, err := s.sumdbConfig()
	if err != nil {
		return err
	}
	if cfg.skip != "" {
		env.progress.Printf("warning: not checking %s against a checksum database (%s)", mv, cfg.skip)
		return nil
	}
	got, err := dirhash.HashZip(zipFile, dirhash.Hash1)
	if err != nil {
		return fmt.Errorf("%s: hashing module zip: %v", mv, err)
	}
	lines, err := s.sumdbLookup(ctx, cfg, mv, env)
	if err != nil {
		return fmt.Errorf("verifying %s against the checksum database %s: %w", mv, cfg.name, err)
	}
	var want []string
	for _, line := range lines {
		f := strings.Fields(line)
		if len(f) == 3 && f[0] == mv.Path && f[1] == mv.Version {
			want = append(want, f[2])
		}
	}
	if len(want) == 0 {
		return fmt.Errorf("verifying %s: the checksum database %s has no hash for it", mv, cfg.name)
	}
	for _, w := range want {
		if w != got {
			return fmt.Errorf("SECURITY ERROR: verifying %s: checksum mismatch\n\tdownloaded: %s\n\t%s:  %s\n"+
				"The module proxy served a zip that does not match the checksum database; it was not used.", mv, got, cfg.name, w)
		}
	}
	env.progress.Printf("verified %s against %s", mv, cfg.name)
	return nil
}
