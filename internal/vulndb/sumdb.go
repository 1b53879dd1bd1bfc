package vulndb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb"
	"golang.org/x/mod/sumdb/note"

	"github.com/vexloom/vexloom/internal/atomicfile"
	"github.com/vexloom/vexloom/internal/progress"
)

// knownSumDB holds the verifier keys the go command knows by name.
var knownSumDB = map[string]string{
	"sum.golang.org": "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8",
}

type sumdbCfg struct {
	skip   string // why the checksum database is not consulted; "" = consult it
	key    string // verifier key
	name   string // database name (host[/path])
	direct string // URL to use when no proxy serves the database
	fixed  bool   // direct came from GOSUMDB: do not ask proxies
}

// sumdbConfig reads GOSUMDB, GONOSUMDB, GOPRIVATE, GONOSUMCHECK and GOFLAGS.
func (s *moduleSource) sumdbConfig() (*sumdbCfg, error) {
	gosumdb := strings.TrimSpace(s.env.get("GOSUMDB"))
	if gosumdb == "" {
		gosumdb = "sum.golang.org"
	}
	if gosumdb == "off" {
		return &sumdbCfg{skip: "GOSUMDB=off"}, nil
	}
	nosumdb, which := s.env.get("GONOSUMDB"), "GONOSUMDB"
	if nosumdb == "" {
		nosumdb, which = s.env.get("GOPRIVATE"), "GOPRIVATE"
	}
	if module.MatchPrefixPatterns(nosumdb, s.path) {
		return &sumdbCfg{skip: fmt.Sprintf("%s=%s matches %s", which, nosumdb, s.path)}, nil
	}
	// Legacy opt-outs of checksum verification (Go 1.13–1.16): honoured,
	// and reported, so a setup that relied on them keeps working.
	if v := strings.TrimSpace(s.env.get("GONOSUMCHECK")); v == "1" || strings.EqualFold(v, "true") {
		return &sumdbCfg{skip: "GONOSUMCHECK=" + v}, nil
	}
	for _, f := range strings.Fields(s.env.get("GOFLAGS")) {
		if f == "-insecure" || f == "--insecure" || f == "-insecure=true" || f == "--insecure=true" || f == "-insecure=1" {
			return &sumdbCfg{skip: "GOFLAGS=" + f}, nil
		}
	}
	if gosumdb == "sum.golang.google.cn" {
		gosumdb = "sum.golang.org https://sum.golang.google.cn"
	}
	fields := strings.Fields(gosumdb)
	if len(fields) > 2 {
		return nil, errors.New("invalid GOSUMDB: too many fields")
	}
	key := fields[0]
	if k := knownSumDB[key]; k != "" {
		key = k
	}
	v, err := note.NewVerifier(key)
	if err != nil {
		return nil, fmt.Errorf("invalid GOSUMDB: %v", err)
	}
	name := v.Name()
	direct, err := url.Parse("https://" + name)
	if err != nil || strings.HasSuffix(name, "/") || direct.Host == "" || direct.RawPath != "" ||
		*direct != (url.URL{Scheme: "https", Host: direct.Host, Path: direct.Path}) {
		return nil, fmt.Errorf("invalid sumdb name (must be host[/path]): %s", name)
	}
	cfg := &sumdbCfg{key: key, name: name, direct: direct.String()}
	if len(fields) == 2 {
		if _, err := parseAnyURL(fields[1]); err != nil {
			return nil, fmt.Errorf("invalid GOSUMDB URL: %v", err)
		}
		cfg.direct, cfg.fixed = strings.TrimRight(fields[1], "/"), true
	}
	return cfg, nil
}

func parseAnyURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, errors.Unwrap(err)
	}
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" {
			return nil, errors.New("no host")
		}
	case "file":
	default:
		return nil, fmt.Errorf("unsupported scheme %q", u.Scheme)
	}
	return u, nil
}

