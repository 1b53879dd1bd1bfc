package gate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/attest"
	"github.com/vexloom/vexloom/internal/purl"
	"github.com/vexloom/vexloom/internal/vexsource"
)

// SourceGitHub is GitHub's attestation store.
const SourceGitHub Source = "github"

// Verifier turns published VEX into the statements the gate weighs: a
// bundle's statements count as verified only for the artifacts its
// signature verified for (attest.Verify); everything else is unverified,
// counted only with AllowUnsigned, with the reason.
type Verifier struct {
	// Policy is the key or identity bundles must be signed with; nil
	// verifies nothing (--allow-unsigned alone).
	Policy *attest.TrustPolicy
	// AllowUnsigned: unverified statements count too.
	AllowUnsigned bool
	// ReleaseCommit is the commit of the release gated: the digest a
	// statement about the project's module must be signed for, and what a
	// store read by artifact (GitHub's) is asked about.
	ReleaseCommit string
	// Notes receives one line per document read, saying what it holds and
	// whether it counts.
	Notes io.Writer
}

// sourceOf is the gate's name for a kind of VEX source.
func sourceOf(k vexsource.Kind) Source {
	switch k {
	case vexsource.KindLocal:
		return SourceStore
	case vexsource.KindOCI:
		return SourceOCI
	case vexsource.KindFeed:
		return SourceFeed
	case vexsource.KindGitHub:
		return SourceGitHub
	}
	return SourceFile
}

// ErrNoArtifact: a source read by artifact was given without an artifact
// to ask about.
var ErrNoArtifact = errors.New("no artifact to ask about")

// ReadAll reads every source in turn (Read): the statements of all, and the
// release products they add, sorted and without duplicates. An error names
// the source.
func (v *Verifier) ReadAll(ctx context.Context, srcs []vexsource.Source) ([]Statement, []string, error) {
	var sts []Statement
	var products []string
	for _, src := range srcs {
		got, extra, err := v.Read(ctx, src)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", src, err)
		}
		sts = append(sts, got...)
		products = append(products, extra...)
	}
	slices.Sort(products)
	return sts, slices.Compact(products), nil
}

// SourceError is an error reading the VEX sources in Decide.
type SourceError struct{ Err error }

func (e *SourceError) Error() string { return e.Err.Error() }
func (e *SourceError) Unwrap() error { return e.Err }

// Decide is the gate: it reads the statements of srcs through the verifier
// (ReadAll) and weighs findings against those that count (Evaluate); the
// release products the sources add join opts.Products. An error reading a
// source is a *SourceError.
func (v *Verifier) Decide(ctx context.Context, findings []Finding, srcs []vexsource.Source, opts Options) (*Result, error) {
	statements, extra, err := v.ReadAll(ctx, srcs)
	if err != nil {
		return nil, &SourceError{err}
	}
	products := append(slices.Clone(opts.Products), extra...)
	slices.Sort(products)
	opts.Products = slices.Compact(products)
	opts.AllowUnsigned = v.AllowUnsigned
	return Evaluate(findings, statements, opts)
}

// Read reads every document of src. products are release products the
// source adds: an image platform's package URL in statements verified for
// that platform.
func (v *Verifier) Read(ctx context.Context, src vexsource.Source) (sts []Statement, products []string, err error) {
	docs, err := src.Documents(ctx)
	if errors.Is(err, vexsource.ErrNeedsArtifact) {
		if v.ReleaseCommit == "" {
			return nil, nil, fmt.Errorf("%w: %v; gate a release (--release) to ask it about the release commit", ErrNoArtifact, err)
		}
		var d attest.Digest
		if d, err = attest.ParseDigest(attest.GitCommit + ":" + v.ReleaseCommit); err == nil {
			docs, err = src.About(ctx, d)
		}
	}
	if err != nil {
		return nil, nil, err
	}
	kind := sourceOf(src.Kind())
	for _, d := range docs {
		switch {
		case d.Bundle == nil && kind == SourceFeed:
			// The feed notes its documents itself, all at once.
			sts = append(sts, FromOpenVEX(d.VEX, false, kind, d.Origin)...)
		case d.Bundle == nil:
			got := FromOpenVEX(d.VEX, false, kind, d.Origin)
			sts = append(sts, got...)
			v.note(d.Origin, got, sts, "unsigned "+d.Form.String()+": not verified")
		default:
			var digests []attest.Digest
			if d.Subject != (attest.Digest{}) {
				digests = []attest.Digest{d.Subject}
			}
			got, what, err := v.bundle(ctx, d.Bundle, kind, d.Origin, digests)
			if err != nil && d.Foreign {
				fmt.Fprintf(v.notes(), "vex: %s: skipped, %v\n", d.Origin, err)
				continue
			}
			if err != nil && d.ID == src.String() {
				return nil, nil, err // the file given
			}
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", d.ID, err)
			}
			sts = append(sts, got...)
			if !d.Foreign {
				v.note(d.Origin, got, sts, what)
				continue
			}
			verdict := "counts"
			if len(got) > 0 && !got[0].Verified {
				verdict = v.unverifiedVerdict()
			}
			fmt.Fprintf(v.notes(), "vex: %s: %d %s, %s; %s\n", d.Origin, len(got), plural(len(got), "statement"), what, verdict)
			for _, s := range got {
				for _, pr := range s.Products {
					if s.Verified && purl.OCIDigest(pr) == d.Subject.String() {
						products = append(products, pr)
					}
				}
			}
		}
	}
	return sts, products, nil
}

