package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif"

	"github.com/vexloom/vexloom/examples/demo"
	"github.com/vexloom/vexloom/internal/fixture"
	"github.com/vexloom/vexloom/internal/report"
	"github.com/vexloom/vexloom/internal/vex"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// env is what a test run of the CLI sees.
type env struct {
	t     *testing.T
	cache string
	vars  []string
}

// newEnv returns an environment whose cache holds the fixture database
// and shares its scan results with the package's other tests (see
// shared_test.go).
func newEnv(t *testing.T) *env {
	t.Helper()
	e := newColdEnv(t)
	if err := os.Symlink(sharedScans(t), filepath.Join(e.cache, "scans")); err != nil {
		t.Fatal(err)
	}
	return e
}

// newColdEnv returns an environment with a scan cache of its own, for tests
// that need to see a scan run.
func newColdEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, cache: t.TempDir()}
	fixture.Database(t, e.cache)
	e.vars = append(os.Environ(), "SOURCE_DATE_EPOCH=1795000000")
	return e
}

func (e *env) run(args ...string) (stdout, stderr string, code int) {
	e.t.Helper()
	var out, errb bytes.Buffer
	g := &globals{now: func() time.Time { return fixture.Now }, env: e.vars}
	code = run(context.Background(), g, append([]string{"--cache-dir", e.cache}, args...), strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), code
}

// golden compares got with testdata/<name>, after masking what depends on
// the machine.
func golden(t *testing.T, name, got string, masks map[string]string) {
	t.Helper()
	for from, to := range masks {
		if from != "" {
			got = strings.ReplaceAll(got, from, to)
		}
	}
	got = regexp.MustCompile(`"go": "go1[^"]*"`).ReplaceAllString(got, `"go": "$$GO"`)
	got = regexp.MustCompile(`devel[-+0-9a-f.]*`).ReplaceAllString(got, "devel")
	// Document IDs hash the content, which names the temporary repository.
	got = regexp.MustCompile(`/public/vex-[0-9a-f]{64}`).ReplaceAllString(got, "/public/vex-$$CONTENT_HASH")
	path := filepath.Join("testdata", name)
	if *update {
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file (run go test -update to accept):\n%s", name, diffLines(string(want), got))
	}
}

func diffLines(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			out = append(out, "- "+x, "+ "+y)
			if len(out) > 20 {
				break
			}
		}
	}
	return strings.Join(out, "\n")
}

