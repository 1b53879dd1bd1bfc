// Package vulndb keeps vexloom's local copy of the Go vulnerability database.
//
// The copy is laid out the way govulncheck (golang.org/x/vuln) reads a
// database from a file:// URL:
//
//	index/db.json       {"modified": <newest entry modified time>}
//	index/modules.json  [{"path": module, "vulns": [{"id","modified","fixed"}]}]
//	ID/<id>.json        one OSV entry each
//
// and vexloom adds, beside them, files govulncheck never reads:
//
//	index/aliases.json    alias (CVE-, GHSA-, GO- id) -> database IDs
//	vexloom-manifest.txt  "<sha256 hex> <path>" for every file above
//	vexloom-db.json       Meta, written last
//
// Each database is built into its own generation directory under
// <cacheDir>/vulndb and becomes current by an atomic rename of the pointer
// file <cacheDir>/vulndb/current, so a reader sees either the old database or
// the new one, never a mix. Updates take an exclusive file lock.
package vulndb

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vexloom/vexloom/internal/digest"
	"github.com/vexloom/vexloom/internal/osv"
)

// FormatVersion is the on-disk layout version this package writes and reads.
const FormatVersion = 1

// Errors returned by Open, Entry, Resolve and Verify. Test with errors.Is.
var (
	// ErrNoDatabase means no database has been built in the cache yet.
	ErrNoDatabase = errors.New("no vulnerability database")
	// ErrCorrupt means a file of the database is missing, truncated or does
	// not match its recorded digest.
	ErrCorrupt = errors.New("vulnerability database is corrupt")
	// ErrNotFound means the database has no entry for the requested ID.
	ErrNotFound = errors.New("not in the vulnerability database")
)

// Names inside the cache directory and inside a generation.
const (
	dbSubdir     = "vulndb"
	pointerName  = "current"
	lockName     = ".lock"
	genPrefix    = "gen-"
	tmpPrefix    = ".tmp-"
	metaName     = "vexloom-db.json"
	manifestName = "vexloom-manifest.txt"
	dbIndex      = "index/db.json"
	modulesIndex = "index/modules.json"
	aliasesIndex = "index/aliases.json"
	idDir        = "ID"
)

// Meta describes one built database. It is stored as vexloom-db.json in the
// generation directory and written last, so its presence means the
// generation is complete.
type Meta struct {
	Format      int       `json:"format"`       // on-disk layout version, 1
	Source      string    `json:"source"`       // the source as the user named it, tokens/userinfo redacted
	Kind        string    `json:"kind"`         // "module", "dir", "zip", "mirror"
	Version     string    `json:"version"`      // module version, "sha256:<hex>" content digest, or the mirror's modified time
	VersionTime time.Time `json:"version_time"` // when the source published Version
	Modified    time.Time `json:"modified"`     // as written in index/db.json
	Entries     int       `json:"entries"`      // number of ID/<id>.json files
	Updated     time.Time `json:"updated"`      // when vexloom built it (injected clock)
	Digest      string    `json:"digest"`       // "sha256:<hex>" of vexloom-manifest.txt, which lists every file's sha256
	// Files holds the "sha256:<hex>" digests of the index files and of the
	// manifest, so Open can check them without reading the manifest.
	Files map[string]string `json:"files"`
}

// DB is an opened local database.
type DB struct {
	Dir  string // the generation directory, absolute
	Meta Meta

	state *dbState // lazily loaded manifest and alias index; nil is fine
}

type dbState struct {
	mu       sync.Mutex
	manifest map[string]string // path -> sha256 hex
	aliases  map[string][]string
	modules  []moduleMeta
}

// CorruptError reports which file of the database is damaged. It matches
// ErrCorrupt with errors.Is.
type CorruptError struct {
	File string // absolute path of the damaged or missing file
	Err  error
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("%v: %s: %v (run `vexloom db update` to rebuild it)", ErrCorrupt, e.File, e.Err)
}

func (e *CorruptError) Unwrap() []error { return []error{ErrCorrupt, e.Err} }

