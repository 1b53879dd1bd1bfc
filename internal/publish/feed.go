package publish

import (
	"archive/tar"
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/atomicfile"
	"github.com/vexloom/vexloom/internal/jsonx"
	"github.com/vexloom/vexloom/internal/purl"
	"github.com/vexloom/vexloom/internal/vex"
	"github.com/vexloom/vexloom/internal/vexformat"
)

// The feed follows aquasecurity's VEX repository specification as Trivy
// (pkg/vex/repo) reads it, which is what VEX Hub, SUSE Rancher's and
// Docker's repositories publish:
//
//   - the manifest, at /.well-known/vex-repository.json, lists "versions" as
//     an array whose "spec_version" is "0.1" (the specification's README shows
//     a map keyed "v0" with "v0.1", which Trivy cannot decode);
//   - each version's "locations" give the URL of an archive whose extension
//     says its format; Trivy downloads it with If-None-Match and unpacks it;
//   - the archive holds index.json {"updated_at", "packages": [{"id",
//     "location", "format"}]} where id is the package URL without version,
//     qualifiers and subpath (Trivy looks it up as packageurl-go writes it),
//     and one OpenVEX document per package at location.
//
// The specification carries no signatures, and the per-package documents
// are regrouped from many signed ones, so no signature can cover them. The
// archive therefore also holds, under bundles/, the Sigstore bundle of every
// signed document the feed was built from (bundles/<sha256 of the
// bundle>.sigstore.json): files index.json does not list, which Trivy
// unpacks and never reads, and which vexloom's reader verifies
// (attest.Verify) instead of trusting the per-package documents.
const (
	// FeedSpecVersion is the specification version Trivy selects.
	FeedSpecVersion = "0.1"
	// FeedManifestPath is where clients fetch the manifest.
	FeedManifestPath = ".well-known/vex-repository.json"
	// FeedArchiveName is the archive's file name.
	FeedArchiveName = "vex-repository.tar.gz"
	// FeedIndexPath is the index inside the archive.
	FeedIndexPath = "index.json"
	// FeedBundleDir holds the Sigstore bundles of the signed documents the
	// feed was built from, inside the archive and in a feed directory.
	FeedBundleDir = "bundles"
	// FeedBundleSuffix ends each bundle's file name.
	FeedBundleSuffix = ".sigstore.json"
)

// maxSegment bounds one escaped path segment (file systems allow 255 bytes).
const maxSegment = 255

// FeedConfig describes a feed.
type FeedConfig struct {
	// Name and Description go into the manifest.
	Name, Description string
	// Author is the author of the per-package documents; "vexloom" if empty.
	Author string
	// BaseURL is where the feed is served (the URL given to `trivy vex repo`);
	// the archive's location is BaseURL/vex-repository.tar.gz.
	BaseURL string
	// UpdateInterval is how often clients should check for updates
	// (whole seconds; 24h if zero).
	UpdateInterval time.Duration
	// Dir, if set, is where Refresh writes the feed's files.
	Dir string
	// Format is the per-package documents' format: openvex (the default)
	// or csaf, the two the specification allows (CSAF 2.0 VEX, as
	// internal/csaf writes it, at .../csaf.json).
	Format vexformat.Format
}

// Snapshot is one generated state of a feed.
type Snapshot struct {
	// UpdatedAt is the newest statement time in the feed; it is the index's
	// updated_at and the Last-Modified of every file.
	UpdatedAt time.Time
	// Files are the feed's files by slash-separated path: the manifest
	// (FeedManifestPath and vex-repository.json), index.json, the per-package
	// documents, the bundles of the signed documents (FeedBundleDir) and
	// the archive.
	Files map[string][]byte
	// Packages are the index entries.
	Packages []FeedPackage
	// Skipped are the product package URLs left out, with the reason.
	Skipped []string
}

// FeedPackage is one entry of index.json.
type FeedPackage struct {
	ID       string `json:"id"`
	Location string `json:"location"`
	Format   string `json:"format,omitempty"`
}

type feedIndex struct {
	UpdatedAt time.Time     `json:"updated_at"`
	Packages  []FeedPackage `json:"packages"`
}

