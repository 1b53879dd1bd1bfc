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
)

// cacheFormat changes whenever the cached form of a result changes.
const cacheFormat = "vexloom-scan-cache/1"

// Cache keeps engine outputs by key. Entries are written whole (temporary
// file then rename) so a killed run never leaves a partial one.
type Cache struct {
	Dir string
	// Shared, when set, is a cache that runners on other machines share
	// (the project's store on a database server): an output one runner
	// computed is not computed again by another. It is read after Dir and
	// written with it.
	Shared SharedCache
}

// SharedCache keeps engine outputs by the ID of their key.
type SharedCache interface {
	// ScanOutput returns the output stored under id; found is false when
	// there is none.
	ScanOutput(ctx context.Context, id string) (body []byte, found bool, err error)
	// PutScanOutput stores an output under id; storing one that is there
	// already does nothing.
	PutScanOutput(ctx context.Context, id string, body []byte) error
}

// sharedTimeout bounds a shared-cache call: a slow cache is a miss.
const sharedTimeout = time.Minute

// CacheKey is everything an engine output depends on.
type CacheKey struct {
	ContentHash   string   `json:"content_hash"`
	Database      string   `json:"database"`
	Tool          string   `json:"tool"`
	Engine        string   `json:"engine"`
	GoVersion     string   `json:"go_version"`
	Patterns      []string `json:"patterns,omitempty"`
	Tags          []string `json:"tags,omitempty"`
	BuildEnv      []string `json:"build_env,omitempty"`
	InstalledGo   string   `json:"installed_go,omitempty"`
	ModulePath    string   `json:"module_path"`
	ModuleVersion string   `json:"module_version,omitempty"`
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

// Get returns the cached output for k. A missing, unreadable or corrupt
// entry is a miss.
func (c *Cache) Get(k CacheKey) (*Output, bool) {
	if c == nil || c.Dir == "" {
		return nil, false
	}
	b, err := os.ReadFile(c.path(k))
	if err != nil {
		if c.Shared == nil {
			return nil, false
		}
		ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
		defer cancel()
		var found bool
		if b, found, err = c.Shared.ScanOutput(ctx, k.ID()); err != nil || !found {
			return nil, false
		}
	}
	var entry struct {
		Key    CacheKey `json:"key"`
		Output *Output  `json:"output"`
	}
	if err := json.Unmarshal(b, &entry); err != nil || entry.Output == nil || entry.Key.ID() != k.ID() {
		return nil, false
	}
	return entry.Output, true
}

// Put stores out under k.
func (c *Cache) Put(k CacheKey, out *Output) error {
	if c == nil || c.Dir == "" {
		return nil
	}
	p := c.path(k)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	b, err := json.Marshal(struct {
		Key    CacheKey `json:"key"`
		Output *Output  `json:"output"`
	}{k, out})
	if err != nil {
		return err
	}
	if c.Shared != nil {
		ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
		defer cancel()
		if err := c.Shared.PutScanOutput(ctx, k.ID(), b); err != nil {
			return fmt.Errorf("sharing a scan result: %w", err)
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("writing scan cache: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing scan cache: %w", err)
	}
	return os.Rename(tmp.Name(), p)
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
