package scan

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"

	"github.com/vexloom/vexloom/internal/buildinfo"
	"github.com/vexloom/vexloom/internal/progress"
	"github.com/vexloom/vexloom/internal/source"
)

// Database identifies the vulnerability database a scan used.
type Database struct {
	// URL is what the engine reads (file://...).
	URL string `json:"-"`
	// Source and Version say where the data came from.
	Source  string `json:"source"`
	Version string `json:"version"`
	// Digest identifies the database content exactly.
	Digest string `json:"digest"`
	// Modified is the newest entry's modification time.
	Modified time.Time `json:"modified"`
}

// Options configure a Scanner.
type Options struct {
	DB       Database
	Cache    *Cache
	Progress *progress.Reporter
	// Env is the go command's environment; nil means os.Environ().
	Env []string
	// GoVersion overrides the Go version of every module (from config).
	GoVersion string
	// Patterns are the package patterns per module (default ./...).
	Patterns []string
	// Tags are build tags.
	Tags []string
	// Modules restricts the scan to these modules, by path or directory.
	Modules []string
	// NoDelta scans a module in full when the database changed, instead of
	// analysing only the changed entries (delta.go).
	NoDelta bool
}

// Scanner scans branches and working trees module by module.
type Scanner struct {
	opts Options

	goOnce    sync.Once
	installed string
	goErr     error

	entriesOnce sync.Once
	dbEntries   map[string]string
}

// NewScanner returns a Scanner.
func NewScanner(opts Options) *Scanner { return &Scanner{opts: opts} }

// Target is one tree that was scanned: a branch at a commit, a commit, or a
// working tree.
type Target struct {
	Repository string     `json:"repository,omitempty"`
	Branch     string     `json:"branch,omitempty"`
	Commit     string     `json:"commit,omitempty"`
	CommitTime *time.Time `json:"commit_time,omitempty"`
	Tags       []string   `json:"tags,omitempty"`
	// Dir is set for a working tree scanned as it is on disk.
	Dir     string         `json:"dir,omitempty"`
	Modules []ModuleResult `json:"modules"`
}

// Name is how progress and tables name the target.
func (t *Target) Name() string {
	switch {
	case t.Branch != "":
		return t.Branch + "@" + shortHash(t.Commit)
	case t.Commit != "":
		return shortHash(t.Commit)
	}
	return t.Dir
}

// ModuleResult is the scan of one module of a target.
type ModuleResult struct {
	Path        string           `json:"path"`
	Dir         string           `json:"dir"`
	Version     string           `json:"version,omitempty"`
	GoVersion   source.GoVersion `json:"go_version"`
	ContentHash string           `json:"content_hash,omitempty"`
	// Error says why the module could not be scanned.
	Error    string    `json:"error,omitempty"`
	Findings []Finding `json:"findings"`
	// Build is the module list of the analysed build.
	Build []ModuleVersion `json:"-"`
	// Vulnerabilities describe the findings' IDs.
	Vulnerabilities []Vulnerability `json:"-"`
	// Cached says the result came from the cache.
	Cached bool `json:"-"`
	// Elapsed is how long the module took.
	Elapsed time.Duration `json:"-"`
}

// Failed reports whether any module of the target could not be scanned.
func (t *Target) Failed() []ModuleResult {
	var out []ModuleResult
	for _, m := range t.Modules {
		if m.Error != "" {
			out = append(out, m)
		}
	}
	return out
}

// ErrIncomplete says a scan did not complete: a module could not be
// scanned. A scan that did not complete is not an empty scan; what it did
// not find may still be there.
var ErrIncomplete = errors.New("scan did not complete")

// Incomplete returns an error wrapping ErrIncomplete that names the target
// and each module that could not be scanned, or nil when every module was
// scanned.
func (t *Target) Incomplete() error {
	failed := t.Failed()
	if len(failed) == 0 {
		return nil
	}
	parts := make([]string, 0, len(failed))
	for _, m := range failed {
		parts = append(parts, "module "+m.Name()+": "+firstLine(m.Error))
	}
	return fmt.Errorf("%w: %s: %s", ErrIncomplete, t.Name(), strings.Join(parts, "; "))
}

// Name is how errors name the module: its path, else (a go.mod that does
// not parse has none) its directory.
func (m ModuleResult) Name() string {
	if m.Path != "" {
		return m.Path
	}
	if m.Dir == "" || m.Dir == "." {
		return "in the repository's root directory"
	}
	return "in " + m.Dir
}

