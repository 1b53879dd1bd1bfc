package gate

import (
	"errors"
	"strings"
	"testing"
)

// A scan that did not complete is not a scan that found nothing: each of
// these streams and reports stopped early or names a failed module, and the
// gate must not read it as clean.
func TestReadFindingsIncomplete(t *testing.T) {
	const config = `{"config":{"protocol_version":"v1.0.0","scanner_name":"govulncheck","scan_level":"symbol"}}`
	const finding = `{"finding":{"osv":"GO-2024-3333","trace":[{"module":"golang.org/x/net","version":"v0.32.0","package":"golang.org/x/net/html","function":"Parse"}]}}`
	for _, tc := range []struct {
		name, input string
		findings    int
	}{
		{"govulncheck config only (go.mod does not parse)", config, 0},
		{"govulncheck interrupted while loading", config + `{"progress":{"message":"Scanning your code and 12 packages across 3 dependent modules for known vulnerabilities..."}}`, 0},
		{"govulncheck finding without SBOM", config + finding, 1},
		{"govulncheck progress only", `{"progress":{"message":"x"}}`, 0},
		{"vexloom report with an unnamed failed module", `{"schema":"https://github.com/vexloom/vexloom/schema/scan/v1","targets":[{"branch":"release-1.0","modules":[{"dir":".","error":"go.mod:1: unknown directive: this","findings":null}]}]}`, 0},
		{"vexloom report with a failed module beside a clean one", `{"schema":"https://github.com/vexloom/vexloom/schema/scan/v1","targets":[{"branch":"main","modules":[{"path":"m","dir":".","findings":[]},{"path":"m/tools","dir":"tools","error":"loading packages: \u001b[31mno\u001b[0m"}]}]}`, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs, _, err := ReadFindings(strings.NewReader(tc.input))
			if !errors.Is(err, ErrIncomplete) {
				t.Fatalf("err = %v, want ErrIncomplete", err)
			}
			if len(fs) != tc.findings {
				t.Errorf("%d findings, want %d", len(fs), tc.findings)
			}
		})
	}
}
