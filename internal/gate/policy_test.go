package gate

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/scan"
)

func mustPolicy(t *testing.T, src string) *CELPolicy {
	t.Helper()
	p, err := ParsePolicy([]byte(src), "policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// agedFindings are findings published at known ages before now.
func agedFindings() []Finding {
	return []Finding{
		{ID: "GO-2020-0017", Aliases: []string{"CVE-2020-26160"}, Ecosystem: "Go", Module: "github.com/dgrijalva/jwt-go", Version: "v3.2.0+incompatible", Level: scan.LevelPackage, Product: demoProduct, Published: now.AddDate(0, 0, -45)},
		{ID: "GO-2026-6604", Aliases: []string{"CVE-2026-56857"}, Ecosystem: "Go", Module: "stdlib", Version: "v1.26.8", Level: scan.LevelPackage, Product: demoProduct, Published: now.AddDate(0, 0, -10)},
		{ID: "GO-2025-3487", Aliases: []string{"CVE-2025-22869"}, Ecosystem: "Go", Module: "golang.org/x/crypto", Version: "v0.31.0", Level: scan.LevelModule, Product: demoProduct, Published: now.AddDate(0, 0, -90)},
		{ID: "GO-2024-3333", Aliases: []string{"CVE-2024-45338"}, Ecosystem: "Go", Module: "golang.org/x/net", Version: "v0.32.0", Level: scan.LevelSymbol, Product: demoProduct, FixedVersion: "v0.33.0", Severity: Severity{Score: 5.3}},
	}
}

func TestPolicyAgeRule(t *testing.T) {
	p := mustPolicy(t, `
version: 1
rules:
  - name: stale-package-findings
    # Package-level findings older than 30 days with no assessment fail.
    when: finding.level == "package" && finding.age_days > 30 && statement == null
    action: fail
    reason: Package-level findings must be assessed within 30 days
`)
	fs := agedFindings()
	res, err := Evaluate(fs, nil, Options{Now: now, Policy: p})
	if err != nil {
		t.Fatal(err)
	}
	old := verdictOf(t, res, "GO-2020-0017", "github.com/dgrijalva/jwt-go")
	if old.Verdict != VerdictFail || old.Rule != "stale-package-findings" || !strings.Contains(old.Reason, "within 30 days") {
		t.Errorf("45-day-old package finding: %+v", old)
	}
	if young := verdictOf(t, res, "GO-2026-6604", "stdlib"); young.Verdict != VerdictPass || young.Rule != DefaultRule {
		t.Errorf("10-day-old package finding: %+v", young)
	}
	if mod := verdictOf(t, res, "GO-2025-3487", "golang.org/x/crypto"); mod.Verdict != VerdictPass {
		t.Errorf("module-level finding: %+v", mod)
	}
	// The default rule still applies after the policy's rules.
	if called := verdictOf(t, res, "GO-2024-3333", "golang.org/x/net"); called.Verdict != VerdictFail || called.Rule != DefaultRule {
		t.Errorf("called finding: %+v", called)
	}
	if res.Policy.Name != "policy.yaml" || !strings.HasPrefix(res.Policy.Digest, "sha256:") || res.Policy.Rules != 1 {
		t.Errorf("policy ref = %+v", res.Policy)
	}

	// An assessment, verified, takes the old finding out of the rule.
	st := statement("CVE-2020-26160", openvex.StatusNotAffected, true, now.Add(-time.Hour), []string{"pkg:golang/github.com/dgrijalva/jwt-go"})
	res, err = Evaluate(fs, []Statement{st}, Options{Now: now, Policy: p})
	if err != nil {
		t.Fatal(err)
	}
	if v := verdictOf(t, res, "GO-2020-0017", "github.com/dgrijalva/jwt-go"); v.Verdict != VerdictPass {
		t.Errorf("assessed old package finding: %+v", v)
	}
}

func TestPolicyAllowlistExpiry(t *testing.T) {
	p := mustPolicy(t, `
rules:
  - name: accept-x-net-html
    when: >
      "CVE-2024-45338" in finding.aliases && finding.module == "golang.org/x/net"
    action: allow
    expires: 2026-12-31
    reason: html.Parse only reads our own templates; upgrade tracked in #42
  - name: severe
    when: finding.severity >= 7.0
    action: warn
`)
	fs := agedFindings()
	tests := []struct {
		at      time.Time
		verdict Verdict
		rule    string
		expired bool
	}{
		{time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC), VerdictPass, "accept-x-net-html", false},
		{time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), VerdictFail, DefaultRule, true},
	}
	for _, tt := range tests {
		res, err := Evaluate(fs, nil, Options{Now: tt.at, Policy: p})
		if err != nil {
			t.Fatal(err)
		}
		v := verdictOf(t, res, "GO-2024-3333", "golang.org/x/net")
		if v.Verdict != tt.verdict || v.Rule != tt.rule {
			t.Errorf("at %s: %s by %s, want %s by %s (%s)", tt.at, v.Verdict, v.Rule, tt.verdict, tt.rule, v.Reason)
		}
		if got := len(v.Expired) > 0; got != tt.expired {
			t.Errorf("at %s: expired %v, want %v", tt.at, v.Expired, tt.expired)
		}
		if tt.expired && !strings.Contains(v.Reason, `"accept-x-net-html" has expired`) {
			t.Errorf("reason %q does not report the expiry", v.Reason)
		}
		if !tt.expired && !strings.Contains(v.Reason, "Allowed until 2026-12-31") {
			t.Errorf("reason %q does not say until when", v.Reason)
		}
	}
}

