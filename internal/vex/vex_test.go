package vex

import (
	"errors"
	"strings"
	"testing"
	"time"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/purl"
)

func TestVulnerabilityNameIsCVE(t *testing.T) {
	v := Vulnerability{ID: "GO-2025-3503", Aliases: []string{"GHSA-qxp5-gwg8-xv66", "CVE-2025-22870"}}.OpenVEX()
	if v.Name != "CVE-2025-22870" {
		t.Errorf("name = %s", v.Name)
	}
	if len(v.Aliases) != 2 || v.Aliases[0] != "GHSA-qxp5-gwg8-xv66" || v.Aliases[1] != "GO-2025-3503" {
		t.Errorf("aliases = %v", v.Aliases)
	}
	if v.ID != "https://pkg.go.dev/vuln/GO-2025-3503" {
		t.Errorf("@id = %s", v.ID)
	}
	// go-vex matches a statement on any alias.
	for _, id := range []string{"GO-2025-3503", "CVE-2025-22870", "GHSA-qxp5-gwg8-xv66"} {
		if !v.Matches(id) {
			t.Errorf("does not match %s", id)
		}
	}
	noCVE := Vulnerability{ID: "GO-2020-0001"}.OpenVEX()
	if noCVE.Name != "GO-2020-0001" || len(noCVE.Aliases) != 0 {
		t.Errorf("%+v", noCVE)
	}
}

func sampleDoc() *openvex.VEX {
	ts := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	doc := NewDocument("Kubernetes SRC <security@example.com>", "vexloom test", ts)
	product := openvex.Product{
		Component:     openvex.Component{ID: purl.Go("example.com/demo", "v1.0.0")},
		Subcomponents: []openvex.Subcomponent{{Component: openvex.Component{ID: purl.Go("golang.org/x/net", "v0.32.0")}}},
	}
	doc.Statements = append(doc.Statements,
		openvex.Statement{Vulnerability: Vulnerability{ID: "GO-2024-3333", Aliases: []string{"CVE-2024-45338"}}.OpenVEX(), Products: []openvex.Product{product}, Status: openvex.StatusUnderInvestigation, Timestamp: &ts},
		openvex.Statement{Vulnerability: Vulnerability{ID: "GO-2020-0017", Aliases: []string{"CVE-2020-26160"}}.OpenVEX(), Products: []openvex.Product{product}, Status: openvex.StatusNotAffected, Justification: openvex.VulnerableCodeNotInExecutePath, ImpactStatement: "a < b && c > d", Timestamp: &ts},
	)
	return doc
}

func TestFinalizeAndMarshalAreDeterministic(t *testing.T) {
	a, b := sampleDoc(), sampleDoc()
	b.Statements[0], b.Statements[1] = b.Statements[1], b.Statements[0]
	if err := Finalize(a); err != nil {
		t.Fatal(err)
	}
	if err := Finalize(b); err != nil {
		t.Fatal(err)
	}
	ja, _ := Marshal(a)
	jb, _ := Marshal(b)
	if string(ja) != string(jb) {
		t.Fatalf("statement order leaks into the output:\n%s\n%s", ja, jb)
	}
	if !strings.Contains(string(ja), "a < b && c > d") || !strings.Contains(string(ja), "<security@example.com>") {
		t.Errorf("HTML-escaped output:\n%s", ja)
	}
	if !strings.HasPrefix(a.ID, openvex.PublicNamespace+"/public/vex-") {
		t.Errorf("@id = %s", a.ID)
	}
	if a.Statements[0].Vulnerability.Name != "CVE-2020-26160" {
		t.Errorf("statements not sorted by name: %s first", a.Statements[0].Vulnerability.Name)
	}
	// go-vex reads what we wrote, and every statement validates.
	back, err := Parse(ja)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Statements) != 2 {
		t.Fatalf("%d statements back", len(back.Statements))
	}
	if back.Statements[0].Products[0].Subcomponents[0].ID != "pkg:golang/golang.org/x/net@v0.32.0" {
		t.Errorf("subcomponent = %s", back.Statements[0].Products[0].Subcomponents[0].ID)
	}
}

func TestFinalizeRejectsInvalidStatements(t *testing.T) {
	doc := sampleDoc()
	doc.Statements[0].Status = openvex.StatusAffected // no action statement
	if err := Finalize(doc); !errors.Is(err, ErrInvalid) {
		t.Errorf("affected without action statement: %v", err)
	}
}

func TestParseRejectsHostileDocuments(t *testing.T) {
	cases := map[string]string{
		"empty":              ``,
		"array":              `[]`,
		"not openvex":        `{"@context":"https://example.com","statements":[]}`,
		"truncated":          `{"@context":"https://openvex.dev/ns/v0.2.0","statements":[`,
		"bad status":         `{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":{"name":"CVE-1"},"products":[{"@id":"pkg:golang/x@v1.0.0"}],"status":"fine"}]}`,
		"affected no action": `{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":{"name":"CVE-1"},"products":[{"@id":"pkg:golang/x@v1.0.0"}],"status":"affected"}]}`,
		"no products":        `{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":{"name":"CVE-1"},"status":"fixed"}]}`,
		"no vuln":            `{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"products":[{"@id":"pkg:golang/x@v1.0.0"}],"status":"fixed"}]}`,
		"bad purl":           `{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":{"name":"CVE-1"},"products":[{"@id":"pkg:"}],"status":"fixed"}]}`,
		"empty product":      `{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":{"name":"CVE-1"},"products":[{}],"status":"fixed"}]}`,
	}
	for name, in := range cases {
		if _, err := Parse([]byte(in)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
	big := make([]byte, MaxDocumentSize+1)
	if _, err := Parse(big); !errors.Is(err, ErrInvalid) {
		t.Errorf("oversized: %v", err)
	}
}

func TestParseNormalizesOtherToolsPURLs(t *testing.T) {
	in := `{"@context":"https://openvex.dev/ns/v0.2.0","@id":"x","author":"a","timestamp":"2026-01-01T00:00:00Z","version":1,"statements":[{"vulnerability":{"name":"CVE-2024-45338"},"products":[{"@id":"pkg:golang/example.com%2Fdemo@1.0.0","subcomponents":[{"@id":"pkg:golang/golang.org%2Fx%2Fnet@0.32.0"}]}],"status":"not_affected","justification":"vulnerable_code_not_present"}]}`
	doc, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	p := doc.Statements[0].Products[0]
	if p.ID != "pkg:golang/example.com/demo@v1.0.0" || p.Subcomponents[0].ID != "pkg:golang/golang.org/x/net@v0.32.0" {
		t.Errorf("not normalised: %s %s", p.ID, p.Subcomponents[0].ID)
	}
}

func FuzzParse(f *testing.F) {
	doc := sampleDoc()
	Finalize(doc)
	b, _ := Marshal(doc)
	f.Add(b)
	f.Add([]byte(`{"@context":"https://openvex.dev/ns","statements":[{"vulnerability":{"name":"x"},"products":[{"@id":"pkg:golang/a%2Fb@1"}],"status":"fixed"}]}`))
	f.Add([]byte(`{"@context":"https://openvex.dev/ns/v0.0.1","statements":[{}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := Parse(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		for _, st := range doc.Statements {
			if err := st.Validate(); err != nil {
				t.Fatalf("accepted an invalid statement: %v", err)
			}
		}
		if _, err := Marshal(doc); err != nil {
			t.Fatalf("cannot re-encode an accepted document: %v", err)
		}
	})
}
