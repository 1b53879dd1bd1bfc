package vulndb

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vexloom/vexloom/internal/osv"
	"github.com/vexloom/vexloom/internal/redact"
)

// mirrorConcurrency bounds the entry downloads in flight.
const mirrorConcurrency = 8

// maxIndexSize bounds an uncompressed index file of a mirror.
const maxIndexSize = 256 << 20

// mirrorSource reads a database served in vuln.go.dev's layout:
// index/db.json.gz, index/modules.json.gz and ID/<id>.json.gz.
type mirrorSource struct {
	base   string // without a trailing slash
	name   string // redacted
	opts   Options
	client *http.Client
}

func newMirrorSource(raw string, opts Options) (*mirrorSource, error) {
	u, err := parseHTTPURL(raw)
	if err != nil {
		return nil, err
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	base := u.String()
	if u.RawQuery != "" {
		return nil, fmt.Errorf("source %q: a mirror URL cannot have a query", redact.URL(u))
	}
	return &mirrorSource{base: base, name: redact.URL(u), opts: opts, client: opts.client()}, nil
}

func (s *mirrorSource) String() string { return s.name }
func (s *mirrorSource) Kind() string   { return "mirror" }

func (s *mirrorSource) url(p string) string { return s.base + "/" + p }

// Latest reads index/db.json.gz: the version is the database's modified
// time.
func (s *mirrorSource) Latest(ctx context.Context) (Version, error) {
	b, err := getGzip(ctx, s.client, s.url("index/db.json.gz"), 1<<20)
	if err != nil {
		return Version{}, fmt.Errorf("reading %s: %w", s.name, err)
	}
	var m dbMeta
	if err := json.Unmarshal(b, &m); err != nil {
		return Version{}, fmt.Errorf("reading %s: index/db.json: %v", s.name, err)
	}
	if m.Modified.IsZero() {
		return Version{}, fmt.Errorf("reading %s: index/db.json has no modified time", s.name)
	}
	t := m.Modified.UTC()
	return Version{ID: t.Format(time.RFC3339Nano), Time: t}, nil
}

func (s *mirrorSource) Fetch(ctx context.Context, v Version, yield func(*osv.Entry, []byte) error) error {
	return fetchPublic(ctx, s, s.opts, v, yield)
}

// fetchRaw reads the module index and every entry it lists. Entries whose
// modified time equals the one in the previous database built from this
// same mirror are copied from it instead of downloaded.
func (s *mirrorSource) fetchRaw(ctx context.Context, v Version, env *fetchEnv, emit func(string, []byte) error) error {
	b, err := getGzip(ctx, s.client, s.url("index/modules.json.gz"), maxIndexSize)
	if err != nil {
		return fmt.Errorf("reading %s: %w", s.name, err)
	}
	var mods []moduleMeta
	if err := json.Unmarshal(b, &mods); err != nil {
		return fmt.Errorf("reading %s: index/modules.json: %v", s.name, err)
	}
	want := map[string]time.Time{}
	bad := 0
	for _, m := range mods {
		for _, vu := range m.Vulns {
			if !safeID(vu.ID) {
				bad++
				continue
			}
			if t, ok := want[vu.ID]; !ok || vu.Modified.After(t) {
				want[vu.ID] = vu.Modified
			}
		}
	}
	if bad > 0 {
		env.progress.Printf("warning: %s: index/modules.json lists %d unusable IDs; skipping them", s.name, bad)
		env.stats.Skipped += bad
	}
	ids := make([]string, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	sort.Strings(ids)

	// What the previous database from this mirror has.
	have := map[string]time.Time{}
	if p := env.prev; p != nil && p.Meta.Kind == s.Kind() && p.Meta.Source == s.String() {
		if pm, err := p.modules(); err == nil {
			for _, m := range pm {
				for _, vu := range m.Vulns {
					have[vu.ID] = vu.Modified
				}
			}
		}
	}

	var toFetch []string
	reused := 0
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return err
		}
		if t, ok := have[id]; ok && t.Equal(want[id]) {
			raw, err := env.prev.readRaw(idDir + "/" + id + ".json")
			if err == nil {
				if err := emit(id+".json", raw); err != nil {
					return err
				}
				reused++
				continue
			}
		}
		toFetch = append(toFetch, id)
	}
	env.stats.Reused += reused
	env.progress.Printf("%s: %d entries, %d unchanged, fetching %d", s.name, len(ids), reused, len(toFetch))

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex // serialises emit and guards firstErr, done
		firstErr error
		done     int
		wg       sync.WaitGroup
	)
	jobs := make(chan string)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
		cancel()
	}
	for range min(mirrorConcurrency, len(toFetch)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range jobs {
				raw, err := getGzip(ctx, s.client, s.url(idDir+"/"+id+".json.gz"), osv.MaxEntrySize)
				if err != nil {
					fail(fmt.Errorf("reading %s: %w", s.name, err))
					continue
				}
				mu.Lock()
				if firstErr == nil {
					if err := emit(id+".json", raw); err != nil {
						firstErr = err
						cancel()
					}
					done++
					if done%500 == 0 {
						env.progress.Printf("%s: fetched %d of %d entries", s.name, done, len(toFetch))
					}
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for _, id := range toFetch {
		select {
		case jobs <- id:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	env.stats.Fetched += done
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}
