package publish

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	openvex "github.com/openvex/go-vex/pkg/vex"
	"github.com/package-url/packageurl-go"
)

// What Trivy (pkg/vex/repo) decodes; the field names and types are Trivy's.
type trivyManifest struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Versions    []struct {
		SpecVersion string `json:"spec_version"`
		Locations   []struct {
			URL string `json:"url"`
		} `json:"locations"`
		UpdateInterval string `json:"update_interval"`
	} `json:"versions"`
}

type trivyIndex struct {
	UpdatedAt time.Time `json:"updated_at"`
	Packages  []struct {
		ID       string `json:"id"`
		Location string `json:"location"`
		Format   string `json:"format"`
	} `json:"packages"`
}

func feedDocs(t testing.TB) [][]byte {
	t.Helper()
	a := docBytes(t, t0,
		stmt("CVE-1", kube, openvex.StatusNotAffected, t0, xnet),
		stmt("CVE-1", imageID, openvex.StatusNotAffected, t0, xnet),
		stmt("CVE-3", "pkg:golang/stdlib@v1.26.8", openvex.StatusFixed, t0),
	)
	hashOnly := stmt("CVE-9", "", openvex.StatusFixed, t0)
	hashOnly.Products[0].Hashes = map[openvex.Algorithm]openvex.Hash{openvex.SHA256: openvex.Hash(digestOf("bin").Hex)}
	b := docBytes(t, t0.Add(time.Hour),
		// supersedes the not_affected of document a
		stmt("CVE-1", kube, openvex.StatusAffected, t0.Add(time.Hour), xnet),
		stmt("CVE-2", "pkg:golang/k8s.io/kubernetes@v1.34.1", openvex.StatusFixed, t0.Add(time.Hour)),
		hashOnly,
	)
	return [][]byte{a, b}
}

