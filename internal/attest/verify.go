package attest

import (
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/vexloom/vexloom/internal/digest"
	"slices"
	"strings"
	"time"

	openvex "github.com/openvex/go-vex/pkg/vex"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"
)

// MaxBundleSize bounds the bundles read: a statement, base64-encoded, plus
// certificates and log entries.
const MaxBundleSize = MaxStatementSize*4/3 + 1<<20

var (
	// ErrSignature: the signature does not verify — a tampered payload, a
	// different key, a certificate not issued by the trusted authority, or
	// a transparency-log entry that does not match.
	ErrSignature = errors.New("signature does not verify")
	// ErrSubject: an artifact digest asked for is not a subject.
	ErrSubject = errors.New("artifact is not a subject of the attestation")
	// ErrIdentity: the signing certificate is not for the identity the
	// policy names (or there is no certificate).
	ErrIdentity = errors.New("signer identity does not match")
	// ErrExpired: the certificate was not valid when the signature was
	// made, or there is no trusted time for the signature.
	ErrExpired = errors.New("certificate not valid at signing time")
	// ErrPolicy: the verification policy itself is incomplete.
	ErrPolicy = errors.New("invalid verification policy")
)

// Identity is who must have signed a keyless bundle: the OIDC issuer
// (exact) and a regular expression (Go syntax) the certificate's subject
// (SAN: e-mail, workflow URL) must match in full — it is anchored at both
// ends, unlike cosign's --certificate-identity-regexp.
type Identity struct {
	Issuer        string
	SubjectRegexp string
	// WithoutSCTUnsafe skips the certificate-transparency check, for private
	// certificate authorities whose certificates embed no SCTs. Public-good
	// Fulcio certificates always have them.
	WithoutSCTUnsafe bool
}

// Policy says what a bundle must satisfy. Exactly one of PublicKey and
// Identity is set.
type Policy struct {
	// PublicKey: the bundle must be signed by this key (key-based bundles
	// have no certificate and usually no log entry; none is required).
	PublicKey crypto.PublicKey
	// Identity and TrustedMaterial: the bundle must carry a certificate
	// issued by a certificate authority in TrustedMaterial for Identity,
	// valid at a trusted time of the signature (a timestamp authority's or
	// the transparency log's), logged in a transparency log of
	// TrustedMaterial.
	Identity        *Identity
	TrustedMaterial root.TrustedMaterial
	// ArtifactDigests are the artifacts asked about: each must be a subject
	// of the statement (at least one with AnyArtifact), and the result holds
	// only the statements' products bound to a subject that is one of them
	// (see About). Empty is refused unless WithoutArtifact says so.
	ArtifactDigests []Digest
	WithoutArtifact bool
	// AnyArtifact: the bundle need only be about one of ArtifactDigests (a
	// gate asking about every artifact of a release at once); the result
	// still holds only what is about the ones that are subjects.
	AnyArtifact bool
	// Now is the time of verification (zero: time.Now()); a signature with a
	// trusted time after Now is rejected.
	Now time.Time
}

// Result is what a verified bundle says.
type Result struct {
	// Statement is the in-toto statement exactly as signed.
	Statement []byte
	// VEX is the statement's OpenVEX predicate, restricted to the products
	// bound to the artifacts asked about (all of it with WithoutArtifact).
	VEX *openvex.VEX
	// Subjects are the statement's subjects that are artifacts asked about
	// (all of them with WithoutArtifact).
	Subjects []Subject
	// Dropped counts the product statements left out of VEX because they
	// are about none of the artifacts asked about.
	Dropped int
	// SignedBy is the key ID (key-based) or "SUBJECT (ISSUER)" of the
	// certificate (keyless).
	SignedBy string
	// SignedAt are the verified times of the signature (none for
	// key-based bundles).
	SignedAt []time.Time
}

