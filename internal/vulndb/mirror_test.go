package vulndb

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vexloom/vexloom/internal/osv"
)

// testMirror serves entries in vuln.go.dev's layout.
type testMirror struct {
	t   testing.TB
	srv *httptest.Server

	mu      sync.Mutex
	entries map[string][]byte // id -> raw entry with a real modified time
	reqs    map[string]int    // URL path -> requests
	onEntry func(id string)   // called on each ID/ request, outside the lock
}

func newTestMirror(t testing.TB, entries map[string][]byte) *testMirror {
	own := map[string][]byte{}
	for k, v := range entries {
		own[k] = v
	}
	m := &testMirror{t: t, entries: own, reqs: map[string]int{}}
	m.srv = httptest.NewServer(http.HandlerFunc(m.serve))
	t.Cleanup(m.srv.Close)
	return m
}

// mirrorEntries gives the fixtures real, distinct modified times.
func mirrorEntries(t testing.TB) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for i, id := range fixtureIDs(readFixtures(t, "osv")) {
		raw := readFixtures(t, "osv")[id+".json"]
		b, err := setModified(raw, t0.Add(time.Duration(i)*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		out[id] = b
	}
	return out
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func (m *testMirror) set(id string, raw []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.entries[id] = raw
}

func (m *testMirror) requests(prefix string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for k, v := range m.reqs {
		if strings.HasPrefix(k, prefix) {
			n += v
		}
	}
	return n
}

func (m *testMirror) resetCounts() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reqs = map[string]int{}
}

func (m *testMirror) serve(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	m.reqs[r.URL.Path]++
	hook := m.onEntry
	m.mu.Unlock()
	if id, ok := strings.CutPrefix(r.URL.Path, "/ID/"); ok && hook != nil {
		hook(strings.TrimSuffix(id, ".json.gz"))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch r.URL.Path {
	case "/index/db.json.gz":
		var newest time.Time
		for _, raw := range m.entries {
			e, err := osv.Parse(raw)
			if err != nil {
				m.t.Error(err)
				continue
			}
			if e.Modified.After(newest) {
				newest = e.Modified
			}
		}
		b, _ := json.Marshal(dbMeta{Modified: newest})
		w.Write(gz(b))
	case "/index/modules.json.gz":
		mods := map[string]*moduleMeta{}
		for _, raw := range m.entries {
			e, _ := osv.Parse(raw)
			for _, a := range e.Affected {
				mm := mods[a.Package.Name]
				if mm == nil {
					mm = &moduleMeta{Path: a.Package.Name}
					mods[a.Package.Name] = mm
				}
				mm.Vulns = append(mm.Vulns, moduleVuln{ID: e.ID, Modified: e.Modified, Fixed: osv.LatestFix(a.Ranges)})
			}
		}
		var list []*moduleMeta
		for _, mm := range mods {
			list = append(list, mm)
		}
		sort.Slice(list, func(i, j int) bool { return list[i].Path < list[j].Path })
		b, _ := json.Marshal(list)
		w.Write(gz(b))
	default:
		id, ok := strings.CutPrefix(r.URL.Path, "/ID/")
		id, ok2 := strings.CutSuffix(id, ".json.gz")
		raw, ok3 := m.entries[id]
		if !ok || !ok2 || !ok3 {
			http.NotFound(w, r)
			return
		}
		w.Write(gz(raw))
	}
}

func TestMirrorIncremental(t *testing.T) {
	entries := mirrorEntries(t)
	m := newTestMirror(t, entries)
	src, err := ParseSource(m.srv.URL+"/", Options{HTTPClient: m.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if src.Kind() != "mirror" || src.String() != m.srv.URL {
		t.Errorf("source %s %s", src.Kind(), src)
	}
	cache := t.TempDir()
	first, _ := update(t, cache, src, false)
	if got := m.requests("/ID/"); got != len(entries) {
		t.Errorf("first update fetched %d entries, want %d", got, len(entries))
	}
	meta := first.DB.Meta
	newest := t0.Add(time.Duration(len(entries)-1) * time.Hour)
	if meta.Entries != len(entries) || meta.Kind != "mirror" || !meta.Modified.Equal(newest) ||
		meta.Version != newest.Format(time.RFC3339Nano) || !meta.VersionTime.Equal(newest) {
		t.Errorf("meta = %+v", meta)
	}
	if first.Stats.Fetched != len(entries) || first.Stats.Reused != 0 {
		t.Errorf("stats = %+v", first.Stats)
	}
	// Entries are stored byte for byte as served.
	for id, raw := range entries {
		got, err := os.ReadFile(filepath.Join(first.DB.Dir, "ID", id+".json"))
		if err != nil || !bytes.Equal(got, raw) {
			t.Errorf("ID/%s.json differs from the mirror's (%v)", id, err)
		}
	}

	// Nothing changed: only index/db.json.gz is read.
	m.resetCounts()
	same, _ := update(t, cache, src, false)
	if same.Changed || m.requests("/") != 1 || m.requests("/index/db.json.gz") != 1 {
		t.Errorf("unchanged mirror: Changed=%v, %d requests", same.Changed, m.requests("/"))
	}

	// One entry edited, one added: only those two are fetched.
	m.resetCounts()
	edited, _ := setModified(bytes.Replace(entries["GO-2024-3333"], []byte("Non-linear parsing"), []byte("Nonlinear parsing"), 1), t2)
	m.set("GO-2024-3333", edited)
	added := bytes.ReplaceAll(entries["GO-2022-0956"], []byte("GO-2022-0956"), []byte("GO-2026-9998"))
	added = bytes.ReplaceAll(added, []byte(`"CVE-2022-3064",`), nil)
	added = bytes.ReplaceAll(added, []byte(`"GHSA-6q6q-88xp-6f2r"`), []byte(`"GHSA-dddd-eeee-ffff"`))
	added, _ = setModified(added, t2)
	m.set("GO-2026-9998", added)
	second, _ := update(t, cache, src, false)
	if got := m.requests("/ID/"); got != 2 {
		t.Errorf("incremental update fetched %d entries, want 2", got)
	}
	if m.requests("/ID/GO-2024-3333.json.gz") != 1 || m.requests("/ID/GO-2026-9998.json.gz") != 1 {
		t.Error("the changed entries were not the ones fetched")
	}
	if second.Stats.Fetched != 2 || second.Stats.Reused != len(entries)-1 || !second.Changed {
		t.Errorf("stats = %+v, Changed=%v", second.Stats, second.Changed)
	}
	e, err := second.DB.Entry("GO-2024-3333")
	if err != nil || !strings.HasPrefix(e.Summary, "Nonlinear") || !e.Modified.Equal(t2) {
		t.Errorf("edited entry = %+v, %v", e, err)
	}
	if second.DB.Meta.Entries != len(entries)+1 {
		t.Errorf("entries = %d", second.DB.Meta.Entries)
	}
	if err := second.DB.Verify(); err != nil {
		t.Fatal(err)
	}

	// The incremental result equals a build from scratch.
	fresh, _ := update(t, t.TempDir(), src, false)
	if fresh.DB.Meta.Digest != second.DB.Meta.Digest {
		t.Error("incremental build differs from a fresh one")
	}

	// A reused entry that was damaged on disk is fetched again, not copied.
	newer, _ := setModified(bytes.ReplaceAll(added, []byte("GO-2026-9998"), []byte("GO-2026-9997")), t2.Add(time.Hour))
	m.set("GO-2026-9997", newer)
	if err := os.WriteFile(filepath.Join(second.DB.Dir, "ID", "GO-2020-0017.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	m.resetCounts()
	third, _ := update(t, cache, src, false)
	if m.requests("/ID/GO-2020-0017.json.gz") != 1 || m.requests("/ID/") != 2 {
		t.Errorf("damaged entry: %d entry requests", m.requests("/ID/"))
	}
	if err := third.DB.Verify(); err != nil {
		t.Error(err)
	}
}

func TestMirrorCancelMidFetch(t *testing.T) {
	entries := mirrorEntries(t)
	m := newTestMirror(t, entries)
	src, err := ParseSource(m.srv.URL, Options{HTTPClient: m.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	first, _ := update(t, cache, src, false)

	// A new mirror version; cancel while its entries are being fetched.
	for id, raw := range entries {
		b, _ := setModified(raw, t2)
		m.set(id, b)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var once sync.Once
	m.mu.Lock()
	n := 0
	m.onEntry = func(string) {
		m.mu.Lock()
		n++
		k := n
		m.mu.Unlock()
		if k >= 3 {
			once.Do(cancel)
			time.Sleep(20 * time.Millisecond)
		}
	}
	m.mu.Unlock()
	_, err = Update(ctx, cache, src, UpdateOptions{Now: fixedNow})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Update = %v, want context.Canceled", err)
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
	checkNoLeftovers(t, cache)
	var gens int
	for _, n := range listDir(t, cache) {
		if strings.HasPrefix(n, "gen-") {
			gens++
		}
	}
	if gens != 1 {
		t.Errorf("%d generations after a cancelled update, want 1: %v", gens, listDir(t, cache))
	}
}

func TestMirrorErrors(t *testing.T) {
	entries := mirrorEntries(t)
	m := newTestMirror(t, entries)
	cache := t.TempDir()
	src, _ := ParseSource(m.srv.URL, Options{HTTPClient: m.srv.Client()})
	first, _ := update(t, cache, src, false)

	// A new version, served through a front that fails one entry: the
	// update fails, naming it, and the old database stays.
	m.set("GO-2024-3333", func() []byte { b, _ := setModified(entries["GO-2024-3333"], t2); return b }())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ID/GO-2020-0036.json.gz" {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		m.serve(w, r)
	}))
	defer srv.Close()
	bad, _ := ParseSource(srv.URL, Options{HTTPClient: srv.Client()})
	_, err := Update(context.Background(), cache, bad, UpdateOptions{})
	if err == nil || !strings.Contains(err.Error(), "GO-2020-0036.json.gz") {
		t.Errorf("Update = %v, want an error naming the failed entry", err)
	}
	db, err := Open(cache)
	if err != nil || db.Dir != first.DB.Dir {
		t.Errorf("Open after a failed update = %v, %v", db, err)
	}
	checkNoLeftovers(t, cache)

	// Not a mirror at all.
	plain := httptest.NewServer(http.NotFoundHandler())
	defer plain.Close()
	notMirror, _ := ParseSource(plain.URL, Options{HTTPClient: plain.Client()})
	if _, err := Update(context.Background(), t.TempDir(), notMirror, UpdateOptions{}); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("Update from a non-mirror = %v", err)
	}
}