func TestFeedAsTrivyReadsIt(t *testing.T) {
	ctx := context.Background()
	var handler http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	published := t0.Add(48 * time.Hour) // later than every statement
	local, err := NewLocal(t.TempDir(), clockAt(published))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	feed, err := NewFeed(FeedConfig{Name: "Kubernetes VEX", Description: "VEX for Kubernetes releases", BaseURL: srv.URL, UpdateInterval: 4 * time.Hour, Dir: out}, local)
	if err != nil {
		t.Fatal(err)
	}
	handler = feed.Handler()
	for _, d := range feedDocs(t) {
		r, err := feed.Publish(ctx, Object{Document: d, Products: []string{kube}, Kind: KindRelease, Ref: "v1.34.2"})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(r.Store, "feed:") || r.Location != srv.URL+"/index.json" {
			t.Fatalf("receipt %+v", r)
		}
	}

	// 1. The manifest, where Trivy fetches it for a non-GitHub URL.
	var m trivyManifest
	if err := json.Unmarshal(get(t, srv.URL+"/.well-known/"+"vex-repository.json", nil, http.StatusOK).body, &m); err != nil {
		t.Fatal(err)
	}
	if m.Name != "Kubernetes VEX" || len(m.Versions) != 1 || m.Versions[0].SpecVersion != "0.1" || len(m.Versions[0].Locations) != 1 {
		t.Fatalf("manifest %+v", m)
	}
	if d, err := time.ParseDuration(m.Versions[0].UpdateInterval); err != nil || d != 4*time.Hour ||
		!regexp.MustCompile(`^([0-9]+h)?([0-9]+m)?([0-9]+s)?$`).MatchString(m.Versions[0].UpdateInterval) {
		t.Errorf("update_interval %q: %v", m.Versions[0].UpdateInterval, err)
	}
	loc := m.Versions[0].Locations[0].URL
	if loc != srv.URL+"/vex-repository.tar.gz" {
		t.Fatalf("location %q", loc)
	}

	// 2. The archive, with ETag revalidation as Trivy does it.
	first := get(t, loc, nil, http.StatusOK)
	etag := first.header.Get("ETag")
	if !regexp.MustCompile(`^"[0-9a-f]{64}"$`).MatchString(etag) || first.header.Get("Last-Modified") == "" {
		t.Fatalf("ETag %q, Last-Modified %q", etag, first.header.Get("Last-Modified"))
	}
	get(t, loc, http.Header{"If-None-Match": {etag}}, http.StatusNotModified)
	get(t, loc, http.Header{"If-None-Match": {`"other", ` + etag}}, http.StatusNotModified)
	get(t, loc, http.Header{"If-None-Match": {`"stale"`}}, http.StatusOK)
	get(t, loc, http.Header{"If-Modified-Since": {first.header.Get("Last-Modified")}}, http.StatusNotModified)
	files := untar(t, first.body)

	// 3. index.json at the archive's root.
	var idx trivyIndex
	if err := json.Unmarshal(files["index.json"], &idx); err != nil {
		t.Fatal(err)
	}
	if !idx.UpdatedAt.Equal(published.Add(2 * time.Second)) {
		t.Errorf("updated_at %v", idx.UpdatedAt)
	}
	locPattern := regexp.MustCompile(`^[a-zA-Z0-9_/.-]+\.json$`) // index.schema.json
	byID := map[string]string{}
	for _, p := range idx.Packages {
		if p.Format != "openvex" || !locPattern.MatchString(p.Location) {
			t.Errorf("entry %+v", p)
		}
		if _, ok := files[p.Location]; !ok {
			t.Errorf("%s: %s is not in the archive", p.ID, p.Location)
		}
		byID[p.ID] = p.Location
	}
	wantIDs := []string{"pkg:golang/k8s.io/kubernetes", "pkg:golang/stdlib", "pkg:oci/kube-apiserver"}
	if len(byID) != len(wantIDs) {
		t.Errorf("index ids %v, want %v", byID, wantIDs)
	}

	// 4. Lookups as Trivy makes them: the scanned product's purl without
	// version, qualifiers and subpath, then go-vex's Matches on the whole
	// document, the last match winning.
	for _, c := range []struct {
		product, vuln, sub string
		want               openvex.Status
	}{
		{kube, "CVE-1", xnet, openvex.StatusAffected}, // superseded by the newer statement
		{imageID, "CVE-1", xnet, openvex.StatusNotAffected},
		{"pkg:golang/k8s.io/kubernetes@v1.34.1", "CVE-2", "", openvex.StatusFixed},
		{"pkg:golang/stdlib@v1.26.8", "CVE-3", "", openvex.StatusFixed},
	} {
		p, err := packageurl.FromString(c.product)
		if err != nil {
			t.Fatal(err)
		}
		p.Version, p.Qualifiers, p.Subpath = "", nil, ""
		location, ok := byID[p.String()]
		if !ok {
			t.Errorf("%s: no index entry %s", c.product, p.String())
			continue
		}
		var doc openvex.VEX
		if err := json.NewDecoder(bytes.NewReader(files[location])).Decode(&doc); err != nil {
			t.Fatal(err)
		}
		matches := doc.Matches(c.vuln, c.product, []string{c.sub})
		if len(matches) == 0 || matches[len(matches)-1].Status != c.want {
			t.Errorf("%s %s: %d matches, want %s last", c.product, c.vuln, len(matches), c.want)
		}
		for _, st := range doc.Statements {
			if err := st.Validate(); err != nil {
				t.Errorf("%s: invalid statement: %v", location, err)
			}
		}
	}

	// 5. The same files are served one by one and written to the directory.
	for p, b := range files {
		if strings.HasSuffix(p, "/") {
			continue
		}
		if got := get(t, srv.URL+"/"+p, nil, http.StatusOK).body; !bytes.Equal(got, b) {
			t.Errorf("served %s differs from the archive", p)
		}
		if disk, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(p))); err != nil || !bytes.Equal(disk, b) {
			t.Errorf("written %s differs from the archive: %v", p, err)
		}
	}
	if disk, err := os.ReadFile(filepath.Join(out, ".well-known", "vex-repository.json")); err != nil || !bytes.Contains(disk, []byte(`"spec_version": "0.1"`)) {
		t.Errorf("manifest on disk: %v", err)
	}

	// 6. A document with old statements published later still moves the
	// feed forward: new ETag, later Last-Modified and updated_at.
	old := docBytes(t, t0.Add(-24*time.Hour), stmt("CVE-5", kube, openvex.StatusFixed, t0.Add(-24*time.Hour)))
	if _, err := feed.Publish(ctx, Object{Document: old, Products: []string{kube}, Kind: KindRelease, Ref: "v1.34.2"}); err != nil {
		t.Fatal(err)
	}
	next := get(t, loc, http.Header{"If-None-Match": {etag}}, http.StatusOK)
	if next.header.Get("ETag") == etag {
		t.Error("the ETag did not change with the content")
	}
	get(t, loc, http.Header{"If-Modified-Since": {first.header.Get("Last-Modified")}}, http.StatusOK)
	if err := json.Unmarshal(untar(t, next.body)["index.json"], &idx); err != nil || !idx.UpdatedAt.Equal(published.Add(3*time.Second)) {
		t.Errorf("updated_at after a late publication: %v, %v", idx.UpdatedAt, err)
	}
}

func TestFeedHandlerRefusals(t *testing.T) {
	feed, err := NewFeed(FeedConfig{Name: "n", Description: "d", BaseURL: "https://vex.example.org/"}, newLocal(t))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(feed.Handler())
	t.Cleanup(srv.Close)
	// Before the store is read, no feed (an empty one would say nothing
	// was published).
	get(t, srv.URL+"/index.json", nil, http.StatusServiceUnavailable)
	if _, err := feed.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	get(t, srv.URL+"/index.json", nil, http.StatusOK)
	for _, p := range []string{"/nothing", "/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/pkg/../index.json/"} {
		get(t, srv.URL+p, nil, http.StatusNotFound)
	}
	resp, err := http.Post(srv.URL+"/index.json", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", resp.StatusCode)
	}
	m := get(t, srv.URL+"/vex-repository.json", nil, http.StatusOK)
	if !bytes.Contains(m.body, []byte("https://vex.example.org/vex-repository.tar.gz")) {
		t.Errorf("manifest location: %s", m.body)
	}
}

