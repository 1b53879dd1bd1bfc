package publish

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vexloom/vexloom/internal/atomicfile"
	"github.com/vexloom/vexloom/internal/digest"
	"github.com/vexloom/vexloom/internal/jsonx"
	"github.com/vexloom/vexloom/internal/purl"
	"github.com/vexloom/vexloom/internal/vex"
)

// ErrCorrupt is returned when a file of a store cannot be what the store
// wrote: an object that does not hash to its name, an index entry or
// record that does not decode, a record whose objects are missing, a
// directory that is not a store's. The error names the file.
var ErrCorrupt = errors.New("store is corrupt")

// Local is a content-addressed directory store:
//
//	objects/sha256/<hex>                     documents, bundles and records, named by their digest
//	index/all/<record hex>                   every record, with the time it was first published
//	index/subject/<alg>/<hex>/<record hex>   records by subject digest
//	index/product/<sha256(purl)>/<record hex>  records by product package URL (with version)
//	index/package/<sha256(purl)>/<record hex>  records by package (purl without version and qualifiers)
//	tmp/                                     files being written
//
// Every file is written to tmp/, synced, and then hard-linked into place,
// which fails rather than replace an existing file: nothing is ever
// overwritten, a crash leaves at most an invisible file in tmp/, and
// concurrent publishers of the same object all succeed with one copy.
// Index directories are named by hashes, so no name from a document ever
// becomes a path.
type Local struct {
	dir string
	now func() time.Time
}

// record is what a published object is stored as; its digest is the
// object's ID. It has no time in it, so publishing the same object twice
// gives the same ID.
type record struct {
	Kind     string          `json:"kind"`
	Ref      string          `json:"ref"`
	Document string          `json:"document"`
	Bundle   string          `json:"bundle,omitempty"`
	Subjects []recordSubject `json:"subjects"`
	Products []string        `json:"products"`
}

type recordSubject struct {
	Name   string `json:"name,omitempty"`
	Digest string `json:"digest"`
}

type indexEntry struct {
	ID          string    `json:"id"`
	PublishedAt time.Time `json:"published_at"`
}

// Record is a published object read back from a store.
type Record struct {
	// ID is the object's content digest (the receipt ID).
	ID string
	// PublishedAt is when it was first published.
	PublishedAt time.Time
	// Object is what was published, with its bytes checked against their
	// digests.
	Object Object
}

// Query selects records. With neither field set it selects every record.
type Query struct {
	// Subject selects the records about an artifact digest.
	Subject *Digest
	// Product selects the records with a product package URL: with a
	// version or qualifiers it must match exactly (after normalisation);
	// without, it selects every version of the package.
	Product string
}

// localLayout are the directories every local store has.
var localLayout = []string{"objects/sha256", "index/all", "tmp"}

// NewLocal opens the local store in dir, creating it if dir does not exist
// or is empty. A directory that holds files but not a store's layout is
// ErrCorrupt: it is never taken for a store with nothing published. now is
// the clock for publication times; nil means time.Now.
func NewLocal(dir string, now func() time.Time) (*Local, error) {
	if dir == "" {
		return nil, errors.New("local store: no directory")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("local store %s: %w", dir, err)
	}
	if err := checkLocalLayout(abs); err != nil {
		return nil, err
	}
	for _, sub := range localLayout {
		if err := os.MkdirAll(filepath.Join(abs, filepath.FromSlash(sub)), 0o755); err != nil {
			return nil, fmt.Errorf("local store %s: %w", dir, err)
		}
	}
	if now == nil {
		now = time.Now
	}
	return &Local{dir: abs, now: now}, nil
}

// checkLocalLayout accepts a directory that does not exist, holds no file
// (one being made a store, perhaps by another process right now), or has
// the index and object directories of a local store.
func checkLocalLayout(dir string) error {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("local store %s: %w", dir, err)
	}
	hasFile := false
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			hasFile = true
			return filepath.SkipAll
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("local store %s: %w", dir, err)
	}
	if !hasFile {
		return nil
	}
	for _, sub := range localLayout[:2] {
		p := filepath.Join(dir, filepath.FromSlash(sub))
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("%w: %s is not a local store: %w", ErrCorrupt, dir, err)
		}
		if !fi.IsDir() {
			return fmt.Errorf("%w: %s is not a directory", ErrCorrupt, p)
		}
	}
	return nil
}

// Name returns "local:DIR".
func (l *Local) Name() string { return "local:" + l.dir }

// Dir returns the store's directory.
func (l *Local) Dir() string { return l.dir }

