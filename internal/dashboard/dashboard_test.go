package dashboard

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/vexloom/vexloom/examples/demo"
	"github.com/vexloom/vexloom/internal/viewjson"
)

func readAll(resp *http.Response) ([]byte, error) {
	return io.ReadAll(io.LimitReader(resp.Body, 8<<20))
}

// Every page answers, with the security headers, and escapes what came
// from outside.
func TestPagesServeEscapedHTMLWithCSP(t *testing.T) {
	f := demoStore(t)
	srv := newDashboard(t, f, "")
	for _, path := range []string{"/", "/triages", "/triages?state=all", "/triages/" + f.Answered, "/releases", "/releases/branch/main", "/releases/branch/main?from=1&to=2", "/releases/release/" + demo.ReleaseTag, "/charts", "/assets/style.css", "/assets/app.js"} {
		resp, body := get(t, srv.URL+path)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %s\n%s", path, resp.Status, body)
			continue
		}
		if got := resp.Header.Get("Content-Security-Policy"); got != ContentSecurityPolicy {
			t.Errorf("GET %s: CSP %q", path, got)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: no nosniff", path)
		}
		for _, raw := range []string{xssScript, xssImg, `href="javascript:`, "<script>window"} {
			if strings.Contains(body, raw) {
				t.Errorf("GET %s: the page holds %q unescaped", path, raw)
			}
		}
	}
	// The hostile comment is shown, as text.
	_, body := get(t, srv.URL+"/triages/"+f.Answered)
	if !strings.Contains(body, "&lt;script&gt;window.__pwned") {
		t.Errorf("the triage page does not show the comment's text escaped:\n%s", body)
	}
	for _, want := range []string{"demo-maintainer", "demo-reviewer", "unauthorized", "approvers of <code>.</code>: demo-maintainer", "the security team: demo-security (demo-responder)"} {
		if !strings.Contains(body, want) {
			t.Errorf("the triage page lacks %q", want)
		}
	}
}

func TestReadOnlyAndNotFound(t *testing.T) {
	f := demoStore(t)
	srv := newDashboard(t, f, "")
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		req, _ := http.NewRequest(m, srv.URL+"/triages/"+f.Answered, strings.NewReader("x"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s: %s, want 405", m, resp.Status)
		}
	}
	for _, path := range []string{"/triages/vx-nope", "/releases/branch/nope", "/api/v1/triages/vx-nope", "/nope"} {
		if resp, _ := get(t, srv.URL+path); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %s, want 404", path, resp.Status)
		}
	}
	for _, path := range []string{"/triages?level=huge", "/?page=0", "/releases/branch/main?from=99"} {
		if resp, _ := get(t, srv.URL+path); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("GET %s: %s, want 400", path, resp.Status)
		}
	}
}

func TestBearerToken(t *testing.T) {
	f := demoStore(t)
	srv := newDashboard(t, f, "s3cret-token")
	if resp, body := get(t, srv.URL+"/"); resp.StatusCode != http.StatusUnauthorized || strings.Contains(body, "s3cret") {
		t.Errorf("no token: %s %q", resp.Status, body)
	}
	if resp, _ := get(t, srv.URL+"/", "Authorization", "Bearer wrong"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong token: %s", resp.Status)
	}
	resp, body := get(t, srv.URL+"/", "Authorization", "Bearer s3cret-token")
	if resp.StatusCode != http.StatusOK {
		t.Errorf("right token: %s", resp.Status)
	}
	if strings.Contains(body, "s3cret") {
		t.Error("the page shows the token")
	}
}