func TestFeedIsDeterministic(t *testing.T) {
	cfg := FeedConfig{Name: "n", Description: "d", BaseURL: "https://vex.example.org"}
	docs := feedDocs(t)
	a, err := BuildFeed(cfg, docs, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := BuildFeed(cfg, [][]byte{docs[1], docs[0], docs[0]}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Files) != len(b.Files) {
		t.Fatalf("%d files vs %d", len(a.Files), len(b.Files))
	}
	for p, x := range a.Files {
		if !bytes.Equal(x, b.Files[p]) {
			t.Errorf("%s differs between builds", p)
		}
	}
}

func TestFeedRejectsBadInput(t *testing.T) {
	good := FeedConfig{Name: "n", Description: "d", BaseURL: "https://vex.example.org"}
	if _, err := BuildFeed(good, [][]byte{[]byte(`{"not":"openvex"}`)}, time.Time{}); err == nil {
		t.Error("a document that is not OpenVEX was accepted")
	}
	for _, cfg := range []FeedConfig{
		{Description: "d", BaseURL: "https://x"},
		{Name: "n", Description: "d", BaseURL: "ftp://x"},
		{Name: "n", Description: "d", BaseURL: "https://x?q=1"},
		{Name: "n", Description: "d", BaseURL: "https://x", UpdateInterval: 1500 * time.Millisecond},
	} {
		if _, err := BuildFeed(cfg, nil, time.Time{}); err == nil {
			t.Errorf("config %+v accepted", cfg)
		}
	}
	// Package URLs that differ only in case get distinct files.
	docs := [][]byte{docBytes(t, t0,
		stmt("CVE-1", "pkg:golang/github.com/Azure/go-autorest@v1.0.0", openvex.StatusFixed, t0),
		stmt("CVE-1", "pkg:golang/github.com/azure/go-autorest@v1.0.0", openvex.StatusFixed, t0),
	)}
	s, err := BuildFeed(good, docs, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, p := range s.Packages {
		if seen[strings.ToLower(p.Location)] {
			t.Errorf("%s shares a file name with another package", p.ID)
		}
		seen[strings.ToLower(p.Location)] = true
	}
}

func TestPackageLocation(t *testing.T) {
	for in, want := range map[string]string{
		"pkg:golang/k8s.io/kubernetes":        "pkg/golang/k8s.io/kubernetes/vex.json",
		"pkg:oci/kube-apiserver":              "pkg/oci/kube-apiserver/vex.json",
		"pkg:deb/debian/curl":                 "pkg/deb/debian/curl/vex.json",
		"pkg:npm/%40angular/core":             "pkg/npm/%40angular/core/vex.json",
		"pkg:golang/example.com/a%2F..%2F..":  "",
		"pkg:generic/..":                      "pkg/generic/%2E%2E/vex.json",
		"pkg:generic/a%20b":                   "pkg/generic/a%20b/vex.json",
		"pkg:golang/example.com/~user/module": "pkg/golang/example.com/%7Euser/module/vex.json",
	} {
		got, err := PackageLocation(in)
		if want == "" {
			if err == nil && !safeLocation(got) {
				t.Errorf("%s → unsafe %q", in, got)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("%s → %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "pkg:", "not a purl", "pkg:golang/" + strings.Repeat("a", 300)} {
		if _, err := PackageLocation(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// safeLocation says whether a feed location stays inside the feed.
func safeLocation(loc string) bool {
	if loc == "" || path.IsAbs(loc) || path.Clean(loc) != loc || !strings.HasPrefix(loc, "pkg/") || !strings.HasSuffix(loc, "/vex.json") {
		return false
	}
	for _, seg := range strings.Split(loc, "/") {
		if seg == "" || seg == "." || seg == ".." || len(seg) > maxSegment {
			return false
		}
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_.-%", c) >= 0) {
				return false
			}
		}
	}
	root := filepath.FromSlash("/feed")
	full := filepath.Join(root, filepath.FromSlash(loc))
	return strings.HasPrefix(full, root+string(filepath.Separator))
}

type response struct {
	header http.Header
	body   []byte
}

func get(t *testing.T, url string, h http.Header, want int) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != want {
		t.Fatalf("GET %s: %d, want %d: %s", url, resp.StatusCode, want, b)
	}
	return response{header: resp.Header, body: b}
}

// untar reads a tar.gz the way an unpacker that refuses to leave its
// directory would, and returns the files by path.
func untar(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	out := map[string][]byte{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(h.Name, "/")
		if path.IsAbs(name) || path.Clean(name) != name || strings.HasPrefix(name, "..") {
			t.Fatalf("archive entry %q leaves the directory", h.Name)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			out[name+"/"] = nil
		case tar.TypeReg:
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			out[name] = data
		default:
			t.Fatalf("archive entry %q has type %c", h.Name, h.Typeflag)
		}
	}
	return out
}
