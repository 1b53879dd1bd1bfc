package publish

import (
	"fmt"
	"slices"
	"strings"
	"time"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/vex"
)

// HoldPolicy decides which statements of a document are made public. The zero
// HoldPolicy publishes not_affected, affected and fixed statements and holds
// every under_investigation statement back.
type HoldPolicy struct {
	// HoldAffectedUntilFixed holds an affected statement back until a fix
	// exists: the document has a fixed statement for the same
	// vulnerability, or FixAvailable says so.
	HoldAffectedUntilFixed bool
	// HoldAffectedUntil holds affected statements back until this time
	// (zero: no date). With HoldAffectedUntilFixed as well, a statement is
	// released at whichever comes first, the fix or the date (an embargo
	// with a deadline).
	HoldAffectedUntil time.Time
	// PublishUnderInvestigation makes under_investigation statements
	// public; by default they never are.
	PublishUnderInvestigation bool
	// FixAvailable, if set, tells whether a fix exists for a vulnerability
	// (by name or alias), for HoldAffectedUntilFixed.
	FixAvailable func(vulnerability string) bool
}

// Held is a statement the policy kept back, per product.
type Held struct {
	Vulnerability string
	Product       string
	Status        string
	Reason        string
}

// Apply returns the public part of doc and what was held back, sorted by
// vulnerability and product, for the caller to record. doc is not
// modified. When something is held, the public document gets a new @id
// derived from its content, since it is a different document.
func (p HoldPolicy) Apply(doc *openvex.VEX, now time.Time) (*openvex.VEX, []Held) {
	out := *doc
	out.Statements = make([]openvex.Statement, 0, len(doc.Statements))
	fixed := map[string]bool{}
	for _, st := range doc.Statements {
		if st.Status == openvex.StatusFixed {
			for _, n := range vulnerabilityNames(st.Vulnerability) {
				fixed[n] = true
			}
		}
	}
	var held []Held
	for _, st := range doc.Statements {
		reason := p.reason(st, fixed, now)
		if reason == "" {
			out.Statements = append(out.Statements, st)
			continue
		}
		products := productNames(st)
		if len(products) == 0 {
			products = []string{""}
		}
		for _, prod := range products {
			held = append(held, Held{
				Vulnerability: string(st.Vulnerability.Name),
				Product:       prod,
				Status:        string(st.Status),
				Reason:        reason,
			})
		}
	}
	slices.SortFunc(held, func(a, b Held) int {
		if c := strings.Compare(a.Vulnerability, b.Vulnerability); c != 0 {
			return c
		}
		if c := strings.Compare(a.Product, b.Product); c != 0 {
			return c
		}
		return strings.Compare(a.Status, b.Status)
	})
	if len(held) > 0 && doc.ID != "" {
		out.ID = ""
		if id, err := vex.ContentID(&out); err == nil {
			out.ID = id
		} else {
			out.ID = doc.ID
		}
	}
	return &out, held
}

func (p HoldPolicy) reason(st openvex.Statement, fixed map[string]bool, now time.Time) string {
	switch st.Status {
	case openvex.StatusUnderInvestigation:
		if !p.PublishUnderInvestigation {
			return "under_investigation statements are not published"
		}
	case openvex.StatusAffected:
		byFix := p.HoldAffectedUntilFixed && !p.fixExists(st.Vulnerability, fixed)
		byDate := !p.HoldAffectedUntil.IsZero() && now.Before(p.HoldAffectedUntil)
		until := p.HoldAffectedUntil.UTC().Format(time.RFC3339)
		switch {
		case p.HoldAffectedUntilFixed && !p.HoldAffectedUntil.IsZero():
			if byFix && byDate {
				return fmt.Sprintf("affected: held until a fix exists or %s", until)
			}
		case byFix:
			return "affected: held until a fix exists"
		case byDate:
			return fmt.Sprintf("affected: held until %s", until)
		}
	}
	return ""
}

func (p HoldPolicy) fixExists(v openvex.Vulnerability, fixed map[string]bool) bool {
	for _, n := range vulnerabilityNames(v) {
		if fixed[n] || p.FixAvailable != nil && p.FixAvailable(n) {
			return true
		}
	}
	return false
}

func vulnerabilityNames(v openvex.Vulnerability) []string {
	out := []string{string(v.Name)}
	for _, a := range v.Aliases {
		out = append(out, string(a))
	}
	return out
}

func productNames(st openvex.Statement) []string {
	var out []string
	for _, p := range st.Products {
		switch {
		case p.ID != "":
			out = append(out, p.ID)
		case productPURL(p.Component) != "":
			out = append(out, productPURL(p.Component))
		default:
			var hs []string
			for alg, h := range p.Hashes {
				hs = append(hs, string(alg)+":"+string(h))
			}
			slices.Sort(hs)
			out = append(out, strings.Join(hs, ","))
		}
	}
	return out
}