// ScanTree scans the working tree at dir as it is on disk.
func (s *Scanner) ScanTree(ctx context.Context, dir string) (*Target, error) {
	tree, err := source.OpenTree(dir)
	if err != nil {
		return nil, err
	}
	mods, err := tree.Modules()
	if err != nil {
		return nil, err
	}
	mods, err = s.filter(mods)
	if err != nil {
		return nil, err
	}
	t := &Target{Dir: tree.Root}
	s.opts.Progress.Printf("scanning %s (%d %s)", tree.Root, len(mods), plural(len(mods), "module"))
	for i, m := range mods {
		// An interrupted scan is an error, never a shorter result.
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		res := ModuleResult{Path: m.Path, Dir: m.Dir}
		if m.Err != nil {
			res.Error = m.Err.Error()
			s.opts.Progress.Printf("  [%d/%d] %s: %s", i+1, len(mods), m.Dir, res.Error)
			t.Modules = append(t.Modules, res)
			continue
		}
		hash, err := tree.ContentHash(ctx, m, mods)
		if err != nil {
			return nil, fmt.Errorf("hashing module %s: %w", m.Dir, err)
		}
		res.ContentHash = hash
		dir := tree.Root
		if m.Dir != "." {
			dir = tree.Root + "/" + m.Dir
		}
		if err := s.scanModule(ctx, &res, m, tree.ReadFile, func() (string, error) { return dir, nil }, i, len(mods)); err != nil {
			return nil, err
		}
		t.Modules = append(t.Modules, res)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return t, nil
}

// ScanCommit scans the modules of repo at commit; branch names the branch
// the commit was taken from ("" for a bare commit or tag).
func (s *Scanner) ScanCommit(ctx context.Context, repo *source.Repository, branch string, commit source.Commit) (*Target, error) {
	mods, err := repo.Modules(ctx, commit.Hash)
	if err != nil {
		return nil, err
	}
	mods, err = s.filter(mods)
	if err != nil {
		return nil, err
	}
	ct := commit.Time
	t := &Target{Repository: repo.Spec, Branch: branch, Commit: commit.Hash, CommitTime: &ct}
	if tags, err := repo.Tags(ctx, commit.Hash); err == nil {
		t.Tags = tags
	}
	merged, _ := repo.MergedTags(ctx, commit.Hash)
	s.opts.Progress.Printf("scanning %s (%d %s)", t.Name(), len(mods), plural(len(mods), "module"))

	var wt *source.Worktree
	defer func() { _ = wt.Close() }()
	checkout := func() (string, error) {
		if wt == nil {
			s.opts.Progress.Printf("  checking out %s", shortHash(commit.Hash))
			w, err := repo.Checkout(ctx, commit.Hash)
			if err != nil {
				return "", err
			}
			wt = w
		}
		return wt.Dir, nil
	}
	read := repo.FileReaderAt(ctx, commit.Hash)
	for i, m := range mods {
		// An interrupted scan is an error, never a shorter result.
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		res := ModuleResult{Path: m.Path, Dir: m.Dir}
		if m.Err != nil {
			res.Error = m.Err.Error()
			s.opts.Progress.Printf("  [%d/%d] %s: %s", i+1, len(mods), m.Dir, res.Error)
			t.Modules = append(t.Modules, res)
			continue
		}
		res.Version = ModuleVersionAt(m, t.Tags, merged, commit)
		hash, err := repo.ContentHash(ctx, commit.Hash, m)
		if err != nil {
			return nil, fmt.Errorf("hashing module %s: %w", m.Dir, err)
		}
		res.ContentHash = hash
		moduleDir := func() (string, error) {
			root, err := checkout()
			if err != nil {
				return "", err
			}
			if m.Dir == "." {
				return root, nil
			}
			return root + "/" + m.Dir, nil
		}
		if err := s.scanModule(ctx, &res, m, read, moduleDir, i, len(mods)); err != nil {
			return nil, err
		}
		t.Modules = append(t.Modules, res)
	}
	if err := wt.Close(); err != nil {
		s.opts.Progress.Printf("  warning: removing worktree: %v", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return t, nil
}

// scanModule fills res from the cache or by running the engine. Errors that
// belong to the module are recorded in res; only cancellation and local
// failures (cache, checkout) are returned.
func (s *Scanner) scanModule(ctx context.Context, res *ModuleResult, m source.Module, read source.FileReader, dir func() (string, error), i, n int) error {
	start := time.Now()
	installed, err := s.installedGo()
	if err != nil {
		return err
	}
	gv, err := source.ResolveGoVersion(m, s.opts.GoVersion, read, installed)
	if err != nil {
		res.Error = err.Error()
		s.opts.Progress.Printf("  [%d/%d] %s: %s", i+1, n, m.Path, res.Error)
		return nil
	}
	res.GoVersion = gv
	key := s.cacheKey(res, installed)
	out, ok, err := s.opts.Cache.Get(key)
	if err != nil {
		// A damaged entry is reported and the module scanned again (the
		// new result replaces it); it never stands for a result.
		s.opts.Progress.Printf("  warning: %v; scanning %s again", err, m.Path)
	}
	if ok {
		s.apply(res, out)
		res.Cached = true
		res.Elapsed = time.Since(start)
		s.opts.Progress.Printf("  [%d/%d] %s: cached, %s", i+1, n, m.Path, summarize(res.Findings))
		return nil
	}
	if out, st, imports, ok, err := s.delta(ctx, key, res, m, dir, gv.Version, i, n); err != nil {
		return err
	} else if ok {
		if err := s.opts.Cache.Put(key, out); err != nil {
			s.opts.Progress.Printf("  warning: %v", err)
		}
		s.recordBase(key, out, imports, st.Analysed)
		s.apply(res, out)
		res.Elapsed = time.Since(start)
		return nil
	}
	d, err := dir()
	if err != nil {
		return err
	}
	s.opts.Progress.Printf("  [%d/%d] %s (%s) with %s", i+1, n, m.Path, m.Dir, gv)
	out, err = Run(ctx, Request{
		Dir:       d,
		DB:        s.opts.DB.URL,
		GoVersion: gv.Version,
		Patterns:  s.opts.Patterns,
		Tags:      s.opts.Tags,
		Env:       s.opts.Env,
		Progress:  s.opts.Progress,
	})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		res.Error = err.Error()
		s.opts.Progress.Printf("  [%d/%d] %s: %s", i+1, n, m.Path, firstLine(res.Error))
		return nil
	}
	if err := s.opts.Cache.Put(key, out); err != nil {
		s.opts.Progress.Printf("  warning: %v", err)
	}
	// The analysed code's digest, while the checkout is there: a delta
	// of this content finds by it what releases with the same analysed
	// code computed, without checking it out again.
	var analysed string
	if s.opts.Cache != nil && s.opts.Cache.Dir != "" {
		if analysed, err = moduleDigest(ctx, d, m); err != nil {
			s.opts.Progress.Printf("  warning: %v", err)
			analysed = ""
		}
	}
	s.recordBase(key, out, nil, analysed)
	s.apply(res, out)
	res.Elapsed = time.Since(start)
	s.opts.Progress.Printf("  [%d/%d] %s: %s in %s", i+1, n, m.Path, summarize(res.Findings), res.Elapsed.Round(100*time.Millisecond))
	return nil
}

func (s *Scanner) apply(res *ModuleResult, out *Output) {
	res.Findings = out.Findings
	res.Build = out.Modules
	res.Vulnerabilities = out.Vulnerabilities
	if res.Findings == nil {
		res.Findings = []Finding{}
	}
}

func (s *Scanner) cacheKey(res *ModuleResult, installed string) CacheKey {
	v := buildinfo.Get()
	env := s.opts.Env
	if env == nil {
		env = os.Environ()
	}
	var buildEnv []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GOOS", "GOARCH", "GOFLAGS", "CGO_ENABLED", "GOEXPERIMENT", "GOWORK", "GOAMD64", "GOARM", "GOARM64":
			buildEnv = append(buildEnv, kv)
		}
	}
	slices.Sort(buildEnv)
	// No patterns means ./... to the engine: one key for both, so that a
	// project (whose patterns are explicit) and a plain scan of the same
	// content share the result.
	patterns := s.opts.Patterns
	if len(patterns) == 0 {
		patterns = []string{"./..."}
	}
	return CacheKey{
		ContentHash: res.ContentHash,
		Database:    s.opts.DB.Digest,
		Tool:        v.Tool + executableStamp(),
		Engine:      v.Engine,
		GoVersion:   res.GoVersion.Version,
		Patterns:    patterns,
		Tags:        s.opts.Tags,
		BuildEnv:    buildEnv,
		InstalledGo: installed,
		ModulePath:  res.Path,
		// Not the module's version: the engine never sees it (it reads
		// the checkout, where the main module has none), so a tag added
		// to a commit already scanned (a release tagged after its
		// branch's scan) does not make its result stale.
	}
}

