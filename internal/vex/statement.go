package vex

import (
	"time"

	openvex "github.com/openvex/go-vex/pkg/vex"
)

// Assertion is what a statement says about a vulnerability in its
// products: the status, its reasons and when it was said.
type Assertion struct {
	Status        openvex.Status
	Justification openvex.Justification
	// Impact is the impact statement (why not affected).
	Impact string
	// Action is the action statement (what to do about it).
	Action string
	// Notes are the status notes.
	Notes string
	// Timestamp is when the assertion was made; nil leaves it to the
	// document's.
	Timestamp *time.Time
}

// NewStatement is the one way vexloom builds an OpenVEX statement: the
// vulnerability (see Vulnerability.OpenVEX for its name and aliases), the
// products with their subcomponents, and the assertion. An affected
// statement without an action gets go-vex's "no action" statement, so that
// it passes Validate; every other rule of Validate is the caller's to keep
// (a not_affected needs a justification or an impact statement), and
// Finalize checks them all before a document is written.
func NewStatement(v openvex.Vulnerability, products []openvex.Product, a Assertion) openvex.Statement {
	st := openvex.Statement{
		Vulnerability:   v,
		Timestamp:       a.Timestamp,
		Products:        products,
		Status:          a.Status,
		Justification:   a.Justification,
		ImpactStatement: a.Impact,
		ActionStatement: a.Action,
		StatusNotes:     a.Notes,
	}
	if st.Status == openvex.StatusAffected && st.ActionStatement == "" {
		st.ActionStatement = openvex.NoActionStatementMsg
	}
	return st
}

// Product returns a product with subcomponents named by their IDs (package
// URLs), in the order given.
func Product(c openvex.Component, subcomponents ...string) openvex.Product {
	p := openvex.Product{Component: c}
	for _, id := range subcomponents {
		p.Subcomponents = append(p.Subcomponents, openvex.Subcomponent{Component: openvex.Component{ID: id}})
	}
	return p
}