// Verify checks a Sigstore bundle against policy and returns its OpenVEX
// statements about the artifacts asked for (policy.ArtifactDigests) only if
// every check passed. It is the one verification path of verify, pull and
// gate: a statement counts for an artifact only when the bundle verifies for
// that artifact's digest. Errors wrap ErrMalformed,
// ErrSignature, ErrIdentity, ErrExpired, ErrSubject, ErrPredicate or
// ErrPolicy.
//
// With sigstore-go v1.3.0: key-based bundles are verified with trusted
// material from root.NewTrustedPublicKeyMaterial holding only the policy's
// key (whatever the bundle's hint says), verify.WithNoObserverTimestamps()
// (no log entry or timestamp is required, as cosign's --key with
// --insecure-ignore-tlog) and verify.WithKey(). Keyless bundles are verified
// with verify.WithTransparencyLog(1), verify.WithObserverTimestamps(1) and,
// unless WithoutSCTUnsafe, verify.WithSignedCertificateTimestamps(1), and
// verify.WithCertificateIdentity. Subjects are compared here, after the
// signature verified (verify.WithoutArtifactUnsafe is passed so that a
// digest mismatch is told apart from a bad signature).
func Verify(ctx context.Context, bundleJSON []byte, policy Policy) (*Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := policy.check(); err != nil {
		return nil, err
	}
	// Compare in one spelling: lowercase hex, in-toto's algorithm names.
	asked := make([]Digest, len(policy.ArtifactDigests))
	for i, d := range policy.ArtifactDigests {
		asked[i], _ = digest.New(d.Algorithm, d.Hex) // checked above
	}
	policy.ArtifactDigests = asked
	b, err := readBundle(bundleJSON)
	if err != nil {
		return nil, err
	}
	env := b.GetDsseEnvelope()
	payload := bytes.Clone(env.GetPayload())

	var res *verify.VerificationResult
	if policy.PublicKey != nil {
		res, err = verifyWithKey(b, policy.PublicKey)
	} else {
		res, err = verifyWithIdentity(b, policy)
	}
	if err != nil {
		return nil, err
	}
	now := policy.Now
	if now.IsZero() {
		now = time.Now()
	}
	out := &Result{Statement: payload}
	for _, ts := range res.VerifiedTimestamps {
		if ts.Timestamp.After(now) {
			return nil, fmt.Errorf("%w: the signature's %s time %s is after now (%s)", ErrExpired, ts.Type, ts.Timestamp.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
		}
		out.SignedAt = append(out.SignedAt, ts.Timestamp)
	}
	switch {
	case res.Signature != nil && res.Signature.Certificate != nil:
		c := res.Signature.Certificate
		out.SignedBy = c.SubjectAlternativeName + " (" + c.Issuer + ")"
	case policy.PublicKey != nil:
		out.SignedBy, _ = KeyID(policy.PublicKey)
	}

	// The signature holds: now read what was signed.
	doc, subjects, err := ReadStatement(payload)
	if err != nil {
		return nil, err
	}
	if policy.WithoutArtifact {
		out.VEX, out.Subjects = doc, subjects
		return out, nil
	}
	var found []Digest
	for _, d := range policy.ArtifactDigests {
		if hasSubject(subjects, d) {
			found = append(found, d)
		} else if !policy.AnyArtifact {
			return nil, fmt.Errorf("%w: %s is none of the %d subjects", ErrSubject, d, len(subjects))
		}
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("%w: none of %s is among the %d subjects", ErrSubject, digestList(policy.ArtifactDigests), len(subjects))
	}
	out.VEX, out.Subjects, out.Dropped = About(doc, subjects, found)
	if len(out.VEX.Statements) == 0 {
		return nil, fmt.Errorf("%w: no product of the document is bound to %s", ErrSubject, digestList(found))
	}
	return out, nil
}

func digestList(ds []Digest) string {
	s := make([]string, len(ds))
	for i, d := range ds {
		s[i] = d.String()
	}
	return strings.Join(s, ", ")
}

// About restricts a signed document to what it says about the artifacts
// digests: the subjects holding one of them, and the statements' products
// bound to such a subject — a product that carries one of them itself (in
// its hashes, or as its package URL's version: a binary, an image
// platform), or that the subject names (its @id or package URL: a source
// release's module and its commit) unless the product carries another
// digest of the same algorithm (then it is another artifact). A statement
// keeps only its bound products; a statement with none is left out.
// dropped counts the products left out. doc is not modified.
func About(doc *openvex.VEX, subjects []Subject, digests []Digest) (about *openvex.VEX, matched []Subject, dropped int) {
	// byName: the asked-for digests the matched subjects carry, by
	// subject name; all: every one of them.
	byName := map[string][]Digest{}
	var all []Digest
	for _, s := range subjects {
		hit := false
		for _, d := range digests {
			if s.Has(d) {
				hit = true
				if !slices.Contains(all, d) {
					all = append(all, d)
				}
				if s.Name != "" {
					byName[s.Name] = append(byName[s.Name], d)
				}
			}
		}
		if hit {
			matched = append(matched, s)
		}
	}
	bound := func(c openvex.Component) bool {
		own, err := productDigests(c)
		if err != nil {
			return false
		}
		for _, d := range own {
			if slices.Contains(all, d) {
				return true
			}
		}
		// By name, unless the product names another digest of the same
		// algorithm itself: that product is another artifact.
		for _, name := range []string{c.ID, c.Identifiers[openvex.PURL]} {
			for _, d := range byName[name] {
				if name != "" && !slices.ContainsFunc(own, func(o Digest) bool { return o.Algorithm == d.Algorithm }) {
					return true
				}
			}
		}
		return false
	}
	out := *doc
	out.Statements = nil
	for _, st := range doc.Statements {
		var keep []openvex.Product
		for _, p := range st.Products {
			if bound(p.Component) {
				keep = append(keep, p)
			} else {
				dropped++
			}
		}
		if len(keep) == 0 {
			continue
		}
		st.Products = keep
		out.Statements = append(out.Statements, st)
	}
	return &out, matched, dropped
}

func hasSubject(subjects []Subject, d Digest) bool {
	for _, s := range subjects {
		if s.Has(d) {
			return true
		}
	}
	return false
}

func (p Policy) check() error {
	switch {
	case p.PublicKey != nil && p.Identity != nil:
		return fmt.Errorf("%w: give a public key or an identity, not both", ErrPolicy)
	case p.PublicKey == nil && p.Identity == nil:
		return fmt.Errorf("%w: give a public key or an identity", ErrPolicy)
	case p.Identity != nil && p.TrustedMaterial == nil:
		return fmt.Errorf("%w: an identity needs trusted material (the certificate and log authorities)", ErrPolicy)
	case p.Identity != nil && (p.Identity.Issuer == "" || p.Identity.SubjectRegexp == ""):
		return fmt.Errorf("%w: an identity needs an issuer and a subject pattern", ErrPolicy)
	case len(p.ArtifactDigests) == 0 && !p.WithoutArtifact:
		return fmt.Errorf("%w: give the artifact digests to check against the subjects, or say WithoutArtifact", ErrPolicy)
	case len(p.ArtifactDigests) > 0 && p.WithoutArtifact:
		return fmt.Errorf("%w: artifact digests given with WithoutArtifact", ErrPolicy)
	case p.AnyArtifact && p.WithoutArtifact:
		return fmt.Errorf("%w: AnyArtifact given with WithoutArtifact", ErrPolicy)
	}
	for _, d := range p.ArtifactDigests {
		if _, err := digest.New(d.Algorithm, d.Hex); err != nil {
			return fmt.Errorf("%w: %v", ErrPolicy, err)
		}
	}
	return nil
}

// readBundle parses and checks the shape of a bundle: a Sigstore bundle
// sigstore-go accepts, with a DSSE envelope of an in-toto statement.
func readBundle(data []byte) (*bundle.Bundle, error) {
	if len(data) > MaxBundleSize {
		return nil, fmt.Errorf("%w: bundle of %d bytes is more than the %d allowed", ErrMalformed, len(data), MaxBundleSize)
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' || !json.Valid(data) {
		return nil, fmt.Errorf("%w: bundle is not a JSON object", ErrMalformed)
	}
	var b bundle.Bundle
	if err := b.UnmarshalJSON(data); err != nil {
		return nil, fmt.Errorf("%w: not a Sigstore bundle: %v", ErrMalformed, err)
	}
	env := b.GetDsseEnvelope()
	if env == nil {
		return nil, fmt.Errorf("%w: the bundle holds a message signature, not a DSSE attestation", ErrMalformed)
	}
	if env.GetPayloadType() != PayloadType {
		return nil, fmt.Errorf("%w: DSSE payload type %q is not %s", ErrMalformed, truncate(env.GetPayloadType()), PayloadType)
	}
	if len(env.GetSignatures()) != 1 {
		return nil, fmt.Errorf("%w: a bundle's DSSE envelope has exactly one signature, this one has %d", ErrMalformed, len(env.GetSignatures()))
	}
	return &b, nil
}

// keyMaterial is trusted material holding only pub, whatever key hint a
// bundle names (cosign and vexloom write different hints).
func keyMaterial(pub crypto.PublicKey) (root.TrustedMaterial, error) {
	sv, err := signature.LoadVerifier(pub, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKey, err)
	}
	key := root.NewExpiringKey(sv, time.Time{}, time.Time{})
	return root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
		return key, nil
	}), nil
}