func corrupt(file string, format string, args ...any) error {
	return &CorruptError{File: file, Err: fmt.Errorf(format, args...)}
}

// DefaultCacheDir returns $VEXLOOM_CACHE, or vexloom under the user's cache
// directory.
func DefaultCacheDir() (string, error) {
	if d := os.Getenv("VEXLOOM_CACHE"); d != "" {
		return filepath.Abs(d)
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("locating the cache directory (set VEXLOOM_CACHE): %w", err)
	}
	return filepath.Join(d, "vexloom"), nil
}

var genNameRE = regexp.MustCompile(`^gen-[0-9a-f]{12}(\.[0-9]{1,6})?$`)

// Open returns the current database in cacheDir. It is cheap: it reads the
// pointer and Meta and checks the two index files govulncheck reads first
// against the digests recorded in Meta. Verify checks everything.
func Open(cacheDir string) (*DB, error) {
	root, err := filepath.Abs(filepath.Join(cacheDir, dbSubdir))
	if err != nil {
		return nil, err
	}
	ptrPath := filepath.Join(root, pointerName)
	ptr, err := readSmall(ptrPath, 4096)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w in %s: run `vexloom db update` to download it", ErrNoDatabase, cacheDir)
	}
	if err != nil {
		return nil, &CorruptError{File: ptrPath, Err: err}
	}
	gen := strings.TrimSpace(string(ptr))
	if !genNameRE.MatchString(gen) {
		return nil, corrupt(ptrPath, "does not name a database generation")
	}
	return openGen(filepath.Join(root, gen))
}

func openGen(dir string) (*DB, error) {
	metaPath := filepath.Join(dir, metaName)
	b, err := readSmall(metaPath, 1<<20)
	if err != nil {
		return nil, &CorruptError{File: metaPath, Err: err}
	}
	var m Meta
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, corrupt(metaPath, "%v", err)
	}
	if m.Format != FormatVersion {
		return nil, corrupt(metaPath, "layout format %d, this vexloom reads format %d", m.Format, FormatVersion)
	}
	if d, err := digest.ParseExact(m.Digest); err != nil || d.Algorithm != "sha256" {
		return nil, corrupt(metaPath, "no database digest")
	}
	db := &DB{Dir: dir, Meta: m, state: &dbState{}}
	for _, name := range []string{dbIndex, modulesIndex} {
		if _, err := db.readChecked(name, m.Files[name], 256<<20); err != nil {
			return nil, err
		}
	}
	for _, name := range []string{aliasesIndex, manifestName} {
		p := db.path(name)
		if _, err := os.Stat(p); err != nil {
			return nil, &CorruptError{File: p, Err: err}
		}
	}
	return db, nil
}

// path returns the absolute path of a slash-separated name in the database.
func (db *DB) path(name string) string { return filepath.Join(db.Dir, filepath.FromSlash(name)) }

// readChecked reads name and compares it with want ("sha256:<hex>").
func (db *DB) readChecked(name, want string, limit int64) ([]byte, error) {
	p := db.path(name)
	if want == "" {
		return nil, corrupt(db.path(metaName), "no digest recorded for %s", name)
	}
	b, err := readSmall(p, limit)
	if err != nil {
		return nil, &CorruptError{File: p, Err: err}
	}
	if got := digestOf(b); got != want {
		return nil, corrupt(p, "content digest %s does not match the recorded %s", got, want)
	}
	return b, nil
}

func (db *DB) st() *dbState {
	if db.state == nil {
		return &dbState{} // a DB built by hand: no caching
	}
	return db.state
}

// loadManifest returns the manifest, checked against Meta.Digest.
func (db *DB) loadManifest() (map[string]string, error) {
	s := db.st()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.manifest != nil {
		return s.manifest, nil
	}
	b, err := db.readChecked(manifestName, db.Meta.Digest, 256<<20)
	if err != nil {
		return nil, err
	}
	m, err := parseManifest(b)
	if err != nil {
		return nil, corrupt(db.path(manifestName), "%v", err)
	}
	s.manifest = m
	return m, nil
}

