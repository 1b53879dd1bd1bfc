package scan

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vexloom/vexloom/internal/atomicfile"
	"github.com/vexloom/vexloom/internal/digest"
	"github.com/vexloom/vexloom/internal/osv"
	"github.com/vexloom/vexloom/internal/source"
	"github.com/vexloom/vexloom/internal/vulndb"
)

// A module's content never changes under a commit, so its findings stay
// valid until the database changes, and then only the new, modified and
// removed entries matter. Beside each cached output the cache keeps a base
// for the module's content whatever the database: the output and the
// digest of every database entry it was computed against. When the
// database moves, the module is re-analysed against the changed entries
// alone and merged with the base.

// baseEntry is the last output for a module's content, with the database
// entries it was computed against.
type baseEntry struct {
	Database string            `json:"database"`
	Entries  map[string]string `json:"entries"`
	Output   *Output           `json:"output"`
	// Imports are the packages of the build, once a delta needed them.
	Imports []string `json:"imports,omitempty"`
	// Analysed is the digest of the content's analysed code (digest.go),
	// after the format of its rules, so that a delta finds what releases
	// with the same analysed code computed without a checkout.
	Analysed string `json:"analysed,omitempty"`
}

// analysed returns the digest of the analysed code the base records, if
// it was computed under the current rules.
func (e *baseEntry) analysed() string {
	d, ok := strings.CutPrefix(e.Analysed, analysisFormat+" ")
	if !ok {
		return ""
	}
	if dg, err := digest.ParseExact(d); err != nil || dg.Algorithm != "sha256" {
		return ""
	}
	return d
}

// baseKey is k without the database: the module's content and how it is
// analysed.
func baseKey(k CacheKey) CacheKey {
	k.Database = ""
	return k
}

func (c *Cache) basePath(k CacheKey) string {
	id := baseKey(k).ID()
	return filepath.Join(c.Dir, "base", id[:2], id+".json")
}

// getBase returns the base for k's content, if any.
func (c *Cache) getBase(k CacheKey) (*baseEntry, bool) {
	if c == nil || c.Dir == "" {
		return nil, false
	}
	b, err := os.ReadFile(c.basePath(k))
	if err != nil {
		return nil, false
	}
	var e baseEntry
	if err := json.Unmarshal(b, &e); err != nil || e.Output == nil || e.Entries == nil {
		return nil, false
	}
	return &e, true
}

// putBase records out as the base of k's content.
func (c *Cache) putBase(k CacheKey, entries map[string]string, out *Output, imports []string, analysed string) error {
	if c == nil || c.Dir == "" || entries == nil {
		return nil
	}
	p := c.basePath(k)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	e := baseEntry{Database: k.Database, Entries: entries, Output: out, Imports: imports}
	if analysed != "" {
		e.Analysed = analysisFormat + " " + analysed
	}
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return atomicfile.Write(p, b, 0o600)
}

// dbDir is the local directory of a file:// database URL.
func dbDir(u string) (string, bool) {
	p, err := url.Parse(u)
	if err != nil || p.Scheme != "file" {
		return "", false
	}
	return filepath.FromSlash(p.Path), true
}

// DeltaStats says what a delta analysis did.
type DeltaStats struct {
	// Changed and Removed count the database entries that differ from the
	// base's; Relevant those changed ones that affect a module of the
	// build at its version, which the engine analysed.
	Changed, Removed, Relevant int
	// Symbol and Module count the relevant entries analysed at symbol
	// level (a package of theirs is imported) and at module level (none
	// is: the module graph decides).
	Symbol, Module int
	// Analysed is the digest of the analysed code, when the delta needed
	// it; SharedPackages and Shared say what was taken from an earlier
	// release with the same analysed code (the package list, the levels).
	Analysed       string
	SharedPackages bool
	Shared         []string
}