var (
	stampOnce sync.Once
	stamp     string
)

// executableStamp distinguishes development builds, whose version string
// does not change with the code: their size and modification time do.
func executableStamp() string {
	stampOnce.Do(func() {
		if !strings.HasPrefix(buildinfo.Get().Tool, "devel") {
			return
		}
		exe, err := os.Executable()
		if err != nil {
			return
		}
		if fi, err := os.Stat(exe); err == nil {
			stamp = fmt.Sprintf("+%d.%d", fi.Size(), fi.ModTime().UnixNano())
		}
	})
	return stamp
}

// installedGo asks the go command for its version once per Scanner, and
// once per process for the same go binary (by path, size and time, so that
// a long-running server sees an upgrade), environment and working
// directory (PATH, GOROOT and GOTOOLCHAIN, and the go.mod whose toolchain
// line may switch toolchains).
func (s *Scanner) installedGo() (string, error) {
	s.goOnce.Do(func() {
		env := s.opts.Env
		if env == nil {
			env = os.Environ()
		}
		wd, _ := os.Getwd()
		key := goBinaryStamp(env) + "\x00" + wd + "\x00" + strings.Join(env, "\x00")
		goVersionsMu.Lock()
		v, ok := goVersions[key]
		goVersionsMu.Unlock()
		if ok {
			s.installed = v
			return
		}
		cmd := exec.Command("go", "env", "GOVERSION")
		if s.opts.Env != nil {
			cmd.Env = s.opts.Env
		}
		out, err := cmd.Output()
		if err != nil {
			s.goErr = fmt.Errorf("running the go command (needed to load packages): %w", err)
			return
		}
		s.installed = strings.TrimSpace(string(out))
		goVersionsMu.Lock()
		goVersions[key] = s.installed
		goVersionsMu.Unlock()
	})
	return s.installed, s.goErr
}

