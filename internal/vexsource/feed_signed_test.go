package vexsource

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vexloom/vexloom/internal/attest"
	"github.com/vexloom/vexloom/internal/fixture"
	"github.com/vexloom/vexloom/internal/publish"
	"github.com/vexloom/vexloom/internal/vex"
)

// A feed that carries the bundles of its signed documents is a verified
// source: the bundle about the artifact verifies through attest.Verify, one
// signed by another key does not, a bundle about another artifact is not
// offered, and the per-package documents stay unsigned.
func TestFeedBundles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, other := digestOf("app"), digestOf("other")
	good, pol := signed(t, about(d))
	forged, _ := signed(t, about(d))
	unrelated, _ := signed(t, about(other))
	var docs, bundles [][]byte
	for _, b := range [][]byte{good, forged, unrelated} {
		doc, _, err := attest.ReadBundleUnverified(b)
		if err != nil {
			t.Fatal(err)
		}
		body, err := vex.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		docs, bundles = append(docs, body), append(bundles, b)
	}
	// A damaged bundle in the archive is skipped with a note.
	docs, bundles = append(docs, docs[0]), append(bundles, []byte(`{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"`))
	dir := t.TempDir()
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()
	snap, err := publish.BuildSignedFeed(publish.FeedConfig{Name: "n", Description: "d", BaseURL: srv.URL}, docs, bundles, fixture.Now)
	if err != nil {
		t.Fatal(err)
	}
	if err := snap.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	for _, spec := range []string{"feed:" + srv.URL, "feed:" + dir} {
		var notes bytes.Buffer
		src, err := Open(spec, Options{Notes: &notes})
		if err != nil {
			t.Fatal(err)
		}
		p, err := Pull(ctx, src, d, pol)
		if err != nil {
			t.Fatalf("%s: %v", spec, err)
		}
		if len(p.Bundles) != 2 || len(p.Verified()) != 1 || p.Unsigned != 1 {
			t.Errorf("%s: %d bundles (%d verified), %d unsigned; want 2 (1), 1", spec, len(p.Bundles), len(p.Verified()), p.Unsigned)
		}
		for _, b := range p.Bundles {
			if b.Err != nil && !errors.Is(b.Err, attest.ErrSignature) {
				t.Errorf("%s: %s: %v, want a signature that does not verify", spec, b.Origin, b.Err)
			}
			if !strings.HasPrefix(b.ID, publish.FeedBundleDir+"/") || !b.Foreign {
				t.Errorf("%s: bundle document %+v", spec, b.Document)
			}
		}
		if !strings.Contains(notes.String(), "4 signed documents beside them, each counted only if it verifies") ||
			!strings.Contains(notes.String(), "skipped, ") {
			t.Errorf("%s: notes %q", spec, notes.String())
		}
	}
}
