package gate

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vexloom/vexloom/internal/scan"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func find(fs []Finding, id, module string) *Finding {
	for i := range fs {
		if fs[i].ID == id && fs[i].Module == module {
			return &fs[i]
		}
	}
	return nil
}

func TestReadFindings(t *testing.T) {
	const demo = "pkg:golang/example.com/vexloom-demo"
	type want struct {
		id, module, version string
		level               scan.Level
		fixed, product      string
		alias               string
		symbols             []string
		score               float64
		published           time.Time
	}
	tests := []struct {
		file   string
		format Format
		count  int
		want   []want
	}{
		{"demo.vexloom.json", FormatVexloom, 5, []want{
			{id: "GO-2024-3333", module: "golang.org/x/net", version: "v0.32.0", level: scan.LevelSymbol, fixed: "v0.33.0", product: demo, alias: "CVE-2024-45338", symbols: []string{"golang.org/x/net/html.Parse"}},
			{id: "GO-2020-0017", module: "github.com/dgrijalva/jwt-go", version: "v3.2.0+incompatible", level: scan.LevelPackage, product: demo, alias: "GHSA-w73w-5m7g-f7qc", published: time.Date(2021, 4, 14, 20, 4, 52, 0, time.UTC)},
			{id: "GO-2025-3487", module: "golang.org/x/crypto", version: "v0.31.0", level: scan.LevelModule, fixed: "v0.35.0", product: demo, alias: "CVE-2025-22869"},
		}},
		{"demo.govulncheck.json", FormatGovulncheck, 5, []want{
			{id: "GO-2024-3333", module: "golang.org/x/net", version: "v0.32.0", level: scan.LevelSymbol, fixed: "v0.33.0", product: demo, alias: "CVE-2024-45338", symbols: []string{"golang.org/x/net/html.Parse"}},
			{id: "GO-2026-6604", module: "stdlib", level: scan.LevelPackage, fixed: "v1.26.9", product: demo, alias: "CVE-2026-56857"},
			{id: "GO-2020-0017", module: "github.com/dgrijalva/jwt-go", version: "v3.2.0+incompatible", level: scan.LevelPackage, product: demo, alias: "CVE-2020-26160", published: time.Date(2021, 4, 14, 20, 4, 52, 0, time.UTC)},
			{id: "GO-2025-3487", module: "golang.org/x/crypto", version: "v0.31.0", level: scan.LevelModule, fixed: "v0.35.0", product: demo, alias: "CVE-2025-22869"},
		}},
		{"demo.osv-scanner.json", FormatOSVScanner, 4, []want{
			{id: "GO-2024-3333", module: "golang.org/x/net", version: "v0.32.0", level: scan.LevelSymbol, fixed: "v0.33.0", product: "go.mod", alias: "GHSA-w32m-9786-jp63", score: 5.3, published: time.Date(2024, 12, 18, 20, 57, 32, 0, time.UTC)},
			{id: "GO-2025-3503", module: "golang.org/x/net", version: "v0.32.0", level: scan.LevelModule, fixed: "v0.36.0", product: "go.mod", alias: "CVE-2025-22870"},
			{id: "GO-2025-3487", module: "golang.org/x/crypto", version: "v0.31.0", level: scan.LevelModule, fixed: "v0.35.0", product: "go.mod", alias: "CVE-2025-22869"},
			{id: "GHSA-35jh-r3h4-6jhm", module: "lodash", version: "4.17.20", level: scan.LevelModule, fixed: "4.17.21", product: "web/package-lock.json", alias: "CVE-2021-23337", score: 7.2, published: time.Date(2021, 2, 15, 21, 18, 44, 0, time.UTC)},
		}},
	}
	for _, tt := range tests {
		t.Run(string(tt.format), func(t *testing.T) {
			fs, format, err := ReadFindings(bytes.NewReader(readFixture(t, tt.file)))
			if err != nil {
				t.Fatal(err)
			}
			if format != tt.format {
				t.Errorf("format = %q, want %q", format, tt.format)
			}
			if len(fs) != tt.count {
				t.Errorf("%d findings, want %d: %+v", len(fs), tt.count, fs)
			}
			for i := 1; i < len(fs); i++ {
				if fs[i].Level > fs[i-1].Level {
					t.Errorf("findings not sorted strongest first: %s before %s", fs[i-1].Level, fs[i].Level)
				}
			}
			for _, w := range tt.want {
				f := find(fs, w.id, w.module)
				if f == nil {
					t.Errorf("no finding %s in %s", w.id, w.module)
					continue
				}
				if w.version != "" && f.Version != w.version {
					t.Errorf("%s: version %q, want %q", w.id, f.Version, w.version)
				}
				if f.Level != w.level {
					t.Errorf("%s in %s: level %s, want %s", w.id, w.module, f.Level, w.level)
				}
				if f.FixedVersion != w.fixed {
					t.Errorf("%s: fixed %q, want %q", w.id, f.FixedVersion, w.fixed)
				}
				if f.Product != w.product {
					t.Errorf("%s: product %q, want %q", w.id, f.Product, w.product)
				}
				if !slices.Contains(f.Aliases, w.alias) || slices.Contains(f.Aliases, f.ID) {
					t.Errorf("%s: aliases %v, want %s in them and not the ID", w.id, f.Aliases, w.alias)
				}
				if w.symbols != nil && !slices.Equal(f.Symbols, w.symbols) {
					t.Errorf("%s: symbols %v, want %v", w.id, f.Symbols, w.symbols)
				}
				if f.Severity.Score != w.score {
					t.Errorf("%s: severity %v, want %v", w.id, f.Severity.Score, w.score)
				}
				if !f.Published.Equal(w.published) {
					t.Errorf("%s: published %v, want %v", w.id, f.Published, w.published)
				}
			}
		})
	}
}