func TestScanTwoBranchesEndToEnd(t *testing.T) {
	t.Parallel()
	// The branches' results are those the warming update computed (scan
	// and update of a branch share one cache key): what is checked here is
	// the scan's outputs, not the engine, which the warming update ran
	// from a cold cache. TestADamagedScanCacheEntryIsReportedAndRescanned
	// checks the progress of a scan that runs the engine.
	warmScans(t)
	e := newEnv(t)
	repo := fixture.DemoRepo(t)
	args := []string{"scan", "--branch", demo.MainBranch, "--branch", demo.ReleaseBranch, repo.Dir}

	out, stderr, code := e.run(append(args, "--format", "json")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "scanning main@") || !strings.Contains(stderr, "scanning release-1.0@") {
		t.Errorf("progress does not say what is scanned:\n%s", stderr)
	}
	var rep report.Scan
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Schema != report.Schema || len(rep.Targets) != 2 {
		t.Fatalf("schema %q, %d targets", rep.Schema, len(rep.Targets))
	}
	levels := func(target int) map[string]string {
		got := map[string]string{}
		m := rep.Targets[target].Modules[0]
		for _, f := range m.Findings {
			got[f.ID+" "+f.Module] = f.Level.String() + " " + string(f.Assessment.Status) + " " + string(f.Assessment.Justification)
		}
		return got
	}
	mainWant := map[string]string{
		"GO-2024-3333 golang.org/x/net":            "symbol under_investigation ",
		"GO-2020-0017 github.com/dgrijalva/jwt-go": "package not_affected vulnerable_code_not_in_execute_path",
		"GO-2025-3487 golang.org/x/crypto":         "module not_affected vulnerable_code_not_present",
		"GO-2025-3503 golang.org/x/net":            "module not_affected vulnerable_code_not_present",
		"GO-2026-6604 stdlib":                      "package not_affected vulnerable_code_not_in_execute_path",
	}
	releaseWant := map[string]string{
		"GO-2024-3333 golang.org/x/net":            "package not_affected vulnerable_code_not_in_execute_path",
		"GO-2020-0017 github.com/dgrijalva/jwt-go": "package not_affected vulnerable_code_not_in_execute_path",
		"GO-2024-3321 golang.org/x/crypto":         "module not_affected vulnerable_code_not_present",
		"GO-2025-3487 golang.org/x/crypto":         "module not_affected vulnerable_code_not_present",
		"GO-2025-3503 golang.org/x/net":            "module not_affected vulnerable_code_not_present",
		"GO-2026-6604 stdlib":                      "package not_affected vulnerable_code_not_in_execute_path",
	}
	for i, want := range []map[string]string{mainWant, releaseWant} {
		got := levels(i)
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: %s = %q, want %q", rep.Targets[i].Branch, k, got[k], v)
			}
		}
		if len(got) != len(want) {
			t.Errorf("%s: %d findings, want %d: %v", rep.Targets[i].Branch, len(got), len(want), got)
		}
	}
	mainTarget := rep.Targets[0]
	if mainTarget.Branch != "main" || mainTarget.Commit != repo.Commits[demo.MainBranch] {
		t.Errorf("target 0 = %s@%s", mainTarget.Branch, mainTarget.Commit)
	}
	if v := mainTarget.Modules[0].Version; v != "v1.0.1-0.20260116090000-"+repo.Commits[demo.MainBranch][:12] {
		t.Errorf("main's module version %s", v)
	}
	if v := rep.Targets[1].Modules[0].Version; v != demo.ReleaseTag {
		t.Errorf("release-1.0's module version %s, want the tag", v)
	}
	var called *report.Finding
	for i, f := range mainTarget.Modules[0].Findings {
		if f.ID == "GO-2024-3333" {
			called = &mainTarget.Modules[0].Findings[i]
		}
	}
	if called == nil || len(called.Traces) == 0 {
		t.Fatal("no trace for the called vulnerability")
	}
	entry := called.Traces[0][len(called.Traces[0])-1]
	if entry.Function != "main" || entry.Position == nil || entry.Position.Filename != "main.go" {
		t.Errorf("trace entry = %+v", entry)
	}
	// The golden outputs of every format are in testdata/script/scan.txt.

	// Every other format from the same (now cached) scan.
	var firstVEX string
	for _, f := range []struct{ format string }{
		{"table"},
		{"openvex"},
		{"sarif"},
	} {
		out, stderr, code := e.run(append(args, "--format", f.format)...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", f.format, code, stderr)
		}
		if strings.Count(stderr, ": cached,") != 2 {
			t.Errorf("%s: the second scan of unchanged branches was not served from the cache:\n%s", f.format, stderr)
		}
		switch f.format {
		case "openvex":
			checkOpenVEX(t, out, repo)
			firstVEX = out
		case "sarif":
			rep, err := sarif.FromBytes([]byte(out))
			if err != nil {
				t.Fatal(err)
			}
			if err := rep.Validate(); err != nil {
				t.Errorf("SARIF does not validate against the 2.1.0 schema: %v", err)
			}
		}
	}

	// Same inputs, same bytes.
	again, _, _ := e.run(append(args, "--format", "openvex")...)
	if again != firstVEX {
		t.Error("two OpenVEX outputs of the same scan differ")
	}
}

