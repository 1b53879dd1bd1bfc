package dashboard

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vexloom/vexloom/internal/digest"
	"github.com/vexloom/vexloom/internal/publish"
	"github.com/vexloom/vexloom/internal/store"
)

// A hostile release name and image reference, as a tag and a registry
// could carry them.
const (
	hostileRelease = `v1.0.0"><script>window.__pwned='release'</script>`
	hostileRef     = `r.example/app:<img src=x onerror="window.__pwned='ref'">`
)

// trackedDoc is a small OpenVEX document of a release: one image with the
// vulnerable module inside, and one binary.
func trackedDoc(version int, status, justification string) []byte {
	just := ""
	if justification != "" {
		just = `,"justification":"` + justification + `"`
	}
	return []byte(`{"@context":"https://openvex.dev/ns/v0.2.0","@id":"https://example.com/vex/r","author":"t","timestamp":"2026-11-20T12:00:00Z","version":` + string(rune('0'+version)) + `,
"statements":[
 {"vulnerability":{"name":"GO-2026-0001"},"products":[{"@id":"pkg:oci/app@sha256:aa?repository_url=r.example/app","hashes":{"sha-256":"aa"},"subcomponents":[{"@id":"pkg:golang/golang.org/x/net@v0.1.0"}]}],"status":"` + status + `"` + just + `},
 {"vulnerability":{"name":"GO-2026-0002"},"products":[{"@id":"pkg:golang/example.com/app@v1.0.0?checksum=sha256:bb","hashes":{"sha-256":"bb"}}],"status":"fixed"}
]}`)
}

