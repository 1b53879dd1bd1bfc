package vexsource

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"path"
	"path/filepath"
	"slices"
	"strings"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/attest"
	"github.com/vexloom/vexloom/internal/digest"
	"github.com/vexloom/vexloom/internal/infile"
	"github.com/vexloom/vexloom/internal/publish"
	"github.com/vexloom/vexloom/internal/redact"
	"github.com/vexloom/vexloom/internal/vex"
)

// Bounds on what is read from a VEX repository.
const (
	maxFeedManifest = 1 << 20
	maxFeedArchive  = 512 << 20
	maxFeedEntries  = 100_000
)

// feed is a VEX repository as aquasecurity's vex-repo specification lays it
// out (what Trivy reads and `vexloom publish` serves): the manifest at
// URL/.well-known/vex-repository.json (or URL itself when it names a .json
// file), the tar.gz archive of its spec 0.1 location, the archive's
// index.json and the document of each package. In a directory (what
// publish --to feed:DIR writes), the archive is read from the directory.
// The specification carries no signatures: every document is unsigned.
type feed struct {
	spec string
	// base is the URL or directory as given; u is the URL (nil: a directory).
	base string
	u    *url.URL
	o    Options
}

func newFeed(spec, base string, o Options) (*feed, error) {
	f := &feed{spec: spec, base: base, o: o}
	if base == "" {
		return nil, fmt.Errorf("%w: %s: want an http(s) URL or a directory", ErrSpec, spec)
	}
	if !strings.Contains(base, "://") {
		return f, nil // a directory
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("%w: %s: want an http(s) URL", ErrSpec, spec)
	}
	f.u = u
	return f, nil
}

func (f *feed) String() string { return f.spec }
func (f *feed) Kind() Kind     { return KindFeed }

// About returns the feed's unsigned documents that name d as an OCI
// product, and its bundles that name d among their subjects (read without
// verifying, only to choose them: attest.Verify decides).
func (f *feed) About(ctx context.Context, d digest.Digest) ([]Document, error) {
	docs, err := f.Documents(ctx)
	if err != nil {
		return nil, err
	}
	var out []Document
	for _, doc := range docs {
		if doc.Bundle != nil {
			_, subjects, err := attest.ReadBundleUnverified(doc.Bundle)
			if err != nil {
				f.o.note("vex: %s: skipped, %v", doc.Origin, err)
				continue
			}
			if slices.ContainsFunc(subjects, func(s attest.Subject) bool { return s.Has(d) }) {
				out = append(out, doc)
			}
			continue
		}
		if Count(doc.VEX, d) > 0 {
			out = append(out, doc)
		}
	}
	return out, nil
}