func TestOSVScannerDetails(t *testing.T) {
	fs, _, err := ReadFindings(bytes.NewReader(readFixture(t, "demo.osv-scanner.json")))
	if err != nil {
		t.Fatal(err)
	}
	lodash := find(fs, "GHSA-35jh-r3h4-6jhm", "lodash")
	if got := lodash.DependencyPURL(); got != "pkg:npm/lodash@4.17.20" {
		t.Errorf("lodash purl = %q", got)
	}
	if lodash.Severity.Vector != "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H" {
		t.Errorf("lodash vector = %q", lodash.Severity.Vector)
	}
	if got := find(fs, "GO-2024-3333", "golang.org/x/net").DependencyPURL(); got != "pkg:golang/golang.org/x/net@v0.32.0" {
		t.Errorf("x/net purl = %q", got)
	}
}

func TestReadFindingsRejects(t *testing.T) {
	tests := []struct {
		name, input string
		want        error
		says        string
	}{
		{"empty", "  \n", ErrUnknownFormat, "empty"},
		{"array", `[1,2]`, ErrUnknownFormat, "not a JSON object"},
		{"unknown object", `{"foo": 1}`, ErrUnknownFormat, "want vexloom scan JSON"},
		{"future vexloom schema", `{"schema": "https://github.com/vexloom/vexloom/schema/scan/v2"}`, ErrUnknownFormat, "scan/v2"},
		{"other schema", `{"schema": "https://example.com/x"}`, ErrUnknownFormat, "example.com"},
		{"truncated", `{"config": {"protocol_version": "v1.0.0"`, ErrInput, "unexpected EOF"},
		{"govulncheck finding without trace", `{"config":{}}{"finding":{"osv":"GO-2024-3333"}}`, ErrInput, "no trace"},
		{"govulncheck bad id", `{"finding":{"osv":"../../etc/passwd","trace":[{"module":"m"}]}}`, ErrInput, "not a vulnerability ID"},
		{"govulncheck no module", `{"finding":{"osv":"GO-2024-3333","trace":[{"package":"p"}]}}`, ErrInput, "names no module"},
		{"govulncheck bad osv", `{"osv":{"id":"GO-1","affected":[{"package":{"name":""}}]}}`, ErrInput, "no package name"},
		{"govulncheck garbage after", `{"config":{}} nope`, ErrInput, "message 2"},
		{"osv-scanner group without ids", `{"results":[{"packages":[{"package":{"name":"x","version":"1","ecosystem":"npm"},"groups":[{"ids":[]}]}]}]}`, ErrInput, "has no ids"},
		{"osv-scanner wrong type", `{"results": {"a": 1}}`, ErrInput, "OSV-Scanner"},
		{"osv-scanner no package name", `{"results":[{"packages":[{"package":{"name":""},"vulnerabilities":[{"id":"GHSA-1"}]}]}]}`, ErrInput, "no package name"},
		{"vexloom finding without level", `{"schema":"https://github.com/vexloom/vexloom/schema/scan/v1","targets":[{"modules":[{"path":"m","findings":[{"id":"GO-1","module":"x"}]}]}]}`, ErrInput, "no module or level"},
		{"vexloom bad level", `{"schema":"https://github.com/vexloom/vexloom/schema/scan/v1","targets":[{"modules":[{"path":"m","findings":[{"id":"GO-1","module":"x","level":"everything"}]}]}]}`, ErrInput, "unknown level"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, _, err := ReadFindings(strings.NewReader(tt.input))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.says) {
				t.Errorf("err = %q, want it to say %q", err, tt.says)
			}
			if fs != nil {
				t.Errorf("findings returned with an error: %v", fs)
			}
		})
	}
}

