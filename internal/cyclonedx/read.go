package cyclonedx

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/purl"
	"github.com/vexloom/vexloom/internal/vex"
)

// maxDepth bounds how deep components nest in a document read.
const maxDepth = 32

type placed struct {
	comp   openvex.Component
	parent *openvex.Component
}

// ToOpenVEX maps a CycloneDX BOM back to OpenVEX, the inverse of
// FromOpenVEX; it also reads other producers' VEX BOMs. A vulnerability
// with no analysis state makes no VEX claim and is skipped. A vulnerability
// affecting a bom-ref the BOM does not define, or stating a justification
// CycloneDX does not know, makes the document invalid.
func ToOpenVEX(bom *cdx.BOM) (*openvex.VEX, error) {
	var (
		ts      time.Time
		author  string
		tooling string
		id      string
		updated *time.Time
	)
	if m := bom.Metadata; m != nil {
		if m.Timestamp != "" {
			t, err := time.Parse(time.RFC3339, m.Timestamp)
			if err != nil {
				return nil, fmt.Errorf("%w: metadata timestamp %q is not an RFC 3339 time", ErrInvalid, short(m.Timestamp))
			}
			ts = t.UTC()
		}
		if m.Authors != nil && len(*m.Authors) > 0 {
			author = (*m.Authors)[0].Name
		}
		if m.Tools != nil && m.Tools.Components != nil && len(*m.Tools.Components) > 0 {
			c := (*m.Tools.Components)[0]
			tooling = strings.TrimSpace(c.Name + " " + c.Version)
		}
		if m.Properties != nil {
			for _, p := range *m.Properties {
				switch p.Name {
				case propDocumentID:
					id = p.Value
				case propLastUpdated:
					if t, err := time.Parse(time.RFC3339, p.Value); err == nil {
						t = t.UTC()
						updated = &t
					}
				}
			}
		}
	}
	if ts.IsZero() {
		return nil, fmt.Errorf("%w: no metadata timestamp", ErrInvalid)
	}
	out := vex.NewDocument(cmp.Or(author, "unknown"), tooling, ts)
	out.ID = id
	out.LastUpdated = updated
	out.Version = max(bom.Version, 1)

	index := map[string]placed{}
	var walk func(cs *[]cdx.Component, parent *openvex.Component, depth int) error
	walk = func(cs *[]cdx.Component, parent *openvex.Component, depth int) error {
		if cs == nil {
			return nil
		}
		if depth > maxDepth {
			return fmt.Errorf("%w: components nested more than %d deep", ErrInvalid, maxDepth)
		}
		for i := range *cs {
			c := &(*cs)[i]
			oc, err := readComponent(*c, parent)
			if err != nil {
				return err
			}
			if c.BOMRef != "" {
				if _, dup := index[c.BOMRef]; dup {
					return fmt.Errorf("%w: bom-ref %q is defined twice", ErrInvalid, short(c.BOMRef))
				}
				index[c.BOMRef] = placed{comp: oc, parent: parent}
			}
			if err := walk(c.Components, &oc, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if bom.Metadata != nil && bom.Metadata.Component != nil {
		mc := []cdx.Component{*bom.Metadata.Component}
		if err := walk(&mc, nil, 0); err != nil {
			return nil, err
		}
	}
	if err := walk(bom.Components, nil, 0); err != nil {
		return nil, err
	}

	var facts []vex.Fact
	if bom.Vulnerabilities != nil {
		for i, v := range *bom.Vulnerabilities {
			fs, err := vulnerabilityFacts(v, index, ts)
			if err != nil {
				return nil, fmt.Errorf("%w: vulnerability %d (%s): %v", ErrInvalid, i+1, short(v.ID), err)
			}
			facts = append(facts, fs...)
		}
	}
	out.Statements = vex.Statements(facts)
	if err := vex.Finalize(out); err != nil {
		return nil, err
	}
	return out, nil
}

// readComponent reads a CycloneDX component's identity. Its @id is what
// FromOpenVEX wrote as its bom-ref (the part after the product's, for a
// nested component) when that is an identifier; else its purl, CPE or name.
func readComponent(c cdx.Component, parent *openvex.Component) (openvex.Component, error) {
	var oc openvex.Component
	ids, err := vex.Identifiers(c.PackageURL, c.CPE)
	if err != nil {
		return oc, fmt.Errorf("%w: component %q: %v", ErrInvalid, short(c.BOMRef), err)
	}
	oc.Identifiers = ids
	if c.Hashes != nil {
		for _, h := range *c.Hashes {
			for alg, ca := range hashToCDX {
				if ca == h.Algorithm && h.Value != "" {
					if oc.Hashes == nil {
						oc.Hashes = map[openvex.Algorithm]openvex.Hash{}
					}
					oc.Hashes[alg] = openvex.Hash(strings.ToLower(h.Value))
				}
			}
		}
	}
	ref := c.BOMRef
	if parent != nil {
		if _, after, ok := strings.Cut(ref, refSeparator); ok {
			ref = after
		}
	}
	switch {
	case purl.Is(ref):
		p, err := purl.Normalize(ref)
		if err != nil {
			return oc, fmt.Errorf("%w: component %q: %v", ErrInvalid, short(c.BOMRef), err)
		}
		oc.ID = p
	case strings.HasPrefix(ref, "cpe:") || strings.HasPrefix(ref, "urn:") || strings.HasPrefix(ref, "https://"):
		oc.ID = ref
	default:
		oc.ID = cmp.Or(oc.Identifiers[openvex.PURL], c.CPE, c.Name)
	}
	if oc.ID == "" {
		return oc, fmt.Errorf("%w: component %q has no purl, CPE or name", ErrInvalid, short(c.BOMRef))
	}
	return oc, nil
}

func vulnerabilityFacts(v cdx.Vulnerability, index map[string]placed, docTime time.Time) ([]vex.Fact, error) {
	a := v.Analysis
	if a == nil || a.State == "" {
		return nil, nil
	}
	if v.ID == "" {
		return nil, fmt.Errorf("no id")
	}
	ov := openvex.Vulnerability{Name: openvex.VulnerabilityID(v.ID), Description: v.Description}
	if v.Source != nil && (strings.HasPrefix(v.Source.URL, "https://") || strings.HasPrefix(v.Source.URL, "http://")) {
		ov.ID = v.Source.URL
	}
	if v.References != nil {
		for _, r := range *v.References {
			if r.ID != "" && r.ID != v.ID && !slices.Contains(ov.Aliases, openvex.VulnerabilityID(r.ID)) {
				ov.Aliases = append(ov.Aliases, openvex.VulnerabilityID(r.ID))
			}
		}
	}
	f := vex.Fact{Vulnerability: ov, ImpactStatement: a.Detail, Timestamp: docTime}
	if a.LastUpdated != "" {
		t, err := time.Parse(time.RFC3339, a.LastUpdated)
		if err != nil {
			return nil, fmt.Errorf("lastUpdated %q is not an RFC 3339 time", short(a.LastUpdated))
		}
		f.Timestamp = t.UTC()
	}
	if v.Properties != nil {
		for _, p := range *v.Properties {
			if p.Name == propStatusNotes {
				f.StatusNotes = p.Value
			}
		}
	}
	switch a.State {
	case cdx.IASNotAffected, cdx.IASFalsePositive:
		f.Status = openvex.StatusNotAffected
		if a.Justification != "" {
			j, ok := fromCDX[a.Justification]
			if !ok {
				return nil, fmt.Errorf("justification %q is not CycloneDX's", short(string(a.Justification)))
			}
			f.Justification = j
		}
		if a.State == cdx.IASFalsePositive {
			f.ImpactStatement = strings.TrimSpace("Reported as a false positive. " + a.Detail)
		}
		if f.Justification == "" && f.ImpactStatement == "" {
			f.ImpactStatement = "The CycloneDX analysis gives no justification."
		}
	case cdx.IASExploitable:
		f.Status = openvex.StatusAffected
		f.ImpactStatement = ""
		f.ActionStatement = cmp.Or(v.Recommendation, v.Workaround)
		if f.ActionStatement == "" && a.Response != nil && len(*a.Response) > 0 {
			var rs []string
			for _, r := range *a.Response {
				rs = append(rs, string(r))
			}
			f.ActionStatement = "Response: " + strings.Join(rs, ", ") + "."
		}
		if f.ActionStatement == "" {
			f.ActionStatement = "The CycloneDX analysis gives no recommendation."
		}
	case cdx.IASResolved, cdx.IASResolvedWithPedigree:
		f.Status = openvex.StatusFixed
	case cdx.IASInTriage:
		f.Status = openvex.StatusUnderInvestigation
	default:
		return nil, fmt.Errorf("analysis state %q is not CycloneDX's", short(string(a.State)))
	}
	if f.Status != openvex.StatusNotAffected && f.Status != openvex.StatusAffected && a.Detail != "" && f.StatusNotes == "" {
		f.StatusNotes = a.Detail
	}
	if f.Status != openvex.StatusNotAffected {
		f.ImpactStatement = ""
	}
	if v.Affects == nil || len(*v.Affects) == 0 {
		return nil, fmt.Errorf("an analysis that affects nothing")
	}
	var out []vex.Fact
	for _, af := range *v.Affects {
		p, ok := index[af.Ref]
		if !ok {
			return nil, fmt.Errorf("affects %q, which the BOM does not define", short(af.Ref))
		}
		g := f
		if p.parent != nil {
			g.Product, g.Subcomponent = *p.parent, p.comp
		} else {
			g.Product = p.comp
		}
		out = append(out, g)
	}
	return out, nil
}