type feedManifest struct {
	Name        string        `json:"name"`
	Description string        `json:"description"`
	Versions    []feedVersion `json:"versions"`
}

type feedVersion struct {
	SpecVersion    string         `json:"spec_version"`
	Locations      []feedLocation `json:"locations"`
	UpdateInterval string         `json:"update_interval"`
}

type feedLocation struct {
	URL string `json:"url"`
}

// BuildFeed generates the feed from OpenVEX documents: every statement is
// filed under the package of each of its products that has a package URL,
// one statement per product; for the same vulnerability, product and
// subcomponents the newest statement wins (OpenVEX: a later statement
// supersedes an earlier one). The output depends only on the documents'
// content and updatedAt, not on their order or the time of the build.
//
// updatedAt is when the feed's content last changed (the newest
// publication); the index's updated_at and Last-Modified are the later of
// it and the newest statement, so they move forward whenever documents are
// added, even ones with old statements.
func BuildFeed(cfg FeedConfig, docs [][]byte, updatedAt time.Time) (*Snapshot, error) {
	return buildFeed(cfg, docs, nil, nil, updatedAt)
}

// BuildSignedFeed is BuildFeed with the Sigstore bundles of the signed
// documents among docs (bundles[i] signs docs[i]; nil for an unsigned
// one), each carried in the archive under FeedBundleDir.
func BuildSignedFeed(cfg FeedConfig, docs, bundles [][]byte, updatedAt time.Time) (*Snapshot, error) {
	return buildFeed(cfg, docs, nil, bundles, updatedAt)
}