func TestReadFindingsIncompleteScan(t *testing.T) {
	in := `{"schema":"https://github.com/vexloom/vexloom/schema/scan/v1","targets":[{"branch":"main","commit":"0123456789abcdef","modules":[
	 {"path":"example.com/a","findings":[{"id":"GO-2024-3333","module":"golang.org/x/net","version":"v0.32.0","level":"symbol"}]},
	 {"path":"example.com/b","dir":"b","error":"go.mod: no such file","findings":[]}]}]}`
	fs, format, err := ReadFindings(strings.NewReader(in))
	if !errors.Is(err, ErrIncomplete) || !strings.Contains(err.Error(), "example.com/b") || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("err = %v, want ErrIncomplete naming the module and reason", err)
	}
	if format != FormatVexloom || len(fs) != 1 || fs[0].Product != "pkg:golang/example.com/a" {
		t.Errorf("got %q %+v, want the one finding of example.com/a", format, fs)
	}
}

func TestReadFindingsBoundsInput(t *testing.T) {
	// A valid govulncheck stream, one chunk longer than the limit. The
	// limit is a megabyte here rather than MaxInputSize's 256: the same
	// code, without reading and copying a quarter of a gigabyte.
	const limit = 1 << 20
	chunk := []byte(`{"progress":{"message":"x"}}` + "\n")
	big := &repeatReader{chunk: chunk, left: limit + len(chunk)}
	_, _, err := readFindings(big, limit)
	if !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), "more than 1048576 bytes") {
		t.Fatalf("err = %v, want a size error", err)
	}
	// Within the limit, the same stream is read to its end: a
	// govulncheck stream that stops before its SBOM message.
	within := &repeatReader{chunk: chunk, left: limit / len(chunk) * len(chunk)}
	if _, format, err := readFindings(within, limit); format != FormatGovulncheck || !errors.Is(err, ErrIncomplete) {
		t.Fatalf("a stream within the limit: format %q, err %v; want govulncheck, incomplete", format, err)
	}
}

type repeatReader struct {
	chunk []byte
	left  int
	off   int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.left <= 0 {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && r.left > 0 {
		c := copy(p[n:], r.chunk[r.off:])
		r.off = (r.off + c) % len(r.chunk)
		n += c
		r.left -= c
	}
	return n, nil
}

func TestCVSS3BaseScore(t *testing.T) {
	tests := []struct {
		vector string
		score  float64
		ok     bool
	}{
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, true},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5, true},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10, true},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:L/A:N", 5.4, true},
		{"CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H", 7.2, true},
		{"CVSS:3.0/AV:L/AC:H/PR:L/UI:R/S:C/C:L/I:N/A:N", 2.5, true},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0, true},
		{"CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 0, false},
		{"CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H", 0, false},
		{"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 0, false},
		{"nonsense", 0, false},
	}
	for _, tt := range tests {
		got, ok := cvss3BaseScore(tt.vector)
		if got != tt.score || ok != tt.ok {
			t.Errorf("cvss3BaseScore(%q) = %v, %v; want %v, %v", tt.vector, got, ok, tt.score, tt.ok)
		}
	}
}
