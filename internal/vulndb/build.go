package vulndb

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vexloom/vexloom/internal/jsonx"
	"github.com/vexloom/vexloom/internal/osv"
	"github.com/vexloom/vexloom/internal/progress"
)

// The index types, as govulncheck's internal/client reads them.
type dbMeta struct {
	Modified time.Time `json:"modified"`
}

type moduleMeta struct {
	Path  string       `json:"path"`
	Vulns []moduleVuln `json:"vulns"`
}

type moduleVuln struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Fixed    string    `json:"fixed,omitempty"`
}

// goEcosystem is the OSV ecosystem of Go modules, the standard library
// ("stdlib") and the toolchain ("toolchain").
const goEcosystem = "Go"

// errNotGo marks an entry with no Go-ecosystem package: not an error in the
// source, just not for this database.
var errNotGo = errors.New("no Go-ecosystem package")

// prepare validates one raw entry from a source and returns it parsed, with
// a zero "modified" replaced by fallback (in the returned bytes too: only
// that field is rewritten). name is the file name the source gave it ("" if
// none); its base must be <ID>.json.
func prepare(name string, raw []byte, fallback time.Time) (*osv.Entry, []byte, error) {
	if len(raw) > osv.MaxEntrySize {
		return nil, nil, fmt.Errorf("larger than the %d bytes allowed for an entry", osv.MaxEntrySize)
	}
	e, err := osv.Parse(raw)
	if err != nil {
		return nil, nil, err
	}
	if !safeID(e.ID) {
		return nil, nil, fmt.Errorf("id %q is not safe as a file name", e.ID)
	}
	if name != "" {
		if base := path.Base(strings.ReplaceAll(name, `\`, "/")); base != e.ID+".json" {
			return nil, nil, fmt.Errorf("file name %s is not <ID>.json for id %s", base, e.ID)
		}
	}
	if err := checkGovulncheck(raw); err != nil {
		return nil, nil, fmt.Errorf("govulncheck could not read it: %v", err)
	}
	hasGo := false
	for _, a := range e.Affected {
		if a.Package.Ecosystem == goEcosystem {
			hasGo = true
			break
		}
	}
	if !hasGo {
		return e, raw, errNotGo
	}
	if e.Modified.IsZero() {
		if fallback.IsZero() {
			return nil, nil, errors.New("no modified time and no source version time to use instead")
		}
		fixed, err := setModified(raw, fallback)
		if err != nil {
			return nil, nil, err
		}
		e2, err := osv.Parse(fixed)
		if err != nil || e2.ID != e.ID || !e2.Modified.Equal(fallback) {
			return nil, nil, errors.New("could not rewrite its zero modified time")
		}
		e, raw = e2, fixed
	}
	return e, raw, nil
}

// setModified rewrites the value of every top-level "modified" key of the
// JSON object raw (encoding/json matches keys ignoring case, and the last
// one wins, so all are rewritten) to t, or inserts the key if there is none.
// Every other byte is kept.
func setModified(raw []byte, t time.Time) ([]byte, error) {
	val, _ := json.Marshal(t.UTC().Format(time.RFC3339Nano))
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	open := int(dec.InputOffset()) - 1
	type span struct{ start, end int }
	var spans []span
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		afterKey := int(dec.InputOffset())
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		if strings.EqualFold(key, "modified") {
			end := int(dec.InputOffset())
			colon := bytes.IndexByte(raw[afterKey:end], ':')
			if colon < 0 {
				return nil, errors.New("malformed object")
			}
			start := afterKey + colon + 1
			for start < end && isSpace(raw[start]) {
				start++
			}
			spans = append(spans, span{start, end})
		}
	}
	if len(spans) == 0 {
		out := make([]byte, 0, len(raw)+len(val)+14)
		out = append(out, raw[:open+1]...)
		out = append(out, `"modified":`...)
		out = append(out, val...)
		out = append(out, ',')
		return append(out, raw[open+1:]...), nil
	}
	var out []byte
	prev := 0
	for _, s := range spans {
		out = append(out, raw[prev:s.start]...)
		out = append(out, val...)
		prev = s.end
	}
	return append(out, raw[prev:]...), nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// govulncheckEntry mirrors the types govulncheck v1.9.0 decodes an entry
// into (golang.org/x/vuln/internal/osv). An entry that does not decode into
// it would make every govulncheck run that touches it fail, so it is
// skipped.
type govulncheckEntry struct {
	SchemaVersion string     `json:"schema_version,omitempty"`
	ID            string     `json:"id"`
	Modified      time.Time  `json:"modified,omitempty"`
	Published     time.Time  `json:"published,omitempty"`
	Withdrawn     *time.Time `json:"withdrawn,omitempty"`
	Aliases       []string   `json:"aliases,omitempty"`
	Summary       string     `json:"summary,omitempty"`
	Details       string     `json:"details"`
	Affected      []struct {
		Module struct {
			Path      string `json:"name"`
			Ecosystem string `json:"ecosystem"`
		} `json:"package"`
		Ranges []struct {
			Type   string `json:"type"`
			Events []struct {
				Introduced string `json:"introduced,omitempty"`
				Fixed      string `json:"fixed,omitempty"`
			} `json:"events"`
		} `json:"ranges,omitempty"`
		EcosystemSpecific struct {
			Packages []struct {
				Path    string   `json:"path,omitempty"`
				GOOS    []string `json:"goos,omitempty"`
				GOARCH  []string `json:"goarch,omitempty"`
				Symbols []string `json:"symbols,omitempty"`
			} `json:"imports,omitempty"`
		} `json:"ecosystem_specific"`
	} `json:"affected"`
	References []struct {
		Type string `json:"type"`
		URL  string `json:"url"`
	} `json:"references,omitempty"`
	Credits []struct {
		Name string `json:"name"`
	} `json:"credits,omitempty"`
	DatabaseSpecific *struct {
		URL          string       `json:"url,omitempty"`
		ReviewStatus reviewStatus `json:"review_status,omitempty"`
	} `json:"database_specific,omitempty"`
}

type reviewStatus string

func (r *reviewStatus) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	switch s {
	case "", "UNREVIEWED", "REVIEWED":
		*r = reviewStatus(s)
		return nil
	}
	return fmt.Errorf("unrecognized review status: %.40s", s)
}

func checkGovulncheck(raw []byte) error {
	var e govulncheckEntry
	err := json.Unmarshal(raw, &e)
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("%s is a JSON %s of the wrong type", te.Field, te.Value)
	}
	return err
}

// builder assembles one database generation in dir from the entries a
// source yields.
type builder struct {
	ctx      context.Context
	dir      string
	fallback time.Time // the source version's time, for zero "modified"
	progress *progress.Reporter

	mu       sync.Mutex
	entries  map[string]*builtEntry // by ID
	lower    map[string]string      // lower-case ID -> ID, against collisions on case-insensitive file systems
	stats    Stats
	warnings int
}

type builtEntry struct {
	id       string
	name     string // where the source had it, for messages
	aliases  []string
	modified time.Time
	rows     []moduleRow
	sum      string // sha256 hex of the written file
}

type moduleRow struct {
	path  string
	fixed string
}

// Stats counts what an update did with the source's entries.
type Stats struct {
	Entries    int // entries in the new database
	Skipped    int // entries skipped as malformed or unsafe (each reported as a progress warning)
	NotGo      int // entries with no Go-ecosystem package
	Duplicates int // entries dropped as a duplicate ID or as an alias of a kept entry
	Fetched    int // entries downloaded (mirror sources)
	Reused     int // entries copied from the previous database (mirror sources)
}

const maxWarnings = 25

func newBuilder(ctx context.Context, dir string, fallback time.Time, p *progress.Reporter) (*builder, error) {
	for _, d := range []string{dir, filepath.Join(dir, idDir), filepath.Join(dir, "index")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	return &builder{
		ctx: ctx, dir: dir, fallback: fallback, progress: p,
		entries: map[string]*builtEntry{}, lower: map[string]string{},
	}, nil
}

func (b *builder) warnf(format string, args ...any) {
	b.warnings++
	if b.warnings <= maxWarnings {
		b.progress.Printf("warning: "+format, args...)
	} else if b.warnings == maxWarnings+1 {
		b.progress.Printf("warning: more entries skipped; not reporting each")
	}
}

// add takes one raw entry. name is its file name in the source, if any.
// Only context cancellation and write errors are returned; bad entries are
// counted and reported.
func (b *builder) add(name string, raw []byte) error {
	if err := b.ctx.Err(); err != nil {
		return err
	}
	e, data, err := prepare(name, raw, b.fallback)
	b.mu.Lock()
	defer b.mu.Unlock()
	label := name
	if label == "" && e != nil {
		label = e.ID
	}
	if errors.Is(err, errNotGo) {
		b.stats.NotGo++
		return nil
	}
	if err != nil {
		b.stats.Skipped++
		b.warnf("skipping %s: %v", label, err)
		return nil
	}
	if other, ok := b.lower[strings.ToLower(e.ID)]; ok && other != e.ID {
		b.stats.Skipped++
		b.warnf("skipping %s: id %s differs only in case from %s", label, e.ID, other)
		return nil
	}
	if old, ok := b.entries[e.ID]; ok {
		b.stats.Duplicates++
		if !e.Modified.After(old.modified) {
			return nil // keep the first of equally new copies
		}
	}
	var rows []moduleRow
	for _, a := range e.Affected {
		if a.Package.Ecosystem == goEcosystem {
			rows = append(rows, moduleRow{path: a.Package.Name, fixed: osv.LatestFix(a.Ranges)})
		}
	}
	rel := idDir + "/" + e.ID + ".json"
	if err := writeFileSync(filepath.Join(b.dir, filepath.FromSlash(rel)), data); err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	b.entries[e.ID] = &builtEntry{
		id: e.ID, name: label, aliases: e.Aliases, modified: e.Modified,
		rows: rows, sum: hex.EncodeToString(sum[:]),
	}
	b.lower[strings.ToLower(e.ID)] = e.ID
	return nil
}

// idRank orders entries for de-duplication: the Go database's own entries
// first, then GitHub's, then anything else, CVE records last.
func idRank(id string) int {
	switch {
	case strings.HasPrefix(id, "GO-"):
		return 0
	case strings.HasPrefix(id, "GHSA-"):
		return 1
	case osv.IsCVE(id):
		return 3
	}
	return 2
}

// finish removes duplicates, writes the indexes, the manifest and Meta (last)
// and syncs the directory tree. It returns the Meta written.
func (b *builder) finish(meta Meta) (Meta, error) {
	if err := b.ctx.Err(); err != nil {
		return Meta{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()

	ids := make([]string, 0, len(b.entries))
	for id := range b.entries {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		ri, rj := idRank(ids[i]), idRank(ids[j])
		if ri != rj {
			return ri < rj
		}
		return ids[i] < ids[j]
	})

	// An osv.dev export lists one vulnerability as GO-… and as GHSA-…
	// (and CVE-…); govulncheck would report each. Keep the first by rank
	// and drop entries whose ID is an alias of a kept one, or that name a
	// kept entry as their alias.
	aliasOf := map[string][]string{} // alias -> kept IDs listing it
	kept := map[string]bool{}
	dropped := map[string][]string{} // dropped ID -> kept IDs it duplicates
	var keptIDs []string
	for _, id := range ids {
		e := b.entries[id]
		var dupOf []string
		dupOf = append(dupOf, aliasOf[id]...)
		for _, a := range e.aliases {
			if kept[a] {
				dupOf = append(dupOf, a)
			}
		}
		if len(dupOf) > 0 {
			dropped[id] = sortedUnique(dupOf)
			continue
		}
		kept[id] = true
		keptIDs = append(keptIDs, id)
		for _, a := range e.aliases {
			if a != id {
				aliasOf[a] = append(aliasOf[a], id)
			}
		}
	}
	if len(keptIDs) == 0 {
		return Meta{}, errors.New("the source has no usable Go vulnerability entries")
	}
	for id := range dropped {
		b.stats.Duplicates++
		if err := os.Remove(filepath.Join(b.dir, idDir, id+".json")); err != nil {
			return Meta{}, err
		}
	}
	if n := len(dropped); n > 0 {
		b.progress.Printf("dropped %d entries that repeat a kept entry under another ID", n)
	}
	if b.stats.Skipped > 0 {
		b.progress.Printf("skipped %d malformed or unsafe entries", b.stats.Skipped)
	}
	if b.stats.NotGo > 0 {
		b.progress.Printf("ignored %d entries with no Go-ecosystem package", b.stats.NotGo)
	}
	sort.Strings(keptIDs)

	// Alias index: every kept ID and alias, and every dropped ID and its
	// aliases, to the kept IDs that carry it.
	aliases := map[string][]string{}
	for _, id := range keptIDs {
		aliases[id] = append(aliases[id], id)
		for _, a := range b.entries[id].aliases {
			aliases[a] = append(aliases[a], id)
		}
	}
	for id, to := range dropped {
		aliases[id] = append(aliases[id], to...)
		for _, a := range b.entries[id].aliases {
			aliases[a] = append(aliases[a], to...)
		}
	}
	for k, v := range aliases {
		aliases[k] = sortedUnique(v)
	}

	// Module index and db modified time.
	var modified time.Time
	mods := map[string]*moduleMeta{}
	files := map[string]string{}
	for _, id := range keptIDs {
		e := b.entries[id]
		files[idDir+"/"+id+".json"] = e.sum
		if e.modified.After(modified) {
			modified = e.modified
		}
		for _, r := range e.rows {
			m := mods[r.path]
			if m == nil {
				m = &moduleMeta{Path: r.path, Vulns: []moduleVuln{}}
				mods[r.path] = m
			}
			m.Vulns = append(m.Vulns, moduleVuln{ID: id, Modified: e.modified.UTC(), Fixed: r.fixed})
		}
	}
	modList := make([]*moduleMeta, 0, len(mods))
	for _, m := range mods {
		sort.SliceStable(m.Vulns, func(i, j int) bool { return m.Vulns[i].ID < m.Vulns[j].ID })
		modList = append(modList, m)
	}
	sort.Slice(modList, func(i, j int) bool { return modList[i].Path < modList[j].Path })

	write := func(name string, v any) error {
		data, err := compactJSON(v)
		if err != nil {
			return err
		}
		if err := writeFileSync(filepath.Join(b.dir, filepath.FromSlash(name)), data); err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		files[name] = hex.EncodeToString(sum[:])
		return nil
	}
	if err := write(dbIndex, dbMeta{Modified: modified.UTC()}); err != nil {
		return Meta{}, err
	}
	if err := write(modulesIndex, modList); err != nil {
		return Meta{}, err
	}
	if err := write(aliasesIndex, aliases); err != nil {
		return Meta{}, err
	}
	manifest := formatManifest(files)
	if err := writeFileSync(filepath.Join(b.dir, manifestName), manifest); err != nil {
		return Meta{}, err
	}

	meta.Format = FormatVersion
	meta.Modified = modified.UTC()
	meta.Entries = len(keptIDs)
	meta.Digest = digestOf(manifest)
	meta.Files = map[string]string{manifestName: meta.Digest}
	for _, n := range []string{dbIndex, modulesIndex, aliasesIndex} {
		meta.Files[n] = "sha256:" + files[n]
	}
	b.stats.Entries = len(keptIDs)

	for _, d := range []string{filepath.Join(b.dir, idDir), filepath.Join(b.dir, "index")} {
		if err := syncDir(d); err != nil {
			return Meta{}, err
		}
	}
	if err := b.ctx.Err(); err != nil {
		return Meta{}, err
	}
	mb, err := jsonx.Marshal(meta)
	if err != nil {
		return Meta{}, err
	}
	if err := writeFileSync(filepath.Join(b.dir, metaName), mb); err != nil {
		return Meta{}, err
	}
	if err := syncDir(b.dir); err != nil {
		return Meta{}, err
	}
	return meta, nil
}

// compactJSON encodes v compactly without HTML escaping, as vuln.go.dev
// serves its indexes.
func compactJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// writeFileSync creates p with data and flushes it to stable storage.
func writeFileSync(p string, data []byte) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// syncDir flushes a directory's entries. Systems that cannot sync a
// directory (Windows) are not an error.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil && !isSyncUnsupported(err) {
		return err
	}
	return nil
}