// Publish stores obj. The same object published twice gets the same ID and
// keeps its first publication time.
func (l *Local) Publish(ctx context.Context, obj Object) (Receipt, error) {
	if _, err := Check(obj); err != nil {
		return Receipt{}, err
	}
	rec := record{Kind: obj.Kind, Ref: obj.Ref, Subjects: []recordSubject{}, Products: []string{}}
	docDigest, err := l.putBlob(obj.Document)
	if err != nil {
		return Receipt{}, err
	}
	rec.Document = docDigest.String()
	if obj.Bundle != nil {
		d, err := l.putBlob(obj.Bundle)
		if err != nil {
			return Receipt{}, err
		}
		rec.Bundle = d.String()
	}
	seen := map[string]bool{}
	for _, s := range obj.Subjects {
		for _, d := range s.Digests() {
			k := s.Name + "\x00" + d.String()
			if !seen[k] {
				seen[k] = true
				rec.Subjects = append(rec.Subjects, recordSubject{Name: s.Name, Digest: d.String()})
			}
		}
	}
	slices.SortFunc(rec.Subjects, func(a, b recordSubject) int {
		return strings.Compare(a.Digest+"\x00"+a.Name, b.Digest+"\x00"+b.Name)
	})
	for _, p := range obj.Products {
		n, err := purl.Normalize(p)
		if err != nil {
			return Receipt{}, fmt.Errorf("%w: %v", ErrInvalidObject, err)
		}
		rec.Products = append(rec.Products, n)
	}
	slices.Sort(rec.Products)
	rec.Products = slices.Compact(rec.Products)

	raw, err := jsonx.Compact(rec)
	if err != nil {
		return Receipt{}, fmt.Errorf("encoding record: %w", err)
	}
	id, err := l.putBlob(raw)
	if err != nil {
		return Receipt{}, err
	}
	if err := ctx.Err(); err != nil {
		return Receipt{}, err
	}
	// The record is complete; the index entries make it visible. A crash
	// between them leaves a record that the next publish of the same object
	// indexes.
	entry, err := json.Marshal(indexEntry{ID: id.String(), PublishedAt: l.now().UTC()})
	if err != nil {
		return Receipt{}, err
	}
	var dirs []string
	for _, s := range rec.Subjects {
		d, _ := ParseDigest(s.Digest)
		dirs = append(dirs, filepath.Join("index", "subject", d.Algorithm, d.Hex))
	}
	for _, p := range rec.Products {
		dirs = append(dirs, filepath.Join("index", "product", SHA256([]byte(p)).Hex))
		if base, ok := purl.Base(p); ok {
			dirs = append(dirs, filepath.Join("index", "package", SHA256([]byte(base)).Hex))
		}
	}
	slices.Sort(dirs)
	dirs = slices.Compact(dirs)
	// index/all last: a record listed there is indexed everywhere.
	dirs = append(dirs, filepath.Join("index", "all"))
	for _, d := range dirs {
		p := filepath.Join(l.dir, d, id.Hex)
		created, err := l.writeOnce(p, entry)
		if err != nil {
			return Receipt{}, err
		}
		if !created {
			// An entry already there must be sound: a damaged one is
			// reported, not counted as published.
			if _, err := readIndexEntry(p, id); err != nil {
				return Receipt{}, err
			}
		}
	}
	return Receipt{Store: l.Name(), Location: l.objectPath(id), ID: id.String()}, nil
}

