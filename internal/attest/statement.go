// Package attest turns an OpenVEX document into something a consumer can
// trust: an in-toto v1 statement whose predicate is the document and whose
// subjects are the digest-pinned products it speaks about, signed as a DSSE
// envelope inside a Sigstore bundle (key-based with ECDSA P-256 keys, or
// keyless through Fulcio and Rekor), and verified against a key or a
// certificate identity and the digests of the artifacts at hand. The bundles
// are the ones cosign reads and writes (`cosign verify-blob-attestation
// --new-bundle-format`).
package attest

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	intoto "github.com/in-toto/attestation/go/v1"
	openvex "github.com/openvex/go-vex/pkg/vex"
	"github.com/package-url/packageurl-go"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/vexloom/vexloom/internal/jsonx"
	"github.com/vexloom/vexloom/internal/vex"
)

// PredicateType is the predicate type of every statement vexloom writes.
const PredicateType = "https://openvex.dev/ns/v0.2.0"

// predicateTypePrefix is what a predicate type must start with to be read
// as OpenVEX (older and newer OpenVEX versions included).
const predicateTypePrefix = "https://openvex.dev/ns"

// PayloadType is the DSSE payload type of an in-toto statement.
const PayloadType = "application/vnd.in-toto+json"

// MaxStatementSize bounds the statements read: the OpenVEX document plus
// room for the subjects.
const MaxStatementSize = vex.MaxDocumentSize + 16<<20

// maxSubjects bounds the subjects of a statement read from outside.
const maxSubjects = 10000

var (
	// ErrMalformed: not a Sigstore bundle, not JSON, wrong media type, not
	// a DSSE envelope of an in-toto statement.
	ErrMalformed = errors.New("malformed attestation")
	// ErrPredicate: the statement's predicate is not an OpenVEX document.
	ErrPredicate = errors.New("predicate is not OpenVEX")
	// ErrNoSubject: a document has no product with a digest, so a
	// statement about it would name nothing a consumer can check.
	ErrNoSubject = errors.New("no product with a digest")
)

// Subject is one subject of a statement: a product and its digests
// (algorithm → lowercase hex, algorithms as in-toto names them: "sha256").
type Subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// Has reports whether d is one of the subject's digests.
func (s Subject) Has(d Digest) bool {
	h, ok := s.Digest[d.Algorithm]
	return ok && d.Hex != "" && h == d.Hex
}

// Digest is an artifact digest, written "sha256:<hex>".
type Digest struct {
	Algorithm string // "sha256" or "sha512"
	Hex       string // lowercase
}

func (d Digest) String() string { return d.Algorithm + ":" + d.Hex }

// hexLengths are the digest algorithms vexloom accepts and their hex lengths.
var hexLengths = map[string]int{"sha256": 64, "sha512": 128}

// GitCommit is in-toto's digest algorithm for a git commit: the subject of
// a source release that ships no artifact of its own.
const GitCommit = "gitCommit"

// ParseDigest reads "sha256:<hex>" or "sha512:<hex>".
func ParseDigest(s string) (Digest, error) {
	alg, h, ok := strings.Cut(s, ":")
	if !ok {
		return Digest{}, fmt.Errorf("digest %q: want ALGORITHM:HEX", truncate(s))
	}
	return newDigest(alg, h)
}

func newDigest(alg, h string) (Digest, error) {
	alg = strings.ToLower(alg)
	switch alg {
	case "sha-256":
		alg = "sha256"
	case "sha-512":
		alg = "sha512"
	}
	n, ok := hexLengths[alg]
	if strings.EqualFold(alg, GitCommit) {
		// SHA-1 repositories, and SHA-256 ones.
		alg, n, ok = GitCommit, len(h), len(h) == 40 || len(h) == 64
	}
	if !ok {
		return Digest{}, fmt.Errorf("digest algorithm %q: want sha256, sha512 or gitCommit (40 or 64 hex digits)", truncate(alg))
	}
	h = strings.ToLower(h)
	if len(h) != n {
		return Digest{}, fmt.Errorf("%s digest %q: want %d hex digits", alg, truncate(h), n)
	}
	if _, err := hex.DecodeString(h); err != nil {
		return Digest{}, fmt.Errorf("%s digest %q is not hex", alg, truncate(h))
	}
	return Digest{Algorithm: alg, Hex: h}, nil
}

