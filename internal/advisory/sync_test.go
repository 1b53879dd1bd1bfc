package advisory

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/store"
)

// fileServer serves documents the way static hosting does: an ETag and a
// Last-Modified on every 200, 304 to a matching If-None-Match.
type fileServer struct {
	mu      sync.Mutex
	files   map[string][]byte
	mod     map[string]time.Time
	fail    int // answer the next requests with 503
	log     []string
	srv     *httptest.Server
	noCache bool
}

func newFileServer(t *testing.T) *fileServer {
	fs := &fileServer{files: map[string][]byte{}, mod: map[string]time.Time{}}
	fs.srv = httptest.NewServer(http.HandlerFunc(fs.serve))
	t.Cleanup(fs.srv.Close)
	return fs
}

func (fs *fileServer) put(path string, data []byte, mod time.Time) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.files[path], fs.mod[path] = data, mod
}

func (fs *fileServer) url(path string) string { return fs.srv.URL + path }

func (fs *fileServer) requests() []string {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return append([]string(nil), fs.log...)
}

func (fs *fileServer) serve(w http.ResponseWriter, r *http.Request) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.fail > 0 {
		fs.fail--
		fs.log = append(fs.log, r.URL.Path+" 503")
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	data, ok := fs.files[r.URL.Path]
	if !ok {
		fs.log = append(fs.log, r.URL.Path+" 404")
		http.NotFound(w, r)
		return
	}
	etag := fmt.Sprintf(`"%x"`, sha256.Sum256(data))
	if r.Header.Get("If-None-Match") == etag {
		fs.log = append(fs.log, r.URL.Path+" 304")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	fs.log = append(fs.log, r.URL.Path+" 200")
	w.Header().Set("ETag", etag)
	w.Header().Set("Last-Modified", fs.mod[r.URL.Path].UTC().Format(http.TimeFormat))
	w.Header().Set("Content-Type", "application/json")
	w.Write(data)
}

var testNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func kubernetesProject() Project {
	return Project{
		Module: "k8s.io/kubernetes",
		Components: []Component{
			{Name: "kube-apiserver", Packages: []string{"k8s.io/apiserver"}, Binaries: []string{"kube-apiserver"}, Images: []string{"registry.k8s.io/kube-apiserver"}},
			{Name: "kubelet", Binaries: []string{"kubelet"}},
			{Name: "kubectl", Binaries: []string{"kubectl"}, Images: []string{"registry.k8s.io/kubectl"}},
		},
		Products: []Product{
			{Kind: Branch, Ref: "master", Version: "v1.35.0-alpha.1"},
			{Kind: Branch, Ref: "release-1.33", Version: "1.33.5"},
			{Kind: Release, Ref: "v1.33.2", Version: "v1.33.2", Purls: []string{"pkg:golang/k8s.io/kubernetes@v1.33.2"}},
			{Kind: Branch, Ref: "release-1.32", Version: "v1.32.9"},
			{Kind: Branch, Ref: "release-1.31", Version: "v1.31.5"},
			{Kind: Release, Ref: "v1.30.0", Version: "v1.30.0"},
		},
	}
}

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), t.TempDir(), func() time.Time { return testNow })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func opts(p Project) Options {
	return Options{Project: p, Now: func() time.Time { return testNow }}
}

// statementsOf returns status (and action or fix) per advisory and ref, as
// recorded in the store and in force.
func statementsOf(t *testing.T, st *store.Store) map[string]Statement {
	t.Helper()
	advs, err := List(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]Statement{}
	for _, a := range advs {
		for _, s := range a.Statements {
			out[a.ID+" "+s.Product.Ref] = s
		}
	}
	return out
}

