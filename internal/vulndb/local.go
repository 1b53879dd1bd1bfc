package vulndb

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vexloom/vexloom/internal/osv"
	"github.com/vexloom/vexloom/internal/redact"
)

// tooLarge stands in for a file over osv.MaxEntrySize, which is never
// read: the builder rejects it by its length.
var tooLarge = sync.OnceValue(func() []byte { return make([]byte, osv.MaxEntrySize+1) })

// maxRemoteZip bounds the download of a zip export.
const maxRemoteZip = 512 << 20

// contentHasher computes a dir or zip source's version: sha256 over the
// sorted (name, content) pairs, as lines "<sha256 of content> <name>\n".
// A file too large to be an entry counts by its size instead of its
// content, so it is never read.
type contentHasher struct {
	h        hash.Hash
	newest   time.Time // newest real "modified" seen
	newestFS time.Time // newest file time seen
}

func newContentHasher() *contentHasher { return &contentHasher{h: sha256.New()} }

func (c *contentHasher) add(name string, raw []byte, size int64, mtime time.Time) {
	if raw != nil {
		sum := sha256.Sum256(raw)
		fmt.Fprintf(c.h, "%s %s\n", hex.EncodeToString(sum[:]), name)
		var m struct {
			Modified time.Time `json:"modified"`
			Affected []struct {
				Package struct {
					Ecosystem string `json:"ecosystem"`
				} `json:"package"`
			} `json:"affected"`
		}
		if json.Unmarshal(raw, &m) == nil && m.Modified.After(c.newest) {
			for _, a := range m.Affected {
				if a.Package.Ecosystem == goEcosystem {
					c.newest = m.Modified
					break
				}
			}
		}
	} else {
		fmt.Fprintf(c.h, "size:%d %s\n", size, name)
	}
	if mtime.After(c.newestFS) {
		c.newestFS = mtime
	}
}

func (c *contentHasher) version() Version {
	t := c.newest
	if t.IsZero() {
		t = c.newestFS
	}
	return Version{ID: "sha256:" + hex.EncodeToString(c.h.Sum(nil)), Time: t.UTC()}
}

// dirSource reads OSV files from a directory: every *.json below it, or,
// for a database already in govulncheck's layout (index/modules.json and
// ID/), the files in ID/.
type dirSource struct {
	dir  string // absolute
	opts Options
}

func newDirSource(p string, opts Options) (*dirSource, error) {
	if p == "" {
		return nil, errors.New("source dir: no directory named")
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("source dir:%s: %w", p, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("source dir:%s: not a directory", p)
	}
	return &dirSource{dir: abs, opts: opts}, nil
}

func (s *dirSource) String() string { return "dir:" + s.dir }
func (s *dirSource) Kind() string   { return "dir" }

type dirFile struct {
	rel   string // slash-separated, relative to the source directory
	size  int64
	mtime time.Time
}

// files lists the candidate files, sorted by name.
func (s *dirSource) files() ([]dirFile, error) {
	root := s.dir
	prefix := ""
	if fi, err := os.Stat(filepath.Join(root, "index", "modules.json")); err == nil && fi.Mode().IsRegular() {
		if fi, err := os.Stat(filepath.Join(root, idDir)); err == nil && fi.IsDir() {
			root, prefix = filepath.Join(root, idDir), idDir+"/"
		}
	}
	var out []dirFile
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			if prefix != "" && p != root {
				return filepath.SkipDir // govulncheck layout: ID/ only
			}
			return nil
		}
		if !strings.HasSuffix(d.Name(), ".json") || !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = prefix + filepath.ToSlash(rel)
		if strings.ContainsAny(rel, "\n\r") {
			return nil
		}
		out = append(out, dirFile{rel: rel, size: info.Size(), mtime: info.ModTime()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", s.String(), err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].rel < out[j].rel })
	return out, nil
}

// read returns a file's content, or nil if it is too large to be an entry.
func (s *dirSource) read(f dirFile) ([]byte, error) {
	if f.size > osv.MaxEntrySize {
		return nil, nil
	}
	fh, err := os.Open(filepath.Join(s.dir, filepath.FromSlash(f.rel)))
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	return io.ReadAll(io.LimitReader(fh, osv.MaxEntrySize+1))
}

func (s *dirSource) scan(ctx context.Context, emit func(name string, raw []byte) error) (Version, error) {
	files, err := s.files()
	if err != nil {
		return Version{}, err
	}
	c := newContentHasher()
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return Version{}, err
		}
		raw, err := s.read(f)
		if err != nil {
			return Version{}, fmt.Errorf("reading %s: %w", s.String(), err)
		}
		c.add(f.rel, raw, f.size, f.mtime)
		if emit != nil {
			if raw == nil {
				// Too large: let the builder report it without reading it.
				raw = tooLarge()
			}
			if err := emit(f.rel, raw); err != nil {
				return Version{}, err
			}
		}
	}
	return c.version(), nil
}

