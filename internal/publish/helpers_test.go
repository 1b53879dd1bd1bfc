package publish

import (
	"encoding/json"
	"testing"
	"time"

	intoto "github.com/in-toto/attestation/go/v1"
	openvex "github.com/openvex/go-vex/pkg/vex"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/vexloom/vexloom/internal/vex"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// stmt is a statement for one product with subcomponents.
func stmt(vuln, product string, status openvex.Status, ts time.Time, subs ...string) openvex.Statement {
	st := openvex.Statement{
		Vulnerability: openvex.Vulnerability{Name: openvex.VulnerabilityID(vuln)},
		Status:        status,
		Timestamp:     &ts,
	}
	p := openvex.Product{Component: openvex.Component{ID: product}}
	for _, s := range subs {
		p.Subcomponents = append(p.Subcomponents, openvex.Subcomponent{Component: openvex.Component{ID: s}})
	}
	st.Products = []openvex.Product{p}
	switch status {
	case openvex.StatusNotAffected:
		st.Justification = openvex.VulnerableCodeNotInExecutePath
	case openvex.StatusAffected:
		st.ActionStatement = "upgrade"
	}
	return st
}

// docBytes builds a finalized OpenVEX document.
func docBytes(t testing.TB, ts time.Time, sts ...openvex.Statement) []byte {
	t.Helper()
	d := vex.NewDocument("test <t@example.com>", "test", ts)
	d.Statements = append(d.Statements, sts...)
	if err := vex.Finalize(d); err != nil {
		t.Fatal(err)
	}
	b, err := vex.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// signedBundle signs an in-toto statement with doc as the OpenVEX predicate
// and the given subjects into a Sigstore bundle, with a fresh key, as
// internal/attest does.
func signedBundle(t testing.TB, doc []byte, subjects ...Digest) []byte {
	t.Helper()
	return signedBundleOfType(t, "https://openvex.dev/ns/v0.2.0", doc, subjects...)
}

// signedBundleOfType is signedBundle with another predicate type.
func signedBundleOfType(t testing.TB, predicateType string, doc []byte, subjects ...Digest) []byte {
	t.Helper()
	var pred map[string]any
	if err := json.Unmarshal(doc, &pred); err != nil {
		t.Fatal(err)
	}
	ps, err := structpb.NewStruct(pred)
	if err != nil {
		t.Fatal(err)
	}
	st := &intoto.Statement{
		Type:          intoto.StatementTypeUri,
		PredicateType: predicateType,
		Predicate:     ps,
	}
	for i, s := range subjects {
		st.Subject = append(st.Subject, &intoto.ResourceDescriptor{Name: "subject-" + string(rune('a'+i)), Digest: map[string]string{s.Algorithm: s.Hex}})
	}
	payload, err := protojson.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	kp, err := sign.NewEphemeralKeypair(nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := sign.Bundle(&sign.DSSEData{Data: payload, PayloadType: "application/vnd.in-toto+json"}, kp, sign.BundleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := protojson.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func digestOf(s string) Digest { return SHA256([]byte(s)) }
