package vex

import (
	"testing"
	"time"

	openvex "github.com/openvex/go-vex/pkg/vex"
)

// Facts splits statements per product and subcomponent, keeps the latest
// statement about each, and Statements puts them back together.
func TestFactsRoundTrip(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	t1 := t0.Add(time.Hour)
	doc := NewDocument("a", "", t0)
	prod := openvex.Product{Component: openvex.Component{ID: "pkg:golang/example.com/app@v1.0.0"},
		Subcomponents: []openvex.Subcomponent{{Component: openvex.Component{ID: "pkg:golang/stdlib@v1.26.8"}}, {Component: openvex.Component{ID: "pkg:golang/golang.org/x/net@v0.35.0"}}}}
	doc.Statements = []openvex.Statement{
		{Vulnerability: openvex.Vulnerability{Name: "CVE-1"}, Timestamp: &t1, Products: []openvex.Product{prod}, Status: openvex.StatusFixed},
		// Older, about one of the same subcomponents: loses.
		{Vulnerability: openvex.Vulnerability{Name: "CVE-1"}, Timestamp: &t0, Products: []openvex.Product{{Component: prod.Component, Subcomponents: prod.Subcomponents[:1]}}, Status: openvex.StatusUnderInvestigation},
		{Vulnerability: openvex.Vulnerability{Name: "CVE-2"}, Products: []openvex.Product{{Component: prod.Component}}, Status: openvex.StatusUnderInvestigation},
	}
	facts := Facts(doc)
	if len(facts) != 3 {
		t.Fatalf("%d facts: %+v", len(facts), facts)
	}
	for _, f := range facts[:2] {
		if f.Vulnerability.Name != "CVE-1" || f.Status != openvex.StatusFixed || !f.Timestamp.Equal(t1) {
			t.Errorf("the older statement won: %+v", f)
		}
	}
	if facts[2].Subcomponent.ID != "" || !facts[2].Timestamp.Equal(t0) {
		t.Errorf("a statement without timestamp or subcomponents: %+v", facts[2])
	}
	sts := Statements(facts)
	if len(sts) != 2 || len(sts[0].Products[0].Subcomponents) != 2 || sts[0].Products[0].Subcomponents[0].ID != "pkg:golang/golang.org/x/net@v0.35.0" {
		t.Errorf("regrouped: %+v", sts)
	}
}
