package scan

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vexloom/vexloom/internal/atomicfile"
)

// Tracked releases are commits of one branch that differ little: when the
// database moves, each needs the same delta analysis of its own content.
// Where their analysed code is the same (digest.go), the analysis is the
// same, so the delta keeps what it computes under the digest of the
// analysed code and the entries analysed: the list of the build's
// packages, and the engine's output at each level. The next release with
// the same analysed code takes them instead of running the engine.

// Share keeps a delta's analyses by the analysed code, for the releases
// that follow.
type Share struct {
	// Cache holds the analyses (its shared cache too, for outputs).
	Cache *Cache
	// Key is the module's cache key: the engine, Go, the patterns, tags
	// and build environment of the analysis. Its content, database and
	// version are left out: the engine sees none of them.
	Key CacheKey
	// Digest returns the digest of the module's analysed code.
	Digest func(ctx context.Context) (string, error)
	// Warn reports an analysis kept that cannot be used (it is computed
	// again and replaced).
	Warn func(format string, args ...any)

	digest string
}

// analysed returns the digest of the analysed code, computed once.
func (s *Share) analysed(ctx context.Context) (string, error) {
	if s.digest == "" {
		d, err := s.Digest(ctx)
		if err != nil {
			return "", err
		}
		s.digest = d
	}
	return s.digest, nil
}

// key is the key of an analysis of the analysed code: what is analysed
// ("packages", or a level and the entries, with their digests).
func (s *Share) key(ctx context.Context, what string) (CacheKey, error) {
	d, err := s.analysed(ctx)
	if err != nil {
		return CacheKey{}, err
	}
	k := s.Key
	k.ContentHash = "analysed " + d
	sum := sha256.Sum256([]byte(what))
	k.Database = "delta " + hex.EncodeToString(sum[:])
	if len(k.Patterns) == 0 {
		// What the engine is given for none (Run).
		k.Patterns = []string{"./..."}
	}
	return k, nil
}

func (s *Share) warn(err error) {
	if s.Warn != nil {
		s.Warn("%v; analysing again", err)
	}
}

// output returns the engine's output kept for level and entries (id →
// digest), or runs run and keeps what it returns. shared says it was kept.
func (s *Share) output(ctx context.Context, level string, ids []string, entries map[string]string, run func() (*Output, error)) (out *Output, shared bool, err error) {
	var what strings.Builder
	fmt.Fprintf(&what, "output %s\n", level)
	for _, id := range slices.Sorted(slices.Values(ids)) {
		fmt.Fprintf(&what, "%s %s\n", id, entries[id])
	}
	k, err := s.key(ctx, what.String())
	if err != nil {
		return nil, false, err
	}
	out, ok, err := s.Cache.Get(k)
	if err != nil {
		s.warn(err)
	}
	if ok {
		return out, true, nil
	}
	if out, err = run(); err != nil {
		return nil, false, err
	}
	if err := s.Cache.Put(k, out); err != nil && s.Warn != nil {
		s.Warn("warning: %v", err)
	}
	return out, false, nil
}

// packages returns the package list kept for the analysed code, or runs
// list and keeps what it returns.
func (s *Share) packages(ctx context.Context, list func(context.Context) ([]string, error)) ([]string, bool, error) {
	k, err := s.key(ctx, "packages\n")
	if err != nil {
		return nil, false, err
	}
	pkgs, ok, err := s.Cache.getPackages(k)
	if err != nil {
		s.warn(err)
	}
	if ok {
		return pkgs, true, nil
	}
	if pkgs, err = list(ctx); err != nil {
		return nil, false, err
	}
	if err := s.Cache.putPackages(k, pkgs); err != nil && s.Warn != nil {
		s.Warn("warning: %v", err)
	}
	return pkgs, false, nil
}

// packagesEntry is the file of a kept package list.
type packagesEntry struct {
	Format   string   `json:"format"`
	Key      CacheKey `json:"key"`
	Digest   string   `json:"digest"` // sha256:<hex> of the list, one per line
	Packages []string `json:"packages"`
}

func packagesDigest(pkgs []string) string {
	sum := sha256.Sum256([]byte(strings.Join(pkgs, "\n")))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func (c *Cache) packagesPath(k CacheKey) string {
	id := k.ID()
	return filepath.Join(c.Dir, "packages", id[:2], id+".json")
}

// getPackages returns the package list kept under k. A missing one is a
// miss; one that cannot be used is an error matching ErrCacheCorrupt.
func (c *Cache) getPackages(k CacheKey) ([]string, bool, error) {
	if c == nil || c.Dir == "" {
		return nil, false, nil
	}
	p := c.packagesPath(k)
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	} else if err != nil {
		return nil, false, fmt.Errorf("%w: %w", ErrCacheCorrupt, err)
	}
	bad := func(why string) error { return fmt.Errorf("%w: %s: %s", ErrCacheCorrupt, p, why) }
	var e packagesEntry
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, false, bad(err.Error())
	}
	if e.Format != cacheFormat || e.Key.ID() != k.ID() {
		return nil, false, bad("not the entry of its key")
	}
	if e.Packages == nil || e.Digest != packagesDigest(e.Packages) {
		return nil, false, bad("the package list does not match its digest")
	}
	return e.Packages, true, nil
}

// putPackages keeps pkgs under k, written whole or not at all.
func (c *Cache) putPackages(k CacheKey, pkgs []string) error {
	if c == nil || c.Dir == "" {
		return nil
	}
	if pkgs == nil {
		pkgs = []string{}
	}
	p := c.packagesPath(k)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	b, err := json.Marshal(packagesEntry{Format: cacheFormat, Key: k, Digest: packagesDigest(pkgs), Packages: pkgs})
	if err != nil {
		return err
	}
	if err := atomicfile.Write(p, b, 0o600); err != nil {
		return fmt.Errorf("writing scan cache: %w", err)
	}
	return nil
}