func checkOpenVEX(t *testing.T, out string, repo *demo.Repo) {
	t.Helper()
	doc, err := vex.Parse([]byte(out))
	if err != nil {
		t.Fatalf("go-vex does not accept the document: %v", err)
	}
	if strings.Contains(out, `\u003c`) || strings.Contains(out, `\u0026`) {
		t.Error("HTML-escaped output")
	}
	mainPURL := "pkg:golang/example.com/vexloom-demo@v1.0.1-0.20260116090000-" + repo.Commits[demo.MainBranch][:12]
	found := false
	for _, st := range doc.Statements {
		if err := st.Validate(); err != nil {
			t.Errorf("%s: %v", st.Vulnerability.Name, err)
		}
		if st.Vulnerability.Name == "CVE-2024-45338" && st.Products[0].ID == mainPURL {
			found = true
			if st.Status != "under_investigation" {
				t.Errorf("called vulnerability is %s", st.Status)
			}
			if st.Products[0].Subcomponents[0].ID != "pkg:golang/golang.org/x/net@v0.32.0" {
				t.Errorf("subcomponent %s", st.Products[0].Subcomponents[0].ID)
			}
			if !strings.Contains(st.StatusNotes, "branch main at commit "+repo.Commits[demo.MainBranch]) {
				t.Errorf("status notes do not name the branch and commit: %s", st.StatusNotes)
			}
		}
		if st.Vulnerability.Name == "CVE-2025-22870" {
			// Found in x/net only (stdlib go1.26.8 is fixed): one subcomponent.
			if n := len(st.Products[0].Subcomponents); n != 1 {
				t.Errorf("CVE-2025-22870 has %d subcomponents", n)
			}
			if st.Justification != "vulnerable_code_not_present" || !strings.Contains(st.ImpactStatement, "golang.org/x/vulndb") && !strings.Contains(st.ImpactStatement, "vulnerability database") {
				t.Errorf("CVE-2025-22870: %s / %s", st.Justification, st.ImpactStatement)
			}
		}
	}
	if !found {
		t.Error("no statement for CVE-2024-45338 on main")
	}
	// go-vex finds the statement by any alias of the vulnerability.
	if got := doc.Matches("GO-2024-3333", mainPURL, []string{"pkg:golang/golang.org/x/net@v0.32.0"}); len(got) == 0 {
		t.Error("go-vex does not match the statement by its GO- alias")
	}
}

func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func demoTree(t *testing.T, branch string) string {
	t.Helper()
	files, err := demo.Files(branch)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	m := map[string]string{}
	for k, v := range files {
		m[k] = string(v)
	}
	writeTree(t, dir, m)
	return dir
}

func TestScanWorkingTreeAndFailOn(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("scans three working trees")
	}
	e := newEnv(t)
	// The demo's main branch with a main.go that calls html.Parse and
	// imports nothing else of its dependencies: a called vulnerability, at
	// less than half the cost of scanning the demo's own main.go.
	dir := demoTree(t, demo.MainBranch)
	writeTree(t, dir, map[string]string{"main.go": mainCallsParse})
	out, stderr, code := e.run("scan", "--fail-on", "symbol", dir)
	if code != ExitPolicy {
		t.Fatalf("--fail-on symbol with a called vulnerability: exit %d, want 3\n%s", code, stderr)
	}
	if !strings.Contains(out, "GO-2024-3333") || !strings.Contains(out, "reachable through:") {
		t.Errorf("table lacks the called vulnerability:\n%s", out)
	}
	if !strings.Contains(stderr, "--fail-on symbol") {
		t.Errorf("stderr does not say why: %s", stderr)
	}
	// A tree whose strongest finding is imported (package level): the tiny
	// module importing os, which GO-2026-6604 affects (as on release-1.0,
	// at a small part of the cost of scanning it).
	imports := tinyTree(t, map[string]string{"main.go": "package main\n\nimport \"os\"\n\nfunc main() { os.Exit(0) }\n"})
	_, _, code = e.run("scan", "--fail-on", "package", imports)
	if code != ExitPolicy {
		t.Errorf("--fail-on package with an imported vulnerable package: exit %d", code)
	}
	_, stderr, code = e.run("scan", "--quiet", "--fail-on", "symbol", imports)
	if code != 0 || stderr != "" {
		t.Errorf("--fail-on symbol without called code: exit %d, stderr %q", code, stderr)
	}
	_, stderr, _ = e.run("scan", dir)
	if !strings.Contains(stderr, "cached") {
		t.Errorf("unchanged tree not cached:\n%s", stderr)
	}
	// Editing the tree invalidates the cached result: shown on the tiny
	// module, whose new scan costs little. (The new file's content is new
	// to the shared scan cache even when the test runs again in the same
	// process, with -count.)
	tiny := tinyTree(t, nil)
	e.run("scan", tiny)
	_, stderr, _ = e.run("scan", tiny)
	if !strings.Contains(stderr, "cached") {
		t.Errorf("unchanged tree not cached:\n%s", stderr)
	}
	writeTree(t, tiny, map[string]string{"extra.go": fmt.Sprintf("package main\n\n// %d\n", time.Now().UnixNano())})
	_, stderr, _ = e.run("scan", tiny)
	if strings.Contains(stderr, "cached") || !strings.Contains(stderr, "1 required") {
		t.Errorf("changed tree served from the cache, or not scanned:\n%s", stderr)
	}
}