func TestSyncKubernetesFeedAndOSV(t *testing.T) {
	ctx := context.Background()
	fs := newFileServer(t)
	fs.put("/feed.json", readTestdata(t, "feed.json"), time.Date(2026, 5, 30, 8, 0, 0, 0, time.UTC))
	var osvs []json.RawMessage
	for _, f := range []string{"CVE-2025-2001.json", "GHSA-k8s1-ctl2-0003.json"} {
		osvs = append(osvs, readTestdata(t, "osv/"+f))
	}
	arr, _ := json.Marshal(osvs)
	fs.put("/osv/all.json", arr, time.Date(2026, 5, 30, 8, 0, 0, 0, time.UTC))
	st := openStore(t)
	src := Source{Feed: fs.url("/feed.json"), OSV: fs.url("/osv/all.json")}

	res, err := Sync(ctx, st, src, opts(kubernetesProject()))
	if err != nil {
		t.Fatal(err)
	}
	if res.NotModified || len(res.Recorded) == 0 {
		t.Fatalf("first sync: %+v", res)
	}
	if len(res.Embargoed) != 1 || res.Embargoed[0].ID != "CVE-2029-9999" {
		t.Errorf("embargoed: %+v", res.Embargoed)
	}
	ignored := map[string]string{}
	for _, p := range res.Ignored {
		ignored[p.ID] = p.Reason
	}
	if ignored["CVE-2025-1003"] != "placeholder" || ignored["CVE-2025-1004"] != "placeholder" {
		t.Errorf("ignored: %v", ignored)
	}

	got := statementsOf(t, st)
	want := map[string]string{
		// Feed: kube-apiserver v1.33.0-v1.33.3, v1.32.0-v1.32.7, <= v1.31.11.
		"CVE-2025-1001 master":       "fixed",
		"CVE-2025-1001 release-1.33": "fixed",
		"CVE-2025-1001 v1.33.2":      "affected: Upgrade to v1.33.4 or later. Mitigation: Disable the ExampleAdmission plugin",
		"CVE-2025-1001 release-1.32": "fixed",
		"CVE-2025-1001 release-1.31": "affected: Upgrade to v1.31.12 or later. Mitigation:",
		"CVE-2025-1001 v1.30.0":      "affected: Upgrade to v1.31.12 or later (no fix is published for the v1.30 line). Mitigation:",
		// OSV: kubelet (k8s.io/kubelet) < 1.31.12, 1.32.0-1.32.8, 1.33.0-1.33.3 (last affected).
		"CVE-2025-2001 master":       "fixed",
		"CVE-2025-2001 release-1.33": "fixed",
		"CVE-2025-2001 v1.33.2":      "affected: Upgrade to a version later than v1.33.3.",
		"CVE-2025-2001 release-1.32": "fixed",
		"CVE-2025-2001 release-1.31": "affected: Upgrade to v1.31.12 or later.",
		"CVE-2025-2001 v1.30.0":      "affected: Upgrade to v1.31.12 or later (no fix",
		// OSV ECOSYSTEM range 1.32.0-1.32.4 and versions 1.31.0, 1.31.1:
		// release-1.31 (v1.31.5) and v1.30.0 are in neither, nor past a fix
		// of their line.
		"CVE-2025-2003 master":       "fixed",
		"CVE-2025-2003 release-1.33": "fixed",
		"CVE-2025-2003 v1.33.2":      "fixed",
		"CVE-2025-2003 release-1.32": "fixed",
	}
	// Feed, two CVEs in one item: kubectl v1.32.0-v1.32.2, < v1.31.6.
	for _, id := range []string{"CVE-2025-1005", "CVE-2025-1006"} {
		for ref, w := range map[string]string{
			"master":       "fixed",
			"release-1.33": "fixed",
			"v1.33.2":      "fixed",
			"release-1.32": "fixed",
			"release-1.31": "affected: Upgrade to v1.31.6 or later.",
			"v1.30.0":      "affected: Upgrade to v1.31.6 or later (no fix is published for the v1.30 line).",
		} {
			want[id+" "+ref] = w
		}
	}
	for k, w := range want {
		s, ok := got[k]
		if !ok {
			t.Errorf("%s: no statement", k)
			continue
		}
		status, action, _ := strings.Cut(w, ": ")
		if string(s.Status) != status || !strings.HasPrefix(s.Action, action) {
			t.Errorf("%s: %s %q, want %s %q", k, s.Status, s.Action, status, action)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected statement %s: %+v", k, got[k])
		}
	}
	s := got["CVE-2025-1001 v1.33.2"]
	if strings.Join(s.Components, ",") != "kube-apiserver" || strings.Join(s.Images, ",") != "registry.k8s.io/kube-apiserver" || s.Fix != "v1.33.4" ||
		s.Product.Kind != Release || s.Author != fs.url("/feed.json") {
		t.Errorf("statement detail: %+v", s)
	}

	// The events: advisory source, scoped to the ref, on the project's
	// triage, with the advisory reference as data.
	tr, err := st.FindTriage(ctx, "CVE-2025-1001")
	if err != nil {
		t.Fatal(err)
	}
	if tr.Dependency != "k8s.io/kubernetes" {
		t.Errorf("triage dependency %s", tr.Dependency)
	}
	evs, _ := st.Events(ctx, tr.ID)
	for _, ev := range evs {
		var d EventData
		if ev.Kind != store.KindAssessment || ev.Source != "advisory" || len(ev.Branches) != 1 || json.Unmarshal(ev.Data, &d) != nil ||
			d.Advisory.ID != "CVE-2025-1001" || d.Advisory.URL != "https://github.com/kubernetes/kubernetes/issues/900001" || d.Advisory.Digest == "" {
			t.Errorf("event %+v", ev)
		}
	}
	v, err := st.Vulnerability(ctx, "CVE-2025-2003")
	if err != nil || v.Summary != "kubectl cp path traversal" || v.Aliases[0] != "GHSA-k8s1-ctl2-0003" {
		t.Errorf("vulnerability: %+v %v", v, err)
	}
	if ids, _ := st.ResolveAlias(ctx, "ghsa-k8s1-ctl2-0003"); len(ids) != 1 || ids[0] != "CVE-2025-2003" {
		t.Errorf("alias: %v", ids)
	}
	// Embargoed and placeholder entries leave no trace.
	for _, id := range []string{"CVE-2029-9999", "CVE-2025-1003", "CVE-2025-1004"} {
		if _, err := st.FindTriage(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: %v", id, err)
		}
		if _, err := st.Vulnerability(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s recorded: %v", id, err)
		}
	}

	// Every statement is valid OpenVEX: an affected one has its action.
	for k, s := range got {
		vs := openvex.Statement{
			Vulnerability:   openvex.Vulnerability{Name: openvex.VulnerabilityID(s.Advisory)},
			Products:        []openvex.Product{{Component: openvex.Component{ID: "pkg:golang/k8s.io/kubernetes@" + s.Product.Version}}},
			Status:          s.Status,
			ActionStatement: s.Action,
			StatusNotes:     s.Notes,
		}
		if err := vs.Validate(); err != nil {
			t.Errorf("%s: %v", k, err)
		}
	}

	// Again: the embargoed item keeps the sources from being asked
	// conditionally, but nothing new is recorded.
	n := len(fs.requests())
	res, err = Sync(ctx, st, src, opts(kubernetesProject()))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Recorded) != 0 {
		t.Errorf("second sync recorded %d events", len(res.Recorded))
	}
	if reqs := fs.requests()[n:]; strings.Join(reqs, ",") != "/feed.json 200,/osv/all.json 200" {
		t.Errorf("pending embargo: requests %v", reqs)
	}
}

