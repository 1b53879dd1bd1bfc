package vex

import (
	"testing"

	openvex "github.com/openvex/go-vex/pkg/vex"
)

// The format table names every OpenVEX status and justification once, and
// no word of the other formats stands for two.
func TestFormatTableIsComplete(t *testing.T) {
	t.Parallel()
	statuses := map[openvex.Status]bool{}
	csaf, cdx := map[string]bool{}, map[string]bool{}
	for _, m := range Statuses {
		if statuses[m.Status] || csaf[m.CSAF] || cdx[m.CycloneDX] || m.CSAF == "" || m.CycloneDX == "" {
			t.Errorf("status mapping %+v repeats or leaves out a word", m)
		}
		statuses[m.Status], csaf[m.CSAF], cdx[m.CycloneDX] = true, true, true
		if got, ok := StatusOf(m.Status); !ok || got.CSAF != m.CSAF {
			t.Errorf("StatusOf(%s) = %+v, %v", m.Status, got, ok)
		}
	}
	for _, s := range openvex.Statuses() {
		if !statuses[openvex.Status(s)] {
			t.Errorf("status %s has no mapping", s)
		}
	}
	if _, ok := StatusOf("exploitable"); ok {
		t.Error("StatusOf took a CycloneDX state for an OpenVEX status")
	}
	justs := map[openvex.Justification]bool{}
	cdxJ := map[string]bool{}
	for _, m := range Justifications {
		if justs[m.Justification] || !m.Justification.Valid() || m.CSAF != string(m.Justification) {
			t.Errorf("justification mapping %+v", m)
		}
		justs[m.Justification] = true
		for _, c := range append([]string{m.CycloneDX}, m.CycloneDXAlso...) {
			if cdxJ[c] || c == "" {
				t.Errorf("CycloneDX justification %q read as two OpenVEX ones", c)
			}
			cdxJ[c] = true
		}
		if got, ok := JustificationByCSAF(m.CSAF); !ok || got.Justification != m.Justification {
			t.Errorf("JustificationByCSAF(%s) = %+v, %v", m.CSAF, got, ok)
		}
	}
	for _, j := range openvex.Justifications() {
		if !justs[openvex.Justification(j)] {
			t.Errorf("justification %s has no mapping", j)
		}
	}
	for _, bad := range []string{"", "code_not_present", "COMPONENT_NOT_PRESENT"} {
		if _, ok := JustificationByCSAF(bad); ok {
			t.Errorf("JustificationByCSAF(%q) took a label that is no OpenVEX justification", bad)
		}
	}
}