// The API's triage views are the command line's schemas; the queue is
// what needs a person, the one waiting longest first.
func TestAPIUsesTheVersionedSchemas(t *testing.T) {
	f := demoStore(t)
	srv := newDashboard(t, f, "")
	_, body := get(t, srv.URL+"/api/v1/triages?state=all")
	var all viewjson.Triages
	if err := json.Unmarshal([]byte(body), &all); err != nil {
		t.Fatal(err)
	}
	if all.Schema != viewjson.SchemaTriages || len(all.Triages) < 4 {
		t.Fatalf("schema %q, %d triages", all.Schema, len(all.Triages))
	}
	_, body = get(t, srv.URL+"/api/v1/triages")
	var queue viewjson.Triages
	if err := json.Unmarshal([]byte(body), &queue); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, tr := range queue.Triages {
		ids = append(ids, tr.ID)
		if tr.State != "open" {
			t.Errorf("%s in the queue is %s", tr.ID, tr.State)
		}
	}
	if !slices.Equal(ids, f.Waiting) {
		t.Errorf("queue %v, want %v", ids, f.Waiting)
	}
	_, body = get(t, srv.URL+"/api/v1/triages/"+f.Answered)
	var one viewjson.Triage
	if err := json.Unmarshal([]byte(body), &one); err != nil {
		t.Fatal(err)
	}
	if one.Schema != viewjson.SchemaTriage || one.ID != f.Answered || len(one.History) == 0 {
		t.Errorf("triage: schema %q id %q, %d events", one.Schema, one.ID, len(one.History))
	}
	if strings.Contains(body, `\u003c`) {
		t.Error("the API's JSON is HTML-escaped")
	}
	_, body = get(t, srv.URL+"/api/v1/triages/"+f.Answered+"/history")
	var h viewjson.History
	if err := json.Unmarshal([]byte(body), &h); err != nil || h.Schema != viewjson.SchemaHistory || len(h.Events) != len(one.History) {
		t.Errorf("history: %v, schema %q, %d events", err, h.Schema, len(h.Events))
	}
	resp, body := get(t, srv.URL+"/api/v1/releases/branch/main?version=1")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, SchemaVEX) || !strings.Contains(body, `"version": 1`) {
		t.Errorf("vex/v1: %s\n%s", resp.Status, body)
	}
	_, body = get(t, srv.URL+"/api/v1/releases/branch/main?from=1&to=2")
	var rel struct {
		Schema string
		Diff   struct {
			Changed []statementChange
		}
	}
	if err := json.Unmarshal([]byte(body), &rel); err != nil || rel.Schema != SchemaRelease {
		t.Fatalf("release: %v %q", err, rel.Schema)
	}
	if len(rel.Diff.Changed) == 0 {
		t.Errorf("main's v1 → v2 changes no statement:\n%s", body)
	}
}

// The headline numbers and the gate say what the store says.
func TestOverviewNumbers(t *testing.T) {
	f := demoStore(t)
	srv := newDashboard(t, f, "")
	_, body := get(t, srv.URL+"/api/v1/overview")
	var ov struct {
		Schema string
		Counts struct {
			Analysis, Person, Waiting int
			WaitingTriages            int `json:"waiting_triages"`
		}
		Columns []struct {
			Name, Kind string
			Gate       struct{ Verdict string }
			Published  []struct{ Subjects []struct{ Name string } }
		}
		Rows []struct {
			Triage string
			Cells  map[string]string
		}
	}
	if err := json.Unmarshal([]byte(body), &ov); err != nil {
		t.Fatal(err)
	}
	if ov.Schema != SchemaOverview {
		t.Errorf("schema %q", ov.Schema)
	}
	if ov.Counts.Analysis == 0 || ov.Counts.Person == 0 || ov.Counts.WaitingTriages != len(f.Waiting) {
		t.Errorf("counts %+v, want %d waiting triages", ov.Counts, len(f.Waiting))
	}
	var names []string
	for _, c := range ov.Columns {
		names = append(names, c.Kind+":"+c.Name)
	}
	if !slices.Equal(names, []string{"branch:main", "branch:release-1.0", "release:" + demo.ReleaseTag}) {
		t.Errorf("columns %v", names)
	}
	found := false
	for _, r := range ov.Rows {
		if r.Triage == f.Answered {
			found = true
			if r.Cells["branch:main"] != ClassPerson || r.Cells["release:"+demo.ReleaseTag] != ClassPerson {
				t.Errorf("the answered triage's cells: %v", r.Cells)
			}
		}
	}
	if !found {
		t.Error("the answered triage is not in the matrix")
	}
}
