package gate

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/purl"
	"github.com/vexloom/vexloom/internal/scan"
	"github.com/vexloom/vexloom/internal/vex"
)

var now = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

const demoProduct = "pkg:golang/example.com/vexloom-demo"

func statement(name string, status openvex.Status, verified bool, ts time.Time, products []string, subs ...string) Statement {
	s := Statement{
		Vulnerability: name, Status: status, Products: products, Subcomponents: subs,
		Timestamp: ts, Verified: verified, Source: SourceFile, Origin: "vex/" + name + ".json",
	}
	if status == openvex.StatusNotAffected {
		s.Justification = openvex.VulnerableCodeNotInExecutePath
	}
	return s
}

func verdictOf(t *testing.T, r *Result, id, module string) FindingVerdict {
	t.Helper()
	for _, v := range r.Findings {
		if v.Finding.ID == id && v.Finding.Module == module {
			return v
		}
	}
	t.Fatalf("no verdict for %s in %s", id, module)
	return FindingVerdict{}
}

// TestDefaultPolicy runs the default rule over every input format: the
// called x/net vulnerability (GO-2024-3333, CVE-2024-45338) fails the gate
// until a verified statement says not_affected or fixed.
func TestDefaultPolicy(t *testing.T) {
	earlier, later := now.Add(-48*time.Hour), now.Add(-24*time.Hour)
	xnet := "pkg:golang/golang.org/x/net"
	// For OSV-Scanner results the product is a path, so statements about
	// the demo module reach its findings through the release's products.
	release := []string{demoProduct + "@v1.0.0"}
	tests := []struct {
		name          string
		statements    []Statement
		allowUnsigned bool
		products      []string
		pass          bool
		says          string
		ignored       int
	}{
		{name: "no statement", pass: false, says: "no verified statement says not_affected or fixed"},
		{name: "verified not_affected on product and dependency",
			statements: []Statement{statement("CVE-2024-45338", openvex.StatusNotAffected, true, later, []string{demoProduct}, xnet+"@v0.32.0")},
			products:   release, pass: true, says: "not_affected (vulnerable_code_not_in_execute_path)"},
		{name: "verified fixed on the dependency itself, any version",
			statements: []Statement{statement("CVE-2024-45338", openvex.StatusFixed, true, later, []string{xnet})},
			pass:       true, says: "says fixed"},
		{name: "matched by GHSA alias",
			statements: []Statement{{Vulnerability: "GHSA-W32M-9786-JP63", Status: openvex.StatusNotAffected, Justification: openvex.InlineMitigationsAlreadyExist, Products: []string{xnet}, Timestamp: later, Verified: true, Source: SourceFeed}},
			pass:       true, says: "inline_mitigations_already_exist"},
		{name: "matched by ID listed as the statement's alias",
			statements: []Statement{{Vulnerability: "CVE-0000-0000", Aliases: []string{"GO-2024-3333"}, Status: openvex.StatusNotAffected, Products: []string{xnet + "@v0.32.0"}, Timestamp: later, Verified: true, Source: SourceStore}},
			pass:       true},
		{name: "unsigned not_affected is ignored",
			statements: []Statement{statement("CVE-2024-45338", openvex.StatusNotAffected, false, later, []string{xnet})},
			pass:       false, says: "1 applicable statement(s) ignored", ignored: 1},
		{name: "unsigned not_affected counts with AllowUnsigned",
			statements:    []Statement{statement("CVE-2024-45338", openvex.StatusNotAffected, false, later, []string{xnet})},
			allowUnsigned: true, pass: true, says: "unverified statement"},
		{name: "statement for another version does not apply",
			statements: []Statement{statement("CVE-2024-45338", openvex.StatusNotAffected, true, later, []string{xnet + "@v0.31.0"})},
			pass:       false},
		{name: "statement for another dependency does not apply",
			statements: []Statement{statement("CVE-2024-45338", openvex.StatusNotAffected, true, later, []string{demoProduct}, "pkg:golang/golang.org/x/text")},
			products:   release, pass: false},
		{name: "statement for another product does not apply",
			statements: []Statement{statement("CVE-2024-45338", openvex.StatusNotAffected, true, later, []string{"pkg:golang/example.com/other"}, xnet)},
			products:   release, pass: false},
		{name: "statement for another vulnerability does not apply",
			statements: []Statement{statement("CVE-2025-22870", openvex.StatusNotAffected, true, later, []string{xnet})},
			pass:       false},
		{name: "latest wins: affected after not_affected",
			statements: []Statement{
				statement("CVE-2024-45338", openvex.StatusAffected, true, later, []string{xnet}),
				statement("CVE-2024-45338", openvex.StatusNotAffected, true, earlier, []string{xnet}),
			},
			pass: false, says: "says affected"},
		{name: "latest wins: not_affected after under_investigation",
			statements: []Statement{
				statement("CVE-2024-45338", openvex.StatusNotAffected, true, later, []string{xnet}),
				statement("CVE-2024-45338", openvex.StatusUnderInvestigation, true, earlier, []string{xnet}),
			},
			pass: true},
		{name: "a later unsigned statement does not override a verified one",
			statements: []Statement{
				statement("CVE-2024-45338", openvex.StatusAffected, true, earlier, []string{xnet}),
				statement("CVE-2024-45338", openvex.StatusNotAffected, false, later, []string{xnet}),
			},
			pass: false, ignored: 1},
	}
	for _, file := range []string{"demo.vexloom.json", "demo.govulncheck.json", "demo.osv-scanner.json"} {
		fs, format, err := ReadFindings(bytes.NewReader(readFixture(t, file)))
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range tests {
			t.Run(string(format)+"/"+tt.name, func(t *testing.T) {
				res, err := Evaluate(fs, tt.statements, Options{Release: "v1.0.0", Products: tt.products, AllowUnsigned: tt.allowUnsigned, Now: now})
				if err != nil {
					t.Fatal(err)
				}
				v := verdictOf(t, res, "GO-2024-3333", "golang.org/x/net")
				if got := v.Verdict == VerdictPass; got != tt.pass {
					t.Errorf("verdict %s, want pass=%v: %s", v.Verdict, tt.pass, v.Reason)
				}
				if res.Passed() != tt.pass || (res.Err() == nil) != tt.pass {
					t.Errorf("release passed=%v err=%v, want pass=%v", res.Passed(), res.Err(), tt.pass)
				}
				if !tt.pass && !errors.Is(res.Err(), ErrFailed) {
					t.Errorf("Err() = %v, want ErrFailed", res.Err())
				}
				if !strings.Contains(v.Reason, tt.says) {
					t.Errorf("reason %q does not say %q", v.Reason, tt.says)
				}
				if len(v.Ignored) != tt.ignored {
					t.Errorf("%d ignored statements, want %d", len(v.Ignored), tt.ignored)
				}
				if v.Rule != DefaultRule {
					t.Errorf("rule %q, want the default", v.Rule)
				}
				if !tt.pass && (v.Action == "" || !strings.Contains(v.Action, "/not_affected:<justification>")) {
					t.Errorf("action %q does not say how to answer", v.Action)
				}
				// Everything below symbol level passes under the default rule.
				for _, o := range res.Findings {
					if o.Finding.Level < scan.LevelSymbol && o.Verdict != VerdictPass {
						t.Errorf("%s (%s) is %s under the default rule", o.Finding.ID, o.Finding.Level, o.Verdict)
					}
				}
				if res.Counts.Fail+res.Counts.Warn+res.Counts.Pass != len(fs) {
					t.Errorf("counts %+v do not add up to %d findings", res.Counts, len(fs))
				}
			})
		}
	}
}