// buildFeed is BuildSignedFeed; names, if given, name each document in
// errors.
func buildFeed(cfg FeedConfig, docs [][]byte, names []string, bundles [][]byte, updatedAt time.Time) (*Snapshot, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	author := cfg.Author
	if author == "" {
		author = "vexloom"
	}
	type candidate struct {
		st  openvex.Statement
		ts  time.Time
		raw []byte // for a deterministic tie-break
	}
	groups := map[string]map[string]candidate{} // package id → key → newest
	var skipped []string
	for i, raw := range docs {
		doc, err := vex.Parse(raw)
		if err != nil {
			if i < len(names) {
				return nil, fmt.Errorf("%w: document %s: %w", ErrCorrupt, names[i], err)
			}
			return nil, fmt.Errorf("document %d: %w", i+1, err)
		}
		for _, st := range doc.Statements {
			ts := time.Time{}
			if st.Timestamp != nil {
				ts = *st.Timestamp
			} else if doc.Timestamp != nil {
				ts = *doc.Timestamp
			}
			ts = ts.UTC()
			for _, p := range st.Products {
				pu := productPURL(p.Component)
				if pu == "" {
					continue // hash-only products are not indexed by package
				}
				id, ok := purl.Base(pu)
				if !ok {
					skipped = append(skipped, pu+": not a valid package URL")
					continue
				}
				one := st
				one.Products = []openvex.Product{cloneProduct(p)}
				one.Timestamp = &ts
				one.LastUpdated = nil
				rawSt, err := json.Marshal(one)
				if err != nil {
					return nil, err
				}
				key := statementKey(one)
				g := groups[id]
				if g == nil {
					g = map[string]candidate{}
					groups[id] = g
				}
				old, seen := g[key]
				if !seen || ts.After(old.ts) || ts.Equal(old.ts) && bytes.Compare(rawSt, old.raw) > 0 {
					g[key] = candidate{st: one, ts: ts, raw: rawSt}
				}
			}
		}
	}

	snap := &Snapshot{Files: map[string][]byte{}, Packages: []FeedPackage{}}
	ids := make([]string, 0, len(groups))
	for id := range groups {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	usedLower := map[string]bool{}
	for _, id := range ids {
		loc, err := PackageLocation(id)
		if err != nil {
			skipped = append(skipped, id+": "+err.Error())
			continue
		}
		// Two package URLs differing only in case would share a file on a
		// case-insensitive file system once unpacked: the second gets a
		// file name of its own.
		if usedLower[strings.ToLower(loc)] {
			loc = path.Dir(loc) + "/vex-" + SHA256([]byte(id)).Hex[:16] + ".json"
		}
		usedLower[strings.ToLower(loc)] = true

		var newest time.Time
		doc := vex.NewDocument(author, "vexloom", time.Unix(0, 0))
		for _, c := range groups[id] {
			doc.Statements = append(doc.Statements, c.st)
			if c.ts.After(newest) {
				newest = c.ts
			}
		}
		doc.Timestamp = &newest
		if err := vex.Finalize(doc); err != nil {
			return nil, fmt.Errorf("package %s: %w", id, err)
		}
		format := cmp.Or(cfg.Format, vexformat.OpenVEX)
		if format == vexformat.CSAF {
			loc = strings.TrimSuffix(loc, "vex.json") + "csaf.json"
		}
		b, err := vexformat.Marshal(doc, format, vexformat.Options{Namespace: strings.TrimSuffix(cfg.BaseURL, "/")})
		if err != nil {
			return nil, fmt.Errorf("package %s: %w", id, err)
		}
		snap.Files[loc] = b
		snap.Packages = append(snap.Packages, FeedPackage{ID: id, Location: loc, Format: string(format)})
		if newest.After(snap.UpdatedAt) {
			snap.UpdatedAt = newest
		}
	}
	if updatedAt.After(snap.UpdatedAt) {
		snap.UpdatedAt = updatedAt.UTC().Truncate(time.Second)
	}
	if snap.UpdatedAt.IsZero() {
		snap.UpdatedAt = time.Unix(0, 0).UTC()
	}
	snap.Skipped = skipped
	for _, b := range bundles {
		if len(b) > 0 {
			snap.Files[FeedBundleDir+"/"+SHA256(b).Hex+FeedBundleSuffix] = b
		}
	}

	index, err := jsonx.Marshal(feedIndex{UpdatedAt: snap.UpdatedAt, Packages: snap.Packages})
	if err != nil {
		return nil, err
	}
	snap.Files[FeedIndexPath] = index
	archive, err := snap.archive()
	if err != nil {
		return nil, err
	}
	snap.Files[FeedArchiveName] = archive
	interval := cfg.UpdateInterval
	if interval == 0 {
		interval = 24 * time.Hour
	}
	manifest, err := jsonx.Marshal(feedManifest{
		Name:        cfg.Name,
		Description: cfg.Description,
		Versions: []feedVersion{{
			SpecVersion:    FeedSpecVersion,
			Locations:      []feedLocation{{URL: strings.TrimSuffix(cfg.BaseURL, "/") + "/" + FeedArchiveName}},
			UpdateInterval: formatInterval(interval),
		}},
	})
	if err != nil {
		return nil, err
	}
	snap.Files[FeedManifestPath] = manifest
	snap.Files["vex-repository.json"] = manifest
	return snap, nil
}

func (cfg FeedConfig) check() error {
	if cfg.Name == "" || cfg.Description == "" {
		return errors.New("feed: name and description are required")
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("feed: base URL %q is not an http(s) URL without query", truncate(cfg.BaseURL))
	}
	if cfg.Format != "" && cfg.Format != vexformat.OpenVEX && cfg.Format != vexformat.CSAF {
		return fmt.Errorf("feed: format %q: the VEX repository specification allows openvex and csaf", truncate(string(cfg.Format)))
	}
	if cfg.UpdateInterval < 0 || cfg.UpdateInterval%time.Second != 0 {
		return fmt.Errorf("feed: update interval %s is not a positive number of seconds", cfg.UpdateInterval)
	}
	return nil
}

// formatInterval writes a duration as the manifest schema wants it
// ("24h", "1h30m"), which Go's time.ParseDuration also reads.
func formatInterval(d time.Duration) string {
	var b strings.Builder
	h, m, s := int64(d/time.Hour), int64(d%time.Hour/time.Minute), int64(d%time.Minute/time.Second)
	if h > 0 {
		fmt.Fprintf(&b, "%dh", h)
	}
	if m > 0 {
		fmt.Fprintf(&b, "%dm", m)
	}
	if s > 0 || b.Len() == 0 {
		fmt.Fprintf(&b, "%ds", s)
	}
	return b.String()
}

func productPURL(c openvex.Component) string {
	if purl.Is(c.ID) {
		return c.ID
	}
	if p := c.Identifiers[openvex.PURL]; purl.Is(p) {
		return p
	}
	return ""
}

func cloneProduct(p openvex.Product) openvex.Product {
	p.Subcomponents = slices.Clone(p.Subcomponents)
	return p
}

func statementKey(st openvex.Statement) string {
	var subs []string
	for _, sc := range st.Products[0].Subcomponents {
		k := sc.ID
		if k == "" {
			k = productPURL(sc.Component)
		}
		subs = append(subs, k)
	}
	slices.Sort(subs)
	return string(st.Vulnerability.Name) + "\x00" + st.Products[0].ID + "\x00" + productPURL(st.Products[0].Component) + "\x00" + strings.Join(subs, "\x00")
}

// PackageLocation maps a package URL (without version) to the path of its
// document in the feed, pkg/<type>/<namespace…>/<name>/vex.json, as the
// specification recommends. Every segment is URL-encoded: only letters,
// digits, "_", "." and "-" stay as they are, and a segment of dots is
// encoded whole, so the path never climbs out of the feed and two package
// URLs never share a path.
func PackageLocation(id string) (string, error) {
	typ, namespace, name, err := purl.Path(id)
	if err != nil {
		return "", err
	}
	segs := []string{"pkg", escapeSegment(strings.ToLower(typ))}
	for _, s := range namespace {
		if s == "" {
			return "", fmt.Errorf("invalid package URL %q: empty namespace segment", truncate(id))
		}
		segs = append(segs, escapeSegment(s))
	}
	segs = append(segs, escapeSegment(name), "vex.json")
	for _, s := range segs {
		if len(s) > maxSegment {
			return "", fmt.Errorf("package URL %q: a path segment is longer than %d bytes", truncate(id), maxSegment)
		}
	}
	return strings.Join(segs, "/"), nil
}

func escapeSegment(s string) string {
	allDots := strings.Trim(s, ".") == ""
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case !allDots && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'):
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// archive writes index.json and the documents as a tar.gz whose bytes
// depend only on the files: sorted entries, fixed owner, modes and times,
// no gzip name or time.
func (s *Snapshot) archive() ([]byte, error) {
	var paths []string
	dirs := map[string]bool{}
	for p := range s.Files {
		paths = append(paths, p)
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			dirs[d+"/"] = true
		}
	}
	for d := range dirs {
		paths = append(paths, d)
	}
	slices.Sort(paths)
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(zw)
	mtime := s.UpdatedAt.UTC().Truncate(time.Second)
	for _, p := range paths {
		h := &tar.Header{Name: p, ModTime: mtime, Format: tar.FormatPAX}
		if strings.HasSuffix(p, "/") {
			h.Typeflag, h.Mode = tar.TypeDir, 0o755
		} else {
			h.Typeflag, h.Mode, h.Size = tar.TypeReg, 0o644, int64(len(s.Files[p]))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(s.Files[p]); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteDir writes the snapshot's files under dir, each atomically (temp file
// and rename), documents before the index, the index before the archive and
// the archive before the manifest; files of earlier snapshots that are no
// longer part of the feed are removed.
func (s *Snapshot) WriteDir(dir string) error {
	var paths []string
	for p := range s.Files {
		paths = append(paths, p)
	}
	rank := func(p string) int {
		switch p {
		case FeedIndexPath:
			return 1
		case FeedArchiveName:
			return 2
		case FeedManifestPath, "vex-repository.json":
			return 3
		}
		return 0
	}
	slices.SortFunc(paths, func(a, b string) int {
		if c := rank(a) - rank(b); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	for _, p := range paths {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if !strings.HasPrefix(full, filepath.Clean(dir)+string(filepath.Separator)) {
			return fmt.Errorf("feed: %q escapes %s", p, dir)
		}
		if err := writeFileAtomic(full, s.Files[p]); err != nil {
			return err
		}
	}
	// Remove stale package documents and bundles.
	for _, sub := range []string{"pkg", FeedBundleDir} {
		if err := s.removeStale(dir, sub); err != nil {
			return err
		}
	}
	return nil
}

// removeStale removes the files under dir/sub that are not in the snapshot.
func (s *Snapshot) removeStale(dir, sub string) error {
	return filepath.WalkDir(filepath.Join(dir, sub), func(p string, d os.DirEntry, err error) error {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		} else if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if _, ok := s.Files[filepath.ToSlash(rel)]; !ok {
			return os.Remove(p)
		}
		return nil
	})
}

func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.Write(path, data, 0o644)
}

// Feed is a vex-repo-spec feed generated from the documents in a local
// store. As a Store, it publishes to that store and regenerates the feed.
type Feed struct {
	cfg    FeedConfig
	source *Local

	mu      sync.Mutex // serialises Refresh
	current sync.Mutex // guards snap
	snap    *Snapshot
}

// ErrFeedNotReady is what the handler answers (503) before the feed has
// been read from its store once.
var ErrFeedNotReady = errors.New("the feed has not been read from its store yet")

// NewFeed returns a feed over source. It has no snapshot until Refresh
// reads the store: until then its handler answers 503, never an empty
// feed that would say nothing was published.
func NewFeed(cfg FeedConfig, source *Local) (*Feed, error) {
	if source == nil {
		return nil, errors.New("feed: no source store")
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	return &Feed{cfg: cfg, source: source}, nil
}

// Name returns "feed:" and where the feed lives.
func (f *Feed) Name() string {
	if f.cfg.Dir != "" {
		return "feed:" + f.cfg.Dir
	}
	return "feed:" + f.cfg.BaseURL
}

// Publish stores obj in the feed's source store and regenerates the feed.
func (f *Feed) Publish(ctx context.Context, obj Object) (Receipt, error) {
	r, err := f.source.Publish(ctx, obj)
	if err != nil {
		return Receipt{}, err
	}
	if _, err := f.Refresh(ctx); err != nil {
		return Receipt{}, err
	}
	return Receipt{Store: f.Name(), Location: strings.TrimSuffix(f.cfg.BaseURL, "/") + "/" + FeedIndexPath, ID: r.ID}, nil
}

// Refresh regenerates the feed from every document in the source store and
// writes it to the configured directory.
func (f *Feed) Refresh(ctx context.Context) (*Snapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	recs, err := f.source.List(ctx, Query{})
	if err != nil {
		return nil, err
	}
	docs := make([][]byte, 0, len(recs))
	bundles := make([][]byte, 0, len(recs))
	names := make([]string, 0, len(recs))
	var newest time.Time
	for _, r := range recs {
		docs = append(docs, r.Object.Document)
		bundles = append(bundles, r.Object.Bundle)
		names = append(names, f.source.objectPath(SHA256(r.Object.Document))+" (record "+r.ID+")")
		if r.PublishedAt.After(newest) {
			newest = r.PublishedAt
		}
	}
	snap, err := buildFeed(f.cfg, docs, names, bundles, newest)
	if err != nil {
		return nil, err
	}
	if f.cfg.Dir != "" {
		if err := snap.WriteDir(f.cfg.Dir); err != nil {
			return nil, err
		}
	}
	f.current.Lock()
	f.snap = snap
	f.current.Unlock()
	return snap, nil
}

// Snapshot returns the current snapshot, nil before the first Refresh.
func (f *Feed) Snapshot() *Snapshot {
	f.current.Lock()
	defer f.current.Unlock()
	return f.snap
}

// Handler serves the current snapshot: the manifest at
// /.well-known/vex-repository.json (and /vex-repository.json), the archive,
// index.json, the per-package documents and the bundles, with strong ETags (the
// content's sha256), Last-Modified, and 304 answers to If-None-Match and
// If-Modified-Since. Paths are looked up in the snapshot, never on disk.
// Before the first Refresh it answers 503 Service Unavailable.
func (f *Feed) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		snap := f.Snapshot()
		if snap == nil {
			http.Error(w, ErrFeedNotReady.Error(), http.StatusServiceUnavailable)
			return
		}
		p := strings.TrimPrefix(r.URL.Path, "/")
		b, ok := snap.Files[p]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("ETag", `"`+SHA256(b).Hex+`"`)
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		if strings.HasSuffix(p, ".tar.gz") {
			h.Set("Content-Type", "application/gzip")
		} else {
			h.Set("Content-Type", "application/json")
		}
		http.ServeContent(w, r, path.Base(p), snap.UpdatedAt, bytes.NewReader(b))
	})
}
