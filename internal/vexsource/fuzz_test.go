package vexsource

import (
	"strings"
	"testing"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/fixture"
	"github.com/vexloom/vexloom/internal/publish"
	"github.com/vexloom/vexloom/internal/vex"
	"github.com/vexloom/vexloom/internal/vexsource/vexsourcetest"
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
//
// The seeds are vexsourcetest's, which gate's verifier fuzzing adds too,
// and a feed archive of its document.
func FuzzVEXInput(f *testing.F) {
	vexsourcetest.AddSeeds(f)
	data := vexsourcetest.Seed(f, "document.openvex.json")
	snap, err := publish.BuildFeed(publish.FeedConfig{Name: "n", Description: "d", BaseURL: "http://localhost/"}, [][]byte{data}, fixture.Now)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(snap.Files[publish.FeedArchiveName])
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