// trackedStore is a store with one tracked release in two versions: the
// first under investigation and unsigned, the second not_affected,
// signed and pushed to two stores; and the triage its statement is about.
func trackedStore(t *testing.T) *store.Store {
	t.Helper()
	ctx := context.Background()
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	st, err := store.Open(ctx, t.TempDir(), func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, _, err := st.EnsureTriage(ctx, "GO-2026-0001", "golang.org/x/net", nil); err != nil {
		t.Fatal(err)
	}
	for _, d := range []store.ReleaseDocument{
		{Release: hostileRelease, Version: 1, Branch: "release-1.0", Commit: "0123456789abcdef", StatementsHash: "h1", At: now.Add(-time.Hour), Body: trackedDoc(1, "under_investigation", "")},
		{Release: hostileRelease, Version: 2, Branch: "release-1.0", Commit: "0123456789abcdef", StatementsHash: "h2", At: now, Body: trackedDoc(2, "not_affected", "vulnerable_code_not_in_execute_path"), Bundle: []byte(`{"dsseEnvelope":{}}`)},
	} {
		if err := st.RecordReleaseDocument(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.RecordReleaseImages(ctx, []store.ReleaseImage{
		{Release: hostileRelease, Reference: hostileRef, Repository: "r.example/app", Index: "sha256:ii", Platform: "linux/amd64", Digest: "sha256:aa", At: now},
		{Release: hostileRelease, Reference: hostileRef, Repository: "r.example/app", Index: "sha256:ii", Platform: "linux/arm64", Digest: "sha256:cc", At: now},
	}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []store.ReleasePublication{
		{Release: hostileRelease, Version: 2, Store: "local", ID: "sha256:dd", At: now},
		{Release: hostileRelease, Version: 2, Store: "feed", Location: "https://vex.example/feed", ID: "sha256:ee", At: now},
	} {
		if err := st.RecordReleasePublication(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

func trackedDashboard(t *testing.T) *httptest.Server {
	t.Helper()
	return trackedDashboardWith(t, trackedStore(t), nil)
}

func trackedDashboardWith(t *testing.T, st *store.Store, pub *publish.Local) *httptest.Server {
	t.Helper()
	d, err := New(Options{Store: st, Published: pub, Project: "example.com/app", Now: func() time.Time { return time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(d)
	t.Cleanup(srv.Close)
	return srv
}

func TestTrackedReleases(t *testing.T) {
	srv := trackedDashboard(t)
	page := "/releases/release/" + url.PathEscape(hostileRelease)
	for _, path := range []string{"/", "/releases", page, page + "?from=1&to=2"} {
		resp, body := get(t, srv.URL+path)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s\n%s", path, resp.Status, body)
		}
		for _, raw := range []string{"<script>window", `<img src=x`} {
			if strings.Contains(body, raw) {
				t.Errorf("GET %s: the page holds %q unescaped", path, raw)
			}
		}
		if !strings.Contains(body, "&lt;script&gt;window.__pwned") {
			t.Errorf("GET %s: the release's name is not shown escaped", path)
		}
	}
	_, body := get(t, srv.URL+"/releases")
	for _, want := range []string{"tracked release", "release-1.0", "2 image platform(s), 1 binary", "v2 signed", "v2: local, feed"} {
		if !strings.Contains(body, want) {
			t.Errorf("the releases page lacks %q", want)
		}
	}
	_, body = get(t, srv.URL+page+"?from=1&to=2")
	for _, want := range []string{"linux/amd64", "linux/arm64", "sha256:cc", "&lt;img src=x", "pkg:golang/example.com/app@v1.0.0?checksum=sha256:bb",
		"unsigned", "signed (Sigstore bundle)", "https://vex.example/feed", `<tr class="changed"><td>~</td><td>GO-2026-0001</td>`, "under_investigation", "not_affected:vulnerable_code_not_in_execute_path"} {
		if !strings.Contains(body, want) {
			t.Errorf("the release page lacks %q", want)
		}
	}
	if resp, _ := get(t, srv.URL+page+"?from=3"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a version that does not exist: %s", resp.Status)
	}

	// The overview: a column for the release, coloured by its latest
	// document's statement.
	_, body = get(t, srv.URL+"/api/v1/overview")
	var ov struct {
		Columns []struct{ Name, Kind string }
		Rows    []struct {
			Vulnerability string
			Cells         map[string]string
		}
	}
	if err := json.Unmarshal([]byte(body), &ov); err != nil {
		t.Fatal(err)
	}
	if len(ov.Columns) != 1 || ov.Columns[0].Name != hostileRelease || ov.Columns[0].Kind != KindRelease {
		t.Fatalf("columns %+v", ov.Columns)
	}
	if len(ov.Rows) != 1 || ov.Rows[0].Cells["release:"+hostileRelease] != ClassAnalysis {
		t.Errorf("rows %+v", ov.Rows)
	}
	_, body = get(t, srv.URL+"/")
	if !strings.Contains(body, `class="cell analysis"`) {
		t.Error("the overview's matrix has no coloured cell for the release")
	}

	// The API: the releases schema with the tracked release's artifacts,
	// versions (signed, where pushed), a version's document and a diff.
	_, body = get(t, srv.URL+"/api/v1/releases")
	var rels struct {
		Schema   string
		Releases []struct {
			Name, Kind, Branch, Commit string
			Tracked                    bool
			Images                     []struct{ Reference, Platform, Digest string }
			Binaries                   []struct{ Product, Digest string }
			Versions                   []struct {
				Version     int
				Signed      *bool
				PublishedTo []struct{ Store, Location string } `json:"published_to"`
			}
			Gate struct{ Verdict string }
		}
	}
	if err := json.Unmarshal([]byte(body), &rels); err != nil {
		t.Fatal(err)
	}
	if rels.Schema != SchemaReleases || len(rels.Releases) != 1 {
		t.Fatalf("releases: %s", body)
	}
	r := rels.Releases[0]
	if !r.Tracked || r.Branch != "release-1.0" || r.Commit != "0123456789abcdef" || len(r.Images) != 2 || r.Images[0].Reference != hostileRef || r.Images[1].Digest != "sha256:cc" ||
		len(r.Binaries) != 1 || r.Binaries[0].Digest != "sha256:bb" || r.Gate.Verdict != "pass" {
		t.Errorf("release: %+v", r)
	}
	if len(r.Versions) != 2 || r.Versions[0].Signed == nil || *r.Versions[0].Signed || !*r.Versions[1].Signed ||
		len(r.Versions[0].PublishedTo) != 0 || len(r.Versions[1].PublishedTo) != 2 || r.Versions[1].PublishedTo[1].Location != "https://vex.example/feed" {
		t.Errorf("versions: %+v", r.Versions)
	}
	api := "/api/v1/releases/release/" + url.PathEscape(hostileRelease)
	resp, body := get(t, srv.URL+api+"?version=1")
	var v1 struct {
		Schema, Release string
		Version         int
		Signed          bool
		Document        struct{ Statements []json.RawMessage }
	}
	if err := json.Unmarshal([]byte(body), &v1); resp.StatusCode != http.StatusOK || err != nil || v1.Schema != SchemaReleaseVEX || v1.Release != hostileRelease || v1.Version != 1 || v1.Signed || len(v1.Document.Statements) != 2 {
		t.Errorf("version 1: %s %v %+v", resp.Status, err, v1)
	}
	_, body = get(t, srv.URL+api+"?from=1&to=2")
	var diff struct {
		Schema string
		Diff   struct {
			Changed   []statementChange
			Unchanged int
		}
	}
	if err := json.Unmarshal([]byte(body), &diff); err != nil || diff.Schema != SchemaRelease || len(diff.Diff.Changed) != 1 || diff.Diff.Unchanged != 1 {
		t.Errorf("diff: %v %s", err, body)
	}
	if strings.Contains(body, `\u003c`) {
		t.Error("the API's JSON is HTML-escaped")
	}
}

// A tracked release the keeper also pushed to the local published store
// is one column: its cells and gate read the living document, and the
// published record is listed with it.
func TestTrackedReleaseIsOneColumnWithItsPublishedRecord(t *testing.T) {
	ctx := context.Background()
	st := trackedStore(t)
	pub, err := publish.NewLocal(t.TempDir(), func() time.Time { return time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC) })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pub.Publish(ctx, publish.Object{
		Document: trackedDoc(1, "under_investigation", ""), Kind: publish.KindRelease, Ref: hostileRelease,
		Subjects: []publish.Subject{digest.SubjectOf("app", publish.Digest{Algorithm: "sha256", Hex: strings.Repeat("b", 64)})},
	}); err != nil {
		t.Fatal(err)
	}
	srv := trackedDashboardWith(t, st, pub)
	_, body := get(t, srv.URL+"/api/v1/overview")
	var ov struct {
		Columns []struct {
			Name      string
			Tracked   bool
			Published []struct{ Store string }
			Gate      struct{ Verdict string }
		}
		Rows []struct{ Cells map[string]string }
	}
	if err := json.Unmarshal([]byte(body), &ov); err != nil {
		t.Fatal(err)
	}
	if len(ov.Columns) != 1 || !ov.Columns[0].Tracked || len(ov.Columns[0].Published) != 1 || ov.Columns[0].Gate.Verdict != "pass" {
		t.Fatalf("columns: %s", body)
	}
	if len(ov.Rows) != 1 || ov.Rows[0].Cells["release:"+hostileRelease] != ClassAnalysis {
		t.Errorf("rows %+v: the cell must be the living document's", ov.Rows)
	}
}
