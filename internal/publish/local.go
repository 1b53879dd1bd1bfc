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

	"github.com/package-url/packageurl-go"

	"github.com/vexloom/vexloom/internal/jsonx"
	"github.com/vexloom/vexloom/internal/vex"
)

// ErrCorrupt is returned when a stored file does not hash to its name.
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

// NewLocal opens (creating if needed) a local store in dir. now is the
// clock for publication times; nil means time.Now.
func NewLocal(dir string, now func() time.Time) (*Local, error) {
	if dir == "" {
		return nil, errors.New("local store: no directory")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("local store %s: %w", dir, err)
	}
	for _, sub := range []string{"objects/sha256", "index/all", "tmp"} {
		if err := os.MkdirAll(filepath.Join(abs, filepath.FromSlash(sub)), 0o755); err != nil {
			return nil, fmt.Errorf("local store %s: %w", dir, err)
		}
	}
	if now == nil {
		now = time.Now
	}
	return &Local{dir: abs, now: now}, nil
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
		k := s.Name + "\x00" + s.Digest.String()
		if !seen[k] {
			seen[k] = true
			rec.Subjects = append(rec.Subjects, recordSubject{Name: s.Name, Digest: s.Digest.String()})
		}
	}
	slices.SortFunc(rec.Subjects, func(a, b recordSubject) int {
		return strings.Compare(a.Digest+"\x00"+a.Name, b.Digest+"\x00"+b.Name)
	})
	for _, p := range obj.Products {
		n, err := vex.NormalizePURL(p)
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
		if base, ok := basePURL(p); ok {
			dirs = append(dirs, filepath.Join("index", "package", SHA256([]byte(base)).Hex))
		}
	}
	slices.Sort(dirs)
	dirs = slices.Compact(dirs)
	// index/all last: a record listed there is indexed everywhere.
	dirs = append(dirs, filepath.Join("index", "all"))
	for _, d := range dirs {
		if _, err := l.writeOnce(filepath.Join(l.dir, d, id.Hex), entry); err != nil {
			return Receipt{}, err
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
	entryRaw, err := readBounded(filepath.Join(l.dir, "index", "all", d.Hex), 4096)
	if errors.Is(err, fs.ErrNotExist) {
		return Record{}, fmt.Errorf("%w: record %s", ErrNotFound, id)
	} else if err != nil {
		return Record{}, err
	}
	var entry indexEntry
	if err := json.Unmarshal(entryRaw, &entry); err != nil || entry.ID != d.String() {
		return Record{}, fmt.Errorf("%w: index entry for %s", ErrCorrupt, id)
	}
	return l.load(ctx, d, entry.PublishedAt)
}

func (l *Local) load(ctx context.Context, id Digest, published time.Time) (Record, error) {
	if err := ctx.Err(); err != nil {
		return Record{}, err
	}
	raw, err := l.getBlob(id, 1<<20+MaxSubjects*(MaxNameLength+100)+MaxProducts*MaxNameLength)
	if err != nil {
		return Record{}, err
	}
	var rec record
	if err := json.Unmarshal(raw, &rec); err != nil {
		return Record{}, fmt.Errorf("%w: record %s: %v", ErrCorrupt, id, err)
	}
	obj := Object{Kind: rec.Kind, Ref: rec.Ref, Products: rec.Products}
	docDigest, err := ParseDigest(rec.Document)
	if err != nil {
		return Record{}, fmt.Errorf("%w: record %s: %v", ErrCorrupt, id, err)
	}
	if obj.Document, err = l.getBlob(docDigest, vex.MaxDocumentSize); err != nil {
		return Record{}, err
	}
	if rec.Bundle != "" {
		bd, err := ParseDigest(rec.Bundle)
		if err != nil {
			return Record{}, fmt.Errorf("%w: record %s: %v", ErrCorrupt, id, err)
		}
		if obj.Bundle, err = l.getBlob(bd, MaxBundleSize); err != nil {
			return Record{}, err
		}
	}
	for _, s := range rec.Subjects {
		d, err := ParseDigest(s.Digest)
		if err != nil {
			return Record{}, fmt.Errorf("%w: record %s: %v", ErrCorrupt, id, err)
		}
		obj.Subjects = append(obj.Subjects, Subject{Name: s.Name, Digest: d})
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
		n, err := vex.NormalizePURL(q.Product)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidObject, err)
		}
		if p, err := packageurl.FromString(n); err == nil && p.Version == "" && len(p.Qualifiers) == 0 && p.Subpath == "" {
			base, _ := basePURL(n)
			dir = filepath.Join(l.dir, "index", "package", SHA256([]byte(base)).Hex)
		} else {
			dir = filepath.Join(l.dir, "index", "product", SHA256([]byte(n)).Hex)
		}
	default:
		dir = filepath.Join(l.dir, "index", "all")
	}
	names, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("listing %s: %w", dir, err)
	}
	var out []Record
	for _, n := range names {
		d := Digest{Algorithm: "sha256", Hex: n.Name()}
		if d.Validate() != nil {
			continue // not an entry (nothing else is written here)
		}
		raw, err := readBounded(filepath.Join(dir, n.Name()), 4096)
		if err != nil {
			return nil, err
		}
		var entry indexEntry
		if err := json.Unmarshal(raw, &entry); err != nil || entry.ID != d.String() {
			return nil, fmt.Errorf("%w: index entry %s", ErrCorrupt, filepath.Join(dir, n.Name()))
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
		return nil, fmt.Errorf("%w: object %s does not hash to its name", ErrCorrupt, d)
	}
	return b, nil
}

// writeOnce writes data to path unless path exists; it reports whether it
// created the file. The file appears complete or not at all.
func (l *Local) writeOnce(path string, data []byte) (bool, error) {
	if _, err := os.Lstat(path); err == nil {
		return false, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return false, err
	}
	f, err := os.CreateTemp(filepath.Join(l.dir, "tmp"), "w-*")
	if err != nil {
		return false, err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return false, fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return false, fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return false, fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Chmod(tmp, 0o444); err != nil {
		return false, err
	}
	if err := os.Link(tmp, path); errors.Is(err, fs.ErrExist) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("writing %s: %w", path, err)
	}
	syncDir(filepath.Dir(path))
	return true, nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // best effort: not every file system syncs directories
		d.Close()
	}
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

// basePURL returns a package URL without version, qualifiers and subpath,
// written as packageurl-go writes it: the key Trivy looks packages up by in
// a VEX repository index.
func basePURL(s string) (string, bool) {
	p, err := packageurl.FromString(s)
	if err != nil || p.Type == "" || p.Name == "" {
		return "", false
	}
	p.Version = ""
	p.Qualifiers = nil
	p.Subpath = ""
	return p.ToString(), true
}
