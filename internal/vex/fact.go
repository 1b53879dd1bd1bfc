package vex

import (
	"cmp"
	"slices"
	"strings"
	"time"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/purl"
)

// A Fact is what one statement says about one product: the unit that the
// other VEX formats (CSAF, CycloneDX) carry, and the unit in which two
// documents in different formats are compared.
type Fact struct {
	Vulnerability openvex.Vulnerability
	// Product is the product the statement is about.
	Product openvex.Component
	// Subcomponent is the product's vulnerable component the statement is
	// about; the zero value when it names none.
	Subcomponent  openvex.Component
	Status        openvex.Status
	Justification openvex.Justification
	// ImpactStatement, ActionStatement and StatusNotes are the statement's
	// texts.
	ImpactStatement string
	ActionStatement string
	StatusNotes     string
	// Timestamp is the statement's time (the document's when it has none).
	Timestamp time.Time
}

// ComponentKey names a component by its strongest identifier: its @id, else
// its package URL, CPE or first hash. It is "" for a component with none.
func ComponentKey(c openvex.Component) string {
	switch {
	case c.ID != "":
		return c.ID
	case c.Identifiers[openvex.PURL] != "":
		return c.Identifiers[openvex.PURL]
	case c.Identifiers[openvex.CPE23] != "":
		return c.Identifiers[openvex.CPE23]
	case c.Identifiers[openvex.CPE22] != "":
		return c.Identifiers[openvex.CPE22]
	}
	algs := make([]string, 0, len(c.Hashes))
	for a := range c.Hashes {
		algs = append(algs, string(a))
	}
	slices.Sort(algs)
	if len(algs) > 0 {
		return algs[0] + ":" + string(c.Hashes[openvex.Algorithm(algs[0])])
	}
	return ""
}

// Key identifies the fact's vulnerability, product and subcomponent.
func (f Fact) Key() string {
	return string(f.Vulnerability.Name) + "\x00" + ComponentKey(f.Product) + "\x00" + ComponentKey(f.Subcomponent)
}

// Facts breaks a document into one fact per statement, product and
// subcomponent (a product with two subcomponents says the same of each). Where
// several statements speak of the same vulnerability and product, the
// latest one wins (ties go to the one later in the document), as OpenVEX
// readers decide. The facts come sorted by vulnerability, product and
// subcomponent.
func Facts(doc *openvex.VEX) []Fact {
	var docTime time.Time
	if doc.Timestamp != nil {
		docTime = doc.Timestamp.UTC()
	}
	byKey := map[string]Fact{}
	for _, st := range doc.Statements {
		ts := docTime
		if st.Timestamp != nil {
			ts = st.Timestamp.UTC()
		}
		if st.LastUpdated != nil && st.LastUpdated.After(ts) {
			ts = st.LastUpdated.UTC()
		}
		for _, p := range st.Products {
			subs := []openvex.Component{{}}
			if len(p.Subcomponents) > 0 {
				subs = subs[:0]
				for _, s := range p.Subcomponents {
					subs = append(subs, s.Component)
				}
			}
			for _, sub := range subs {
				f := Fact{
					Vulnerability:   st.Vulnerability,
					Product:         p.Component,
					Subcomponent:    sub,
					Status:          st.Status,
					Justification:   st.Justification,
					ImpactStatement: st.ImpactStatement,
					ActionStatement: st.ActionStatement,
					StatusNotes:     st.StatusNotes,
					Timestamp:       ts,
				}
				k := f.Key()
				if old, ok := byKey[k]; ok && old.Timestamp.After(ts) {
					continue
				}
				byKey[k] = f
			}
		}
	}
	out := make([]Fact, 0, len(byKey))
	for _, f := range byKey {
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b Fact) int { return cmp.Compare(a.Key(), b.Key()) })
	return out
}

// Statements turns facts back into statements: the facts about one
// vulnerability and product that say the same thing at the same time become
// one statement, their subcomponents together. The statements are valid
// OpenVEX when the facts are; Finalize orders them.
func Statements(facts []Fact) []openvex.Statement {
	type group struct {
		st   openvex.Statement
		subs []openvex.Subcomponent
	}
	var order []string
	groups := map[string]*group{}
	for _, f := range facts {
		k := strings.Join([]string{string(f.Vulnerability.Name), ComponentKey(f.Product), string(f.Status),
			string(f.Justification), f.ImpactStatement, f.ActionStatement, f.StatusNotes, f.Timestamp.UTC().Format(time.RFC3339Nano)}, "\x00")
		g, ok := groups[k]
		if !ok {
			ts := f.Timestamp.UTC()
			g = &group{st: NewStatement(f.Vulnerability, []openvex.Product{Product(f.Product)}, Assertion{
				Status: f.Status, Justification: f.Justification, Impact: f.ImpactStatement, Action: f.ActionStatement,
				Notes: f.StatusNotes, Timestamp: &ts,
			})}
			groups[k] = g
			order = append(order, k)
		}
		if ComponentKey(f.Subcomponent) != "" {
			g.subs = append(g.subs, openvex.Subcomponent{Component: f.Subcomponent})
		}
	}
	out := make([]openvex.Statement, 0, len(order))
	for _, k := range order {
		g := groups[k]
		slices.SortFunc(g.subs, func(a, b openvex.Subcomponent) int {
			return strings.Compare(ComponentKey(a.Component), ComponentKey(b.Component))
		})
		g.st.Products[0].Subcomponents = g.subs
		out = append(out, g.st)
	}
	return out
}

// String spells out everything the fact says, in a canonical order: two
// facts read from documents in different formats say the same when their
// strings are equal. A component's @id that is a package URL counts as its
// purl identifier too, and aliases are sorted.
func (f Fact) String() string {
	v := f.Vulnerability
	aliases := make([]string, 0, len(v.Aliases))
	for _, a := range v.Aliases {
		aliases = append(aliases, string(a))
	}
	slices.Sort(aliases)
	return strings.Join([]string{
		"vulnerability=" + string(v.Name), "@id=" + v.ID, "aliases=" + strings.Join(aliases, ","), "description=" + v.Description,
		"product=" + componentString(f.Product), "subcomponent=" + componentString(f.Subcomponent),
		"status=" + string(f.Status), "justification=" + string(f.Justification),
		"impact=" + f.ImpactStatement, "action=" + f.ActionStatement, "notes=" + f.StatusNotes,
		"time=" + f.Timestamp.UTC().Format(time.RFC3339),
	}, "\n")
}

func componentString(c openvex.Component) string {
	pu := c.Identifiers[openvex.PURL]
	if pu == "" && purl.Is(c.ID) {
		pu = c.ID
	}
	parts := []string{c.ID, "purl:" + pu, "cpe:" + cmp.Or(c.Identifiers[openvex.CPE23], c.Identifiers[openvex.CPE22])}
	var hs []string
	for a, h := range c.Hashes {
		hs = append(hs, string(a)+":"+string(h))
	}
	slices.Sort(hs)
	return strings.Join(append(parts, hs...), " ")
}
