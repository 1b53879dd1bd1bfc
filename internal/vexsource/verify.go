package vexsource

import (
	"context"

	"github.com/vexloom/vexloom/internal/attest"
	"github.com/vexloom/vexloom/internal/digest"
)

// Checked is a bundle of a source with what attest.Verify said of it.
type Checked struct {
	Document
	// Result is the verified content (nil when Err is set).
	Result *attest.Result
	// Err says why the bundle did not verify.
	Err error
}

// Pulled is what a source holds about an artifact.
type Pulled struct {
	// Bundles are the signed documents about it, in the source's order,
	// each verified for the artifact.
	Bundles []Checked
	// Unsigned counts the product entries naming the artifact in unsigned
	// documents (a feed's): they never verify.
	Unsigned int
}

// Pull reads what src holds about the artifact d and verifies each bundle
// with policy for d (attest.Verify: d must be among its subjects, and only
// its statements about d are kept).
func Pull(ctx context.Context, src Source, d digest.Digest, policy attest.TrustPolicy) (*Pulled, error) {
	docs, err := src.About(ctx, d)
	if err != nil {
		return nil, err
	}
	policy.ArtifactDigests, policy.WithoutArtifact, policy.AnyArtifact = []digest.Digest{d}, false, false
	out := &Pulled{}
	for _, doc := range docs {
		if doc.Bundle == nil {
			out.Unsigned += Count(doc.VEX, d)
			continue
		}
		c := Checked{Document: doc}
		c.Result, c.Err = attest.Verify(ctx, doc.Bundle, policy)
		out.Bundles = append(out.Bundles, c)
	}
	return out, nil
}

// Verified returns the bundles that verified, in order.
func (p *Pulled) Verified() []Checked {
	var out []Checked
	for _, c := range p.Bundles {
		if c.Err == nil {
			out = append(out, c)
		}
	}
	return out
}

// Newest returns the verified bundle whose document is the newest (the
// first of those with the latest timestamp); false when none verified.
func (p *Pulled) Newest() (Checked, bool) {
	ok := p.Verified()
	if len(ok) == 0 {
		return Checked{}, false
	}
	newest := ok[0]
	for _, v := range ok[1:] {
		if ts, nt := v.Result.VEX.Timestamp, newest.Result.VEX.Timestamp; ts != nil && (nt == nil || ts.After(*nt)) {
			newest = v
		}
	}
	return newest, true
}
