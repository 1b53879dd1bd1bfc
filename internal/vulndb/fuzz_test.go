package vulndb

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/vexloom/vexloom/internal/osv"
)

func FuzzParseSource(f *testing.F) {
	for _, s := range []string{
		"", "golang.org/x/vulndb", "golang.org/x/vulndb@latest", "golang.org/x/vulndb@" + v1,
		"golang.org/x/vulndb@master", "dir:testdata/osv", "testdata/osv", "zip:x.zip", "a.zip",
		"https://vuln.go.dev", "http://user:pw@host:1/db/", "https://h/all.zip?token=abc",
		"zip:https://t@h/a", "file:///tmp", "file://host/x", "ftp://x", "https://", "dir:", "zip:",
		"golang.org/x/vulndb@v1 2", "golang.org/x/vulndb@\x00", "https://h/%zz", "https://[::1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		src, err := ParseSource(spec, Options{Env: []string{"GOENV=off"}})
		if err != nil {
			if msg := err.Error(); containsSecret(spec, msg) {
				t.Errorf("error %q reveals a secret of %q", msg, spec)
			}
			return
		}
		switch src.Kind() {
		case "module", "dir", "zip", "mirror":
		default:
			t.Errorf("kind %q", src.Kind())
		}
		if containsSecret(spec, src.String()) {
			t.Errorf("String() = %q reveals a secret of %q", src.String(), spec)
		}
	})
}

// containsSecret reports whether s contains the userinfo or a query value
// of a URL inside spec.
func containsSecret(spec, s string) bool {
	raw := strings.TrimPrefix(spec, "zip:")
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return false
	}
	if u.User != nil {
		if ui := u.User.String(); len(ui) >= 4 && ui != "xxxxx" && strings.Contains(s, ui+"@") {
			return true
		}
	}
	for _, vs := range u.Query() {
		for _, v := range vs {
			if len(v) >= 4 && v != "xxxxx" && strings.Contains(s, "="+v) {
				return true
			}
		}
	}
	return false
}

func fuzzSeeds(f *testing.F) {
	for _, dir := range []string{"osv", "hostile", "osvdev"} {
		for n, b := range readFixtures(f, dir) {
			f.Add(b, n)
			f.Add(b, "")
		}
	}
	for _, s := range []string{
		`{"id":"GO-1","Modified":"0001-01-01T00:00:00Z","modified":"0001-01-01T00:00:00Z","affected":[{"package":{"name":"x","ecosystem":"Go"}}]}`,
		`  {"id":"GO-2","affected":[{"package":{"name":"x","ecosystem":"Go"}}]}  `,
		`{"id":"GO-3","modifi\u0065d":"0001-01-01T00:00:00Z","affected":[{"package":{"name":"x","ecosystem":"Go"}}]}`,
		`{"id":"GO-4","modified" :  "0001-01-01T00:00:00Z" ,"affected":[{"package":{"name":"x","ecosystem":"Go"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.2.3"},{"introduced":"1.3.0"}]}]}]}`,
		`{"id":"GO-5","modified":"2025-01-01T00:00:00Z","affected":[{"package":{"name":"stdlib","ecosystem":"Go"}}],"database_specific":{"review_status":"REVIEWED"}}`,
		`{"id":"NUL","affected":[{"package":{"name":"x","ecosystem":"Go"}}]}`,
		`{"id":"GO-6","aliases":["GO-6"],"affected":[{"package":{"name":"x","ecosystem":"Go"}}]}`,
		`null`, `{}`, `[]`, `"x"`, `{"id":1}`,
	} {
		f.Add([]byte(s), "")
	}
}

// FuzzPrepare checks the entry filter: whatever it accepts is safe to
// store and read back, govulncheck can decode it, and only "modified"
// was changed.
func FuzzPrepare(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, raw []byte, name string) {
		e, data, err := prepare(name, raw, t1)
		if err != nil {
			return
		}
		if !safeID(e.ID) || strings.ContainsAny(e.ID, `/\`) || e.ID == "." || e.ID == ".." {
			t.Fatalf("unsafe id %q accepted", e.ID)
		}
		if name != "" && filepath.Base(strings.ReplaceAll(name, `\`, "/")) != e.ID+".json" {
			t.Fatalf("name %q accepted for id %q", name, e.ID)
		}
		if e.Modified.IsZero() {
			t.Fatal("zero modified accepted")
		}
		back, err := osv.Parse(data)
		if err != nil {
			t.Fatalf("stored bytes do not parse: %v", err)
		}
		if back.ID != e.ID || !back.Modified.Equal(e.Modified) {
			t.Fatalf("stored bytes parse to %s %v, want %s %v", back.ID, back.Modified, e.ID, e.Modified)
		}
		if err := checkGovulncheck(data); err != nil {
			t.Fatalf("govulncheck cannot decode the stored bytes: %v", err)
		}
		orig, err := osv.Parse(raw)
		if err != nil {
			t.Fatalf("accepted bytes that do not parse: %v", err)
		}
		if !orig.Modified.IsZero() {
			if !bytes.Equal(raw, data) {
				t.Fatal("an entry with a modified time was rewritten")
			}
			return
		}
		if !back.Modified.Equal(t1) {
			t.Fatalf("modified = %v, want the fallback", back.Modified)
		}
		// Apart from "modified", the object is unchanged.
		strip := func(b []byte) map[string]any {
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatalf("not an object: %v", err)
			}
			for k := range m {
				if strings.EqualFold(k, "modified") {
					delete(m, k)
				}
			}
			return m
		}
		if a, b := strip(raw), strip(data); !reflect.DeepEqual(a, b) {
			t.Fatalf("rewriting modified changed other fields:\n%v\n%v", a, b)
		}
	})
}

// FuzzBuild runs a hostile entry through the whole build beside a real one:
// the build never fails on it, writes nothing outside the generation, and
// produces a database that verifies and whose indexes agree with its files.
func FuzzBuild(f *testing.F) {
	fuzzSeeds(f)
	good := readFixtures(f, "osv")["GO-2024-3333.json"]
	f.Fuzz(func(t *testing.T, raw []byte, name string) {
		root := t.TempDir()
		dir := filepath.Join(root, "gen")
		b, err := newBuilder(context.Background(), dir, t1, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.add("GO-2024-3333.json", good); err != nil {
			t.Fatal(err)
		}
		if err := b.add(name, raw); err != nil {
			t.Fatalf("add: %v", err)
		}
		meta, err := b.finish(Meta{Source: "fuzz", Kind: "dir", Version: "x"})
		if err != nil {
			t.Fatalf("finish: %v", err)
		}
		if ents, _ := os.ReadDir(root); len(ents) != 1 {
			t.Fatalf("files outside the generation: %v", ents)
		}
		db, err := openGen(dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Verify(); err != nil {
			t.Fatal(err)
		}
		mods, err := db.modules()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range mods {
			for _, v := range m.Vulns {
				if _, err := db.Entry(v.ID); err != nil {
					t.Fatalf("module index lists %s: %v", v.ID, err)
				}
			}
		}
		if got, err := db.Resolve("CVE-2024-45338"); err != nil || len(got) == 0 {
			t.Fatalf("Resolve(CVE-2024-45338) = %v, %v", got, err)
		}
		if meta.Entries < 1 || meta.Entries > 2 {
			t.Fatalf("entries = %d", meta.Entries)
		}
	})
}