func verifyWithKey(b *bundle.Bundle, pub crypto.PublicKey) (*verify.VerificationResult, error) {
	if b.GetVerificationMaterial().GetPublicKey() == nil {
		return nil, fmt.Errorf("%w: the bundle is signed with a certificate, not a key", ErrSignature)
	}
	tm, err := keyMaterial(pub)
	if err != nil {
		return nil, err
	}
	v, err := verify.NewVerifier(tm, verify.WithNoObserverTimestamps())
	if err != nil {
		return nil, fmt.Errorf("configuring the verifier: %w", err)
	}
	res, err := v.Verify(b, verify.NewPolicy(verify.WithoutArtifactUnsafe(), verify.WithKey()))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSignature, err)
	}
	return res, nil
}

func verifyWithIdentity(b *bundle.Bundle, p Policy) (*verify.VerificationResult, error) {
	// sigstore-go (like cosign) matches the pattern anywhere in the
	// subject; anchored, "release-bot@x" cannot match "evil-release-bot@x.evil".
	id, err := verify.NewShortCertificateIdentity(p.Identity.Issuer, "", "", `^(?:`+p.Identity.SubjectRegexp+`)$`)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPolicy, err)
	}
	opts := []verify.VerifierOption{verify.WithTransparencyLog(1), verify.WithObserverTimestamps(1)}
	if !p.Identity.WithoutSCTUnsafe {
		opts = append(opts, verify.WithSignedCertificateTimestamps(1))
	}
	v, err := verify.NewVerifier(p.TrustedMaterial, opts...)
	if err != nil {
		return nil, fmt.Errorf("configuring the verifier: %w", err)
	}
	res, err := v.Verify(b, verify.NewPolicy(verify.WithoutArtifactUnsafe(), verify.WithCertificateIdentity(id)))
	if err != nil {
		return nil, explainKeyless(b, v, p.TrustedMaterial, id, err)
	}
	return res, nil
}

