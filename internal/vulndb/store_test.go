package vulndb

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vexloom/vexloom/internal/osv"
	"github.com/vexloom/vexloom/internal/progress"
)

func fixtureSource(t testing.TB) Source {
	t.Helper()
	files := map[string][]byte{}
	for n, b := range readFixtures(t, "osv") {
		files[n], _ = setModified(b, t1)
	}
	return mustSource(t, "dir:"+writeDir(t, files))
}

func TestOpenNoDatabase(t *testing.T) {
	_, err := Open(t.TempDir())
	if !errors.Is(err, ErrNoDatabase) || !strings.Contains(err.Error(), "vexloom db update") {
		t.Errorf("Open(empty) = %v", err)
	}
	_, err = Open(filepath.Join(t.TempDir(), "does", "not", "exist"))
	if !errors.Is(err, ErrNoDatabase) {
		t.Errorf("Open(missing dir) = %v", err)
	}
}

func TestDefaultCacheDir(t *testing.T) {
	t.Setenv("VEXLOOM_CACHE", "/some/where")
	if d, err := DefaultCacheDir(); err != nil || d != "/some/where" {
		t.Errorf("DefaultCacheDir = %s, %v", d, err)
	}
	t.Setenv("VEXLOOM_CACHE", "")
	t.Setenv("XDG_CACHE_HOME", "/xdg")
	t.Setenv("HOME", "/home/u")
	if d, err := DefaultCacheDir(); err != nil || (d != "/xdg/vexloom" && !strings.HasSuffix(d, "vexloom")) {
		t.Errorf("DefaultCacheDir = %s, %v", d, err)
	}
}

// Each kind of damage is found by Open (index files, metadata, pointer) or
// by Verify and Entry (entries), as ErrCorrupt naming the file; and the
// next Update rebuilds.
func TestCorruption(t *testing.T) {
	src := fixtureSource(t)
	type damage struct {
		name  string
		file  string // relative to the generation, "" for the pointer
		apply func(p string) error
		open  bool // Open detects it (else only Verify)
	}
	truncate := func(p string) error {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(p, b[:len(b)/2], 0o644)
	}
	flip := func(p string) error {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		b[len(b)/2] ^= 1
		return os.WriteFile(p, b, 0o644)
	}
	for _, d := range []damage{
		{"truncated modules index", "index/modules.json", truncate, true},
		{"missing modules index", "index/modules.json", os.Remove, true},
		{"edited db index", "index/db.json", flip, true},
		{"missing db index", "index/db.json", os.Remove, true},
		{"truncated metadata", metaName, truncate, true},
		{"missing metadata", metaName, os.Remove, true},
		{"missing manifest", manifestName, os.Remove, true},
		{"garbage pointer", "", func(p string) error { return os.WriteFile(p, []byte("../../etc\n"), 0o644) }, true},
		{"pointer to nothing", "", func(p string) error { return os.WriteFile(p, []byte("gen-000000000000\n"), 0o644) }, true},
		{"edited entry", "ID/GO-2024-3333.json", flip, false},
		{"truncated entry", "ID/GO-2020-0017.json", truncate, false},
		{"missing entry", "ID/GO-2022-0956.json", os.Remove, false},
		{"extra entry", "ID/GO-2099-0001.json", func(p string) error { return os.WriteFile(p, []byte("{}"), 0o644) }, false},
		{"edited alias index", aliasesIndex, flip, false},
		{"edited manifest", manifestName, flip, false},
	} {
		t.Run(d.name, func(t *testing.T) {
			cache := t.TempDir()
			res, _ := update(t, cache, src, false)
			target := filepath.Join(res.DB.Dir, filepath.FromSlash(d.file))
			if d.file == "" {
				target = filepath.Join(cache, dbSubdir, pointerName)
			}
			if err := d.apply(target); err != nil {
				t.Fatal(err)
			}
			db, err := Open(cache)
			if d.open {
				if !isCorrupt(err, "") {
					t.Fatalf("Open = %v, want ErrCorrupt", err)
				}
				if d.file != "" && !strings.Contains(err.Error(), target) {
					t.Errorf("Open error does not name %s: %v", target, err)
				}
			} else {
				if err != nil {
					t.Fatalf("Open = %v; damage to %s should be left to Verify", err, d.file)
				}
				err = db.Verify()
				if !isCorrupt(err, target) {
					t.Errorf("Verify = %v, want ErrCorrupt naming %s", err, target)
				}
				if strings.HasPrefix(d.file, "ID/") && !strings.Contains(d.name, "extra") && !strings.Contains(d.name, "missing") {
					id := strings.TrimSuffix(strings.TrimPrefix(d.file, "ID/"), ".json")
					if _, err := db.Entry(id); !isCorrupt(err, target) {
						t.Errorf("Entry(%s) = %v, want ErrCorrupt", id, err)
					}
				}
				if d.file == aliasesIndex {
					if _, err := db.Resolve("CVE-2024-45338"); !isCorrupt(err, target) {
						t.Errorf("Resolve = %v, want ErrCorrupt", err)
					}
				}
			}
			// A plain update repairs a database Open rejects.
			if d.open {
				res2, _ := update(t, cache, src, false)
				if !res2.Changed || res2.Previous != nil {
					t.Errorf("repair: Changed=%v Previous=%v", res2.Changed, res2.Previous)
				}
				if err := res2.DB.Verify(); err != nil {
					t.Error(err)
				}
			} else {
				res2, _ := update(t, cache, src, true)
				if err := res2.DB.Verify(); err != nil {
					t.Error(err)
				}
			}
			checkNoLeftovers(t, cache)
		})
	}
}

// failingSource fails (or cancels) in the middle of its entries.
type failingSource struct {
	Source
	after  int
	err    error
	cancel context.CancelFunc
}