func TestPolicyWarnAndStatementFields(t *testing.T) {
	p := mustPolicy(t, `
rules:
  - name: stale-affected
    when: statement != null && statement.status == "affected" && statement.age_days > 7 && statement.verified && statement.source == "file"
    action: warn
  - name: severe-stdlib
    when: finding.module == "stdlib" && finding.level_rank >= 2 && finding.published < now - duration("216h")
    action: warn
    reason: Standard library vulnerabilities need a Go release
`)
	fs := agedFindings()
	st := statement("CVE-2025-22869", openvex.StatusAffected, true, now.AddDate(0, 0, -8), []string{"pkg:golang/golang.org/x/crypto"})
	st.ActionStatement = "Upgrade to v0.35.0 in the next patch release."
	res, err := Evaluate(fs, []Statement{st}, Options{Now: now, Policy: p})
	if err != nil {
		t.Fatal(err)
	}
	v := verdictOf(t, res, "GO-2025-3487", "golang.org/x/crypto")
	if v.Verdict != VerdictWarn || v.Rule != "stale-affected" || !strings.Contains(v.Action, "Upgrade to v0.35.0 in the next patch release.") {
		t.Errorf("stale affected: %+v", v)
	}
	if v := verdictOf(t, res, "GO-2026-6604", "stdlib"); v.Verdict != VerdictWarn || !strings.Contains(v.Reason, "need a Go release") {
		t.Errorf("stdlib: %+v", v)
	}
	if res.Counts.Warn != 2 || res.Verdict != VerdictFail {
		t.Errorf("counts %+v verdict %s", res.Counts, res.Verdict)
	}
}

func TestBadPolicies(t *testing.T) {
	tests := []struct {
		name, src string
		says      []string
	}{
		{"unknown top-level key", "version: 1\nrulez: []\n", []string{"line 2", "rulez"}},
		{"unknown rule key", "rules:\n  - name: a\n    when: \"true\"\n    action: fail\n    severity: high\n", []string{"line 5", "severity"}},
		{"duplicate key", "rules:\n  - name: a\n    name: b\n    when: \"true\"\n    action: fail\n", []string{"line 3", "already defined"}},
		{"not bool", "rules:\n  - name: count-aliases\n    when: size(finding.aliases)\n    action: fail\n", []string{`rule "count-aliases" (line 2)`, "line 3", "type int", "must be a bool"}},
		{"syntax error", "rules:\n  - name: broken\n    when: finding.level ==\n    action: fail\n", []string{`rule "broken"`, "line 3", "Syntax error"}},
		{"undefined field", "rules:\n  - name: typo\n    when: finding.levle == \"symbol\"\n    action: fail\n", []string{`rule "typo"`, "undefined field 'levle'"}},
		{"wrong type comparison", "rules:\n  - name: types\n    when: finding.age_days > \"30\"\n    action: fail\n", []string{`rule "types"`, "no matching overload"}},
		{"bad action", "rules:\n  - name: a\n    when: \"true\"\n    action: block\n", []string{`rule "a"`, "line 4", `"block"`, "fail, warn or allow"}},
		{"no action", "rules:\n  - name: a\n    when: \"true\"\n", []string{`rule "a"`, "no action"}},
		{"no name", "rules:\n  - when: \"true\"\n    action: fail\n", []string{"rule 1 (line 2)", "no name"}},
		{"no condition", "rules:\n  - name: a\n    action: fail\n", []string{`rule "a"`, "no condition"}},
		{"duplicate name", "rules:\n  - name: a\n    when: \"true\"\n    action: fail\n  - name: a\n    when: \"false\"\n    action: warn\n", []string{"line 5", "already used by the rule on line 2"}},
		{"bad expiry", "rules:\n  - name: a\n    when: \"true\"\n    action: allow\n    expires: next year\n", []string{"line 5", "next year"}},
		{"list as name", "rules:\n  - name: [a, b]\n    when: \"true\"\n    action: allow\n", []string{"line 2", "single value"}},
		{"two documents", "rules: []\n---\nrules: []\n", []string{"one YAML document"}},
		{"empty", "", []string{"empty"}},
		{"future version", "version: 2\nrules: []\n", []string{"version 2"}},
		{"not yaml", "rules: [\n", []string{"policy.yaml"}},
		{"long expression", "rules:\n  - name: a\n    when: \"" + strings.Repeat("true && ", 600) + "true\"\n    action: fail\n", []string{"at most 4096"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePolicy([]byte(tt.src), "policy.yaml")
			if !errors.Is(err, ErrPolicy) {
				t.Fatalf("err = %v, want ErrPolicy", err)
			}
			for _, s := range tt.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("err %q does not say %q", err, s)
				}
			}
		})
	}
	if _, err := ReadPolicy(strings.NewReader(strings.Repeat("#", MaxPolicySize+1)), "big.yaml"); !errors.Is(err, ErrPolicy) || !strings.Contains(err.Error(), "more than") {
		t.Errorf("oversized policy: %v", err)
	}
}

