package vulndb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/vexloom/vexloom/internal/osv"
	"github.com/vexloom/vexloom/internal/progress"
)

// UpdateOptions configure Update.
type UpdateOptions struct {
	Progress *progress.Reporter
	Now      func() time.Time // the clock for Meta.Updated; nil means time.Now
	Force    bool             // rebuild even if the source offers the version already built
}

// UpdateResult tells what Update did.
type UpdateResult struct {
	DB       *DB   // the current database after the update
	Changed  bool  // the database's content, version or source differs from before
	Previous *Meta // the database before the update; nil if there was none (or it was corrupt)
	Stats    Stats // what happened to the source's entries; zero when nothing was rebuilt
}

// lockPoll is how often Update retries a lock held by another process.
const lockPoll = 100 * time.Millisecond

// Update makes the database in cacheDir current with src. It does nothing
// when src still offers the version the current database was built from
// (unless opts.Force). Otherwise it builds a new generation and switches to
// it atomically; on any error or cancellation the previous database stays
// exactly as it was and the half-built generation is removed.
func Update(ctx context.Context, cacheDir string, src Source, opts UpdateOptions) (_ *UpdateResult, err error) {
	if src == nil {
		return nil, errors.New("no vulnerability database source")
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	pr := opts.Progress
	if cacheDir == "" {
		return nil, errors.New("no cache directory")
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return nil, err
	}
	root, err := filepath.Abs(filepath.Join(cacheDir, dbSubdir))
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}

	lock, err := lockFile(ctx, filepath.Join(root, lockName), pr)
	if err != nil {
		return nil, err
	}
	defer unlock(lock)
	removeStale(root, "", "")

	prev, err := Open(cacheDir)
	switch {
	case err == nil:
	case errors.Is(err, ErrNoDatabase):
		prev = nil
	case errors.Is(err, ErrCorrupt):
		pr.Printf("warning: %v; building a new database", err)
		prev = nil
	default:
		return nil, err
	}
	res := &UpdateResult{}
	if prev != nil {
		m := prev.Meta
		res.Previous = &m
	}

	pr.Printf("checking %s", src)
	v, err := src.Latest(ctx)
	if err != nil {
		return nil, err
	}
	if v.ID == "" {
		return nil, fmt.Errorf("%s offered no version", src)
	}
	if !opts.Force && prev != nil && prev.Meta.Version == v.ID && prev.Meta.Source == src.String() {
		pr.Printf("vulnerability database is up to date (%s)", v.ID)
		res.DB = prev
		return res, nil
	}

	tmp, err := os.MkdirTemp(root, tmpPrefix)
	if err != nil {
		return nil, err
	}
	installed := ""
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
			if installed != "" {
				os.RemoveAll(filepath.Join(root, installed))
			}
		}
	}()

	b, err := newBuilder(ctx, tmp, v.Time, pr)
	if err != nil {
		return nil, err
	}
	env := &fetchEnv{cacheDir: cacheDir, tmpDir: root, prev: prev, progress: pr, stats: &Stats{}}
	if rf, ok := src.(rawFetcher); ok {
		err = rf.fetchRaw(ctx, v, env, b.add)
	} else {
		err = src.Fetch(ctx, v, func(e *osv.Entry, raw []byte) error {
			name := ""
			if e != nil {
				name = e.ID + ".json"
				if raw == nil {
					var merr error
					if raw, merr = json.Marshal(e); merr != nil {
						return merr
					}
				}
			}
			return b.add(name, raw)
		})
	}
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return nil, err
	}
	meta, err := b.finish(Meta{
		Source:      src.String(),
		Kind:        src.Kind(),
		Version:     v.ID,
		VersionTime: v.Time.UTC(),
		Updated:     now().UTC(),
	})
	if err != nil {
		return nil, fmt.Errorf("building the database from %s: %w", src, err)
	}
	if err = ctx.Err(); err != nil {
		return nil, err
	}

	// Install: rename the finished generation into place, then switch the
	// pointer with an atomic rename. Past this point the update completes
	// even if ctx is cancelled.
	name, err := freeGenName(root, meta.Digest)
	if err != nil {
		return nil, err
	}
	if err = os.Rename(tmp, filepath.Join(root, name)); err != nil {
		return nil, err
	}
	installed = name
	if err = syncDir(root); err != nil {
		return nil, err
	}
	prevGen := ""
	if prev != nil {
		prevGen = filepath.Base(prev.Dir)
	}
	if err = writeFileAtomic(filepath.Join(root, pointerName), []byte(name+"\n")); err != nil {
		return nil, err
	}
	if err = syncDir(root); err != nil {
		return nil, err
	}
	// Older generations go; the one just replaced stays so a scan that
	// opened it while this update ran can finish.
	removeStale(root, name, prevGen)

	db, err := openGen(filepath.Join(root, name))
	if err != nil {
		installed = "" // it is current now: leave it for the user to see
		return nil, err
	}
	st := b.stats
	st.Skipped += env.stats.Skipped
	st.Fetched, st.Reused = env.stats.Fetched, env.stats.Reused
	res.DB = db
	res.Stats = st
	res.Changed = prev == nil || prev.Meta.Digest != meta.Digest || prev.Meta.Version != meta.Version || prev.Meta.Source != meta.Source
	pr.Printf("vulnerability database %s: %d entries, modified %s", v.ID, meta.Entries, meta.Modified.Format(time.RFC3339))
	return res, nil
}

// lockFile takes the exclusive update lock, waiting for another holder
// until ctx is done.
func lockFile(ctx context.Context, p string, pr *progress.Reporter) (*os.File, error) {
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	told := false
	for {
		ok, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", p, err)
		}
		if ok {
			return f, nil
		}
		if !told {
			pr.Printf("waiting for another vexloom to finish updating the vulnerability database")
			told = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(lockPoll):
		}
	}
}

// freeGenName returns gen-<first 12 hex digits of digest>, with a numeric
// suffix if that name is taken.
func freeGenName(root, digest string) (string, error) {
	hexd := strings.TrimPrefix(digest, "sha256:")
	if len(hexd) < 12 {
		return "", fmt.Errorf("bad digest %q", digest)
	}
	base := genPrefix + hexd[:12]
	for i := 0; i < 1000; i++ {
		name := base
		if i > 0 {
			name += "." + strconv.Itoa(i)
		}
		if _, err := os.Lstat(filepath.Join(root, name)); errors.Is(err, os.ErrNotExist) {
			return name, nil
		}
	}
	return "", fmt.Errorf("no free generation name for %s in %s", base, root)
}

// removeStale removes half-built directories, temporary pointer files and
// every generation except keep and keepToo. Called with the lock held.
func removeStale(root, keep, keepToo string) {
	ents, err := os.ReadDir(root)
	if err != nil {
		return
	}
	cur := ""
	if b, err := readSmall(filepath.Join(root, pointerName), 4096); err == nil {
		cur = strings.TrimSpace(string(b))
	}
	for _, e := range ents {
		n := e.Name()
		switch {
		case strings.HasPrefix(n, tmpPrefix), strings.HasPrefix(n, "."+pointerName+".tmp-"):
			os.RemoveAll(filepath.Join(root, n))
		case keep != "" && strings.HasPrefix(n, genPrefix) && n != keep && n != keepToo && n != cur:
			os.RemoveAll(filepath.Join(root, n))
		}
	}
}
