package vulndb

import (
	"archive/zip"
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vexloom/vexloom/internal/osv"
)

// hostileDir returns a directory of real entries (in a subdirectory, to
// check the walk is recursive), the hostile fixtures, an oversized file, an
// id with ':' and an osv.dev-style duplicate; and the number of entries to
// be skipped.
func hostileDir(t *testing.T) (dir string, skipped int) {
	files := map[string][]byte{}
	for n, b := range readFixtures(t, "osv") {
		files["go/"+n] = b
	}
	hostile := readFixtures(t, "hostile")
	for n, b := range hostile {
		files["bad/"+n] = b
	}
	files["bad/NOTES.txt"] = []byte("ignored")
	big := bytes.Repeat([]byte(" "), osv.MaxEntrySize+10)
	copy(big, `{"id":"GO-2099-0100","modified":"2025-01-01T00:00:00Z",`)
	files["bad/GO-2099-0100.json"] = big
	colon := bytes.ReplaceAll(readFixtures(t, "osv")["GO-2024-3333.json"], []byte(`"GO-2024-3333"`), []byte(`"GO:2099"`))
	files["bad/colon.json"] = colon
	files[".git/GO-2099-0200.json"] = []byte("hidden directories are not read")
	osvdev := readFixtures(t, "osvdev")
	files["dup/GHSA-w32m-9786-jp63.json"] = osvdev["GHSA-w32m-9786-jp63.json"]
	files["dup/PYSEC-2099-1.json"] = osvdev["PYSEC-2099-1.json"]
	return writeDir(t, files), len(hostile) + 2
}

