package vulndb

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestModuleLatest(t *testing.T) {
	p := newTestProxy(t)
	fx := readFixtures(t, "osv")
	p.add(v1, t1, fx)
	cache := t.TempDir()

	res, log := update(t, cache, p.source(t, ""), false)
	if !res.Changed || res.Previous != nil {
		t.Errorf("first update: Changed=%v Previous=%v, want true, nil", res.Changed, res.Previous)
	}
	m := res.DB.Meta
	if m.Format != 1 || m.Kind != "module" || m.Source != "golang.org/x/vulndb" || m.Version != v1 ||
		!m.VersionTime.Equal(t1) || !m.Updated.Equal(fixedNow()) || m.Entries != len(fx) {
		t.Errorf("meta = %+v", m)
	}
	// Every entry in the module has a zero modified time: the version's
	// time stands in everywhere.
	if !m.Modified.Equal(t1) {
		t.Errorf("Modified = %v, want the version time %v", m.Modified, t1)
	}
	dbj, _ := os.ReadFile(filepath.Join(res.DB.Dir, "index", "db.json"))
	if string(dbj) != `{"modified":"2026-11-05T23:49:57Z"}` {
		t.Errorf("index/db.json = %s", dbj)
	}
	if !strings.Contains(log, "verified golang.org/x/vulndb@"+v1+" against sum.test.local") {
		t.Errorf("no verification in progress:\n%s", log)
	}
	if got, want := dbIDs(t, res.DB), fixtureIDs(fx); !slices.Equal(got, want) {
		t.Errorf("IDs = %v, want %v", got, want)
	}

	// The written entry differs from the module's only in "modified".
	raw, err := os.ReadFile(filepath.Join(res.DB.Dir, "ID", "GO-2024-3333.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Replace(fx["GO-2024-3333.json"], []byte(`"modified": "0001-01-01T00:00:00Z"`), []byte(`"modified": "2026-11-05T23:49:57Z"`), 1)
	if !bytes.Equal(raw, want) {
		t.Errorf("ID/GO-2024-3333.json:\n%s\nwant:\n%s", raw, want)
	}
	if !bytes.Contains(raw, []byte(`"published": "0001-01-01T00:00:00Z"`)) {
		t.Error("published was rewritten too")
	}

	mods := readModules(t, res.DB)
	checkRows := func(path string, want ...string) {
		t.Helper()
		var got []string
		for _, v := range mods[path] {
			got = append(got, v.ID+"="+v.Fixed)
			if !v.Modified.Equal(t1) {
				t.Errorf("%s %s modified = %v, want %v", path, v.ID, v.Modified, t1)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("modules.json %s = %v, want %v", path, got, want)
		}
	}
	checkRows("golang.org/x/net", "GO-2024-3333=0.33.0")
	checkRows("gopkg.in/yaml.v2", "GO-2020-0036=2.2.8", "GO-2021-0061=2.2.3", "GO-2022-0956=2.2.4")
	checkRows("github.com/go-yaml/yaml", "GO-2020-0036=", "GO-2021-0061=")
	checkRows("github.com/dgrijalva/jwt-go", "GO-2020-0017=")
	checkRows("github.com/dgrijalva/jwt-go/v4", "GO-2020-0017=4.0.0-preview1")
	checkRows("github.com/submariner-io/submariner-operator", "GO-2024-2866=") // re-introduced after 0.16.4
	checkRows("stdlib", "GO-2026-6613=1.27.2")
	checkRows("toolchain", "GO-2026-6601=1.27.2")
	if len(mods) != 8 {
		t.Errorf("modules.json has %d modules, want 8", len(mods))
	}

	// Lookups.
	db, err := Open(cache)
	if err != nil {
		t.Fatal(err)
	}
	if db.Dir != res.DB.Dir || db.Meta.Digest != m.Digest {
		t.Errorf("Open = %s %s, Update gave %s %s", db.Dir, db.Meta.Digest, res.DB.Dir, m.Digest)
	}
	if err := db.Verify(); err != nil {
		t.Fatal(err)
	}
	e, err := db.Entry("GO-2024-3333")
	if err != nil {
		t.Fatal(err)
	}
	if !e.Modified.Equal(t1) || e.Summary == "" {
		t.Errorf("Entry = %+v", e)
	}
	if _, err := db.Entry("go-2024-3333"); err != nil {
		t.Errorf("Entry ignoring case: %v", err)
	}
	for _, id := range []string{"GO-2099-0001", "../index/db", "", "CON"} {
		if _, err := db.Entry(id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Entry(%q) = %v, want ErrNotFound", id, err)
		}
	}
	for id, want := range map[string][]string{
		"CVE-2024-45338":      {"GO-2024-3333"},
		"GHSA-w32m-9786-jp63": {"GO-2024-3333"},
		"ghsa-W32M-9786-JP63": {"GO-2024-3333"},
		"GO-2024-3333":        {"GO-2024-3333"},
		"CVE-2026-94439":      {"GO-2026-6613"},
	} {
		got, err := db.Resolve(id)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("Resolve(%s) = %v, %v; want %v", id, got, err, want)
		}
	}
	if _, err := db.Resolve("CVE-1999-0001"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Resolve(unknown) = %v, want ErrNotFound", err)
	}
	if u := db.URL(); u != "file://"+filepath.ToSlash(db.Dir) {
		t.Errorf("URL = %s", u)
	}
}

func TestModuleUnchangedChangedPinned(t *testing.T) {
	p := newTestProxy(t)
	fx := readFixtures(t, "osv")
	p.add(v1, t1, fx)
	cache := t.TempDir()
	first, _ := update(t, cache, p.source(t, ""), false)
	zips := p.requests(".zip")
	metaPath := filepath.Join(first.DB.Dir, metaName)
	before, _ := os.Stat(metaPath)

	// Unchanged: one @latest request, nothing rewritten.
	time.Sleep(10 * time.Millisecond)
	again, log := update(t, cache, p.source(t, "golang.org/x/vulndb@latest"), false)
	if again.Changed || again.DB.Dir != first.DB.Dir || again.Previous == nil || again.Previous.Digest != first.DB.Meta.Digest {
		t.Errorf("no-op update: Changed=%v Dir=%s", again.Changed, again.DB.Dir)
	}
	if p.requests(".zip") != zips {
		t.Error("no-op update downloaded the zip again")
	}
	after, _ := os.Stat(metaPath)
	if !after.ModTime().Equal(before.ModTime()) {
		t.Error("no-op update rewrote the metadata")
	}
	if !strings.Contains(log, "up to date") {
		t.Errorf("progress does not say up to date:\n%s", log)
	}

	// Changed: a new version with one more entry and one entry edited.
	fx2 := map[string][]byte{}
	for k, v := range fx {
		fx2[k] = v
	}
	extra := bytes.ReplaceAll(fx["GO-2022-0956.json"], []byte("GO-2022-0956"), []byte("GO-2026-9999"))
	extra = bytes.ReplaceAll(extra, []byte(`"CVE-2022-3064",`), nil)
	extra = bytes.ReplaceAll(extra, []byte(`"GHSA-6q6q-88xp-6f2r"`), []byte(`"GHSA-aaaa-bbbb-cccc"`))
	fx2["GO-2026-9999.json"] = extra
	p.add(v2, t2, fx2)
	changed, _ := update(t, cache, p.source(t, ""), false)
	if !changed.Changed || changed.DB.Meta.Version != v2 || changed.DB.Meta.Entries != len(fx)+1 || changed.DB.Dir == first.DB.Dir {
		t.Errorf("changed update: %+v", changed.DB.Meta)
	}
	if changed.Previous == nil || changed.Previous.Version != v1 {
		t.Errorf("Previous = %+v", changed.Previous)
	}
	if ids, _ := changed.DB.Resolve("GHSA-aaaa-bbbb-cccc"); !slices.Equal(ids, []string{"GO-2026-9999"}) {
		t.Errorf("Resolve new alias = %v", ids)
	}
	// The replaced generation is kept for scans still reading it.
	if _, err := os.Stat(first.DB.Dir); err != nil {
		t.Errorf("previous generation removed: %v", err)
	}

	// Pinned to the first version while @latest is v2.
	pinned, _ := update(t, cache, p.source(t, "golang.org/x/vulndb@"+v1), false)
	if pinned.DB.Meta.Version != v1 || pinned.DB.Meta.Source != "golang.org/x/vulndb@"+v1 || !pinned.Changed {
		t.Errorf("pinned: %+v", pinned.DB.Meta)
	}
	if pinned.DB.Meta.Digest != first.DB.Meta.Digest {
		t.Error("the same version built twice has different digests")
	}
	// Only the current and the one before remain.
	var gens []string
	for _, n := range listDir(t, cache) {
		if strings.HasPrefix(n, "gen-") {
			gens = append(gens, n)
		}
	}
	if len(gens) != 2 || !slices.Contains(gens, filepath.Base(pinned.DB.Dir)) || !slices.Contains(gens, filepath.Base(changed.DB.Dir)) {
		t.Errorf("generations = %v, want the current %s and the previous %s", gens, filepath.Base(pinned.DB.Dir), filepath.Base(changed.DB.Dir))
	}
	checkNoLeftovers(t, cache)

	// Force rebuilds the same version.
	forced, _ := update(t, cache, p.source(t, "golang.org/x/vulndb@"+v1), true)
	if forced.DB.Dir == pinned.DB.Dir || forced.Changed || forced.DB.Meta.Digest != pinned.DB.Meta.Digest {
		t.Errorf("forced: dir %s (was %s), Changed=%v", forced.DB.Dir, pinned.DB.Dir, forced.Changed)
	}
	if err := forced.DB.Verify(); err != nil {
		t.Fatal(err)
	}
}

func TestModuleTamperedZipRejected(t *testing.T) {
	p := newTestProxy(t)
	fx := readFixtures(t, "osv")
	p.add(v1, t1, fx)
	cache := t.TempDir()
	first, _ := update(t, cache, p.source(t, ""), false)

	fx2 := map[string][]byte{}
	for k, v := range fx {
		fx2[k] = v
	}
	p.add(v2, t2, fx2)
	// The proxy serves a zip with an entry edited; the checksum database
	// has the real one's hash.
	evil := map[string][]byte{}
	for k, v := range fx2 {
		evil[k] = v
	}
	evil["GO-2024-3333.json"] = bytes.Replace(fx["GO-2024-3333.json"], []byte(`"fixed": "0.33.0"`), []byte(`"fixed": "0.0.1"`), 1)
	p.mu.Lock()
	p.tamper[v2] = buildModuleZip(t, v2, evil)
	p.mu.Unlock()

	_, err := Update(context.Background(), cache, p.source(t, ""), UpdateOptions{Now: fixedNow})
	if err == nil {
		t.Fatal("tampered zip accepted")
	}
	if !strings.Contains(err.Error(), "golang.org/x/vulndb@"+v2) || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Errorf("error does not name the module@version and the mismatch: %v", err)
	}
	db, err := Open(cache)
	if err != nil {
		t.Fatal(err)
	}
	if db.Dir != first.DB.Dir || db.Meta.Version != v1 {
		t.Errorf("current database changed to %s %s", db.Dir, db.Meta.Version)
	}
	if err := db.Verify(); err != nil {
		t.Error(err)
	}
	checkNoLeftovers(t, cache)

	// With the checksum database switched off the same zip is taken, with
	// a warning.
	res, log := update(t, cache, p.source(t, "", "GOSUMDB=off"), false)
	if res.DB.Meta.Version != v2 || !strings.Contains(log, "not checking golang.org/x/vulndb@"+v2+" against a checksum database (GOSUMDB=off)") {
		t.Errorf("GOSUMDB=off: version %s, progress:\n%s", res.DB.Meta.Version, log)
	}
}

func TestModuleSumDBOptOuts(t *testing.T) {
	p := newTestProxy(t)
	p.add(v1, t1, readFixtures(t, "osv"))
	for _, env := range [][]string{
		{"GOSUMDB=off"},
		{"GONOSUMDB=golang.org/x"},
		{"GOPRIVATE=golang.org/x/vulndb"},
		{"GONOSUMCHECK=1"},
		{"GOFLAGS=-mod=mod -insecure"},
	} {
		before := p.requests("/sumdb/")
		_, log := update(t, t.TempDir(), p.source(t, "", env...), false)
		if p.requests("/sumdb/") != before {
			t.Errorf("%v: the checksum database was consulted", env)
		}
		if !strings.Contains(log, "not checking") {
			t.Errorf("%v: no warning about skipping verification:\n%s", env, log)
		}
	}
	// GONOSUMDB set to something else still verifies.
	before := p.requests("/sumdb/")
	update(t, t.TempDir(), p.source(t, "", "GONOSUMDB=example.com", "GOPRIVATE=golang.org"), false)
	if p.requests("/sumdb/") == before {
		t.Error("GONOSUMDB=example.com skipped the checksum database (GOPRIVATE must not apply when GONOSUMDB is set)")
	}
}

func TestModuleProxyList(t *testing.T) {
	p := newTestProxy(t)
	p.add(v1, t1, readFixtures(t, "osv"))
	u := p.srv.URL
	ok := []string{
		u + "/missing," + u,            // 404 falls through a comma
		u + "/gone," + u,               // so does 410
		u + "/broken|" + u,             // any error falls through a pipe
		" , " + u + "/missing ,, " + u, // blanks are ignored
	}
	for _, goproxy := range ok {
		res, _ := update(t, t.TempDir(), p.source(t, "", "GOPROXY="+goproxy), false)
		if res.DB.Meta.Version != v1 {
			t.Errorf("GOPROXY=%s: version %s", goproxy, res.DB.Meta.Version)
		}
	}
	bad := map[string]string{
		u + "/broken," + u:    "500",
		"off":                 "GOPROXY=off",
		"direct":              "through a module proxy",
		u + "/missing,direct": "through a module proxy",
		u + "/missing,off":    "GOPROXY=off",
		u + "/missing":        "404",
	}
	for goproxy, want := range bad {
		src := p.source(t, "", "GOPROXY="+goproxy)
		_, err := Update(context.Background(), t.TempDir(), src, UpdateOptions{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("GOPROXY=%s: error %v, want it to mention %q", goproxy, err, want)
		}
		if goproxy == "direct" && !strings.Contains(err.Error(), "GOPROXY") {
			t.Errorf("GOPROXY=direct: error does not name the variable: %v", err)
		}
	}
	if _, err := ParseSource("", Options{Env: []string{"GOPROXY=ftp://x", "GOENV=off"}}); err == nil {
		t.Error("GOPROXY=ftp://x accepted")
	}
	if _, err := ParseSource("", Options{Env: []string{"GOPROXY=,", "GOENV=off"}}); err == nil {
		t.Error("GOPROXY=, accepted")
	}
	if _, err := ParseSource("", Options{Env: []string{"GOSUMDB=not a key at all", "GOENV=off"}}); err == nil {
		t.Error("malformed GOSUMDB accepted")
	}
}

// A proxy without @latest: the newest pseudo-version in @v/list, and a
// tagged version before any pseudo-version, as the go command picks.
func TestModuleLatestFromList(t *testing.T) {
	p := newTestProxy(t)
	fx := readFixtures(t, "osv")
	p.add(v2, t2, fx)
	p.add(v1, t1, fx) // @latest would say v1; the list's newest is v2
	p.noLatest, p.list = true, true
	res, _ := update(t, t.TempDir(), p.source(t, ""), false)
	if res.DB.Meta.Version != v2 || !res.DB.Meta.VersionTime.Equal(t2) {
		t.Errorf("version %s %v, want %s", res.DB.Meta.Version, res.DB.Meta.VersionTime, v2)
	}
	p.add("v0.1.0", t0, fx)
	res, _ = update(t, t.TempDir(), p.source(t, ""), false)
	if res.DB.Meta.Version != "v0.1.0" {
		t.Errorf("version %s, want the tagged v0.1.0", res.DB.Meta.Version)
	}
	// Neither @latest nor a list: not found, falling through to the next
	// proxy.
	p.list = false
	_, err := Update(context.Background(), t.TempDir(), p.source(t, ""), UpdateOptions{})
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("Update = %v, want not found", err)
	}
}

// The go command's configuration file (go env -w) is read for variables the
// environment lacks.
func TestModuleGoEnvFile(t *testing.T) {
	p := newTestProxy(t)
	p.add(v1, t1, readFixtures(t, "osv"))
	envFile := filepath.Join(t.TempDir(), "env")
	if err := os.WriteFile(envFile, []byte("GOPROXY="+p.srv.URL+"/missing,"+p.srv.URL+"\nGOSUMDB="+p.vkey+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := ParseSource("", Options{HTTPClient: p.srv.Client(), Env: []string{"GOENV=" + envFile}})
	if err != nil {
		t.Fatal(err)
	}
	before := p.requests("/missing/")
	res, _ := update(t, t.TempDir(), src, false)
	if res.DB.Meta.Version != v1 || p.requests("/missing/") == before {
		t.Error("GOPROXY from the GOENV file was not used")
	}
}

// A file:// GOPROXY, such as the module cache's download directory, works.
func TestModuleFileProxy(t *testing.T) {
	fx := readFixtures(t, "osv")
	z := buildModuleZip(t, v1, fx)
	info, _ := json.Marshal(map[string]any{"Version": v1, "Time": t1})
	dir := writeDir(t, map[string][]byte{
		"golang.org/x/vulndb/@latest":            info,
		"golang.org/x/vulndb/@v/" + v1 + ".info": info,
		"golang.org/x/vulndb/@v/" + v1 + ".zip":  z,
	})
	src, err := ParseSource("", Options{Env: []string{"GOPROXY=file://" + filepath.ToSlash(dir), "GOSUMDB=off", "GOENV=off"}})
	if err != nil {
		t.Fatal(err)
	}
	res, _ := update(t, t.TempDir(), src, false)
	if res.DB.Meta.Entries != len(fx) {
		t.Errorf("entries = %d", res.DB.Meta.Entries)
	}
}

func TestModuleSkipsBadEntries(t *testing.T) {
	p := newTestProxy(t)
	fx := readFixtures(t, "osv")
	files := map[string][]byte{}
	for k, v := range fx {
		files[k] = v
	}
	hostile := readFixtures(t, "hostile")
	for k, v := range hostile {
		files[k] = v
	}
	p.add(v1, t1, files)
	res, log := update(t, t.TempDir(), p.source(t, ""), false)
	if res.DB.Meta.Entries != len(fx) || res.Stats.Skipped != len(hostile) {
		t.Errorf("entries %d skipped %d, want %d and %d\n%s", res.DB.Meta.Entries, res.Stats.Skipped, len(fx), len(hostile), log)
	}
	if !strings.Contains(log, "warning: skipping data/osv/escape.json") {
		t.Errorf("no warning naming the skipped file:\n%s", log)
	}
}
