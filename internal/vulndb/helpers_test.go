package vulndb

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb"
	"golang.org/x/mod/sumdb/dirhash"
	"golang.org/x/mod/sumdb/note"
	modzip "golang.org/x/mod/zip"

	"github.com/vexloom/vexloom/internal/progress"
)

var (
	t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	t1 = time.Date(2026, 11, 5, 23, 49, 57, 0, time.UTC)
	t2 = time.Date(2026, 11, 9, 8, 30, 0, 0, time.UTC)
)

const (
	v1 = "v0.0.0-20261101120000-aaaaaaaaaaaa"
	v2 = "v0.0.0-20261105234957-bbbbbbbbbbbb"
	v3 = "v0.0.0-20261109083000-cccccccccccc"
)

// fixedNow is the injected clock of every test update.
func fixedNow() time.Time { return time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC) }

// readFixtures returns the *.json files of testdata/<dir> by file name.
func readFixtures(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	ents, err := os.ReadDir(filepath.Join("testdata", dir))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		b, err := os.ReadFile(filepath.Join("testdata", dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = b
	}
	if len(out) == 0 {
		t.Fatalf("no fixtures in testdata/%s", dir)
	}
	return out
}

func fixtureIDs(files map[string][]byte) []string {
	var ids []string
	for n := range files {
		ids = append(ids, strings.TrimSuffix(n, ".json"))
	}
	sort.Strings(ids)
	return ids
}

// writeDir writes files into a new temporary directory.
func writeDir(t testing.TB, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for n, b := range files {
		p := filepath.Join(dir, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// progressLog collects progress lines.
type progressLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *progressLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *progressLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func update(t testing.TB, cacheDir string, src Source, force bool) (*UpdateResult, string) {
	t.Helper()
	var log progressLog
	res, err := Update(context.Background(), cacheDir, src, UpdateOptions{Progress: progress.New(&log), Now: fixedNow, Force: force})
	if err != nil {
		t.Fatalf("Update(%s): %v\nprogress:\n%s", src, err, log.String())
	}
	return res, log.String()
}

// listDir returns the names in <cacheDir>/vulndb.
func listDir(t testing.TB, cacheDir string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(cacheDir, dbSubdir))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// checkNoLeftovers fails if a half-built generation or temporary file is in
// the cache.
func checkNoLeftovers(t testing.TB, cacheDir string) {
	t.Helper()
	for _, n := range listDir(t, cacheDir) {
		if strings.HasPrefix(n, ".tmp") || strings.Contains(n, ".tmp-") {
			t.Errorf("leftover %s in the cache", n)
		}
	}
}

// readModules reads a database's index/modules.json.
func readModules(t testing.TB, db *DB) map[string][]moduleVuln {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(db.Dir, "index", "modules.json"))
	if err != nil {
		t.Fatal(err)
	}
	var mods []moduleMeta
	if err := json.Unmarshal(b, &mods); err != nil {
		t.Fatal(err)
	}
	out := map[string][]moduleVuln{}
	for i, m := range mods {
		if i > 0 && mods[i-1].Path >= m.Path {
			t.Errorf("modules.json not sorted by path: %s before %s", mods[i-1].Path, m.Path)
		}
		for j := 1; j < len(m.Vulns); j++ {
			if m.Vulns[j-1].ID > m.Vulns[j].ID {
				t.Errorf("vulns of %s not sorted by id", m.Path)
			}
		}
		out[m.Path] = m.Vulns
	}
	return out
}

func dbIDs(t testing.TB, db *DB) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(db.Dir, idDir))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range ents {
		ids = append(ids, strings.TrimSuffix(e.Name(), ".json"))
	}
	return ids
}

// --- a GOPROXY with a checksum database ---

type testProxy struct {
	t       testing.TB
	srv     *httptest.Server
	sumName string
	vkey    string
	ts      *sumdb.TestServer

	mu       sync.Mutex
	latest   string
	versions map[string]*proxyVersion
	tamper   map[string][]byte // version -> zip served instead of the real one
	noLatest bool              // answer 404 to @latest, as some proxies do
	list     bool              // serve @v/list
	reqs     map[string]int    // URL path -> requests
}

type proxyVersion struct {
	time  time.Time
	zip   []byte
	h1    string
	modH1 string
}

const proxyGoMod = "module golang.org/x/vulndb\n\ngo 1.22\n"

func newTestProxy(t testing.TB) *testProxy {
	t.Helper()
	p := &testProxy{t: t, sumName: "sum.test.local", versions: map[string]*proxyVersion{}, tamper: map[string][]byte{}, reqs: map[string]int{}}
	skey, vkey, err := note.GenerateKey(rand.Reader, p.sumName)
	if err != nil {
		t.Fatal(err)
	}
	p.vkey = vkey
	p.ts = sumdb.NewTestServer(skey, p.gosum)
	sumSrv := sumdb.NewServer(p.ts)
	mux := http.NewServeMux()
	sumPrefix := "/sumdb/" + p.sumName
	mux.HandleFunc(sumPrefix+"/supported", func(w http.ResponseWriter, r *http.Request) { p.count(r) })
	mux.Handle(sumPrefix+"/", http.StripPrefix(sumPrefix, countHandler(p, sumSrv)))
	mux.HandleFunc("/missing/", func(w http.ResponseWriter, r *http.Request) { p.count(r); http.NotFound(w, r) })
	mux.HandleFunc("/gone/", func(w http.ResponseWriter, r *http.Request) { p.count(r); http.Error(w, "gone", http.StatusGone) })
	mux.HandleFunc("/broken/", func(w http.ResponseWriter, r *http.Request) {
		p.count(r)
		http.Error(w, "boom", http.StatusInternalServerError)
	})
	mux.HandleFunc("/golang.org/x/vulndb/", p.serveModule)
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

func countHandler(p *testProxy, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.count(r)
		h.ServeHTTP(w, r)
	})
}

