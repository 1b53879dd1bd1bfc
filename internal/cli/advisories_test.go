package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/vexloom/vexloom/examples/demo"
	"github.com/vexloom/vexloom/internal/advisory"
	"github.com/vexloom/vexloom/internal/gate"
)

// advisoryServer serves the advisory package's demo fixtures over
// loopback HTTP with strong ETags, answering If-None-Match with 304, and
// counts full answers.
type advisoryServer struct {
	*httptest.Server
	mu   sync.Mutex
	full int
	cond int
}

func newAdvisoryServer(t *testing.T) *advisoryServer {
	t.Helper()
	dir := filepath.Join("..", "advisory", "testdata", "demo")
	s := &advisoryServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, err := os.ReadFile(filepath.Join(dir, filepath.Base(r.URL.Path)))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		sum := sha256.Sum256(data)
		etag := `"` + hex.EncodeToString(sum[:8]) + `"`
		w.Header().Set("ETag", etag)
		s.mu.Lock()
		defer s.mu.Unlock()
		if r.Header.Get("If-None-Match") == etag {
			s.cond++
			w.WriteHeader(http.StatusNotModified)
			return
		}
		s.full++
		w.Header().Set("Content-Type", "application/json")
		w.Write(data)
	}))
	t.Cleanup(s.Close)
	return s
}