func TestPolicyCostLimit(t *testing.T) {
	p := mustPolicy(t, `
rules:
  - name: expensive
    when: finding.aliases.all(a, finding.aliases.all(b, finding.aliases.all(c, a + b + c != "")))
    action: fail
`)
	f := agedFindings()[0]
	for i := range 200 {
		f.Aliases = append(f.Aliases, "GHSA-"+strings.Repeat("x", i%7+1))
	}
	_, err := Evaluate([]Finding{f}, nil, Options{Now: now, Policy: p})
	if err == nil || !strings.Contains(err.Error(), "expensive") || !strings.Contains(err.Error(), "cost limit") {
		t.Fatalf("err = %v, want the rule's cost limit error", err)
	}
}

func TestPolicyUnknownPublishedIsEpoch(t *testing.T) {
	p := mustPolicy(t, `
rules:
  - name: unknown-date
    when: finding.published == timestamp(0) && finding.age_days == -1
    action: warn
`)
	res, err := Evaluate(agedFindings(), nil, Options{Now: now, Policy: p})
	if err != nil {
		t.Fatal(err)
	}
	if v := verdictOf(t, res, "GO-2024-3333", "golang.org/x/net"); v.Verdict != VerdictWarn {
		t.Errorf("finding without a date: %+v", v)
	}
	if v := verdictOf(t, res, "GO-2020-0017", "github.com/dgrijalva/jwt-go"); v.Verdict != VerdictPass {
		t.Errorf("finding with a date: %+v", v)
	}
}

// TestPolicyDocExamples compiles every YAML example of POLICY.md.
func TestPolicyDocExamples(t *testing.T) {
	data, err := os.ReadFile("POLICY.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := strings.Split(string(data), "```yaml\n")[1:]
	if len(blocks) < 4 {
		t.Fatalf("%d YAML examples in POLICY.md", len(blocks))
	}
	for i, b := range blocks {
		src, _, _ := strings.Cut(b, "```")
		if strings.HasPrefix(src, "- ") {
			src = "rules:\n" + strings.ReplaceAll("  "+strings.TrimSuffix(src, "\n"), "\n", "\n  ") + "\n"
		}
		p, err := ParsePolicy([]byte(src), "POLICY.md example")
		if err != nil {
			t.Errorf("example %d: %v\n%s", i+1, err, src)
			continue
		}
		if _, err := Evaluate(agedFindings(), nil, Options{Now: now, Policy: p}); err != nil {
			t.Errorf("example %d: %v", i+1, err)
		}
	}
}

func TestPolicyRuntimeErrorNamesRule(t *testing.T) {
	p := mustPolicy(t, `
rules:
  - name: careless
    when: statement.age_days > 7
    action: fail
`)
	_, err := Evaluate(agedFindings(), nil, Options{Now: now, Policy: p})
	if err == nil || !strings.Contains(err.Error(), `policy rule "careless" (line 3)`) {
		t.Fatalf("err = %v, want it to name the rule and line", err)
	}
}