func TestDirSource(t *testing.T) {
	dir, skipped := hostileDir(t)
	src, err := ParseSource(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if src.Kind() != "dir" || src.String() != "dir:"+dir {
		t.Errorf("source = %s %s", src.Kind(), src)
	}
	v, err := src.Latest(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(v.ID, "sha256:") || len(v.ID) != 71 {
		t.Errorf("version %q", v.ID)
	}
	// No real modified time among the usable entries except the
	// duplicate's and the oversized one's (unread): the GHSA's is newest.
	if want := time.Date(2025, 2, 18, 22, 18, 34, 112931000, time.UTC); !v.Time.Equal(want) {
		t.Errorf("version time %v, want %v", v.Time, want)
	}
	cache := t.TempDir()
	res, log := update(t, cache, src, false)
	st := res.Stats
	if st.Entries != 8 || st.Skipped != skipped || st.NotGo != 1 || st.Duplicates != 1 {
		t.Errorf("stats = %+v, want 8 entries, %d skipped, 1 not Go, 1 duplicate\n%s", st, skipped, log)
	}
	for _, want := range []string{"bad/escape.json", "bad/GO-2099-0001.json", "bad/GO-2099-0002.json: file name GO-2099-0002.json is not <ID>.json", "bad/colon.json", "bad/GO-2099-0100.json", "govulncheck could not read it"} {
		if !strings.Contains(log, "warning: skipping "+want) && !strings.Contains(log, want) {
			t.Errorf("progress lacks %q:\n%s", want, log)
		}
	}
	ids := dbIDs(t, res.DB)
	if want := fixtureIDs(readFixtures(t, "osv")); !slices.Equal(ids, want) {
		t.Errorf("IDs = %v, want %v", ids, want)
	}
	// Zero modified times take the version time.
	if !res.DB.Meta.Modified.Equal(v.Time) || res.DB.Meta.Version != v.ID {
		t.Errorf("meta = %+v", res.DB.Meta)
	}
	if got, _ := res.DB.Resolve("GHSA-w32m-9786-jp63"); !slices.Equal(got, []string{"GO-2024-3333"}) {
		t.Errorf("Resolve(GHSA) = %v", got)
	}
	if err := res.DB.Verify(); err != nil {
		t.Fatal(err)
	}
	// Nothing escaped the generation directory.
	if _, err := os.Stat(filepath.Join(cache, "tmp")); err == nil {
		t.Error("an entry escaped the database directory")
	}

	// Same content: no-op. Changed content: new version.
	again, _ := update(t, cache, src, false)
	if again.Changed {
		t.Error("unchanged directory rebuilt")
	}
	if err := os.WriteFile(filepath.Join(dir, "bad", "NOTES2.json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	v2, _ := src.Latest(context.Background())
	if v2.ID == v.ID {
		t.Error("adding a file did not change the version")
	}
	changed, _ := update(t, cache, src, false)
	if !changed.Changed || changed.DB.Meta.Version != v2.ID {
		t.Error("changed directory not rebuilt")
	}
}

// A directory in govulncheck's layout (here: a database vexloom built) is
// read through its ID/ files only, and rebuilds the same content.
func TestDirSourceGovulncheckLayout(t *testing.T) {
	files := map[string][]byte{}
	for n, b := range readFixtures(t, "osv") {
		files[n], _ = setModified(b, t1)
	}
	first, _ := update(t, t.TempDir(), mustSource(t, "dir:"+writeDir(t, files)), false)
	src := mustSource(t, first.DB.Dir)
	res, log := update(t, t.TempDir(), src, false)
	if res.Stats.Skipped != 0 || res.DB.Meta.Digest != first.DB.Meta.Digest {
		t.Errorf("rebuild from the layout: stats %+v, digest %s vs %s\n%s", res.Stats, res.DB.Meta.Digest, first.DB.Meta.Digest, log)
	}
}

func mustSource(t testing.TB, spec string) Source {
	t.Helper()
	src, err := ParseSource(spec, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func buildExportZip(t testing.TB, files map[string][]byte) []byte {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		f, err := w.CreateHeader(&zip.FileHeader{Name: n, Method: zip.Deflate, Modified: t0})
		if err != nil {
			t.Fatal(err)
		}
		f.Write(files[n])
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestZipSource(t *testing.T) {
	files := readFixtures(t, "osvdev")
	files["nested/GO-2099-0300.json"] = []byte("not read: not at the zip root")
	files["GO-2099-0001.json"] = readFixtures(t, "hostile")["GO-2099-0001.json"]
	z := buildExportZip(t, files)
	p := filepath.Join(t.TempDir(), "all.zip")
	if err := os.WriteFile(p, z, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, spec := range []string{p, "zip:" + p, "file://" + filepath.ToSlash(p)} {
		src := mustSource(t, spec)
		if src.Kind() != "zip" || src.String() != "zip:"+p {
			t.Errorf("%s: source %s %s", spec, src.Kind(), src)
		}
	}
	res, log := update(t, t.TempDir(), mustSource(t, p), false)
	ids := dbIDs(t, res.DB)
	// GHSA-w32m… and CVE-2024-45338 repeat GO-2024-3333; the GHSA-only
	// advisory stays; PyPI is not Go.
	if want := []string{"GHSA-9999-8888-7777", "GO-2024-3333"}; !slices.Equal(ids, want) {
		t.Errorf("IDs = %v, want %v\n%s", ids, want, log)
	}
	if st := res.Stats; st.Duplicates != 2 || st.NotGo != 1 || st.Skipped != 1 {
		t.Errorf("stats = %+v", st)
	}
	for id, want := range map[string][]string{
		"CVE-2024-45338":      {"GO-2024-3333"},
		"GHSA-w32m-9786-jp63": {"GO-2024-3333"},
		"CVE-2025-99999":      {"GHSA-9999-8888-7777"},
	} {
		if got, err := res.DB.Resolve(id); !slices.Equal(got, want) {
			t.Errorf("Resolve(%s) = %v, %v", id, got, err)
		}
	}
	// Real modified times are kept; the version time is the newest of them.
	e, _ := res.DB.Entry("GO-2024-3333")
	if want := time.Date(2024, 12, 18, 20, 40, 44, 123456000, time.UTC); !e.Modified.Equal(want) {
		t.Errorf("modified = %v, want %v", e.Modified, want)
	}
	if want := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC); !res.DB.Meta.VersionTime.Equal(want) {
		t.Errorf("version time = %v", res.DB.Meta.VersionTime)
	}
	mods := readModules(t, res.DB)
	if rows := mods["example.com/ghsaonly"]; len(rows) != 1 || rows[0].Fixed != "1.4.1" {
		t.Errorf("example.com/ghsaonly rows = %+v", rows)
	}
	if _, ok := mods["requests"]; ok {
		t.Error("a PyPI package is in the module index")
	}

	// The same zip over HTTPS; the token in the URL is not stored.
	var gets int
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gets++
		if r.URL.Query().Get("token") != "s3cret" {
			http.Error(w, "no", http.StatusForbidden)
			return
		}
		w.Write(z)
	}))
	defer srv.Close()
	remote, err := ParseSource(srv.URL+"/exports/all.zip?token=s3cret", Options{HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if remote.Kind() != "zip" || strings.Contains(remote.String(), "s3cret") {
		t.Errorf("remote source %s %s", remote.Kind(), remote)
	}
	cache := t.TempDir()
	rres, _ := update(t, cache, remote, false)
	if rres.DB.Meta.Digest != res.DB.Meta.Digest || strings.Contains(rres.DB.Meta.Source, "s3cret") {
		t.Errorf("remote zip: %+v", rres.DB.Meta)
	}
	meta, _ := os.ReadFile(filepath.Join(rres.DB.Dir, metaName))
	if bytes.Contains(meta, []byte("s3cret")) {
		t.Error("the token was written to the metadata")
	}
	if _, err := ParseSource("zip:"+srv.URL+"/x", Options{HTTPClient: srv.Client()}); err != nil {
		t.Errorf("zip:https://… without .zip: %v", err)
	}
	gets = 0
	if r, _ := update(t, cache, remote, false); r.Changed || gets != 1 {
		t.Errorf("unchanged remote zip: Changed=%v after %d downloads", r.Changed, gets)
	}
}

func TestParseSource(t *testing.T) {
	dir := t.TempDir()
	zipPath := filepath.Join(dir, "export.zip")
	os.WriteFile(zipPath, buildExportZip(t, readFixtures(t, "osvdev")), 0o644)
	env := Options{Env: []string{"GOENV=off"}}
	for spec, want := range map[string][2]string{
		"":                                  {"module", "golang.org/x/vulndb"},
		"golang.org/x/vulndb":               {"module", "golang.org/x/vulndb"},
		" golang.org/x/vulndb@latest ":      {"module", "golang.org/x/vulndb"},
		"golang.org/x/vulndb@" + v1:         {"module", "golang.org/x/vulndb@" + v1},
		"golang.org/x/vulndb@master":        {"module", "golang.org/x/vulndb@master"},
		"dir:" + dir:                        {"dir", "dir:" + dir},
		dir:                                 {"dir", "dir:" + dir},
		zipPath:                             {"zip", "zip:" + zipPath},
		"zip:" + zipPath:                    {"zip", "zip:" + zipPath},
		"https://vuln.go.dev":               {"mirror", "https://vuln.go.dev"},
		"https://vuln.example.com/db/":      {"mirror", "https://vuln.example.com/db"},
		"http://127.0.0.1:8080":             {"mirror", "http://127.0.0.1:8080"},
		"https://user:pw@mirror.example/db": {"mirror", "https://xxxxx@mirror.example/db"},
		"https://osv.example/all.zip?sig=x": {"zip", "zip:https://osv.example/all.zip?sig=xxxxx"},
		"zip:https://tok@osv.example/a":     {"zip", "zip:https://xxxxx@osv.example/a"},
	} {
		src, err := ParseSource(spec, env)
		if err != nil {
			t.Errorf("ParseSource(%q): %v", spec, err)
			continue
		}
		if src.Kind() != want[0] || src.String() != want[1] {
			t.Errorf("ParseSource(%q) = %s %q, want %s %q", spec, src.Kind(), src, want[0], want[1])
		}
	}
	for _, spec := range []string{
		"golang.org/x/vulndb@",
		"golang.org/x/vulndb@v1 2",
		"example.com/other/module",
		"ftp://example.com/db",
		"https://",
		"https:///nohost",
		"dir:" + filepath.Join(dir, "missing"),
		"dir:" + zipPath,
		"zip:" + filepath.Join(dir, "missing.zip"),
		"zip:" + dir,
		filepath.Join(dir, "missing"),
		"https://mirror.example/db?token=x",
	} {
		if src, err := ParseSource(spec, env); err == nil {
			t.Errorf("ParseSource(%q) = %s %s, want an error", spec, src.Kind(), src)
		}
	}
	_, err := ParseSource("sftp://user:hunter2@host/x", env)
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "unknown vulnerability database source") {
		t.Errorf("unknown source error = %v", err)
	}
}