// goBinaryStamp names the go binary the environment's PATH finds, with its
// size and modification time ("" when there is none).
func goBinaryStamp(env []string) string {
	var pathList string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathList = v
		}
	}
	for _, dir := range filepath.SplitList(pathList) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, "go")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return fmt.Sprintf("%s %d %d", p, fi.Size(), fi.ModTime().UnixNano())
		}
	}
	return ""
}

// goVersions holds the go command's answers, by environment.
var (
	goVersionsMu sync.Mutex
	goVersions   = map[string]string{}
)

// filter keeps the configured modules (by path or directory).
func (s *Scanner) filter(mods []source.Module) ([]source.Module, error) {
	if len(s.opts.Modules) == 0 {
		return mods, nil
	}
	var out []source.Module
	for _, want := range s.opts.Modules {
		found := false
		for _, m := range mods {
			if m.Path == want || m.Dir == strings.TrimPrefix(path.Clean(want), "./") || (want == "." && m.Dir == ".") {
				found = true
				if !slices.ContainsFunc(out, func(o source.Module) bool { return o.Dir == m.Dir }) {
					out = append(out, m)
				}
			}
		}
		if !found {
			var have []string
			for _, m := range mods {
				have = append(have, m.Path)
			}
			return nil, fmt.Errorf("%w: module %q is not in the tree (modules: %s)", source.ErrNoModule, want, strings.Join(have, ", "))
		}
	}
	return out, nil
}

// ModuleVersionAt returns the version of module m at commit: the highest
// semver tag for the module at that commit (tags of a module in a
// subdirectory carry the directory as prefix), else the pseudo-version the
// go command would stamp, after the highest such tag among ancestors.
func ModuleVersionAt(m source.Module, tags, ancestors []string, commit source.Commit) string {
	prefix := ""
	if m.Dir != "." {
		prefix = m.Dir + "/"
	}
	_, major, _ := module.SplitPathVersion(m.Path)
	best := func(tags []string) string {
		best := ""
		for _, t := range tags {
			v, ok := strings.CutPrefix(t, prefix)
			if !ok || !semver.IsValid(v) || semver.Build(v) != "" {
				continue
			}
			if module.CheckPathMajor(v, major) != nil && !(major == "" && strings.HasSuffix(v, "+incompatible")) {
				continue
			}
			if best == "" || semver.Compare(v, best) > 0 {
				best = v
			}
		}
		return best
	}
	if v := best(tags); v != "" {
		return v
	}
	if len(commit.Hash) < 12 {
		return ""
	}
	// As the go command stamps a build: a pseudo-version after the
	// latest release tag among the commit's ancestors.
	return module.PseudoVersion(strings.TrimLeft(major, "/."), best(ancestors), commit.Time, commit.Hash[:12])
}

func summarize(fs []Finding) string {
	var n [4]int
	for _, f := range fs {
		if f.Level >= 0 && int(f.Level) < len(n) {
			n[f.Level]++
		}
	}
	return fmt.Sprintf("%d called, %d imported, %d required", n[LevelSymbol], n[LevelPackage], n[LevelModule])
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}
