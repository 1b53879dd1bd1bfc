package scan

import (
	"strings"
	"testing"
)

// A stream in govulncheck's JSON protocol (v1.0.0), as the engine writes it
// for a module that calls golang.org/x/net/html.Parse: findings arrive at
// the module level first, then package, then symbol (twice, with two
// traces), interleaved with progress messages.
const sampleStream = `{"config":{"protocol_version":"v1.0.0","scanner_name":"govulncheck","db":"file:///db","db_last_modified":"2026-11-05T23:49:57Z","go_version":"go1.26.8","scan_level":"symbol","scan_mode":"source"}}
{"progress":{"message":"Scanning your code and 12 packages across 3 dependent modules for known vulnerabilities..."}}
{"SBOM":{"go_version":"go1.26.8","modules":[{"path":"example.com/vexloom-demo"},{"path":"golang.org/x/net","version":"v0.32.0"},{"path":"stdlib","version":"v1.26.8"}],"roots":["example.com/vexloom-demo"]}}
{"osv":{"schema_version":"1.3.1","id":"GO-2024-3333","modified":"2026-01-01T00:00:00Z","aliases":["GHSA-w32m-9786-jp63","CVE-2024-45338"],"summary":"Non-linear parsing","affected":[{"package":{"name":"golang.org/x/net","ecosystem":"Go"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"0.33.0"}]}],"ecosystem_specific":{"imports":[{"path":"golang.org/x/net/html","symbols":["Parse","ParseFragment"]}]}}]}}
{"osv":{"schema_version":"1.3.1","id":"GO-2025-3503","modified":"2026-01-01T00:00:00Z","aliases":["CVE-2025-22870"],"affected":[{"package":{"name":"stdlib","ecosystem":"Go"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.24.1"}]}],"ecosystem_specific":{"imports":[{"path":"net/http","symbols":["ProxyFromEnvironment"]}]}},{"package":{"name":"golang.org/x/net","ecosystem":"Go"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"0.36.0"}]}],"ecosystem_specific":{"imports":[{"path":"golang.org/x/net/http/httpproxy","symbols":["config.useProxy"]}]}}]}}
{"finding":{"osv":"GO-2024-3333","fixed_version":"v0.33.0","trace":[{"module":"golang.org/x/net","version":"v0.32.0"}]}}
{"finding":{"osv":"GO-2025-3503","fixed_version":"v0.36.0","trace":[{"module":"golang.org/x/net","version":"v0.32.0"}]}}
{"finding":{"osv":"GO-2024-3333","fixed_version":"v0.33.0","trace":[{"module":"golang.org/x/net","version":"v0.32.0","package":"golang.org/x/net/html"}]}}
{"progress":{"message":"Checking the code against the vulnerabilities..."}}
{"finding":{"osv":"GO-2024-3333","fixed_version":"v0.33.0","trace":[{"module":"golang.org/x/net","version":"v0.32.0","package":"golang.org/x/net/html","function":"Parse","position":{"filename":"html/parse.go","offset":100,"line":2600,"column":6}},{"module":"example.com/vexloom-demo","package":"example.com/vexloom-demo","function":"main","position":{"filename":"main.go","offset":300,"line":16,"column":24}}]}}
{"finding":{"osv":"GO-2024-3333","fixed_version":"v0.33.0","trace":[{"module":"golang.org/x/net","version":"v0.32.0","package":"golang.org/x/net/html","function":"Parse","position":{"filename":"html/parse.go","offset":100,"line":2600,"column":6}},{"module":"example.com/vexloom-demo","package":"example.com/vexloom-demo","function":"main","position":{"filename":"main.go","offset":300,"line":16,"column":24}}]}}
{"finding":{"osv":"GO-2024-3333","fixed_version":"v0.33.0","trace":[{"module":"golang.org/x/net","version":"v0.32.0","package":"golang.org/x/net/html","function":"Parse"},{"module":"example.com/vexloom-demo","package":"example.com/vexloom-demo","function":"helper","receiver":"*T","position":{"filename":"util.go","line":3,"column":2}}]}}
`