// readRaw returns the verified bytes of a database file listed in the
// manifest.
func (db *DB) readRaw(name string) ([]byte, error) {
	man, err := db.loadManifest()
	if err != nil {
		return nil, err
	}
	want, ok := man[name]
	if !ok {
		return nil, fmt.Errorf("%s: %w", name, ErrNotFound)
	}
	return db.readChecked(name, "sha256:"+want, osv.MaxEntrySize+1)
}

// URL returns the file:// URL of the database, for govulncheck's -db flag.
func (db *DB) URL() string {
	p := filepath.ToSlash(db.Dir)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // Windows: file:///C:/...
	}
	return (&url.URL{Scheme: "file", Path: p}).String()
}

// Entry returns the database entry with the given ID. IDs are matched
// exactly, then ignoring case.
func (db *DB) Entry(id string) (*osv.Entry, error) {
	name, err := db.entryName(id)
	if err != nil {
		return nil, err
	}
	b, err := db.readRaw(name)
	if err != nil {
		return nil, err
	}
	e, err := osv.Parse(b)
	if err != nil {
		return nil, corrupt(db.path(name), "%v", err)
	}
	return e, nil
}

func (db *DB) entryName(id string) (string, error) {
	id = strings.TrimSpace(id)
	if !safeID(id) {
		return "", fmt.Errorf("%q: %w", id, ErrNotFound)
	}
	man, err := db.loadManifest()
	if err != nil {
		return "", err
	}
	name := idDir + "/" + id + ".json"
	if _, ok := man[name]; ok {
		return name, nil
	}
	for n := range man {
		if strings.HasPrefix(n, idDir+"/") && strings.EqualFold(n, name) {
			return n, nil
		}
	}
	return "", fmt.Errorf("%s: %w", id, ErrNotFound)
}