func TestScanBadInputs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	repo := fixture.DemoRepo(t)
	oneLine := func(t *testing.T, stderr string, want ...string) {
		t.Helper()
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		last := lines[len(lines)-1]
		for _, w := range want {
			if !strings.Contains(last, w) {
				t.Errorf("error line %q does not say %q (stderr: %s)", last, w, stderr)
			}
		}
		if strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine ") {
			t.Errorf("panic: %s", stderr)
		}
	}
	t.Run("not a module", func(t *testing.T) {
		dir := t.TempDir()
		_, stderr, code := e.run("scan", "-q", dir)
		if code != 1 {
			t.Errorf("exit %d", code)
		}
		oneLine(t, stderr, "no Go module", dir)
	})
	t.Run("missing branch", func(t *testing.T) {
		_, stderr, code := e.run("scan", "-q", "--branch", "release-9.9", repo.Dir)
		if code != 1 {
			t.Errorf("exit %d", code)
		}
		oneLine(t, stderr, "branch not found", "release-9.9", "main, release-1.0")
	})
	t.Run("unreachable remote", func(t *testing.T) {
		_, stderr, code := e.run("scan", "-q", "file://"+filepath.Join(t.TempDir(), "gone.git"))
		if code != 1 {
			t.Errorf("exit %d", code)
		}
		oneLine(t, stderr, "repository unreachable", "gone.git")
	})
	t.Run("commit not on branch", func(t *testing.T) {
		_, stderr, code := e.run("scan", "-q", "--branch", demo.ReleaseBranch, "--commit", repo.Commits[demo.MainBranch], repo.Dir)
		if code != 1 {
			t.Errorf("exit %d", code)
		}
		oneLine(t, stderr, "not on branch release-1.0")
	})
	t.Run("bad go.mod and a module that does not load, beside a good one", func(t *testing.T) {
		// The good module is the tiny one (a finding, at little cost).
		dir := tinyTree(t, nil)
		writeTree(t, dir, map[string]string{
			"broken/go.mod":    "module example.com/broken\n\nrequire (\n\tbad\n",
			"nocompile/go.mod": "module example.com/nocompile\n\ngo 1.24.0\n",
			"nocompile/x.go":   "package main\n\nfunc main() { undefinedThing() }\n",
		})
		out := filepath.Join(t.TempDir(), "out.json")
		_, stderr, code := e.run("scan", "-q", "--format", "json", "-o", out, dir)
		if code != 1 {
			t.Errorf("exit %d", code)
		}
		if !strings.Contains(stderr, "broken/go.mod:5") {
			t.Errorf("go.mod error does not name the file and line: %s", stderr)
		}
		if !strings.Contains(stderr, "example.com/nocompile") {
			t.Errorf("load error does not name the module: %s", stderr)
		}
		// The good module's results are kept.
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		var rep report.Scan
		if err := json.Unmarshal(data, &rep); err != nil {
			t.Fatal(err)
		}
		good := 0
		for _, m := range rep.Targets[0].Modules {
			if m.Path == "example.com/tiny" && m.Error == "" && len(m.Findings) > 0 {
				good++
			}
		}
		if good != 1 {
			t.Errorf("the good module's findings were lost: %+v", rep.Targets[0].Modules)
		}
		// Failed modules leave nothing in the cache: a second run scans them again.
		_, stderr, _ = e.run("scan", "--format", "json", "-o", out, dir)
		if !strings.Contains(stderr, "example.com/tiny: cached") || strings.Contains(stderr, "example.com/nocompile: cached") {
			t.Errorf("cache: %s", stderr)
		}
	})
	t.Run("corrupt database", func(t *testing.T) {
		e2 := newEnv(t)
		matches, _ := filepath.Glob(filepath.Join(e2.cache, "vulndb", "gen-*", "index", "modules.json"))
		if len(matches) != 1 {
			t.Fatalf("database layout: %v", matches)
		}
		if err := os.WriteFile(matches[0], []byte(`[{"path":`), 0o644); err != nil {
			t.Fatal(err)
		}
		_, stderr, code := e2.run("scan", "-q", demoTree(t, demo.MainBranch))
		if code != 1 {
			t.Errorf("exit %d", code)
		}
		oneLine(t, stderr, "modules.json")
		_, stderr, code = e2.run("db", "info")
		if code != 1 || !strings.Contains(stderr, "modules.json") {
			t.Errorf("db info on a corrupt database: exit %d: %s", code, stderr)
		}
	})
	t.Run("usage", func(t *testing.T) {
		for _, args := range [][]string{
			{"scan", "--format", "xml", "."},
			{"scan", "--fail-on", "everything", "."},
			{"scan", "a", "b"},
			{"scan", "--no-such-flag"},
			{"no-such-command"},
			{"scan", "--commit", "x", "--branch", "a", "--branch", "b", "."},
			{"scan", "--go-version", "latest", "."},
		} {
			_, stderr, code := e.run(args...)
			if code != ExitUsage {
				t.Errorf("%v: exit %d, want 2 (%s)", args, code, stderr)
			}
		}
		_, stderr, code := e.run("scan", filepath.Join(repo.Dir, "main.go"))
		if code != ExitUsage || !strings.Contains(stderr, "is a file") {
			t.Errorf("a file as PATH: exit %d: %s", code, stderr)
		}
	})
}

func TestDBCommands(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	out, stderr, code := e.run("db", "info", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var info map[string]any
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatal(err)
	}
	if info["kind"] != "dir" || info["entries"] != float64(6) {
		t.Errorf("db info = %v", info)
	}
	out, _, code = e.run("db", "update", "--source", "dir:"+fixture.OSVDir())
	if code != 0 || !strings.Contains(out, "up to date") {
		t.Errorf("unchanged source: exit %d: %s", code, out)
	}
	out, _, code = e.run("db", "verify")
	if code != 0 || !strings.Contains(out, "intact") {
		t.Errorf("verify: exit %d: %s", code, out)
	}
	_, stderr, code = e.run("db", "update", "--source", "ftp://example.com/db")
	if code != ExitUsage {
		t.Errorf("unknown source: exit %d: %s", code, stderr)
	}
	fresh := &env{t: t, cache: t.TempDir(), vars: e.vars}
	_, stderr, code = fresh.run("db", "info")
	if code != 1 || !strings.Contains(stderr, "vexloom db update") {
		t.Errorf("db info without a database: exit %d: %s", code, stderr)
	}
}