func (p *testProxy) count(r *http.Request) {
	p.mu.Lock()
	p.reqs[r.URL.Path]++
	p.mu.Unlock()
}

// requests returns how many requests had a path containing substr.
func (p *testProxy) requests(substr string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for k, v := range p.reqs {
		if strings.Contains(k, substr) {
			n += v
		}
	}
	return n
}

func (p *testProxy) gosum(path, vers string) ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	v, ok := p.versions[vers]
	if path != vulndbModule || !ok {
		return nil, fmt.Errorf("%s@%s: %w", path, vers, fs.ErrNotExist)
	}
	return fmt.Appendf(nil, "%s %s %s\n%s %s/go.mod %s\n", path, vers, v.h1, path, vers, v.modH1), nil
}

// memFile is a modzip.File held in memory.
type memFile struct {
	path string
	data []byte
}

func (f memFile) Path() string                 { return f.path }
func (f memFile) Lstat() (os.FileInfo, error)  { return memInfo{f}, nil }
func (f memFile) Open() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(f.data)), nil }

type memInfo struct{ f memFile }

func (i memInfo) Name() string       { return filepath.Base(i.f.path) }
func (i memInfo) Size() int64        { return int64(len(i.f.data)) }
func (i memInfo) Mode() os.FileMode  { return 0o644 }
func (i memInfo) ModTime() time.Time { return time.Time{} }
func (i memInfo) IsDir() bool        { return false }
func (i memInfo) Sys() any           { return nil }

// buildModuleZip returns a module zip of golang.org/x/vulndb@version with
// the given data/osv files, a go.mod and a README.
func buildModuleZip(t testing.TB, version string, osvFiles map[string][]byte) []byte {
	t.Helper()
	files := []modzip.File{
		memFile{"go.mod", []byte(proxyGoMod)},
		memFile{"README.md", []byte("# test vulndb\n")},
		memFile{"data/reports/GO-2024-3333.yaml", []byte("id: GO-2024-3333\n")},
	}
	for n, b := range osvFiles {
		files = append(files, memFile{"data/osv/" + n, b})
	}
	var buf bytes.Buffer
	if err := modzip.Create(&buf, module.Version{Path: vulndbModule, Version: version}, files); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func hashZip(t testing.TB, zipData []byte) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "m.zip")
	if err := os.WriteFile(f, zipData, 0o644); err != nil {
		t.Fatal(err)
	}
	h, err := dirhash.HashZip(f, dirhash.Hash1)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// add publishes a version and makes it @latest.
func (p *testProxy) add(version string, tm time.Time, osvFiles map[string][]byte) []byte {
	p.t.Helper()
	z := buildModuleZip(p.t, version, osvFiles)
	modH1, err := dirhash.Hash1([]string{"go.mod"}, func(string) (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(proxyGoMod)), nil
	})
	if err != nil {
		p.t.Fatal(err)
	}
	h1 := hashZip(p.t, z)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.versions[version] = &proxyVersion{time: tm, zip: z, h1: h1, modH1: modH1}
	p.latest = version
	return z
}

func (p *testProxy) serveModule(w http.ResponseWriter, r *http.Request) {
	p.count(r)
	rest := strings.TrimPrefix(r.URL.Path, "/golang.org/x/vulndb/")
	p.mu.Lock()
	defer p.mu.Unlock()
	info := func(v string) {
		pv := p.versions[v]
		json.NewEncoder(w).Encode(map[string]any{"Version": v, "Time": pv.time})
	}
	switch {
	case rest == "@v/list":
		if !p.list {
			http.NotFound(w, r)
			return
		}
		for v := range p.versions {
			fmt.Fprintln(w, v)
		}
		return
	case rest == "@latest":
		if p.latest == "" || p.noLatest {
			http.NotFound(w, r)
			return
		}
		info(p.latest)
		return
	case strings.HasPrefix(rest, "@v/"):
		file := strings.TrimPrefix(rest, "@v/")
		ext := filepath.Ext(file)
		v, err := module.UnescapeVersion(strings.TrimSuffix(file, ext))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		if v == "master" && p.latest != "" {
			v = p.latest
		}
		pv, ok := p.versions[v]
		if !ok {
			http.Error(w, "not found: unknown revision", http.StatusNotFound)
			return
		}
		switch ext {
		case ".info":
			info(v)
		case ".mod":
			io.WriteString(w, proxyGoMod)
		case ".zip":
			if z, ok := p.tamper[v]; ok {
				w.Write(z)
				return
			}
			w.Write(pv.zip)
		default:
			http.NotFound(w, r)
		}
		return
	}
	http.NotFound(w, r)
}

// env is an environment for the module source that uses only this proxy
// and its checksum database.
func (p *testProxy) env(extra ...string) []string {
	env := []string{
		"GOPROXY=" + p.srv.URL,
		"GOSUMDB=" + p.vkey,
		"GONOSUMDB=", "GOPRIVATE=", "GOFLAGS=", "GONOSUMCHECK=", "GOENV=off",
	}
	return append(env, extra...)
}

func (p *testProxy) source(t testing.TB, spec string, extra ...string) Source {
	t.Helper()
	src, err := ParseSource(spec, Options{HTTPClient: p.srv.Client(), Env: p.env(extra...)})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func isCorrupt(err error, file string) bool {
	var ce *CorruptError
	return errors.Is(err, ErrCorrupt) && errors.As(err, &ce) && (file == "" || ce.File == file)
}
