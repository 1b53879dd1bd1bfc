package vexsource

import (
	"context"
	"strings"
	"testing"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/attest"
	"github.com/vexloom/vexloom/internal/fixture"
	"github.com/vexloom/vexloom/internal/publish"
	"github.com/vexloom/vexloom/internal/vex"
)

// seedDocument is an OpenVEX document about a product with a hash.
func seedDocument() *openvex.VEX {
	ts := fixture.Now
	return &openvex.VEX{
		Metadata: openvex.Metadata{Context: openvex.ContextLocator(), ID: "https://example.com/vex/1", Author: "t", Timestamp: &ts, Version: 1},
		Statements: []openvex.Statement{{
			Vulnerability: openvex.Vulnerability{Name: "CVE-2026-0001"},
			Products: []openvex.Product{{Component: openvex.Component{ID: "pkg:golang/golang.org/x/net",
				Hashes: map[openvex.Algorithm]openvex.Hash{openvex.SHA256: openvex.Hash(strings.Repeat("ab", 32))}}}},
			Status:        openvex.StatusNotAffected,
			Justification: openvex.VulnerableCodeNotPresent,
		}},
	}
}

// FuzzVEXInput feeds hostile bytes to what reads VEX files and VEX
// repository archives: errors, never panics; what reads is in one form,
// an unsigned document with no bundle or a bundle with no document; and
// no archive entry is larger than a document may be or escapes.
func FuzzVEXInput(f *testing.F) {
	doc := seedDocument()
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
	snap, err := publish.BuildFeed(publish.FeedConfig{Name: "n", Description: "d", BaseURL: "http://localhost/"}, [][]byte{data}, fixture.Now)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(snap.Files[publish.FeedArchiveName])
	for _, s := range []string{"", "{}", `{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"}`, `{"_type": 1}`, `{"statements": null}`, "\x1f\x8b"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Read(data, "fuzz")
		if err == nil && (d.Bundle == nil) == (d.VEX == nil) {
			t.Fatalf("a %s read with bundle %v and document %v", d.Form, d.Bundle != nil, d.VEX != nil)
		}
		files, err := untarGz(data)
		if err == nil {
			for name, b := range files {
				if len(b) > vex.MaxDocumentSize || strings.HasPrefix(name, "../") {
					t.Fatalf("archive entry %q of %d bytes", name, len(b))
				}
			}
		}
	})
}