func TestSyncConditionalAndIdempotent(t *testing.T) {
	ctx := context.Background()
	fs := newFileServer(t)
	fs.put("/osv.json", readTestdata(t, "osv/CVE-2025-2001.json"), time.Date(2025, 7, 2, 0, 0, 0, 0, time.UTC))
	st := openStore(t)
	src := Source{OSV: fs.url("/osv.json")}
	p := kubernetesProject()

	first, err := Sync(ctx, st, src, opts(p))
	if err != nil || len(first.Recorded) != 6 {
		t.Fatalf("first: %v, %d events", err, len(first.Recorded))
	}
	raw, _ := st.Cursor(ctx, CursorKey("osv", src.OSV))
	var c cursorState
	if json.Unmarshal([]byte(raw), &c) != nil || c.ETag == "" || c.LastModified != "Wed, 02 Jul 2025 00:00:00 GMT" || c.Pending {
		t.Errorf("cursor %s", raw)
	}

	res, err := Sync(ctx, st, src, opts(p))
	if err != nil || !res.NotModified || len(res.Recorded) != 0 {
		t.Fatalf("unchanged: %+v, %v", res, err)
	}
	if r := fs.requests(); r[len(r)-1] != "/osv.json 304" {
		t.Errorf("requests %v", r)
	}

	// A new release is judged although the source did not change.
	p.Products = append(p.Products, Product{Kind: Release, Ref: "v1.32.3", Version: "v1.32.3"})
	res, err = Sync(ctx, st, src, opts(p))
	if err != nil || res.NotModified || len(res.Recorded) != 1 || res.Recorded[0].Branches[0] != "v1.32.3" || res.Recorded[0].Status != "affected" {
		t.Fatalf("new release: %+v, %v", res.Recorded, err)
	}
	if r := fs.requests(); strings.Join(r[len(r)-1:], ",") != "/osv.json 200" {
		t.Errorf("a changed project must not be answered from the cursor: %v", r)
	}

	// The advisory is modified: its fix for 1.33 is now known.
	var e map[string]any
	json.Unmarshal(readTestdata(t, "osv/CVE-2025-2001.json"), &e)
	e["modified"] = "2025-08-01T00:00:00Z"
	ranges := e["affected"].([]any)[0].(map[string]any)["ranges"].([]any)[0].(map[string]any)
	events := ranges["events"].([]any)
	events[len(events)-1] = map[string]any{"fixed": "1.33.4"}
	modified, _ := json.Marshal(e)
	fs.put("/osv.json", modified, time.Date(2025, 8, 1, 0, 0, 0, 0, time.UTC))
	res, err = Sync(ctx, st, src, opts(p))
	if err != nil || len(res.Recorded) != 7 {
		t.Fatalf("modified: %d events, %v", len(res.Recorded), err)
	}
	got := statementsOf(t, st)
	if s := got["CVE-2025-2001 v1.33.2"]; s.Action != "Upgrade to v1.33.4 or later." {
		t.Errorf("after modification: %+v", s)
	}
	if res, _ := Sync(ctx, st, src, opts(p)); !res.NotModified {
		t.Error("not idempotent after a modification")
	}
	tr, _ := st.FindTriage(ctx, "CVE-2025-2001")
	evs, _ := st.Events(ctx, tr.ID)
	if len(evs) != 14 {
		t.Errorf("%d events in the history, want 6+1+7", len(evs))
	}
}