// explainKeyless says which check a keyless bundle failed: sigstore-go
// returns plain errors, so the checks are retraced one at a time (the
// verdict is sigstore-go's; this only picks the sentinel).
func explainKeyless(b *bundle.Bundle, v *verify.Verifier, tm root.TrustedMaterial, id verify.CertificateIdentity, verr error) error {
	vc, err := b.VerificationContent()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	leaf := vc.Certificate()
	if leaf == nil {
		return fmt.Errorf("%w: the bundle is signed with a key, not a certificate", ErrIdentity)
	}
	sc, err := b.SignatureContent()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if err := verify.VerifySignature(sc, vc, tm); err != nil {
		return fmt.Errorf("%w: %v", ErrSignature, err)
	}
	summary, err := certificate.SummarizeCertificate(leaf)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrIdentity, err)
	}
	if err := id.Verify(summary); err != nil {
		return fmt.Errorf("%w: certificate for %s (%s): %v", ErrIdentity, summary.SubjectAlternativeName, summary.Issuer, err)
	}
	validAt := func(t time.Time) bool { return !t.Before(leaf.NotBefore) && !t.After(leaf.NotAfter) }
	window := leaf.NotBefore.UTC().Format(time.RFC3339) + " to " + leaf.NotAfter.UTC().Format(time.RFC3339)
	entries, err := b.TlogEntries()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	for _, e := range entries {
		if t := e.IntegratedTime(); !t.IsZero() && !validAt(t) {
			return fmt.Errorf("%w: logged at %s, the certificate is valid from %s", ErrExpired, t.UTC().Format(time.RFC3339), window)
		}
	}
	if _, err := verify.VerifyLeafCertificate(leaf.NotBefore, leaf, tm); err != nil {
		return fmt.Errorf("%w: the certificate is not issued by a trusted certificate authority: %v", ErrSignature, err)
	}
	logTimes, err := v.VerifyTransparencyLogInclusion(b)
	if err != nil {
		return fmt.Errorf("%w: transparency log: %v", ErrSignature, err)
	}
	times, err := v.VerifyObserverTimestamps(b, logTimes)
	if err != nil {
		// sigstore-go's message here is mangled ("%!w(<nil>)"); say it plainly.
		return fmt.Errorf("%w: no trusted time for the signature (no verified timestamp-authority or transparency-log time)", ErrExpired)
	}
	for _, t := range times {
		if !validAt(t.Timestamp) {
			return fmt.Errorf("%w: signed at %s (%s), the certificate is valid from %s", ErrExpired, t.Timestamp.UTC().Format(time.RFC3339), t.Type, window)
		}
	}
	return fmt.Errorf("%w: %v", ErrSignature, verr)
}