func TestDecoderFoldsLevelsAndTraces(t *testing.T) {
	t.Parallel()
	d := newDecoder(nil)
	if err := d.read(strings.NewReader(sampleStream)); err != nil {
		t.Fatal(err)
	}
	out := d.output()
	if out.GoVersion != "go1.26.8" {
		t.Errorf("go version %q", out.GoVersion)
	}
	if len(out.Findings) != 2 {
		t.Fatalf("%d findings, want 2: %+v", len(out.Findings), out.Findings)
	}
	called := out.Findings[0]
	if called.ID != "GO-2024-3333" || called.Level != LevelSymbol || called.Module != "golang.org/x/net" || called.Version != "v0.32.0" {
		t.Errorf("first finding = %+v", called)
	}
	if called.FixedVersion != "v0.33.0" {
		t.Errorf("fixed = %q", called.FixedVersion)
	}
	if strings.Join(called.Aliases, ",") != "CVE-2024-45338,GHSA-w32m-9786-jp63" {
		t.Errorf("aliases = %v", called.Aliases)
	}
	if called.Name() != "CVE-2024-45338" {
		t.Errorf("name = %s", called.Name())
	}
	if len(called.Traces) != 2 {
		t.Errorf("%d traces, want 2 (a duplicate removed)", len(called.Traces))
	}
	if strings.Join(called.Symbols, ",") != "golang.org/x/net/html.Parse" {
		t.Errorf("symbols = %v", called.Symbols)
	}
	if strings.Join(called.VulnerableSymbols, ",") != "golang.org/x/net/html.Parse,golang.org/x/net/html.ParseFragment" {
		t.Errorf("vulnerable symbols = %v", called.VulnerableSymbols)
	}
	required := out.Findings[1]
	if required.ID != "GO-2025-3503" || required.Level != LevelModule || len(required.Packages) != 0 {
		t.Errorf("second finding = %+v", required)
	}
	// Only the x/net part of a vulnerability that affects two modules.
	if strings.Join(required.VulnerablePackages, ",") != "golang.org/x/net/http/httpproxy" {
		t.Errorf("vulnerable packages = %v", required.VulnerablePackages)
	}
	if len(out.Vulnerabilities) != 2 || out.Vulnerabilities[0].URL != "https://pkg.go.dev/vuln/GO-2024-3333" {
		t.Errorf("vulnerabilities = %+v", out.Vulnerabilities)
	}
	if len(out.Modules) != 3 {
		t.Errorf("build list = %v", out.Modules)
	}
}

func TestDecoderRejectsGarbage(t *testing.T) {
	t.Parallel()
	d := newDecoder(nil)
	if err := d.read(strings.NewReader(`{"config":{}}` + "\n" + `{"finding":`)); err == nil {
		t.Error("truncated stream accepted")
	}
	d = newDecoder(nil)
	if err := d.read(strings.NewReader(`{"osv":{"id":5}}`)); err == nil {
		t.Error("malformed OSV accepted")
	}
	// Findings without a trace are ignored, not a crash.
	d = newDecoder(nil)
	if err := d.read(strings.NewReader(`{"finding":{"osv":"GO-1"}}{"finding":{"osv":"GO-2","trace":[null]}}`)); err != nil {
		t.Fatal(err)
	}
	if n := len(d.output().Findings); n != 0 {
		t.Errorf("%d findings from empty traces", n)
	}
}

func TestLevels(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"module", "package", "symbol", "called", "imported", "required"} {
		l, err := ParseLevel(s)
		if err != nil || l == LevelNone {
			t.Errorf("ParseLevel(%q) = %v, %v", s, l, err)
		}
	}
	if _, err := ParseLevel("all"); err == nil {
		t.Error("unknown level accepted")
	}
	if !(LevelSymbol > LevelPackage && LevelPackage > LevelModule) {
		t.Error("levels out of order")
	}
	var l Level
	if err := l.UnmarshalText([]byte("package")); err != nil || l != LevelPackage {
		t.Error("UnmarshalText")
	}
}

func FuzzDecoder(f *testing.F) {
	f.Add([]byte(sampleStream))
	f.Add([]byte(`{"finding":{"osv":"x","trace":[{"module":"m","function":"f"}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d := newDecoder(nil)
		if err := d.read(strings.NewReader(string(data))); err != nil {
			return
		}
		out := d.output()
		for _, f := range out.Findings {
			if f.Level < LevelModule || f.Level > LevelSymbol {
				t.Fatalf("level %d", f.Level)
			}
			if f.Level != LevelSymbol && len(f.Traces) > 0 {
				t.Fatalf("traces at level %s", f.Level)
			}
		}
	})
}