func TestSyncWithdrawal(t *testing.T) {
	ctx := context.Background()
	fs := newFileServer(t)
	withdrawn := readTestdata(t, "osv/CVE-2025-2002.json")
	var e map[string]any
	json.Unmarshal(withdrawn, &e)
	delete(e, "withdrawn")
	e["modified"] = "2025-07-15T12:00:00Z"
	live, _ := json.Marshal(e)
	fs.put("/osv.json", live, testNow)
	st := openStore(t)
	src := Source{OSV: fs.url("/osv.json")}

	res, err := Sync(ctx, st, src, opts(kubernetesProject()))
	if err != nil {
		t.Fatal(err)
	}
	if got := statementsOf(t, st); got["CVE-2025-2002 v1.33.2"].Status != openvex.StatusAffected || len(res.Recorded) != 4 {
		t.Fatalf("before withdrawal: %v, %d events", got, len(res.Recorded))
	}

	// A maintainer decides on one product meanwhile: the advisory's
	// withdrawal retracts only what the advisory said.
	tr, _ := st.FindTriage(ctx, "CVE-2025-2002")
	if _, err := st.Append(ctx, store.Event{TriageID: tr.ID, Kind: store.KindAssessment, Source: "maintainer", Author: "alice", Branches: []string{"release-1.32"}, Status: "not_affected", Justification: "vulnerable_code_not_in_execute_path"}); err != nil {
		t.Fatal(err)
	}
	fs.put("/osv.json", withdrawn, testNow)
	res, err = Sync(ctx, st, src, opts(kubernetesProject()))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Recorded) != 4 {
		t.Fatalf("withdrawal recorded %d events", len(res.Recorded))
	}
	for _, ev := range res.Recorded {
		if ev.Kind != store.KindWithdrawal || ev.Source != "advisory" || ev.Retracts == 0 || !strings.Contains(ev.Notes, "withdrawn on 2025-08-01") {
			t.Errorf("event %+v", ev)
		}
	}
	for k, s := range statementsOf(t, st) {
		if !s.Withdrawn {
			t.Errorf("%s still in force", k)
		}
	}
	evs, _ := st.Events(ctx, tr.ID)
	if maint := evs[4]; maint.Source != "maintainer" || maint.Status != "not_affected" {
		t.Errorf("the maintainer's decision: %+v", maint)
	}
	if len(res.Advisories) != 0 || len(res.Ignored) != 1 || !strings.HasPrefix(res.Ignored[0].Reason, "withdrawn") {
		t.Errorf("result: %+v", res)
	}
	// Withdrawn twice is still withdrawn once.
	fs.put("/osv.json", append(withdrawn, '\n'), testNow)
	if res, err := Sync(ctx, st, src, opts(kubernetesProject())); err != nil || len(res.Recorded) != 0 {
		t.Errorf("again: %v, %+v", err, res)
	}

	// A withdrawn advisory never seen before records nothing at all.
	st2 := openStore(t)
	if res, err := Sync(ctx, st2, src, opts(kubernetesProject())); err != nil || len(res.Recorded) != 0 {
		t.Errorf("fresh store: %v %+v", err, res)
	}
	if _, err := st2.FindTriage(ctx, "CVE-2025-2002"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("triage created for a withdrawn advisory: %v", err)
	}
}