// Documents returns the document of every package of the index, then each
// bundle the archive carries under bundles/; a package whose document is
// missing or does not read is skipped with a note.
func (f *feed) Documents(ctx context.Context) ([]Document, error) {
	archive, err := f.archive(ctx)
	if err != nil {
		return nil, err
	}
	files, err := untarGz(archive)
	if err != nil {
		return nil, fmt.Errorf("the archive: %w", err)
	}
	var index struct {
		Packages []struct {
			ID       string `json:"id"`
			Location string `json:"location"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(files[publish.FeedIndexPath], &index); err != nil {
		return nil, fmt.Errorf("%s: %w", publish.FeedIndexPath, err)
	}
	var out []Document
	n := 0
	for _, pkg := range index.Packages {
		loc := path.Clean(strings.TrimPrefix(pkg.Location, "./"))
		data, ok := files[loc]
		if !ok {
			f.o.note("vex: %s: %s: no document at %s", f.spec, pkg.ID, pkg.Location)
			continue
		}
		doc, err := vex.Parse(data)
		if err != nil {
			f.o.note("vex: %s: %s: skipped, %v", f.spec, pkg.Location, err)
			continue
		}
		out = append(out, Document{ID: loc, Origin: f.base + " " + loc, VEX: doc, Form: attest.FormOpenVEX})
		n += statements(doc)
	}
	f.o.note("vex: %s: %d %s in %d documents, unsigned (a VEX repository carries no signatures); ignored unless --allow-unsigned",
		f.spec, n, plural(n, "statement"), len(index.Packages))
	bundles := 0
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if path.Dir(name) != publish.FeedBundleDir || !strings.HasSuffix(name, publish.FeedBundleSuffix) {
			continue
		}
		// Put there by whoever writes the feed: one that does not read
		// is skipped with a note (Foreign), never trusted unverified.
		out = append(out, Document{ID: name, Origin: f.base + " " + name, Bundle: files[name], Form: attest.FormBundle, Foreign: true})
		bundles++
	}
	if bundles > 0 {
		f.o.note("vex: %s: %d signed %s beside them, each counted only if it verifies", f.spec, bundles, plural(bundles, "document"))
	}
	return out, nil
}

// statements counts a document's product statements.
func statements(doc *openvex.VEX) int {
	n := 0
	for _, st := range doc.Statements {
		n += len(st.Products)
	}
	return n
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// archive fetches the tar.gz archive the manifest names (over HTTP), or
// reads it from the directory.
func (f *feed) archive(ctx context.Context) ([]byte, error) {
	if f.u == nil {
		return infile.Read(ctx, filepath.Join(f.base, publish.FeedArchiveName), maxFeedArchive)
	}
	manifestURL := f.u
	if !strings.HasSuffix(f.u.Path, ".json") {
		manifestURL = f.u.JoinPath(publish.FeedManifestPath)
	}
	raw, err := httpGet(ctx, f.o.HTTP, manifestURL.String(), maxFeedManifest)
	if err != nil {
		return nil, err
	}
	var manifest struct {
		Versions []struct {
			SpecVersion string `json:"spec_version"`
			Locations   []struct {
				URL string `json:"url"`
			} `json:"locations"`
		} `json:"versions"`
	}
	if err := json.Unmarshal(raw, &manifest); err != nil {
		return nil, fmt.Errorf("the manifest: %w", err)
	}
	archiveURL := ""
	for _, v := range manifest.Versions {
		if v.SpecVersion == publish.FeedSpecVersion && len(v.Locations) > 0 {
			archiveURL = v.Locations[0].URL
			break
		}
	}
	if archiveURL == "" {
		return nil, fmt.Errorf("the manifest names no location for spec version %s", publish.FeedSpecVersion)
	}
	au, err := manifestURL.Parse(archiveURL)
	if err != nil || (au.Scheme != "https" && au.Scheme != "http") {
		return nil, fmt.Errorf("archive location %q is not an http(s) URL", archiveURL)
	}
	return httpGet(ctx, f.o.HTTP, au.String(), maxFeedArchive)
}

// httpGet fetches a URL, reading at most limit bytes. URLs in errors are
// redacted.
func httpGet(ctx context.Context, client *http.Client, u string, limit int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", redact.Location(u), resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", redact.Location(u), err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("GET %s: more than %d bytes", redact.Location(u), limit)
	}
	return data, nil
}

// untarGz reads the regular files of a tar.gz archive by cleaned path.
func untarGz(data []byte) (map[string][]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(io.LimitReader(zr, maxFeedArchive))
	files := map[string][]byte{}
	for n := 0; ; n++ {
		h, err := tr.Next()
		if err == io.EOF {
			return files, nil
		}
		if err != nil {
			return nil, err
		}
		if n >= maxFeedEntries {
			return nil, fmt.Errorf("more than %d entries", maxFeedEntries)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		if h.Size > vex.MaxDocumentSize {
			return nil, fmt.Errorf("%s is larger than %d bytes", h.Name, vex.MaxDocumentSize)
		}
		b, err := io.ReadAll(io.LimitReader(tr, vex.MaxDocumentSize))
		if err != nil {
			return nil, err
		}
		files[path.Clean(strings.TrimPrefix(h.Name, "./"))] = b
	}
}