// statementJSON is the in-toto v1 statement as written: a struct, so the
// bytes are the same for the same document (protojson varies its output on
// purpose and is only used to check the result against the in-toto types).
type statementJSON struct {
	Type          string          `json:"_type"`
	Subject       []Subject       `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

// Statement wraps doc in an in-toto v1 statement with the OpenVEX predicate.
// Its subjects are the products of doc's statements that carry a digest:
// in their hashes (sha-256, sha-512), or as the version of their package URL
// (pkg:oci/name@sha256:…); subcomponents are not subjects. A subject is
// named by the product's @id, or its purl identifier. The same document
// gives the same bytes (compact JSON, sorted keys, subjects sorted by name).
// A document without any product digest is refused with ErrNoSubject.
func Statement(doc *openvex.VEX) ([]byte, error) {
	return StatementFor(doc)
}

// StatementFor is Statement with extra subjects: a source release's commit
// (digest gitCommit), for a document whose products carry no digest.
func StatementFor(doc *openvex.VEX, extra ...Subject) ([]byte, error) {
	if doc == nil {
		return nil, errors.New("no document")
	}
	predicate, err := vex.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encoding the document: %w", err)
	}
	// What is signed must read back as valid OpenVEX.
	if _, err := vex.Parse(predicate); err != nil {
		return nil, err
	}
	subjects, err := subjectsOf(doc)
	if err != nil {
		return nil, err
	}
	for _, e := range extra {
		if e.Name == "" || len(e.Digest) == 0 {
			return nil, fmt.Errorf("%w: an extra subject needs a name and a digest", ErrNoSubject)
		}
		for alg, h := range e.Digest {
			if _, err := newDigest(alg, h); err != nil {
				return nil, fmt.Errorf("subject %s: %w", truncate(e.Name), err)
			}
		}
		subjects = append(subjects, e)
	}
	slices.SortFunc(subjects, func(a, b Subject) int { return strings.Compare(a.Name, b.Name) })
	if len(subjects) == 0 {
		return nil, fmt.Errorf("%w: the document names no product with a sha256 or sha512 digest (in its hashes or as an OCI purl version), so there is nothing to attest", ErrNoSubject)
	}
	out, err := jsonx.Compact(statementJSON{
		Type:          intoto.StatementTypeUri,
		Subject:       subjects,
		PredicateType: PredicateType,
		Predicate:     predicate,
	})
	if err != nil {
		return nil, fmt.Errorf("encoding the statement: %w", err)
	}
	// Check against the in-toto types.
	var st intoto.Statement
	if err := protojson.Unmarshal(out, &st); err != nil {
		return nil, fmt.Errorf("the statement does not read as in-toto: %w", err)
	}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("the statement is not valid in-toto: %w", err)
	}
	return out, nil
}

// subjectsOf collects the products with digests, merged by name.
func subjectsOf(doc *openvex.VEX) ([]Subject, error) {
	byName := map[string]map[string]string{}
	for _, st := range doc.Statements {
		for _, p := range st.Products {
			digests, err := productDigests(p.Component)
			if err != nil {
				return nil, fmt.Errorf("%w: statement for %s: %v", vex.ErrInvalid, st.Vulnerability.Name, err)
			}
			if len(digests) == 0 {
				continue
			}
			name := p.ID
			if name == "" {
				name = p.Identifiers[openvex.PURL]
			}
			if name == "" {
				name = digests[0].String()
			}
			set := byName[name]
			if set == nil {
				set = map[string]string{}
				byName[name] = set
			}
			for _, d := range digests {
				if old, ok := set[d.Algorithm]; ok && old != d.Hex {
					return nil, fmt.Errorf("%w: product %s has two %s digests, %s and %s", vex.ErrInvalid, truncate(name), d.Algorithm, old, d.Hex)
				}
				set[d.Algorithm] = d.Hex
			}
		}
	}
	out := make([]Subject, 0, len(byName))
	for _, name := range slices.Sorted(maps.Keys(byName)) {
		out = append(out, Subject{Name: name, Digest: byName[name]})
	}
	return out, nil
}

// productDigests returns the sha256/sha512 digests a product carries in
// its hashes and as the version of its package URLs.
func productDigests(c openvex.Component) ([]Digest, error) {
	var out []Digest
	for _, alg := range slices.Sorted(maps.Keys(c.Hashes)) {
		d, err := newDigest(string(alg), string(c.Hashes[alg]))
		if err != nil {
			if _, known := hexLengths[normalAlg(string(alg))]; known {
				return nil, err
			}
			continue // other algorithms (sha-384, blake2…) are not subject digests
		}
		out = append(out, d)
	}
	for _, p := range []string{c.ID, c.Identifiers[openvex.PURL]} {
		if d, ok := purlDigest(p); ok {
			out = append(out, d)
		}
	}
	return out, nil
}

func normalAlg(a string) string {
	return strings.ReplaceAll(strings.ToLower(a), "-", "")
}

// purlDigest returns the digest in a package URL's version
// (pkg:oci/kube-apiserver@sha256:…).
func purlDigest(s string) (Digest, bool) {
	if !strings.HasPrefix(s, "pkg:") {
		return Digest{}, false
	}
	p, err := packageurl.FromString(s)
	if err != nil {
		return Digest{}, false
	}
	v, err := url.PathUnescape(p.Version)
	if err != nil {
		return Digest{}, false
	}
	alg, h, ok := strings.Cut(v, ":")
	if !ok {
		return Digest{}, false
	}
	d, err := newDigest(alg, h)
	return d, err == nil
}

// ReadStatement reads an in-toto statement (v1, or the legacy v0.1) whose
// predicate type starts with https://openvex.dev/ns, and returns the OpenVEX
// document (parsed and validated by internal/vex) and the subjects. It does
// not check any signature: use Verify for what comes from outside.
func ReadStatement(data []byte) (*openvex.VEX, []Subject, error) {
	if len(data) > MaxStatementSize {
		return nil, nil, fmt.Errorf("%w: statement of %d bytes is more than the %d allowed", ErrMalformed, len(data), MaxStatementSize)
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return nil, nil, fmt.Errorf("%w: statement is not a JSON object", ErrMalformed)
	}
	var raw statementJSON
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, nil, fmt.Errorf("%w: statement: %v", ErrMalformed, err)
	}
	if raw.Type != intoto.StatementTypeUri && raw.Type != "https://in-toto.io/Statement/v0.1" {
		return nil, nil, fmt.Errorf("%w: _type %q is not an in-toto statement", ErrMalformed, truncate(raw.Type))
	}
	if len(raw.Subject) == 0 {
		return nil, nil, fmt.Errorf("%w: statement has no subject", ErrMalformed)
	}
	if len(raw.Subject) > maxSubjects {
		return nil, nil, fmt.Errorf("%w: statement has %d subjects, more than the %d allowed", ErrMalformed, len(raw.Subject), maxSubjects)
	}
	subjects := make([]Subject, 0, len(raw.Subject))
	for i, s := range raw.Subject {
		if len(s.Digest) == 0 {
			return nil, nil, fmt.Errorf("%w: subject %d (%s) has no digest", ErrMalformed, i+1, truncate(s.Name))
		}
		norm := make(map[string]string, len(s.Digest))
		for alg, h := range s.Digest {
			if _, known := hexLengths[alg]; !known && alg != GitCommit {
				norm[alg] = h // other algorithms are kept as they are, never matched
				continue
			}
			d, err := newDigest(alg, h)
			if err != nil {
				return nil, nil, fmt.Errorf("%w: subject %d (%s): %v", ErrMalformed, i+1, truncate(s.Name), err)
			}
			norm[d.Algorithm] = d.Hex
		}
		subjects = append(subjects, Subject{Name: s.Name, Digest: norm})
	}
	if !strings.HasPrefix(raw.PredicateType, predicateTypePrefix) {
		return nil, nil, fmt.Errorf("%w: predicate type %q does not start with %s", ErrPredicate, truncate(raw.PredicateType), predicateTypePrefix)
	}
	if len(raw.Predicate) == 0 || bytes.Equal(raw.Predicate, []byte("null")) {
		return nil, nil, fmt.Errorf("%w: statement has no predicate", ErrPredicate)
	}
	doc, err := vex.Parse(raw.Predicate)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrPredicate, err)
	}
	return doc, subjects, nil
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
