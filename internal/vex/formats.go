package vex

import (
	"cmp"
	"strings"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/osv"
	"github.com/vexloom/vexloom/internal/purl"
)

// How OpenVEX's words are written in the other VEX formats vexloom
// converts to and from (internal/csaf, internal/cyclonedx): one table for
// both, which their MAPPING.md files describe.

// StatusMapping names an OpenVEX status in CSAF 2.0 and CycloneDX 1.6.
type StatusMapping struct {
	Status openvex.Status
	// CSAF is the product_status list a product with the status is in.
	CSAF string
	// CycloneDX is the analysis state.
	CycloneDX string
}

// Statuses are the four OpenVEX statuses, in OpenVEX's order.
var Statuses = []StatusMapping{
	{openvex.StatusNotAffected, "known_not_affected", "not_affected"},
	{openvex.StatusAffected, "known_affected", "exploitable"},
	{openvex.StatusFixed, "fixed", "resolved"},
	{openvex.StatusUnderInvestigation, "under_investigation", "in_triage"},
}

// JustificationMapping names an OpenVEX justification in CSAF 2.0 (a
// flag's label) and CycloneDX 1.6 (an analysis justification).
type JustificationMapping struct {
	Justification openvex.Justification
	// CSAF is the flag label: the same words as OpenVEX's.
	CSAF string
	// CycloneDX is the justification written; CycloneDXAlso are the
	// CycloneDX justifications, finer than OpenVEX's, read back as it.
	CycloneDX     string
	CycloneDXAlso []string
}

// Justifications are the five OpenVEX justifications.
var Justifications = []JustificationMapping{
	{openvex.ComponentNotPresent, string(openvex.ComponentNotPresent), "requires_dependency", nil},
	{openvex.VulnerableCodeNotPresent, string(openvex.VulnerableCodeNotPresent), "code_not_present", nil},
	{openvex.VulnerableCodeNotInExecutePath, string(openvex.VulnerableCodeNotInExecutePath), "code_not_reachable", nil},
	{openvex.VulnerableCodeCannotBeControlledByAdversary, string(openvex.VulnerableCodeCannotBeControlledByAdversary), "requires_environment", []string{"requires_configuration"}},
	{openvex.InlineMitigationsAlreadyExist, string(openvex.InlineMitigationsAlreadyExist), "protected_by_mitigating_control", []string{"protected_by_compiler", "protected_at_runtime", "protected_at_perimeter"}},
}

// MergeComponent adds what b knows of a component (its @id, identifiers
// and hashes) to what a knows, a's winning where both know.
func MergeComponent(a, b openvex.Component) openvex.Component {
	if a.ID == "" {
		a.ID = b.ID
	}
	for t, v := range b.Identifiers {
		if a.Identifiers == nil {
			a.Identifiers = map[openvex.IdentifierType]string{}
		}
		if a.Identifiers[t] == "" {
			a.Identifiers[t] = v
		}
	}
	for alg, h := range b.Hashes {
		if a.Hashes == nil {
			a.Hashes = map[openvex.Algorithm]openvex.Hash{}
		}
		if a.Hashes[alg] == "" {
			a.Hashes[alg] = h
		}
	}
	return a
}

// ComponentPURL is a component's package URL: its purl identifier, else its
// @id when that is one.
func ComponentPURL(c openvex.Component) string {
	if p := c.Identifiers[openvex.PURL]; p != "" {
		return p
	}
	if purl.Is(c.ID) {
		return c.ID
	}
	return ""
}

// ComponentCPE is a component's CPE: its cpe23 identifier, else its cpe22.
func ComponentCPE(c openvex.Component) string {
	return cmp.Or(c.Identifiers[openvex.CPE23], c.Identifiers[openvex.CPE22])
}

// Identifiers are a component's identifiers as another format gives them:
// the package URL (normalised; an error when it is none) and the CPE (2.3
// or 2.2 by its prefix). Nil when there are neither.
func Identifiers(pu, cpe string) (map[openvex.IdentifierType]string, error) {
	var ids map[openvex.IdentifierType]string
	if pu != "" {
		n, err := purl.Normalize(pu)
		if err != nil {
			return nil, err
		}
		ids = map[openvex.IdentifierType]string{openvex.PURL: n}
	}
	if cpe != "" {
		if ids == nil {
			ids = map[openvex.IdentifierType]string{}
		}
		if strings.HasPrefix(cpe, "cpe:2.3:") {
			ids[openvex.CPE23] = cpe
		} else {
			ids[openvex.CPE22] = cpe
		}
	}
	return ids, nil
}

// StatusOf is the mapping of status; ok is false for no OpenVEX status.
func StatusOf(status openvex.Status) (m StatusMapping, ok bool) {
	for _, m := range Statuses {
		if m.Status == status {
			return m, true
		}
	}
	return StatusMapping{}, false
}

// JustificationByCSAF is the justification of a CSAF flag label; ok is
// false for a label that is none.
func JustificationByCSAF(label string) (m JustificationMapping, ok bool) {
	for _, m := range Justifications {
		if m.CSAF == label {
			return m, true
		}
	}
	return JustificationMapping{}, false
}

// JustificationOf is the mapping of j; ok is false for no OpenVEX
// justification.
func JustificationOf(j openvex.Justification) (m JustificationMapping, ok bool) {
	for _, m := range Justifications {
		if m.Justification == j {
			return m, true
		}
	}
	return JustificationMapping{}, false
}

// IDSource is where a vulnerability ID is from, as the other formats name
// it: CSAF's system name of an ID, CycloneDX's source name and URL.
type IDSource struct {
	CSAF, CycloneDX, URL string
}

// SourceOfID tells where a vulnerability ID is from by its prefix: the CVE
// list, the Go vulnerability database, GitHub's advisories, else the
// database its prefix names (the prefix itself; "ID" and "unknown" when it
// has none) with no URL.
func SourceOfID(id string) IDSource {
	switch {
	case osv.IsCVE(id):
		return IDSource{"CVE", "NVD", "https://nvd.nist.gov/vuln/detail/" + id}
	case strings.HasPrefix(id, "GO-"):
		return IDSource{"Go Vulnerability Database", "Go Vulnerability Database", "https://pkg.go.dev/vuln/" + id}
	case strings.HasPrefix(id, "GHSA-"):
		return IDSource{"GitHub Security Advisories", "GitHub Advisories", "https://github.com/advisories/" + id}
	}
	if i := strings.IndexByte(id, '-'); i > 0 {
		return IDSource{id[:i], id[:i], ""}
	}
	return IDSource{"ID", "unknown", ""}
}