func TestLinkAndFixInWhatToDo(t *testing.T) {
	fs, _, err := ReadFindings(bytes.NewReader(readFixture(t, "demo.vexloom.json")))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Evaluate(fs, nil, Options{Now: now, Link: func(f Finding) string {
		return "https://github.com/example/vexloom-demo/issues/7#" + f.ID
	}})
	if err != nil {
		t.Fatal(err)
	}
	v := verdictOf(t, res, "GO-2024-3333", "golang.org/x/net")
	if v.Link != "https://github.com/example/vexloom-demo/issues/7#GO-2024-3333" ||
		!strings.Contains(v.Action, v.Link) || !strings.Contains(v.Action, "Upgrade golang.org/x/net to v0.33.0") {
		t.Errorf("link %q, action %q", v.Link, v.Action)
	}
	if res.Findings[0].Verdict != VerdictFail {
		t.Errorf("failures are not listed first: %+v", res.Findings[0])
	}
}

func TestFromOpenVEX(t *testing.T) {
	doc := vex.NewDocument("maintainers", "vexloom", now)
	ts := now.Add(-time.Hour)
	doc.Statements = []openvex.Statement{{
		Vulnerability: openvex.Vulnerability{Name: "CVE-2024-45338", Aliases: []openvex.VulnerabilityID{"GO-2024-3333"}},
		Timestamp:     &ts,
		Products: []openvex.Product{
			{Component: openvex.Component{ID: demoProduct + "@v1.0.0"}, Subcomponents: []openvex.Subcomponent{{Component: openvex.Component{ID: "pkg:golang/golang.org%2Fx/net@0.32.0"}}}},
			{Component: openvex.Component{ID: "pkg:oci/demo@sha256:abc?repository_url=registry.example/demo"}},
		},
		Status:        openvex.StatusNotAffected,
		Justification: openvex.VulnerableCodeNotInExecutePath,
	}}
	sts := FromOpenVEX(doc, true, SourceOCI, "registry.example/demo@sha256:abc")
	if len(sts) != 2 || len(sts[0].Subcomponents) != 1 || len(sts[1].Subcomponents) != 0 || !sts[0].Timestamp.Equal(ts) {
		t.Fatalf("statements = %+v", sts)
	}
	f := Finding{ID: "GO-2024-3333", Aliases: []string{"CVE-2024-45338"}, Ecosystem: "Go", Module: "golang.org/x/net", Version: "v0.32.0", Level: scan.LevelSymbol, Product: demoProduct + "@v1.0.0"}
	res, err := Evaluate([]Finding{f}, sts, Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Passed() {
		t.Errorf("escaped purl in the subcomponent did not match: %s", res.Findings[0].Reason)
	}
	// The image statement has no subcomponent: it covers the whole image,
	// and applies to a finding of a release that ships the image (in any
	// platform: the statement names no arch).
	f.Product = ""
	res, err = Evaluate([]Finding{f}, sts[1:], Options{Now: now, Products: []string{"pkg:oci/demo@sha256:abc?arch=amd64&repository_url=registry.example/demo"}})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Passed() {
		t.Errorf("image statement did not apply: %s", res.Findings[0].Reason)
	}
	res, err = Evaluate([]Finding{f}, sts[1:], Options{Now: now, Products: []string{"pkg:oci/demo@sha256:abc?repository_url=other.example/demo"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Passed() {
		t.Errorf("image statement applied to an image of another repository")
	}
}

func TestPURLCovers(t *testing.T) {
	tests := []struct {
		statement, target string
		want              bool
	}{
		{"pkg:golang/golang.org/x/net", "pkg:golang/golang.org/x/net@v0.32.0", true},
		{"pkg:golang/golang.org/x/net@v0.32.0", "pkg:golang/golang.org/x/net@v0.32.0", true},
		{"pkg:golang/golang.org/x/net@0.32.0", "pkg:golang/golang.org/x/net@v0.32.0", true},
		{"pkg:golang/golang.org%2Fx%2Fnet@v0.32.0", "pkg:golang/golang.org/x/net@v0.32.0", true},
		{"pkg:golang/golang.org/x/net@v0.31.0", "pkg:golang/golang.org/x/net@v0.32.0", false},
		{"pkg:golang/golang.org/x/net", "pkg:golang/golang.org/x/netx@v0.32.0", false},
		{"pkg:golang/stdlib@go1.26.8", "pkg:golang/stdlib@v1.26.8", true},
		{"pkg:oci/demo@sha256:abc?repository_url=r/demo", "pkg:oci/demo@sha256:abc?arch=arm64&repository_url=r/demo", true},
		{"pkg:oci/demo@sha256:abc?arch=amd64&repository_url=r/demo", "pkg:oci/demo@sha256:abc?repository_url=r/demo", false},
		{"pkg:npm/lodash", "pkg:npm/lodash@4.17.20", true},
		{"pkg:PYPI/Django_Rest", "pkg:pypi/django-rest@1", true},
	}
	for _, tt := range tests {
		s, ok1 := purl.Parse(tt.statement)
		x, ok2 := purl.Parse(tt.target)
		if !ok1 || !ok2 {
			t.Fatalf("parse %q %q: %v %v", tt.statement, tt.target, ok1, ok2)
		}
		if got := s.Covers(x); got != tt.want {
			t.Errorf("%s covers %s = %v, want %v", tt.statement, tt.target, got, tt.want)
		}
	}
	if _, ok := purl.Parse("GO-2024-3333"); ok {
		t.Error("a non-purl parsed")
	}
}

func TestEvaluateRejectsBadReleaseProduct(t *testing.T) {
	if _, err := Evaluate(nil, nil, Options{Now: now, Products: []string{"registry.example/demo:v1"}}); err == nil {
		t.Fatal("a release product that is no purl was accepted")
	}
}