func TestSyncEmbargoLifts(t *testing.T) {
	ctx := context.Background()
	fs := newFileServer(t)
	fs.put("/feed.json", readTestdata(t, "feed.json"), testNow)
	st := openStore(t)
	src := Source{Feed: fs.url("/feed.json")}
	p := kubernetesProject()
	p.Products = append(p.Products, Product{Kind: Release, Ref: "v1.34.1", Version: "v1.34.1"})

	if _, err := Sync(ctx, st, src, opts(p)); err != nil {
		t.Fatal(err)
	}
	if _, ok := statementsOf(t, st)["CVE-2029-9999 v1.34.1"]; ok {
		t.Fatal("an embargoed advisory was emitted")
	}
	// The feed does not change; the clock passes the publication time.
	later := opts(p)
	later.Now = func() time.Time { return time.Date(2030, 1, 1, 0, 0, 1, 0, time.UTC) }
	res, err := Sync(ctx, st, src, later)
	if err != nil || res.NotModified {
		t.Fatalf("%+v %v", res, err)
	}
	if s := statementsOf(t, st)["CVE-2029-9999 v1.34.1"]; s.Status != openvex.StatusAffected || s.Action != "Upgrade to v1.34.2 or later." {
		t.Errorf("after publication: %+v", s)
	}
	// Nothing pending any more: now the feed is asked conditionally.
	if res, err := Sync(ctx, st, src, later); err != nil || !res.NotModified {
		t.Errorf("%+v %v", res, err)
	}
}

