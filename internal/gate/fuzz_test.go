package gate

import (
	"bytes"
	"errors"
	"testing"

	"github.com/vexloom/vexloom/internal/osv"
	"github.com/vexloom/vexloom/internal/scan"
)

// checkFindings asserts what every reader promises of what it returns.
func checkFindings(t *testing.T, fs []Finding) {
	t.Helper()
	for _, f := range fs {
		if !osv.ValidID(f.ID) {
			t.Fatalf("finding with invalid ID %q", f.ID)
		}
		if f.Module == "" {
			t.Fatalf("finding %s without module", f.ID)
		}
		if f.Level < scan.LevelModule || f.Level > scan.LevelSymbol {
			t.Fatalf("finding %s at level %d", f.ID, f.Level)
		}
		for _, a := range f.Aliases {
			if a == f.ID {
				t.Fatalf("finding %s lists itself as alias", f.ID)
			}
		}
	}
	// Whatever was read can be decided on and written.
	res, err := Evaluate(fs, nil, Options{Now: now})
	if err != nil {
		t.Fatalf("evaluating what was read: %v", err)
	}
	var b bytes.Buffer
	if err := res.WriteJSON(&b); err != nil {
		t.Fatalf("writing JSON: %v", err)
	}
	if err := res.WriteTable(&b); err != nil {
		t.Fatalf("writing the table: %v", err)
	}
}

func addSeeds(f *testing.F, files ...string) {
	for _, name := range files {
		f.Add(readFixture(f, name))
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"results":[{"packages":[{"package":{"name":"x","version":"1","ecosystem":"npm"},"groups":[{"ids":["GHSA-1"],"experimentalAnalysis":{"GHSA-1":{"called":true}}}]}]}]}`))
	f.Add([]byte(`{"finding":{"osv":"GO-1","trace":[{"module":"m","package":"m/p","function":"F"}]}}{"osv":{"id":"GO-1","aliases":["CVE-1"],"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]}}`))
	f.Add([]byte(`{"schema":"https://github.com/vexloom/vexloom/schema/scan/v1","targets":[{"modules":[{"path":"m","findings":[{"id":"GO-1","module":"x","level":"symbol"}]}]}]}`))
}

func FuzzReadFindings(f *testing.F) {
	addSeeds(f, "demo.vexloom.json", "demo.govulncheck.json", "demo.osv-scanner.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		fs, _, err := ReadFindings(bytes.NewReader(data))
		if err != nil && !errors.Is(err, ErrInput) && !errors.Is(err, ErrUnknownFormat) && !errors.Is(err, ErrIncomplete) {
			t.Fatalf("error without a sentinel: %v", err)
		}
		if err == nil || errors.Is(err, ErrIncomplete) {
			checkFindings(t, fs)
		}
	})
}

func FuzzReadVexloom(f *testing.F) {
	addSeeds(f, "demo.vexloom.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		fs, err := readVexloom(data)
		if err == nil || errors.Is(err, ErrIncomplete) {
			checkFindings(t, fs)
		}
	})
}

func FuzzReadGovulncheck(f *testing.F) {
	addSeeds(f, "demo.govulncheck.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		if fs, err := readGovulncheck(data); err == nil {
			checkFindings(t, fs)
		}
	})
}

func FuzzReadOSVScanner(f *testing.F) {
	addSeeds(f, "demo.osv-scanner.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		if fs, err := readOSVScanner(data); err == nil {
			checkFindings(t, fs)
		}
	})
}

func FuzzParsePolicy(f *testing.F) {
	f.Add([]byte("version: 1\nrules:\n  - name: stale\n    when: finding.level == \"package\" && finding.age_days > 30 && statement == null\n    action: fail\n"))
	f.Add([]byte("rules:\n  - name: allow\n    when: \"'CVE-2024-45338' in finding.aliases\"\n    action: allow\n    expires: 2026-12-31\n    reason: x\n"))
	f.Add([]byte("rules:\n  - name: st\n    when: statement != null && statement.verified && statement.age_days < 3\n    action: warn\n"))
	f.Add([]byte("rules: [{name: a, when: 'finding.severity > 7.0', action: fail}]"))
	f.Add([]byte("rules:\n  - name: a\n    when: size(finding.aliases)\n    action: fail\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePolicy(data, "fuzz.yaml")
		if err != nil {
			if !errors.Is(err, ErrPolicy) {
				t.Fatalf("error without ErrPolicy: %v", err)
			}
			return
		}
		for _, r := range p.Rules {
			if r.Name == "" || r.When == "" || r.program == nil {
				t.Fatalf("incomplete rule accepted: %+v", r)
			}
		}
		// Evaluation either decides or names the rule that failed.
		res, err := Evaluate(agedFindings(), nil, Options{Now: now, Policy: p})
		if err == nil && len(res.Findings) != len(agedFindings()) {
			t.Fatalf("%d verdicts for %d findings", len(res.Findings), len(agedFindings()))
		}
	})
}