// Get reads the record with the given ID.
func (l *Local) Get(ctx context.Context, id string) (Record, error) {
	d, err := ParseDigest(id)
	if err != nil {
		return Record{}, err
	}
	if d.Algorithm != "sha256" {
		return Record{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	entry, err := readIndexEntry(filepath.Join(l.dir, "index", "all", d.Hex), d)
	if errors.Is(err, fs.ErrNotExist) {
		return Record{}, fmt.Errorf("%w: record %s", ErrNotFound, id)
	} else if err != nil {
		return Record{}, err
	}
	return l.load(ctx, d, entry.PublishedAt)
}

// readIndexEntry reads the index entry at path, which must name id.
func readIndexEntry(path string, id Digest) (indexEntry, error) {
	raw, err := readBounded(path, 4096)
	if err != nil {
		return indexEntry{}, err
	}
	var entry indexEntry
	if err := json.Unmarshal(raw, &entry); err != nil {
		return indexEntry{}, fmt.Errorf("%w: index entry %s: %v", ErrCorrupt, path, err)
	}
	if entry.ID != id.String() {
		return indexEntry{}, fmt.Errorf("%w: index entry %s names %q", ErrCorrupt, path, truncate(entry.ID))
	}
	if entry.PublishedAt.IsZero() {
		return indexEntry{}, fmt.Errorf("%w: index entry %s has no publication time", ErrCorrupt, path)
	}
	return entry, nil
}

func (l *Local) load(ctx context.Context, id Digest, published time.Time) (Record, error) {
	if err := ctx.Err(); err != nil {
		return Record{}, err
	}
	// The index names the record: from here on, anything missing or
	// unreadable is damage, not something that was never published.
	recPath := l.objectPath(id)
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: record %s: %s", ErrCorrupt, recPath, fmt.Sprintf(format, args...))
	}
	blob := func(d Digest, limit int64) ([]byte, error) {
		b, err := l.getBlob(d, limit)
		if errors.Is(err, ErrNotFound) {
			return nil, bad("object %s is missing", d)
		}
		return b, err
	}
	raw, err := blob(id, 1<<20+MaxSubjects*(MaxNameLength+100)+MaxProducts*MaxNameLength)
	if err != nil {
		return Record{}, err
	}
	var rec record
	if err := json.Unmarshal(raw, &rec); err != nil {
		return Record{}, bad("%v", err)
	}
	if rec.Kind == "" {
		return Record{}, bad("no kind")
	}
	obj := Object{Kind: rec.Kind, Ref: rec.Ref, Products: rec.Products}
	docDigest, err := ParseDigest(rec.Document)
	if err != nil {
		return Record{}, bad("%v", err)
	}
	if obj.Document, err = blob(docDigest, vex.MaxDocumentSize); err != nil {
		return Record{}, err
	}
	if rec.Bundle != "" {
		bd, err := ParseDigest(rec.Bundle)
		if err != nil {
			return Record{}, bad("%v", err)
		}
		if obj.Bundle, err = blob(bd, MaxBundleSize); err != nil {
			return Record{}, err
		}
	}
	for _, s := range rec.Subjects {
		d, err := ParseDigest(s.Digest)
		if err != nil {
			return Record{}, bad("%v", err)
		}
		obj.Subjects = append(obj.Subjects, digest.SubjectOf(s.Name, d))
	}
	return Record{ID: id.String(), PublishedAt: published, Object: obj}, nil
}

// List returns the records q selects, oldest first.
func (l *Local) List(ctx context.Context, q Query) ([]Record, error) {
	var dir string
	switch {
	case q.Subject != nil && q.Product != "":
		return nil, errors.New("query by subject or by product, not both")
	case q.Subject != nil:
		if err := q.Subject.Validate(); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidObject, err)
		}
		dir = filepath.Join(l.dir, "index", "subject", q.Subject.Algorithm, q.Subject.Hex)
	case q.Product != "":
		n, err := purl.Normalize(q.Product)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidObject, err)
		}
		if purl.Bare(n) {
			base, _ := purl.Base(n)
			dir = filepath.Join(l.dir, "index", "package", SHA256([]byte(base)).Hex)
		} else {
			dir = filepath.Join(l.dir, "index", "product", SHA256([]byte(n)).Hex)
		}
	default:
		dir = filepath.Join(l.dir, "index", "all")
	}
	names, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) && q.Subject == nil && q.Product == "" {
		// Every store has index/all: its absence is damage, not an
		// empty store.
		return nil, fmt.Errorf("%w: %s is missing", ErrCorrupt, dir)
	} else if errors.Is(err, fs.ErrNotExist) {
		return nil, nil // nothing published about it
	} else if err != nil {
		return nil, fmt.Errorf("listing %s: %w", dir, err)
	}
	var out []Record
	for _, n := range names {
		p := filepath.Join(dir, n.Name())
		d := Digest{Algorithm: "sha256", Hex: n.Name()}
		if d.Validate() != nil {
			// Nothing else is ever written here.
			return nil, fmt.Errorf("%w: %s is not an index entry", ErrCorrupt, p)
		}
		entry, err := readIndexEntry(p, d)
		if err != nil {
			return nil, err
		}
		rec, err := l.load(ctx, d, entry.PublishedAt)
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	slices.SortFunc(out, func(a, b Record) int {
		if c := a.PublishedAt.Compare(b.PublishedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

func (l *Local) objectPath(d Digest) string {
	return filepath.Join(l.dir, "objects", "sha256", d.Hex)
}

// putBlob stores b under its digest; an existing copy is checked, not
// replaced.
func (l *Local) putBlob(b []byte) (Digest, error) {
	d := SHA256(b)
	created, err := l.writeOnce(l.objectPath(d), b)
	if err != nil {
		return Digest{}, err
	}
	if !created {
		if _, err := l.getBlob(d, int64(len(b))); err != nil {
			return Digest{}, err
		}
	}
	return d, nil
}

// getBlob reads a blob of at most limit bytes and checks its digest.
func (l *Local) getBlob(d Digest, limit int64) ([]byte, error) {
	if d.Algorithm != "sha256" || d.Validate() != nil {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, d)
	}
	b, err := readBounded(l.objectPath(d), limit)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: object %s", ErrNotFound, d)
	} else if err != nil {
		return nil, err
	}
	if SHA256(b) != d {
		return nil, fmt.Errorf("%w: object %s does not hash to its name", ErrCorrupt, l.objectPath(d))
	}
	return b, nil
}

// writeOnce writes data to path unless path exists; it reports whether it
// created the file. The file appears complete or not at all, written in the
// store's tmp directory.
func (l *Local) writeOnce(path string, data []byte) (bool, error) {
	if _, err := os.Lstat(path); err == nil {
		return false, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return false, err
	}
	return atomicfile.Create(path, data, 0o444, filepath.Join(l.dir, "tmp"))
}

// readBounded reads a regular file of at most limit bytes.
func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrCorrupt, path)
	}
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if n > limit {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrCorrupt, path, limit)
	}
	return buf.Bytes(), nil
}