func TestSyncNetworkFailureLeavesStore(t *testing.T) {
	ctx := context.Background()
	fs := newFileServer(t)
	fs.put("/feed.json", readTestdata(t, "feed.json"), testNow)
	fs.put("/osv.json", readTestdata(t, "osv/CVE-2025-2001.json"), testNow)
	st := openStore(t)
	src := Source{Feed: fs.url("/feed.json"), OSV: fs.url("/osv.json")}

	dump := func() string {
		all, _ := st.AllEvents(ctx)
		c1, _ := st.Cursor(ctx, CursorKey("feed", src.Feed))
		c2, _ := st.Cursor(ctx, CursorKey("osv", src.OSV))
		b, _ := json.Marshal([]any{all, c1, c2})
		return string(b)
	}
	empty := dump()
	// The second source fails after the first was read.
	fs.mu.Lock()
	fs.files["/osv.json"], fs.fail = nil, 0
	delete(fs.files, "/osv.json")
	fs.mu.Unlock()
	if _, err := Sync(ctx, st, src, opts(kubernetesProject())); !errors.Is(err, ErrFetch) || !strings.Contains(err.Error(), "404") {
		t.Fatalf("missing source: %v", err)
	}
	if dump() != empty {
		t.Fatal("a failed sync changed the store")
	}

	fs.put("/osv.json", readTestdata(t, "osv/CVE-2025-2001.json"), testNow)
	if _, err := Sync(ctx, st, src, opts(kubernetesProject())); err != nil {
		t.Fatal(err)
	}
	before := dump()
	fs.put("/feed.json", append(readTestdata(t, "feed.json"), ' '), testNow)
	fs.mu.Lock()
	fs.fail = 1
	fs.mu.Unlock()
	if _, err := Sync(ctx, st, src, opts(kubernetesProject())); !errors.Is(err, ErrFetch) || !strings.Contains(err.Error(), "503") {
		t.Fatalf("503: %v", err)
	}
	// A server that is gone.
	fs.srv.Close()
	if _, err := Sync(ctx, st, src, opts(kubernetesProject())); !errors.Is(err, ErrFetch) {
		t.Fatalf("closed server: %v", err)
	}
	if dump() != before {
		t.Fatal("a failed sync changed the store")
	}

	// A malformed document is refused before anything is written.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "feed.json"), []byte(`{"version":"https://jsonfeed.org/version/1.1","items":[`), 0o644)
	if _, err := Sync(ctx, st, Source{Feed: filepath.Join(dir, "feed.json")}, opts(kubernetesProject())); !errors.Is(err, ErrInvalid) {
		t.Errorf("malformed: %v", err)
	}
	if dump() != before {
		t.Fatal("a malformed source changed the store")
	}
}

func TestSyncDirectoryAndFile(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	src := Source{Feed: "testdata/feed.json", OSV: "testdata/osv"}
	res, err := Sync(ctx, st, src, opts(kubernetesProject()))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range res.Advisories {
		ids = append(ids, a.ID)
	}
	if strings.Join(ids, " ") != "CVE-2025-1001 CVE-2025-1005 CVE-2025-1006 CVE-2025-2001 CVE-2025-2003" {
		t.Errorf("advisories %v", ids)
	}
	if res, err := Sync(ctx, st, src, opts(kubernetesProject())); err != nil || len(res.Recorded) != 0 {
		t.Errorf("again: %v %d", err, len(res.Recorded))
	}
	if _, err := Sync(ctx, st, Source{Feed: "testdata/osv"}, opts(kubernetesProject())); !errors.Is(err, ErrInvalid) {
		t.Errorf("a directory as feed: %v", err)
	}
	if _, err := Sync(ctx, st, Source{OSV: "testdata/nonexistent"}, opts(kubernetesProject())); !errors.Is(err, ErrFetch) {
		t.Errorf("missing directory: %v", err)
	}
}

