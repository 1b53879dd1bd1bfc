package vulndb

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"golang.org/x/vuln/scan"
)

// govulncheckQuery runs govulncheck in-process in query mode against db and
// returns the IDs of the OSV entries it reports.
func govulncheckQuery(t *testing.T, db *DB, queries ...string) []string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	args := append([]string{"-db", db.URL(), "-mode", "query", "-format", "json"}, queries...)
	cmd := scan.Command(context.Background(), args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOTOOLCHAIN=local")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("govulncheck %v: %v\nstderr:\n%s", args, err, stderr.String())
	}
	var ids []string
	dec := json.NewDecoder(&stdout)
	for {
		var msg struct {
			OSV *struct {
				ID string `json:"id"`
			} `json:"osv"`
		}
		if err := dec.Decode(&msg); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("govulncheck output: %v", err)
		}
		if msg.OSV != nil {
			ids = append(ids, msg.OSV.ID)
		}
	}
	sort.Strings(ids)
	return ids
}

func TestGovulncheckReadsDatabase(t *testing.T) {
	p := newTestProxy(t)
	p.add(v1, t1, readFixtures(t, "osv"))
	res, _ := update(t, t.TempDir(), p.source(t, ""), false)
	db := res.DB

	for _, c := range []struct {
		query string
		want  []string
	}{
		{"golang.org/x/net@v0.32.0", []string{"GO-2024-3333"}},
		{"golang.org/x/net@v0.33.0", nil},
		// The index's "fixed" pre-filters: at v2.2.5 only GO-2020-0036
		// (fixed in 2.2.8) is fetched; GO-2021-0061 (2.2.3) and
		// GO-2022-0956 (2.2.4) are not. A wrong or missing "fixed" would
		// make govulncheck report all three (it returns every fetched
		// entry once one matches).
		{"gopkg.in/yaml.v2@v2.2.5", []string{"GO-2020-0036"}},
		{"gopkg.in/yaml.v2@v2.2.3", []string{"GO-2020-0036", "GO-2022-0956"}},
		{"gopkg.in/yaml.v2@v2.2.8", nil},
		// Re-introduced at 0.17.0 after the fix in 0.16.4: no "fixed" in
		// the index, so a version past the fix is still checked.
		{"github.com/submariner-io/submariner-operator@v0.17.0", []string{"GO-2024-2866"}},
		{"github.com/submariner-io/submariner-operator@v0.16.4", nil},
		{"stdlib@v1.26.8", []string{"GO-2026-6613"}},
		{"stdlib@v1.27.2", nil},
		{"toolchain@v1.26.8", []string{"GO-2026-6601"}},
		{"github.com/dgrijalva/jwt-go@v3.2.0+incompatible", []string{"GO-2020-0017"}},
		{"example.com/not/in/db@v1.0.0", nil},
	} {
		got := govulncheckQuery(t, db, c.query)
		if !slices.Equal(got, c.want) {
			t.Errorf("govulncheck %s = %v, want %v", c.query, got, c.want)
		}
	}

	// One run with several queries, and the entries govulncheck reads
	// carry the substituted modified time.
	got := govulncheckQuery(t, db, "golang.org/x/net@v0.32.0", "gopkg.in/yaml.v2@v2.2.5")
	if want := []string{"GO-2020-0036", "GO-2024-3333"}; !slices.Equal(got, want) {
		t.Errorf("multi-query = %v, want %v", got, want)
	}
	raw, _ := os.ReadFile(filepath.Join(db.Dir, "ID", "GO-2024-3333.json"))
	if !bytes.Contains(raw, []byte(`"modified": "2026-11-05T23:49:57Z"`)) {
		t.Error("modified not substituted in the entry govulncheck reads")
	}
}

// An osv.dev export lists GO-2024-3333 also as GHSA-w32m-9786-jp63 and
// CVE-2024-45338: govulncheck reports it once.
func TestGovulncheckNoDuplicateFromExport(t *testing.T) {
	p := filepath.Join(t.TempDir(), "all.zip")
	if err := os.WriteFile(p, buildExportZip(t, readFixtures(t, "osvdev")), 0o644); err != nil {
		t.Fatal(err)
	}
	res, _ := update(t, t.TempDir(), mustSource(t, "zip:"+p), false)
	if got := govulncheckQuery(t, res.DB, "golang.org/x/net@v0.32.0"); !slices.Equal(got, []string{"GO-2024-3333"}) {
		t.Errorf("govulncheck = %v, want [GO-2024-3333] once", got)
	}
	if got := govulncheckQuery(t, res.DB, "example.com/ghsaonly@v1.3.0"); !slices.Equal(got, []string{"GHSA-9999-8888-7777"}) {
		t.Errorf("govulncheck = %v", got)
	}
}
