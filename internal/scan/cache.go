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
	"time"

	"github.com/vexloom/vexloom/internal/atomicfile"
)

// cacheFormat changes whenever the cached form of a result changes.
const cacheFormat = "vexloom-scan-cache/2"

// ErrCacheCorrupt is returned by Cache.Get for an entry that exists but
// cannot be used: unreadable, cut short, not an entry, or not the entry of
// its key.
var ErrCacheCorrupt = errors.New("scan cache entry is corrupt")

// Cache keeps engine outputs by key. Entries are written whole (temporary
// file then rename) so a killed run never leaves a partial one, and carry
// the digest of their output, so one damaged since is never read as a
// result (least of all as one with no findings).
type Cache struct {
	Dir string
	// Shared, when set, is a cache that runners on other machines share
	// (the project's store on a database server): an output one runner
	// computed is not computed again by another. It is read after Dir and
	// written with it.
	Shared SharedCache
}

// SharedCache keeps cache entries by the ID of their key.
type SharedCache interface {
	// ScanOutput returns the entry stored under id; found is false when
	// there is none.
	ScanOutput(ctx context.Context, id string) (body []byte, found bool, err error)
	// PutScanOutput stores an entry under id; storing one that is there
	// already does nothing.
	PutScanOutput(ctx context.Context, id string, body []byte) error
}

// sharedTimeout bounds a shared-cache call.
const sharedTimeout = time.Minute

// CacheKey is everything an engine output depends on.
type CacheKey struct {
	ContentHash string   `json:"content_hash"`
	Database    string   `json:"database"`
	Tool        string   `json:"tool"`
	Engine      string   `json:"engine"`
	GoVersion   string   `json:"go_version"`
	Patterns    []string `json:"patterns,omitempty"`
	Tags        []string `json:"tags,omitempty"`
	BuildEnv    []string `json:"build_env,omitempty"`
	InstalledGo string   `json:"installed_go,omitempty"`
	ModulePath  string   `json:"module_path"`
}

// ID returns the key's digest.
func (k CacheKey) ID() string {
	b, _ := json.Marshal(struct {
		Format string `json:"format"`
		CacheKey
	}{cacheFormat, k})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func (c *Cache) path(k CacheKey) string {
	id := k.ID()
	return filepath.Join(c.Dir, id[:2], id+".json")
}

// cacheEntry is the file of one entry.
type cacheEntry struct {
	Format string          `json:"format"`
	Key    CacheKey        `json:"key"`
	Digest string          `json:"digest"` // sha256:<hex> of Output
	Output json.RawMessage `json:"output"`
}

// Get returns the cached output for k. A missing entry is a miss (nil,
// false, nil); an entry that exists but cannot be used is an error
// matching ErrCacheCorrupt that names its file: the caller reports it and
// scans again.
func (c *Cache) Get(k CacheKey) (*Output, bool, error) {
	if c == nil || c.Dir == "" {
		return nil, false, nil
	}
	p := c.path(k)
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) && c.Shared != nil {
		// Another runner sharing the store may have scanned it. An
		// unreachable shared cache is a miss: the scan runs here.
		ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
		defer cancel()
		var found bool
		p = "the store's scan output " + k.ID()
		if b, found, err = c.Shared.ScanOutput(ctx, k.ID()); err != nil || !found {
			return nil, false, nil
		}
	} else if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	} else if err != nil {
		return nil, false, fmt.Errorf("%w: %w", ErrCacheCorrupt, err)
	}
	bad := func(why string) error { return fmt.Errorf("%w: %s: %s", ErrCacheCorrupt, p, why) }
	var entry cacheEntry
	if err := json.Unmarshal(b, &entry); err != nil {
		return nil, false, bad(err.Error())
	}
	if entry.Format != cacheFormat || entry.Key.ID() != k.ID() {
		return nil, false, bad("not the entry of its key")
	}
	if sum := sha256.Sum256(entry.Output); entry.Digest != "sha256:"+hex.EncodeToString(sum[:]) {
		return nil, false, bad("the output does not match its digest")
	}
	var out *Output
	if err := json.Unmarshal(entry.Output, &out); err != nil {
		return nil, false, bad(err.Error())
	}
	if out == nil {
		return nil, false, bad("no output")
	}
	return out, true, nil
}

// Put stores out under k.
func (c *Cache) Put(k CacheKey, out *Output) error {
	if c == nil || c.Dir == "" {
		return nil
	}
	if out == nil {
		return errors.New("writing scan cache: no output")
	}
	p := c.path(k)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	raw, err := json.Marshal(out)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(raw)
	b, err := json.Marshal(cacheEntry{Format: cacheFormat, Key: k, Digest: "sha256:" + hex.EncodeToString(sum[:]), Output: raw})
	if err != nil {
		return err
	}
	if c.Shared != nil {
		ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
		defer cancel()
		if err := c.Shared.PutScanOutput(ctx, k.ID(), b); err != nil {
			return fmt.Errorf("sharing a scan output: %w", err)
		}
	}
	if err := atomicfile.Write(p, b, 0o600); err != nil {
		return fmt.Errorf("writing scan cache: %w", err)
	}
	return nil
}

// Clear removes every cached output.
func (c *Cache) Clear() error {
	if c == nil || c.Dir == "" {
		return nil
	}
	err := os.RemoveAll(c.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