// Resolve returns the IDs of the database entries that carry id, as their own
// ID or as an alias: "CVE-2024-45338" resolves to ["GO-2024-3333"]. IDs are
// matched exactly, then ignoring case.
func (db *DB) Resolve(id string) ([]string, error) {
	id = strings.TrimSpace(id)
	al, err := db.loadAliases()
	if err != nil {
		return nil, err
	}
	if ids, ok := al[id]; ok {
		return append([]string(nil), ids...), nil
	}
	var out []string
	for k, ids := range al {
		if strings.EqualFold(k, id) {
			out = append(out, ids...)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: %w", id, ErrNotFound)
	}
	return sortedUnique(out), nil
}

func (db *DB) loadAliases() (map[string][]string, error) {
	s := db.st()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.aliases != nil {
		return s.aliases, nil
	}
	b, err := db.readChecked(aliasesIndex, db.Meta.Files[aliasesIndex], 256<<20)
	if err != nil {
		return nil, err
	}
	var al map[string][]string
	if err := json.Unmarshal(b, &al); err != nil {
		return nil, corrupt(db.path(aliasesIndex), "%v", err)
	}
	if al == nil {
		al = map[string][]string{}
	}
	s.aliases = al
	return al, nil
}

// modules returns the parsed, verified index/modules.json.
func (db *DB) modules() ([]moduleMeta, error) {
	s := db.st()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.modules != nil {
		return s.modules, nil
	}
	b, err := db.readChecked(modulesIndex, db.Meta.Files[modulesIndex], 256<<20)
	if err != nil {
		return nil, err
	}
	var mods []moduleMeta
	if err := json.Unmarshal(b, &mods); err != nil {
		return nil, corrupt(db.path(modulesIndex), "%v", err)
	}
	if mods == nil {
		mods = []moduleMeta{}
	}
	s.modules = mods
	return mods, nil
}

// Verify checks every file of the database against Meta: the manifest
// against Meta.Digest, every file against the manifest, that no file is
// missing or extra, and that Meta agrees with the indexes.
func (db *DB) Verify() error {
	man, err := db.loadManifest()
	if err != nil {
		return err
	}
	names := make([]string, 0, len(man))
	for n := range man {
		names = append(names, n)
	}
	sort.Strings(names)
	entries := 0
	for _, n := range names {
		if strings.HasPrefix(n, idDir+"/") {
			entries++
		}
		f, err := os.Open(db.path(n))
		if err != nil {
			return &CorruptError{File: db.path(n), Err: err}
		}
		h := sha256.New()
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return &CorruptError{File: db.path(n), Err: err}
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != man[n] {
			return corrupt(db.path(n), "content digest sha256:%s does not match the recorded sha256:%s", got, man[n])
		}
	}
	for _, n := range []string{dbIndex, modulesIndex, aliasesIndex} {
		if want := db.Meta.Files[n]; want != "sha256:"+man[n] {
			return corrupt(db.path(metaName), "digest of %s is %s in the metadata and sha256:%s in the manifest", n, want, man[n])
		}
	}
	if entries != db.Meta.Entries {
		return corrupt(db.path(metaName), "says %d entries, the manifest lists %d", db.Meta.Entries, entries)
	}
	// No file beyond the manifest (an extra ID/<id>.json would be served
	// to govulncheck without being accounted for).
	err = filepath.WalkDir(db.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return &CorruptError{File: p, Err: err}
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(db.Dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel == metaName || rel == manifestName {
			return nil
		}
		if _, ok := man[rel]; !ok {
			return corrupt(p, "not listed in the database manifest")
		}
		return nil
	})
	if err != nil {
		return err
	}
	b, err := db.readRaw(dbIndex)
	if err != nil {
		return err
	}
	var dm dbMeta
	if err := json.Unmarshal(b, &dm); err != nil {
		return corrupt(db.path(dbIndex), "%v", err)
	}
	if !dm.Modified.Equal(db.Meta.Modified) {
		return corrupt(db.path(metaName), "modified %s differs from index/db.json's %s", db.Meta.Modified.Format(time.RFC3339), dm.Modified.Format(time.RFC3339))
	}
	return nil
}

// readSmall reads a file of at most limit bytes.
func readSmall(p string, limit int64) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return b, nil
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// The manifest lists every database file as "<sha256 hex> <slash path>\n",
// sorted by path.
func formatManifest(files map[string]string) []byte {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	for _, n := range names {
		fmt.Fprintf(&buf, "%s %s\n", files[n], n)
	}
	return buf.Bytes()
}

func parseManifest(b []byte) (map[string]string, error) {
	m := map[string]string{}
	for i, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if line == "" && len(b) == 0 {
			break
		}
		sum, name, ok := strings.Cut(line, " ")
		if !ok || len(sum) != 64 || !validRelName(name) {
			return nil, fmt.Errorf("line %d is malformed", i+1)
		}
		if _, err := hex.DecodeString(sum); err != nil {
			return nil, fmt.Errorf("line %d is malformed", i+1)
		}
		m[name] = sum
	}
	return m, nil
}

// validRelName accepts the names a database holds: index/<name>.json and
// ID/<safe id>.json.
func validRelName(name string) bool {
	switch name {
	case dbIndex, modulesIndex, aliasesIndex:
		return true
	}
	id, ok := strings.CutPrefix(name, idDir+"/")
	if !ok {
		return false
	}
	id, ok = strings.CutSuffix(id, ".json")
	return ok && safeID(id)
}

// safeID reports whether id is a valid OSV id that is also safe as a file
// name on every system vexloom runs on: no ':' (a Windows stream separator)
// and no Windows device name.
func safeID(id string) bool {
	if !osv.ValidID(id) || strings.Contains(id, ":") {
		return false
	}
	base := strings.ToUpper(id)
	if i := strings.IndexByte(base, '.'); i >= 0 {
		base = base[:i]
	}
	switch base {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$":
		return false
	}
	if len(base) == 4 && (strings.HasPrefix(base, "COM") || strings.HasPrefix(base, "LPT")) && base[3] >= '0' && base[3] <= '9' {
		return false
	}
	return true
}

func sortedUnique(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}