// sumdbLookup returns the checksum database's go.sum lines for mv.
func (s *moduleSource) sumdbLookup(ctx context.Context, cfg *sumdbCfg, mv module.Version, env *fetchEnv) ([]string, error) {
	ops := &sumdbOps{
		ctx: ctx, src: s, cfg: cfg, progress: env.progress,
		cache: filepath.Join(env.cacheDir, "sumdb"),
	}
	c := sumdb.NewClient(ops)
	lines, err := c.Lookup(mv.Path, mv.Version)
	if ops.securityErr != "" {
		return nil, fmt.Errorf("%w\n%s", sumdb.ErrSecurity, ops.securityErr)
	}
	if ops.stateErr != nil {
		// The client flattens errors into text; this one is returned as
		// it is, for errors.Is.
		return nil, ops.stateErr
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	return lines, nil
}

// sumdbOps implements sumdb.ClientOps: remote reads go through the proxies'
// /sumdb/<name>/ passthrough (or the database itself when no proxy serves
// it, like the go command), and the cache and latest signed tree live under
// <cacheDir>/sumdb.
type sumdbOps struct {
	ctx      context.Context
	src      *moduleSource
	cfg      *sumdbCfg
	cache    string
	progress *progress.Reporter

	baseOnce sync.Once
	base     string
	baseErr  error

	mu          sync.Mutex
	securityErr string
	stateErr    error // the kept tree head could not be read
}

func (o *sumdbOps) initBase() {
	if o.cfg.fixed {
		o.base = o.cfg.direct
		return
	}
	err := o.src.tryProxies(o.ctx, func(proxy string) error {
		base := joinURL(proxy, "sumdb/"+o.cfg.name)
		if _, err := get(o.ctx, o.src.client, base+"/supported", 1<<10); err != nil {
			return err
		}
		o.base = base
		return nil
	})
	if o.base != "" {
		return
	}
	// Every proxy said "not found" or the list reached direct/off: go to the
	// database itself, as the go command does.
	if err == nil || errors.Is(err, fs.ErrNotExist) || isProxyStop(err) {
		o.base = o.cfg.direct
		return
	}
	o.baseErr = err
}

func isProxyStop(err error) bool {
	var ps *proxyStopError
	return errors.As(err, &ps)
}

func (o *sumdbOps) ReadRemote(p string) ([]byte, error) {
	o.baseOnce.Do(o.initBase)
	if o.baseErr != nil {
		return nil, o.baseErr
	}
	return get(o.ctx, o.src.client, joinURL(o.base, p), 16<<20)
}

// cachePath maps a file name the sumdb client uses ("sum.golang.org/latest",
// "sum.golang.org/tile/8/0/x001/234", "sum.golang.org/lookup/mod@v") into
// the cache directory, refusing anything that could escape it.
func (o *sumdbOps) cachePath(file string) (string, error) {
	if file == "" || path.Clean(file) != file || path.IsAbs(file) || strings.HasPrefix(file, "../") ||
		file == ".." || strings.Contains(file, `\`) || strings.Contains(file, ":") {
		return "", fmt.Errorf("unexpected sumdb file name %q", file)
	}
	return filepath.Join(o.cache, filepath.FromSlash(file)), nil
}

func (o *sumdbOps) ReadConfig(file string) ([]byte, error) {
	if file == "key" {
		return []byte(o.cfg.key), nil
	}
	p, err := o.cachePath(file)
	if err != nil {
		return nil, err
	}
	b, err := readSmall(p, 1<<20)
	if errors.Is(err, fs.ErrNotExist) {
		return []byte{}, nil // start from the empty tree
	} else if err != nil {
		o.stateErr = fmt.Errorf("reading %s: %w", p, err)
		return nil, o.stateErr
	}
	if len(b) == 0 {
		// The client never writes an empty tree head: an empty file is
		// damage, and taking it for "none seen yet" would trust any tree.
		o.stateErr = fmt.Errorf("%w: %s: the checksum database's tree head is empty; delete the file to trust the checksum database afresh", ErrCorrupt, p)
		return nil, o.stateErr
	}
	return b, nil
}

var sumdbConfigMu sync.Mutex

func (o *sumdbOps) WriteConfig(file string, old, new []byte) error {
	if file == "key" {
		return errors.New("cannot write key")
	}
	p, err := o.cachePath(file)
	if err != nil {
		return err
	}
	sumdbConfigMu.Lock()
	defer sumdbConfigMu.Unlock()
	cur, err := readSmall(p, 1<<20)
	if errors.Is(err, fs.ErrNotExist) {
		cur, err = []byte{}, nil
	}
	if err != nil {
		return err
	}
	if !bytes.Equal(cur, old) {
		return sumdb.ErrWriteConflict
	}
	return writeFileAtomic(p, new)
}

func (o *sumdbOps) ReadCache(file string) ([]byte, error) {
	p, err := o.cachePath(file)
	if err != nil {
		return nil, err
	}
	return readSmall(p, 16<<20)
}

func (o *sumdbOps) WriteCache(file string, data []byte) {
	p, err := o.cachePath(file)
	if err != nil {
		return
	}
	_ = writeFileAtomic(p, data) // a cache: failure only costs a later download
}

func (o *sumdbOps) Log(msg string) { o.progress.Printf("%s", msg) }

func (o *sumdbOps) SecurityError(msg string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.securityErr = msg
}

// writeFileAtomic writes p through a temporary file and a rename, readable
// only by its owner as before.
func writeFileAtomic(p string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return atomicfile.Write(p, data, 0o600)
}
