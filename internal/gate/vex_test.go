package gate

import (
	"context"
	"strings"
	"testing"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/attest"
	"github.com/vexloom/vexloom/internal/fixture"
	"github.com/vexloom/vexloom/internal/vex"
	"github.com/vexloom/vexloom/internal/vexsource"
)

// documents is a source holding documents already read.
type documents []vexsource.Document

func (d documents) String() string                                          { return "test" }
func (d documents) Kind() vexsource.Kind                                    { return vexsource.KindFile }
func (d documents) Documents(context.Context) ([]vexsource.Document, error) { return d, nil }
func (d documents) About(context.Context, attest.Digest) ([]vexsource.Document, error) {
	return d, nil
}

// FuzzVerifierWithoutKey feeds hostile bytes, read as a --vex file would
// be, to a verifier without a key: errors, never panics, and nothing
// unverified is marked verified.
func FuzzVerifierWithoutKey(f *testing.F) {
	ts := fixture.Now
	doc := &openvex.VEX{
		Metadata: openvex.Metadata{Context: openvex.ContextLocator(), ID: "https://example.com/vex/1", Author: "t", Timestamp: &ts, Version: 1},
		Statements: []openvex.Statement{{
			Vulnerability: openvex.Vulnerability{Name: "CVE-2026-0001"},
			Products: []openvex.Product{{Component: openvex.Component{ID: "pkg:golang/golang.org/x/net",
				Hashes: map[openvex.Algorithm]openvex.Hash{openvex.SHA256: openvex.Hash(strings.Repeat("ab", 32))}}}},
			Status:        openvex.StatusNotAffected,
			Justification: openvex.VulnerableCodeNotPresent,
		}},
	}
	data, err := vex.Marshal(doc)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	st, err := attest.Statement(doc)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(st)
	priv, _, err := attest.GenerateKey()
	if err != nil {
		f.Fatal(err)
	}
	key, err := attest.LoadPrivateKey(priv, nil)
	if err != nil {
		f.Fatal(err)
	}
	b, err := attest.Sign(context.Background(), st, key)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	for _, s := range []string{"", "{}", `{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"}`, `{"_type": 1}`, `{"statements": null}`} {
		f.Add([]byte(s))
	}
	v := &Verifier{}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := vexsource.Read(data, "fuzz")
		if err != nil {
			return
		}
		sts, _, err := v.Read(context.Background(), documents{d})
		if err == nil {
			for _, s := range sts {
				if s.Verified {
					t.Fatal("a statement read without a key is verified")
				}
			}
		}
	})
}