func (v *Verifier) notes() io.Writer {
	if v.Notes == nil {
		return io.Discard
	}
	return v.Notes
}

// note says what one document held and whether it counts.
func (v *Verifier) note(origin string, got, all []Statement, what string) {
	verdict := "counts"
	if len(all) > 0 && !all[len(all)-1].Verified {
		verdict = v.unverifiedVerdict()
	}
	if len(got) == 0 {
		verdict = "no statements"
	}
	fmt.Fprintf(v.notes(), "vex: %s: %d %s, %s; %s\n", origin, len(got), plural(len(got), "statement"), what, verdict)
}

// unverifiedVerdict says what happens to statements that did not verify.
func (v *Verifier) unverifiedVerdict() string {
	if v.AllowUnsigned {
		return "counted anyway (--allow-unsigned)"
	}
	return "ignored unless --allow-unsigned"
}

// bundle reads a Sigstore bundle: the statements about the artifacts the
// gate weighs, verified, when it verifies for them; everything else in it
// unverified (counted only with AllowUnsigned), with the reason. The
// artifacts are digests when given (an image's platform), else the release
// commit (for the module product) and the image platforms and binaries the
// document names by digest: a statement counts for an artifact only when the
// bundle's subjects include that artifact's digest.
func (v *Verifier) bundle(ctx context.Context, data []byte, src Source, origin string, digests []attest.Digest) ([]Statement, string, error) {
	doc, _, err := attest.ReadBundleUnverified(data)
	if err != nil {
		return nil, "", err
	}
	if v.Policy == nil {
		return FromOpenVEX(doc, false, src, origin), "not verified (no --key or --certificate-identity given)", nil
	}
	asked := digests
	if len(asked) == 0 {
		asked = v.artifactDigests(doc)
	}
	if len(asked) == 0 {
		return FromOpenVEX(doc, false, src, origin), "REJECTED: " + fmt.Errorf("%w: the bundle names no artifact the gate knows (a module product is bound to the release commit: gate it with --release)", attest.ErrSubject).Error(), nil
	}
	pol := *v.Policy
	pol.ArtifactDigests, pol.WithoutArtifact, pol.AnyArtifact = asked, false, true
	res, err := attest.Verify(ctx, data, pol)
	if err != nil {
		if ctx.Err() != nil {
			return nil, "", ctx.Err()
		}
		if errors.Is(err, attest.ErrMalformed) || errors.Is(err, attest.ErrPredicate) {
			return nil, "", err
		}
		return FromOpenVEX(doc, false, src, origin), "REJECTED: " + err.Error(), nil
	}
	out := FromOpenVEX(res.VEX, true, src, origin)
	what := "verified, signed by " + res.SignedBy
	if res.Dropped > 0 {
		// What the bundle says about other artifacts is not verified for
		// these: it is reported, and ignored like any unverified statement.
		verified := map[string]bool{}
		for _, st := range out {
			verified[st.key()] = true
		}
		for _, st := range FromOpenVEX(doc, false, src, origin) {
			if !verified[st.key()] {
				out = append(out, st)
			}
		}
		what += fmt.Sprintf("; %d %s about artifacts that are not its subjects (%v)", res.Dropped, plural(res.Dropped, "product statement"), attest.ErrSubject)
	}
	return out, what, nil
}

// key identifies one product statement of a document.
func (s Statement) key() string {
	return s.Vulnerability + "\x00" + strings.Join(s.Products, "\x00") + "\x00" + strings.Join(s.Subcomponents, "\x00")
}

// artifactDigests are the artifacts a bundle's statements may be verified
// for: the release commit (the module product's), and each image platform
// (the digest of a pkg:oci product) or binary (the hashes of a product that
// is not a Go module) the document names.
func (v *Verifier) artifactDigests(doc *openvex.VEX) []attest.Digest {
	var out []attest.Digest
	add := func(s string) {
		if d, err := attest.ParseDigest(s); err == nil && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	if v.ReleaseCommit != "" {
		add(attest.GitCommit + ":" + v.ReleaseCommit)
	}
	for _, st := range doc.Statements {
		for _, p := range st.Products {
			for _, id := range []string{p.ID, p.Identifiers[openvex.PURL]} {
				if d := purl.OCIDigest(id); d != "" {
					add(d)
				}
			}
			if purl.IsGo(p.ID) || purl.IsGo(p.Identifiers[openvex.PURL]) {
				continue
			}
			for alg, h := range p.Hashes {
				add(string(alg) + ":" + string(h))
			}
		}
	}
	return out
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
