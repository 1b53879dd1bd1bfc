package vex

import (
	"testing"
	"time"

	openvex "github.com/openvex/go-vex/pkg/vex"
)

func TestNewStatement(t *testing.T) {
	ts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	v := Vulnerability{ID: "GO-2024-3333", Aliases: []string{"CVE-2024-45338", "GHSA-w32m-9786-jp63"}}.OpenVEX()
	p := Product(openvex.Component{ID: "pkg:golang/example.com/demo@v1.0.0"}, "pkg:golang/golang.org/x/net@v0.32.0")
	st := NewStatement(v, []openvex.Product{p}, Assertion{Status: openvex.StatusAffected, Timestamp: &ts})
	if err := st.Validate(); err != nil {
		t.Fatalf("affected without action: %v", err)
	}
	if st.ActionStatement != openvex.NoActionStatementMsg || st.Vulnerability.Name != "CVE-2024-45338" ||
		st.Products[0].Subcomponents[0].ID != "pkg:golang/golang.org/x/net@v0.32.0" || !st.Timestamp.Equal(ts) {
		t.Errorf("statement %+v", st)
	}
	st = NewStatement(v, []openvex.Product{p}, Assertion{Status: openvex.StatusNotAffected,
		Justification: openvex.VulnerableCodeNotInExecutePath, Impact: "not called", Notes: "n"})
	if err := st.Validate(); err != nil || st.ImpactStatement != "not called" || st.StatusNotes != "n" || st.ActionStatement != "" {
		t.Errorf("not_affected: %+v, %v", st, err)
	}
}