// An advisory against the demo project flips the gate: v1.0.0 is affected
// and fails citing the CVE, v1.0.1 (tagged on release-1.0) is fixed and
// passes.
func TestAdvisoriesGate(t *testing.T) {
	t.Parallel()
	p := newTestProject(t)
	p.update()
	// Release 1.0.1 on release-1.0.
	release101(t, p)
	p.update()

	srv := newAdvisoryServer(t)
	if out := p.ok("advisories", "list", "--config", p.cfg); !strings.Contains(out, "no advisories") {
		t.Errorf("list before sync: %s", out)
	}
	out := p.ok("advisories", "sync", "--config", p.cfg, "--osv", srv.URL+"/CVE-2026-0001.json", "--format", "json", "-q")
	var res struct {
		NotModified bool                 `json:"not_modified"`
		Advisories  []advisory.Advisory  `json:"advisories"`
		Recorded    int                  `json:"recorded"`
		Products    []advisory.Product   `json:"products"`
		Embargoed   []advisory.Embargoed `json:"embargoed"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(res.Advisories) != 1 || res.Advisories[0].ID != "CVE-2026-0001" || res.Recorded == 0 {
		t.Fatalf("sync: %s", out)
	}
	refs := map[string]advisory.Product{}
	for _, pr := range res.Products {
		refs[pr.Ref] = pr
	}
	if refs["v1.0.0"].Kind != advisory.Release || refs["v1.0.1"].Kind != advisory.Release || refs["release-1.0"].Version != "v1.0.1" ||
		refs["main"].Kind != advisory.Branch || refs["v1.0.1"].Purls[0] != "pkg:golang/"+demo.Module+"@v1.0.1" {
		t.Errorf("products: %+v", res.Products)
	}
	status := map[string]string{}
	for _, s := range res.Advisories[0].Statements {
		status[s.Product.Ref] = string(s.Status)
	}
	// main is one commit past v1.0.0 without the fix: its pseudo-version
	// v1.0.1-0.… sorts before v1.0.1, so it is affected.
	if status["v1.0.0"] != "affected" || status["v1.0.1"] != "fixed" || status["release-1.0"] != "fixed" || status["main"] != "affected" {
		t.Errorf("statements: %v", status)
	}
	// Unchanged source: read conditionally, nothing recorded.
	if out := p.ok("advisories", "sync", "--config", p.cfg, "--osv", srv.URL+"/CVE-2026-0001.json", "-q"); !strings.Contains(out, "unchanged") {
		t.Errorf("second sync: %s", out)
	}
	if srv.cond == 0 || srv.full != 1 {
		t.Errorf("the second sync was not conditional: %d full, %d conditional answers", srv.full, srv.cond)
	}
	out = p.ok("advisories", "list", "--config", p.cfg)
	if !strings.Contains(out, "v1.0.0 (release)") || !strings.Contains(out, "Upgrade to v1.0.1 or later.") {
		t.Errorf("list:\n%s", out)
	}
	var listed struct {
		Schema     string              `json:"schema"`
		Advisories []advisory.Advisory `json:"advisories"`
	}
	if err := json.Unmarshal([]byte(p.ok("advisories", "list", "--config", p.cfg, "--format", "json")), &listed); err != nil || listed.Schema != advisory.Schema || len(listed.Advisories) != 1 {
		t.Errorf("list json: %v %+v", err, listed)
	}

	// The gate: v1.0.0 fails on the project's own advisory.
	r, _, code := p.gateResult("--release", "v1.0.0", "--allow-unsigned")
	v := verdictOf(r, "CVE-2026-0001")
	if code != 3 || v == nil || v.Verdict != gate.VerdictFail || v.Finding.Module != demo.Module || v.Finding.Version != "v1.0.0" || v.Finding.FixedVersion != "v1.0.1" {
		t.Fatalf("v1.0.0: exit %d, %+v", code, v)
	}
	if out, _, code := p.cmd("gate", "--release", "v1.0.0", "--allow-unsigned", "-q"); code != 3 || !strings.Contains(out, "CVE-2026-0001") || !strings.Contains(out, "Upgrade "+demo.Module+" to v1.0.1") {
		t.Errorf("v1.0.0 table: exit %d\n%s", code, out)
	}
	// v1.0.1 is fixed: nothing from the advisory, and the release passes.
	r, stderr, code := p.gateResult("--release", "v1.0.1", "--allow-unsigned")
	if v := verdictOf(r, "CVE-2026-0001"); code != 0 || v != nil || r.Verdict != gate.VerdictPass {
		t.Errorf("v1.0.1: exit %d, %+v\n%s", code, v, stderr)
	}

	// Bad inputs.
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"advisories", "sync"}, 2, "no advisory source"},
		{[]string{"advisories", "sync", "--osv", srv.URL + "/missing.json"}, 1, "404"},
		{[]string{"advisories", "sync", "--feed", filepath.Join(p.dir, "missing.json")}, 1, "missing.json"},
		{[]string{"advisories", "sync", "--osv", srv.URL + "/x.json", "--format", "yaml"}, 2, "--format"},
		{[]string{"advisories", "list", "--format", "yaml"}, 2, "--format"},
	} {
		_, stderr, code := p.cmd(tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, want %d with %q: %s", tc.args, code, tc.code, tc.want, stderr)
		}
	}
}

// The sources and components come from the project file.
func TestAdvisoriesConfig(t *testing.T) {
	t.Parallel()
	p := newTestProject(t)
	p.update()
	feed, err := filepath.Abs(filepath.Join("..", "advisory", "testdata", "demo", "feed.json"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(p.cfg)
	if err != nil {
		t.Fatal(err)
	}
	extra := "\nadvisories:\n  feed: " + feed + "\n  components:\n    - name: demo\n      binaries: [demo]\n"
	if err := os.WriteFile(p.cfg, append(data, extra...), 0o644); err != nil {
		t.Fatal(err)
	}
	out := p.ok("advisories", "sync", "--config", p.cfg, "-q")
	if !strings.Contains(out, "advisory CVE-2026-0001:") || !strings.Contains(out, "v1.0.0 affected") || !strings.Contains(out, "recorded") {
		t.Errorf("sync from the project file:\n%s", out)
	}
	// The feed's mitigation reaches the release's action statement.
	if out := p.ok("advisories", "list", "--config", p.cfg); !strings.Contains(out, "Mitigation: Limit the size") {
		t.Errorf("list:\n%s", out)
	}
	// An unknown key in the section is an error with its line.
	bad := append(data, "\nadvisories:\n  feeds: x\n"...)
	if err := os.WriteFile(p.cfg, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := p.cmd("advisories", "list"); code != 1 || !strings.Contains(stderr, "vexloom.yaml:") || !strings.Contains(stderr, `"feeds"`) {
		t.Errorf("unknown key: exit %d: %s", code, stderr)
	}
}