// Engine runs the engine for a delta: at symbol or module level against a
// database URL, and lists the build's packages.
type Engine struct {
	Run     func(ctx context.Context, level, dbURL string) (*Output, error)
	Imports func(ctx context.Context) ([]string, error)
	// Share, when set, keeps the package list and the engine's outputs
	// by the analysed code, and takes them from there (share.go).
	Share *Share
}

// Delta computes the output of a module against the database in dir from
// base, its output against an earlier database, by analysing only the
// entries that changed: removed ones and changed ones leave the base, and
// the changed ones that affect a module of the build at its version are
// analysed by the engine (package level, then symbol level where their
// packages are imported) against a database holding only them. run runs
// the engine against a database URL.
func Delta(ctx context.Context, dir string, base *baseEntry, cur map[string]string, eng Engine) (*Output, []string, DeltaStats, error) {
	ch := vulndb.Diff(base.Entries, cur)
	st := DeltaStats{Changed: len(ch.Changed), Removed: len(ch.Removed)}
	if eng.Share != nil && eng.Share.digest == "" {
		eng.Share.digest = base.analysed()
	}
	drop := map[string]bool{}
	for _, id := range append(slices.Clone(ch.Changed), ch.Removed...) {
		drop[id] = true
	}
	build := map[string]string{}
	for _, m := range base.Output.Modules {
		build[m.Path] = m.Version
	}
	goVersion := base.Output.GoVersion
	var relevant []string
	entries := map[string]*osv.Entry{}
	for _, id := range ch.Changed {
		raw, err := os.ReadFile(filepath.Join(dir, "ID", id+".json"))
		if err != nil {
			return nil, nil, st, fmt.Errorf("reading entry %s: %w", id, err)
		}
		e, err := osv.Parse(raw)
		if err != nil {
			return nil, nil, st, fmt.Errorf("reading entry %s: %w", id, err)
		}
		if affectsBuild(e, build, goVersion) {
			relevant = append(relevant, id)
			entries[id] = e
		}
	}
	st.Relevant = len(relevant)
	// Package level first: an entry none of whose packages the build
	// imports can only be found at module level, which the module graph
	// alone decides; the others need the symbol-level analysis.
	imports := base.Imports
	var symbol, module []string
	if len(relevant) > 0 {
		if imports == nil {
			var err error
			if eng.Share != nil {
				imports, st.SharedPackages, err = eng.Share.packages(ctx, eng.Imports)
			} else {
				imports, err = eng.Imports(ctx)
			}
			if err != nil {
				return nil, nil, st, err
			}
		}
		imported := map[string]bool{}
		for _, p := range imports {
			imported[p] = true
		}
		for _, id := range relevant {
			if importsAny(entries[id], build, imported) {
				symbol = append(symbol, id)
			} else {
				module = append(module, id)
			}
		}
	}
	st.Symbol, st.Module = len(symbol), len(module)
	out := &Output{GoVersion: base.Output.GoVersion, DBLastModified: base.Output.DBLastModified, Modules: base.Output.Modules, Findings: []Finding{}}
	for _, f := range base.Output.Findings {
		if !drop[f.ID] {
			out.Findings = append(out.Findings, f)
		}
	}
	for _, v := range base.Output.Vulnerabilities {
		if drop[v.ID] {
			continue
		}
		// What the current database says about it (its modified time
		// may have moved without the entry changing).
		if raw, err := os.ReadFile(filepath.Join(dir, "ID", v.ID+".json")); err == nil {
			if e, err := osv.Parse(raw); err == nil {
				v = VulnerabilityFromOSV(e)
			}
		}
		out.Vulnerabilities = append(out.Vulnerabilities, v)
	}
	for _, part := range []struct {
		level string
		ids   []string
	}{{"module", module}, {"symbol", symbol}} {
		if len(part.ids) == 0 {
			continue
		}
		run := func() (*Output, error) {
			tmp, err := os.MkdirTemp("", "vexloom-delta-")
			if err != nil {
				return nil, err
			}
			defer os.RemoveAll(tmp)
			if err := vulndb.Subset(dir, tmp, part.ids); err != nil {
				return nil, err
			}
			return eng.Run(ctx, part.level, (&url.URL{Scheme: "file", Path: filepath.ToSlash(tmp)}).String())
		}
		var d *Output
		var err error
		if eng.Share != nil {
			var shared bool
			d, shared, err = eng.Share.output(ctx, part.level, part.ids, cur, run)
			if shared {
				st.Shared = append(st.Shared, part.level)
			}
		} else {
			d, err = run()
		}
		if err != nil {
			return nil, nil, st, err
		}
		out.Findings = append(out.Findings, d.Findings...)
		out.Vulnerabilities = append(out.Vulnerabilities, d.Vulnerabilities...)
	}
	if t, err := dbModified(dir); err == nil {
		out.DBLastModified = &t
	}
	SortFindings(out.Findings)
	slices.SortFunc(out.Vulnerabilities, func(a, b Vulnerability) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	if eng.Share != nil {
		st.Analysed = eng.Share.digest
	}
	if st.Analysed == "" {
		st.Analysed = base.analysed()
	}
	return out, imports, st, nil
}

// importsAny says whether the build imports a package the entry names in a
// module of the build (or the standard library). An entry naming no
// package is taken as imported.
func importsAny(e *osv.Entry, build map[string]string, imported map[string]bool) bool {
	for _, a := range e.Affected {
		if _, ok := build[a.Package.Name]; !ok && a.Package.Name != "stdlib" && a.Package.Name != "toolchain" {
			continue
		}
		if len(a.EcosystemSpecific.Imports) == 0 {
			return true
		}
		for _, imp := range a.EcosystemSpecific.Imports {
			if imported[imp.Path] {
				return true
			}
		}
	}
	return false
}

// affectsBuild says whether an entry affects a module of the build at its
// version. The standard library and the toolchain are taken as affected
// whenever the entry names them (the engine decides).
func affectsBuild(e *osv.Entry, build map[string]string, goVersion string) bool {
	for _, a := range e.Affected {
		switch a.Package.Name {
		case "stdlib", "toolchain":
			return true
		}
		v, ok := build[a.Package.Name]
		if !ok {
			continue
		}
		if v == "" || osv.Affects(a.Ranges, v) {
			return true
		}
	}
	return false
}

// dbModified reads a database's modification time as the engine reports it.
func dbModified(dir string) (time.Time, error) {
	b, err := os.ReadFile(filepath.Join(dir, "index", "db.json"))
	if err != nil {
		return time.Time{}, err
	}
	var m struct {
		Modified time.Time `json:"modified"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return time.Time{}, err
	}
	return m.Modified, nil
}

// entries returns the current database's entry digests, read once per
// scanner; nil when the database has no manifest (then no delta).
func (s *Scanner) entries() map[string]string {
	s.entriesOnce.Do(func() {
		if d, ok := dbDir(s.opts.DB.URL); ok {
			if e, err := vulndb.Entries(d); err == nil {
				s.dbEntries = e
			}
		}
	})
	return s.dbEntries
}

// delta answers a cache miss from the module's base when there is one for
// an earlier database: only the entries that changed are analysed. It
// reports false when there is no base, so the module is scanned in full.
func (s *Scanner) delta(ctx context.Context, key CacheKey, res *ModuleResult, m source.Module, dir func() (string, error), gv string, i, n int) (*Output, DeltaStats, []string, bool, error) {
	none := DeltaStats{}
	if s.opts.NoDelta {
		return nil, none, nil, false, nil
	}
	base, ok := s.opts.Cache.getBase(key)
	if !ok || base.Database == key.Database {
		return nil, none, nil, false, nil
	}
	cur := s.entries()
	if cur == nil {
		return nil, none, nil, false, nil
	}
	d, ok := dbDir(s.opts.DB.URL)
	if !ok {
		return nil, none, nil, false, nil
	}
	start := time.Now()
	out, imports, st, err := Delta(ctx, d, base, cur, Engine{
		Run: func(ctx context.Context, level, dbURL string) (*Output, error) {
			wd, err := dir()
			if err != nil {
				return nil, err
			}
			return Run(ctx, Request{Dir: wd, DB: dbURL, GoVersion: gv, Patterns: s.opts.Patterns, Tags: s.opts.Tags, Env: s.opts.Env, Progress: s.opts.Progress, Level: level})
		},
		Imports: func(ctx context.Context) ([]string, error) {
			wd, err := dir()
			if err != nil {
				return nil, err
			}
			return s.imports(ctx, wd)
		},
		Share: &Share{
			Cache: s.opts.Cache,
			Key:   key,
			Digest: func(ctx context.Context) (string, error) {
				wd, err := dir()
				if err != nil {
					return "", err
				}
				return moduleDigest(ctx, wd, m)
			},
			Warn: func(format string, args ...any) {
				s.opts.Progress.Printf("  [%d/%d] %s: "+format, append([]any{i + 1, n, res.Path}, args...)...)
			},
		},
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, none, nil, false, ctx.Err()
		}
		// The delta could not be computed: a full scan decides.
		s.opts.Progress.Printf("  [%d/%d] %s: delta analysis failed (%v); scanning in full", i+1, n, res.Path, firstLine(err.Error()))
		return nil, none, nil, false, nil
	}
	s.opts.Progress.Printf("  [%d/%d] %s: database changed in %d entries (%d removed), %d relevant (%d at symbol level, %d at module level); analysed in %s%s", i+1, n, res.Path,
		st.Changed, st.Removed, st.Relevant, st.Symbol, st.Module, time.Since(start).Round(100*time.Millisecond), sharedNote(st))
	return out, st, imports, true, nil
}

// moduleDigest is the digest of the analysed code of m, checked out at dir.
func moduleDigest(ctx context.Context, dir string, m source.Module) (string, error) {
	root, ok := moduleRoot(dir, m.Dir)
	if !ok {
		return "", fmt.Errorf("the module directory %s is not %s of its tree", dir, m.Dir)
	}
	return AnalysisDigest(ctx, root, append([]string{m.Dir}, m.LocalReplaces...))
}

// recordBase keeps out as the base of its module's content, with the
// digest of its analysed code when it is known.
func (s *Scanner) recordBase(key CacheKey, out *Output, imports []string, analysed string) {
	if err := s.opts.Cache.putBase(key, s.entries(), out, imports, analysed); err != nil {
		s.opts.Progress.Printf("  warning: %v", err)
	}
}

// imports lists the packages of the build of the module in dir (what the
// engine would load), standard library included.
func (s *Scanner) imports(ctx context.Context, dir string) ([]string, error) {
	args := []string{"list", "-deps", "-f", "{{.ImportPath}}"}
	if len(s.opts.Tags) > 0 {
		args = append(args, "-tags", strings.Join(s.opts.Tags, ","))
	}
	patterns := s.opts.Patterns
	if len(patterns) == 0 {
		patterns = []string{"./..."}
	}
	args = append(args, patterns...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	env := s.opts.Env
	if env == nil {
		env = os.Environ()
	}
	env = slices.Clone(env)
	if !hasEnv(env, "GOWORK") {
		env = append(env, "GOWORK=off")
	}
	cmd.Env = env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("listing the packages of %s: %w: %s", dir, err, firstLine(stderr.String()))
	}
	return strings.Fields(string(out)), nil
}

// sharedNote says what a delta took from an earlier release with the same
// analysed code.
func sharedNote(st DeltaStats) string {
	var what []string
	if st.SharedPackages {
		what = append(what, "package list")
	}
	for _, l := range st.Shared {
		what = append(what, l+" level")
	}
	if len(what) == 0 {
		return ""
	}
	d := st.Analysed
	if dg, err := digest.ParseExact(d); err == nil {
		d = dg.Hex[:12]
	}
	return fmt.Sprintf("; shared with an earlier analysis of the same analysed code %s: %s", d, strings.Join(what, ", "))
}
