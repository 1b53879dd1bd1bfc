package gate

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	intoto "github.com/in-toto/attestation/go/v1"
	openvex "github.com/openvex/go-vex/pkg/vex"
	"github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif"
	"google.golang.org/protobuf/encoding/protojson"
)

// demoResult is the gate over the demo's OSV-Scanner results with one
// unsigned statement and an allow rule, so every verdict and field shows.
func demoResult(t *testing.T) *Result {
	t.Helper()
	fs, _, err := ReadFindings(bytes.NewReader(readFixture(t, "demo.osv-scanner.json")))
	if err != nil {
		t.Fatal(err)
	}
	p := mustPolicy(t, `
rules:
  - name: severe-npm
    when: finding.ecosystem == "npm" && finding.severity >= 7.0
    action: warn
    reason: Severe vulnerabilities in the web UI's dependencies get a warning
`)
	forged := statement("CVE-2024-45338", openvex.StatusNotAffected, false, now.Add(-time.Hour), []string{"pkg:golang/golang.org/x/net"})
	res, err := Evaluate(fs, []Statement{forged}, Options{Release: "v1.0.0", Now: now, Policy: p})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestWriteTable(t *testing.T) {
	var b bytes.Buffer
	if err := demoResult(t).Write(&b, OutputTable); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"release gate for v1.0.0: FAIL — 1 fail, 1 warn, 2 pass; policy policy.yaml (1 rules, sha256:",
		"VERDICT", "FAIL     GO-2024-3333         CVE-2024-45338", "none, 1 unverified ignored",
		"FAIL GO-2024-3333 in golang.org/x/net (go.mod)",
		"why:  Vulnerable code of golang.org/x/net@v0.32.0 is called and no verified statement says not_affected or fixed. 1 applicable statement(s) ignored",
		"what to do: Upgrade golang.org/x/net to v0.33.0 or later. Or assess it",
		"WARN GHSA-35jh-r3h4-6jhm in lodash", "web UI's dependencies",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestWriteJSON(t *testing.T) {
	var a, b bytes.Buffer
	if err := demoResult(t).Write(&a, OutputJSON); err != nil {
		t.Fatal(err)
	}
	if err := demoResult(t).WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("the same inputs gave different JSON")
	}
	if bytes.Contains(a.Bytes(), []byte(`\u003c`)) || !bytes.Contains(a.Bytes(), []byte("<justification>")) {
		t.Error("JSON is HTML-escaped")
	}
	var got struct {
		Schema   string `json:"schema"`
		Verdict  string `json:"verdict"`
		Findings []struct {
			Verdict string `json:"verdict"`
			Rule    string `json:"rule"`
			Finding struct {
				ID       string `json:"id"`
				Level    string `json:"level"`
				Severity struct {
					Score float64 `json:"score"`
				} `json:"severity"`
			} `json:"finding"`
			Ignored []struct {
				Verified bool `json:"verified"`
			} `json:"ignored"`
		} `json:"findings"`
	}
	if err := json.Unmarshal(a.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Schema != ResultSchema || got.Verdict != "fail" || len(got.Findings) != 4 {
		t.Fatalf("JSON = %s", a.String())
	}
	first := got.Findings[0]
	if first.Verdict != "fail" || first.Finding.ID != "GO-2024-3333" || first.Finding.Level != "symbol" || len(first.Ignored) != 1 || first.Ignored[0].Verified {
		t.Errorf("first finding = %+v", first)
	}
	if got.Findings[1].Rule != "severe-npm" || got.Findings[1].Finding.Severity.Score != 7.2 {
		t.Errorf("second finding = %+v", got.Findings[1])
	}
}

func TestWriteSARIF(t *testing.T) {
	var b bytes.Buffer
	if err := demoResult(t).Write(&b, OutputSARIF); err != nil {
		t.Fatal(err)
	}
	rep, err := sarif.FromBytes(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.Validate(); err != nil {
		t.Fatalf("SARIF does not validate against the 2.1.0 schema: %v", err)
	}
	if len(rep.Runs) != 1 || len(rep.Runs[0].Results) != 4 {
		t.Fatalf("SARIF = %s", b.String())
	}
	levels := map[string]int{}
	for _, r := range rep.Runs[0].Results {
		levels[r.Level]++
	}
	if levels["error"] != 1 || levels["warning"] != 1 || levels["note"] != 2 {
		t.Errorf("levels = %v", levels)
	}
	// An empty result is valid SARIF too.
	empty, err := Evaluate(nil, nil, Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if err := empty.SARIF().Validate(); err != nil {
		t.Errorf("empty SARIF: %v", err)
	}
}

func TestAttestation(t *testing.T) {
	res := demoResult(t)
	subjects := []Subject{
		{Name: "registry.example/demo", Digest: map[string]string{"sha256": strings.Repeat("ab", 32)}},
		{Name: "demo-linux-amd64", Digest: map[string]string{"sha256": strings.Repeat("cd", 32)}},
	}
	raw, err := res.Attestation(subjects)
	if err != nil {
		t.Fatal(err)
	}
	again, err := demoResult(t).Attestation(subjects)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(raw, again) {
		t.Error("the same result gave different attestations")
	}
	var st intoto.Statement
	if err := protojson.Unmarshal(raw, &st); err != nil {
		t.Fatal(err)
	}
	if err := st.Validate(); err != nil {
		t.Fatal(err)
	}
	if st.GetPredicateType() != PredicateType || len(st.GetSubject()) != 2 || st.GetSubject()[0].GetName() != "demo-linux-amd64" {
		t.Errorf("statement = %s", raw)
	}
	pred := st.GetPredicate().AsMap()
	if pred["verdict"] != "fail" || pred["schema"] != ResultSchema || pred["release"] != "v1.0.0" {
		t.Errorf("predicate = %v", pred)
	}
	if _, err := res.Attestation(nil); err == nil {
		t.Error("an attestation without subjects was made")
	}
	if _, err := res.Attestation([]Subject{{Name: "x"}}); err == nil {
		t.Error("an attestation of a subject without digest was made")
	}
}

func TestParseOutputFormat(t *testing.T) {
	for _, s := range []string{"table", "JSON", "sarif"} {
		if _, err := ParseOutputFormat(s); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	if _, err := ParseOutputFormat("openvex"); err == nil {
		t.Error("openvex accepted as a gate output")
	}
}