func (s *dirSource) Latest(ctx context.Context) (Version, error) { return s.scan(ctx, nil) }

func (s *dirSource) Fetch(ctx context.Context, v Version, yield func(*osv.Entry, []byte) error) error {
	return fetchPublic(ctx, s, s.opts, v, yield)
}

func (s *dirSource) fetchRaw(ctx context.Context, v Version, env *fetchEnv, emit func(string, []byte) error) error {
	got, err := s.scan(ctx, emit)
	if err != nil {
		return err
	}
	if got.ID != v.ID {
		return fmt.Errorf("%s changed while it was read (%s, expected %s); run the update again", s.String(), got.ID, v.ID)
	}
	return nil
}

// zipSource reads an osv.dev export: <ID>.json files at the root of a zip,
// from a local file or downloaded from a URL.
type zipSource struct {
	file   string // local path; "" for a URL
	rawURL string
	name   string
	opts   Options
	client *http.Client
}

func newZipSource(p string, opts Options) (*zipSource, error) {
	if p == "" {
		return nil, errors.New("source zip: no file named")
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("source zip:%s: %w", p, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("source zip:%s: not a file", p)
	}
	return &zipSource{file: abs, name: "zip:" + abs, opts: opts}, nil
}

func newRemoteZipSource(raw string, opts Options) (*zipSource, error) {
	u, err := parseHTTPURL(raw)
	if err != nil {
		return nil, err
	}
	return &zipSource{rawURL: u.String(), name: "zip:" + redact.URL(u), opts: opts, client: opts.client()}, nil
}

func (s *zipSource) String() string { return s.name }
func (s *zipSource) Kind() string   { return "zip" }

// withFile calls f with a local copy of the zip.
func (s *zipSource) withFile(ctx context.Context, tmpDir string, env *fetchEnv, f func(path string) error) error {
	if s.file != "" {
		return f(s.file)
	}
	tmp, err := os.CreateTemp(tmpDir, ".tmp-export-*.zip")
	if err != nil {
		return err
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}()
	if env != nil {
		env.progress.Printf("downloading %s", s.name)
	}
	if _, err := download(ctx, s.client, s.rawURL, tmp, maxRemoteZip); err != nil {
		return fmt.Errorf("downloading %s: %w", s.name, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return f(tmp.Name())
}

func (s *zipSource) scan(ctx context.Context, file string, emit func(string, []byte) error) (Version, error) {
	zr, err := zip.OpenReader(file)
	if err != nil {
		return Version{}, fmt.Errorf("reading %s: %v", s.name, err)
	}
	defer zr.Close()
	var files []*zip.File
	for _, f := range zr.File {
		if strings.ContainsAny(f.Name, "/\\\n\r") || !strings.HasSuffix(f.Name, ".json") || f.FileInfo().IsDir() {
			continue
		}
		files = append(files, f)
	}
	sort.SliceStable(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	c := newContentHasher()
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return Version{}, err
		}
		var raw []byte
		if f.UncompressedSize64 <= osv.MaxEntrySize {
			raw, err = readZipEntry(f)
			if err != nil {
				return Version{}, fmt.Errorf("reading %s: %s: %v", s.name, f.Name, err)
			}
		}
		c.add(f.Name, raw, int64(min(f.UncompressedSize64, 1<<62)), f.Modified)
		if emit != nil {
			if raw == nil {
				raw = tooLarge()
			}
			if err := emit(f.Name, raw); err != nil {
				return Version{}, err
			}
		}
	}
	return c.version(), nil
}

func (s *zipSource) Latest(ctx context.Context) (Version, error) {
	var v Version
	err := s.withFile(ctx, "", nil, func(p string) error {
		var err error
		v, err = s.scan(ctx, p, nil)
		return err
	})
	return v, err
}

func (s *zipSource) Fetch(ctx context.Context, v Version, yield func(*osv.Entry, []byte) error) error {
	return fetchPublic(ctx, s, s.opts, v, yield)
}

func (s *zipSource) fetchRaw(ctx context.Context, v Version, env *fetchEnv, emit func(string, []byte) error) error {
	return s.withFile(ctx, env.tmpDir, env, func(p string) error {
		got, err := s.scan(ctx, p, emit)
		if err != nil {
			return err
		}
		if got.ID != v.ID {
			return fmt.Errorf("%s changed while it was read (%s, expected %s); run the update again", s.name, got.ID, v.ID)
		}
		return nil
	})
}