func TestSyncRejectsBadConfiguration(t *testing.T) {
	st := openStore(t)
	good := kubernetesProject()
	for name, mutate := range map[string]func(*Project){
		"no module":      func(p *Project) { p.Module = "" },
		"bad version":    func(p *Project) { p.Products[0].Version = "main" },
		"bad kind":       func(p *Project) { p.Products[0].Kind = "tag" },
		"duplicate ref":  func(p *Project) { p.Products[1].Ref = p.Products[0].Ref },
		"nameless comp":  func(p *Project) { p.Components[0].Name = "" },
		"duplicate comp": func(p *Project) { p.Components[1].Name = p.Components[0].Name },
	} {
		p := good
		p.Products = append([]Product(nil), good.Products...)
		p.Components = append([]Component(nil), good.Components...)
		mutate(&p)
		if _, err := Sync(context.Background(), st, Source{OSV: "testdata/osv"}, opts(p)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := Sync(context.Background(), st, Source{}, opts(good)); !errors.Is(err, ErrInvalid) {
		t.Errorf("no source: %v", err)
	}
}

func TestSyncSecretsStayOutOfTheStore(t *testing.T) {
	ctx := context.Background()
	fs := newFileServer(t)
	fs.put("/osv.json", readTestdata(t, "osv/CVE-2025-2001.json"), testNow)
	st := openStore(t)
	u := strings.Replace(fs.url("/osv.json"), "http://", "http://user:hunter2@", 1) + "?token=hunter2"
	if _, err := Sync(ctx, st, Source{OSV: u}, opts(kubernetesProject())); err != nil {
		t.Fatal(err)
	}
	all, _ := st.AllEvents(ctx)
	b, _ := json.Marshal(all)
	c, _ := st.Cursor(ctx, CursorKey("osv", u))
	if bytes.Contains(b, []byte("hunter2")) || strings.Contains(c, "hunter2") || c == "" {
		t.Errorf("a secret reached the store: %s / %s", b, c)
	}
	fs.srv.Close()
	if _, err := Sync(ctx, st, Source{OSV: u + "&x=1"}, opts(kubernetesProject())); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error reveals the secret: %v", err)
	}
}

func TestSyncAdvisoryNarrowed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	file := filepath.Join(dir, "CVE-2025-2001.json")
	os.WriteFile(file, readTestdata(t, "osv/CVE-2025-2001.json"), 0o644)
	st := openStore(t)
	if _, err := Sync(ctx, st, Source{OSV: dir}, opts(kubernetesProject())); err != nil {
		t.Fatal(err)
	}
	if s := statementsOf(t, st)["CVE-2025-2001 v1.30.0"]; s.Status != openvex.StatusAffected {
		t.Fatalf("v1.30.0: %+v", s)
	}
	// The advisory is corrected: only 1.31 from 1.31.0 on was affected.
	var e map[string]any
	json.Unmarshal(readTestdata(t, "osv/CVE-2025-2001.json"), &e)
	e["modified"] = "2025-09-01T00:00:00Z"
	rng := e["affected"].([]any)[0].(map[string]any)["ranges"].([]any)[0].(map[string]any)
	rng["events"].([]any)[0] = map[string]any{"introduced": "1.31.0"}
	b, _ := json.Marshal(e)
	os.WriteFile(file, b, 0o644)
	res, err := Sync(ctx, st, Source{OSV: dir}, opts(kubernetesProject()))
	if err != nil {
		t.Fatal(err)
	}
	var withdrawals []store.Event
	for _, ev := range res.Recorded {
		if ev.Kind == store.KindWithdrawal {
			withdrawals = append(withdrawals, ev)
		}
	}
	if len(withdrawals) != 1 || withdrawals[0].Branches[0] != "v1.30.0" || !strings.Contains(withdrawals[0].Notes, "no longer concerns v1.30.0") {
		t.Fatalf("withdrawals: %+v", withdrawals)
	}
	if s := statementsOf(t, st)["CVE-2025-2001 v1.30.0"]; !s.Withdrawn {
		t.Errorf("v1.30.0 still in force: %+v", s)
	}
	if res, err := Sync(ctx, st, Source{OSV: dir}, opts(kubernetesProject())); err != nil || !res.NotModified {
		t.Errorf("again: %+v %v", res, err)
	}
}