func (s *failingSource) Fetch(ctx context.Context, v Version, yield func(*osv.Entry, []byte) error) error {
	n := 0
	return s.Source.Fetch(ctx, v, func(e *osv.Entry, raw []byte) error {
		n++
		if n == s.after {
			if s.cancel != nil {
				s.cancel()
				return ctx.Err()
			}
			return s.err
		}
		return yield(e, raw)
	})
}

// Latest reports a new version so Update does not take the no-op path.
func (s *failingSource) Latest(ctx context.Context) (Version, error) {
	v, err := s.Source.Latest(ctx)
	v.ID += "-next"
	return v, err
}

func TestUpdateFailureKeepsPrevious(t *testing.T) {
	src := fixtureSource(t)
	cache := t.TempDir()
	first, _ := update(t, cache, src, false)
	before := listDir(t, cache)

	boom := errors.New("boom")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, fs := range []*failingSource{
		{Source: src, after: 3, err: boom},
		{Source: src, after: 5, cancel: cancel},
	} {
		c := context.Background()
		if fs.cancel != nil {
			c = ctx
		}
		_, err := Update(c, cache, fs, UpdateOptions{})
		if err == nil {
			t.Fatal("Update succeeded")
		}
		db, err := Open(cache)
		if err != nil {
			t.Fatal(err)
		}
		if db.Dir != first.DB.Dir || db.Meta.Digest != first.DB.Meta.Digest {
			t.Error("the previous database is no longer current")
		}
		if err := db.Verify(); err != nil {
			t.Error(err)
		}
		if after := listDir(t, cache); strings.Join(after, ",") != strings.Join(before, ",") {
			t.Errorf("cache changed from %v to %v", before, after)
		}
	}

	// A source with nothing usable fails rather than installing an empty
	// database.
	empty := mustSource(t, "dir:"+writeDir(t, map[string][]byte{"x/PYSEC-2099-1.json": readFixtures(t, "osvdev")["PYSEC-2099-1.json"]}))
	if _, err := Update(context.Background(), cache, empty, UpdateOptions{}); err == nil || !strings.Contains(err.Error(), "no usable Go vulnerability entries") {
		t.Errorf("Update(empty) = %v", err)
	}
	if db, err := Open(cache); err != nil || db.Dir != first.DB.Dir {
		t.Errorf("Open after an empty source = %v", err)
	}
	checkNoLeftovers(t, cache)

	// A source that is not one of this package's goes through the public
	// Fetch and builds the same database.
	other, _ := update(t, t.TempDir(), struct{ Source }{src}, false)
	if other.DB.Meta.Digest != first.DB.Meta.Digest {
		t.Error("building through the public Fetch gives a different database")
	}
}

// Leftovers of a crashed update are removed by the next one.
func TestStaleLeftoversRemoved(t *testing.T) {
	src := fixtureSource(t)
	cache := t.TempDir()
	update(t, cache, src, false)
	root := filepath.Join(cache, dbSubdir)
	os.MkdirAll(filepath.Join(root, ".tmp-123", "ID"), 0o755)
	os.WriteFile(filepath.Join(root, ".current.tmp-9"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(root, ".tmp-module-1.zip"), []byte("x"), 0o644)
	update(t, cache, src, false)
	checkNoLeftovers(t, cache)
}

func TestConcurrentUpdates(t *testing.T) {
	src := fixtureSource(t)
	cache := t.TempDir()
	var wg sync.WaitGroup
	results := make([]*UpdateResult, 6)
	errs := make([]error, 6)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = Update(context.Background(), cache, src, UpdateOptions{Force: i%2 == 1})
		}()
	}
	// Readers run alongside.
	stop := make(chan struct{})
	var readers sync.WaitGroup
	readers.Add(1)
	go func() {
		defer readers.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if db, err := Open(cache); err == nil {
				if _, err := db.Entry("GO-2024-3333"); err != nil && !errors.Is(err, os.ErrNotExist) {
					// The generation may be replaced under a reader that held
					// it across two updates; Open itself must never see a
					// half-written database.
					var ce *CorruptError
					if errors.As(err, &ce) && !errors.Is(ce.Err, os.ErrNotExist) {
						t.Errorf("reader: %v", err)
					}
				}
			} else if !errors.Is(err, ErrNoDatabase) && !errors.Is(err, os.ErrNotExist) {
				var ce *CorruptError
				if !errors.As(err, &ce) || !errors.Is(ce.Err, os.ErrNotExist) {
					t.Errorf("reader Open: %v", err)
				}
			}
			time.Sleep(time.Millisecond)
		}
	}()
	wg.Wait()
	close(stop)
	readers.Wait()
	changed := 0
	for i, err := range errs {
		if err != nil {
			t.Fatalf("update %d: %v", i, err)
		}
		if results[i].Changed {
			changed++
		}
	}
	if changed != 1 {
		t.Errorf("%d updates report a change, want exactly 1", changed)
	}
	db, err := Open(cache)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Verify(); err != nil {
		t.Fatal(err)
	}
	checkNoLeftovers(t, cache)
}

// An update waiting for the lock gives up when its context ends.
func TestLockWaitCancelled(t *testing.T) {
	cache := t.TempDir()
	root := filepath.Join(cache, dbSubdir)
	os.MkdirAll(root, 0o755)
	held, err := lockFile(context.Background(), filepath.Join(root, lockName), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock(held)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var log progressLog
	_, err = Update(ctx, cache, fixtureSource(t), UpdateOptions{Progress: progress.New(&log)})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Update with the lock held = %v", err)
	}
	if !strings.Contains(log.String(), "waiting for another vexloom") {
		t.Errorf("no waiting message: %q", log.String())
	}
}
