package gate

import (
	"slices"
	"strings"
	"time"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/purl"
)

// Source says where a statement came from.
type Source string

// Sources.
const (
	SourceFile  Source = "file"
	SourceOCI   Source = "oci"
	SourceFeed  Source = "feed"
	SourceStore Source = "store"
)

// Statement is a VEX statement as the gate weighs it: already loaded, and
// already checked by the caller against the configured keys or identities
// (Verified).
type Statement struct {
	// Vulnerability is the statement's vulnerability name; Aliases its
	// other IDs. The statement is about a finding when any of them is the
	// finding's ID or one of its aliases.
	Vulnerability string   `json:"vulnerability"`
	Aliases       []string `json:"aliases,omitempty"`
	// Products are the package URLs the statement is about; Subcomponents
	// the package URLs of the dependencies inside them it is about (none:
	// the whole product). Convert one OpenVEX statement into one Statement
	// per product (as FromOpenVEX does) to keep each product's own
	// subcomponents.
	Products      []string `json:"products"`
	Subcomponents []string `json:"subcomponents,omitempty"`
	// Status and Justification are OpenVEX's.
	Status        openvex.Status        `json:"status"`
	Justification openvex.Justification `json:"justification,omitempty"`
	// ActionStatement says what to do when the status is affected.
	ActionStatement string `json:"action_statement,omitempty"`
	// Timestamp is when the statement was made: the latest applicable
	// statement wins.
	Timestamp time.Time `json:"timestamp"`
	// Verified says the statement's signature verified against the
	// configured keys or identities for its product's own artifact: the
	// bundle's subjects include the image platform's or binary's digest,
	// or the release commit for the module product (attest.Verify). A
	// statement signed for another artifact is not verified.
	Verified bool `json:"verified"`
	// Source is the kind of place it came from; Origin names the place (a
	// file, an image reference, a feed URL, a store digest).
	Source Source `json:"source"`
	Origin string `json:"origin,omitempty"`
}

// FromOpenVEX converts an OpenVEX document into statements, one per
// statement and product, each with that product's subcomponents. A
// statement without a timestamp takes the document's.
func FromOpenVEX(doc *openvex.VEX, verified bool, source Source, origin string) []Statement {
	var out []Statement
	for _, st := range doc.Statements {
		ts := time.Time{}
		switch {
		case st.Timestamp != nil:
			ts = *st.Timestamp
		case doc.Timestamp != nil:
			ts = *doc.Timestamp
		}
		name := string(st.Vulnerability.Name)
		var aliases []string
		for _, a := range st.Vulnerability.Aliases {
			aliases = append(aliases, string(a))
		}
		if st.Vulnerability.ID != "" && st.Vulnerability.ID != name {
			aliases = append(aliases, st.Vulnerability.ID)
		}
		for _, p := range st.Products {
			s := Statement{
				Vulnerability:   name,
				Aliases:         aliases,
				Status:          st.Status,
				Justification:   st.Justification,
				ActionStatement: st.ActionStatement,
				Timestamp:       ts.UTC(),
				Verified:        verified,
				Source:          source,
				Origin:          origin,
			}
			s.Products = append(s.Products, componentIDs(p.Component)...)
			for _, sub := range p.Subcomponents {
				s.Subcomponents = append(s.Subcomponents, componentIDs(sub.Component)...)
			}
			out = append(out, s)
		}
	}
	return out
}

// componentIDs lists the package URLs a component is known by.
func componentIDs(c openvex.Component) []string {
	var ids []string
	if c.ID != "" {
		ids = append(ids, c.ID)
	}
	for _, v := range c.Identifiers {
		if purl.Is(v) && !slices.Contains(ids, v) {
			ids = append(ids, v)
		}
	}
	return ids
}

// names returns every ID the statement is known by.
func (s *Statement) names() []string {
	return append([]string{s.Vulnerability}, s.Aliases...)
}

// about reports whether the statement names the finding's vulnerability:
// any of its IDs equals the finding's ID or one of its aliases (letter case
// aside, as CVE and GHSA IDs are written either way).
func (s *Statement) about(f *Finding) bool {
	for _, n := range s.names() {
		if n == "" {
			continue
		}
		if strings.EqualFold(n, f.ID) {
			return true
		}
		for _, a := range f.Aliases {
			if strings.EqualFold(n, a) {
				return true
			}
		}
	}
	return false
}

// scope is what a finding can be matched against: the package URL of its
// vulnerable dependency and those of the products it belongs to.
type scope struct {
	dependency purl.PURL
	hasDep     bool
	products   []purl.PURL
}

func findingScope(f *Finding, release []purl.PURL) scope {
	var sc scope
	sc.dependency, sc.hasDep = purl.Parse(f.DependencyPURL())
	if p, ok := purl.Parse(f.Product); ok {
		sc.products = append(sc.products, p)
	}
	sc.products = append(sc.products, release...)
	return sc
}

// covers reports whether the statement's products and subcomponents reach
// the finding. It does when one of its products
//
//   - is the vulnerable dependency itself (a statement about
//     pkg:golang/golang.org/x/net@v0.32.0, or about every version of it
//     when the purl has none), or
//   - is the finding's product or one of the release's products, and
//     either the statement has no subcomponents (it is about the whole
//     product) or one of its subcomponents is the vulnerable dependency.
//
// Package URLs are compared as purl.PURL.Covers says: a version in the
// statement must match, a statement without a version covers every one.
func (s *Statement) covers(sc scope) bool {
	for _, raw := range s.Products {
		sp, ok := purl.Parse(raw)
		if !ok {
			continue
		}
		if sc.hasDep && sp.Covers(sc.dependency) {
			return true
		}
		for _, p := range sc.products {
			if !sp.Covers(p) {
				continue
			}
			if len(s.Subcomponents) == 0 {
				return true
			}
			if !sc.hasDep {
				continue
			}
			for _, rawSub := range s.Subcomponents {
				if sub, ok := purl.Parse(rawSub); ok && sub.Covers(sc.dependency) {
					return true
				}
			}
		}
	}
	return false
}

// resolves reports whether the statement says the vulnerability cannot be
// exploited in what it covers.
func (s *Statement) resolves() bool {
	return s.Status == openvex.StatusNotAffected || s.Status == openvex.StatusFixed
}

// applicable sorts the statements about a finding into those that count
// (verified, or every one with allowUnsigned), latest last, and those
// ignored for want of a verified signature.
func applicable(f *Finding, sc scope, statements []Statement, allowUnsigned bool) (counted, ignored []*Statement) {
	for i := range statements {
		s := &statements[i]
		if !s.about(f) || !s.covers(sc) {
			continue
		}
		if s.Verified || allowUnsigned {
			counted = append(counted, s)
		} else {
			ignored = append(ignored, s)
		}
	}
	// Stable: of statements made at the same time the one given later wins.
	slices.SortStableFunc(counted, func(a, b *Statement) int { return a.Timestamp.Compare(b.Timestamp) })
	return counted, ignored
}
