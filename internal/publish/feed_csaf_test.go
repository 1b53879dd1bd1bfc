package publish

import (
	"strings"
	"testing"
	"time"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/schematest"
	"github.com/vexloom/vexloom/internal/vexformat"
)

// A feed in CSAF: every package's document is CSAF 2.0 VEX valid against
// the official schema, the index says so, and it reads back to the
// statements filed under that package.
func TestFeedInCSAF(t *testing.T) {
	docs := [][]byte{docBytes(t, t0,
		stmt("CVE-2026-1", "pkg:golang/example.com/app@v1.0.0", openvex.StatusFixed, t0, "pkg:golang/golang.org/x/net@v0.35.0"),
		stmt("CVE-2026-2", "pkg:oci/app@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa?repository_url=registry.example/app", openvex.StatusUnderInvestigation, t0),
	)}
	snap, err := BuildFeed(FeedConfig{Name: "n", Description: "d", BaseURL: "https://vex.example.org/", Format: vexformat.CSAF}, docs, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Packages) != 2 {
		t.Fatalf("packages %+v", snap.Packages)
	}
	for _, p := range snap.Packages {
		if p.Format != "csaf" || !strings.HasSuffix(p.Location, "/csaf.json") {
			t.Errorf("index entry %+v", p)
		}
		b := snap.Files[p.Location]
		if err := schematest.Validate(schematest.CSAF, b); err != nil {
			t.Errorf("%s: %v", p.Location, err)
		}
		doc, f, err := vexformat.Parse(b)
		if err != nil || f != vexformat.CSAF || len(doc.Statements) != 1 {
			t.Errorf("%s reads back as %s with %v: %v", p.Location, f, doc, err)
		}
	}
	if _, err := BuildFeed(FeedConfig{Name: "n", Description: "d", BaseURL: "https://x", Format: vexformat.CycloneDX}, nil, time.Time{}); err == nil {
		t.Error("a CycloneDX feed, which the specification does not allow, was built")
	}
}
