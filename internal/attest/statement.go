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
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/vexloom/vexloom/internal/digest"
	"github.com/vexloom/vexloom/internal/purl"

	intoto "github.com/in-toto/attestation/go/v1"
	openvex "github.com/openvex/go-vex/pkg/vex"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/vexloom/vexloom/internal/jsonx"
	"github.com/vexloom/vexloom/internal/vex"
)

// PredicateType is the predicate type of every statement vexloom writes.
const PredicateType = "https://openvex.dev/ns/v0.2.0"

// PredicateTypePrefix is what a predicate type must start with to be read
// as OpenVEX (older and newer OpenVEX versions included).
const PredicateTypePrefix = "https://openvex.dev/ns"

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

// Subject is one subject of a statement: a product and its digests. It
// is internal/digest's.
type Subject = digest.Subject

// Digest is an artifact digest, written "sha256:<hex>". It is
// internal/digest's.
type Digest = digest.Digest

// GitCommit is in-toto's digest algorithm for a git commit: the subject of
// a source release that ships no artifact of its own.
const GitCommit = digest.GitCommit

// ParseDigest reads "sha256:<hex>" or "sha512:<hex>" (digest.Parse).
func ParseDigest(s string) (Digest, error) { return digest.Parse(s) }

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
	out, _, err := StatementSubjects(doc, extra...)
	return out, err
}

// StatementSubjects is StatementFor that also returns the subjects the
// statement names, in its order: what a signed bundle of it is about,
// without reading the statement back.
func StatementSubjects(doc *openvex.VEX, extra ...Subject) ([]byte, []Subject, error) {
	if doc == nil {
		return nil, nil, errors.New("no document")
	}
	predicate, err := vex.Marshal(doc)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding the document: %w", err)
	}
	// What is signed must read back as valid OpenVEX.
	if _, err := vex.Parse(predicate); err != nil {
		return nil, nil, err
	}
	subjects, err := subjectsOf(doc)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range extra {
		if e.Name == "" || len(e.Digest) == 0 {
			return nil, nil, fmt.Errorf("%w: an extra subject needs a name and a digest", ErrNoSubject)
		}
		for alg, h := range e.Digest {
			if _, err := digest.New(alg, h); err != nil {
				return nil, nil, fmt.Errorf("subject %s: %w", truncate(e.Name), err)
			}
		}
		subjects = append(subjects, e)
	}
	slices.SortFunc(subjects, func(a, b Subject) int { return strings.Compare(a.Name, b.Name) })
	if len(subjects) == 0 {
		return nil, nil, fmt.Errorf("%w: the document names no product with a sha256 or sha512 digest (in its hashes or as an OCI purl version), so there is nothing to attest", ErrNoSubject)
	}
	out, err := jsonx.Compact(statementJSON{
		Type:          intoto.StatementTypeUri,
		Subject:       subjects,
		PredicateType: PredicateType,
		Predicate:     predicate,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("encoding the statement: %w", err)
	}
	// Check against the in-toto types.
	var st intoto.Statement
	if err := protojson.Unmarshal(out, &st); err != nil {
		return nil, nil, fmt.Errorf("the statement does not read as in-toto: %w", err)
	}
	if err := st.Validate(); err != nil {
		return nil, nil, fmt.Errorf("the statement is not valid in-toto: %w", err)
	}
	return out, subjects, nil
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
		d, err := digest.New(string(alg), string(c.Hashes[alg]))
		if err != nil {
			if digest.Known(normalAlg(string(alg))) {
				return nil, err
			}
			continue // other algorithms (sha-384, blake2…) are not subject digests
		}
		out = append(out, d)
	}
	for _, p := range []string{c.ID, c.Identifiers[openvex.PURL]} {
		if d, ok := purl.Digest(p); ok {
			out = append(out, d)
		}
	}
	return out, nil
}

func normalAlg(a string) string {
	return strings.ReplaceAll(strings.ToLower(a), "-", "")
}

// ReadStatement reads an in-toto statement (v1, or the legacy v0.1) whose
// predicate type starts with https://openvex.dev/ns, and returns the OpenVEX
// document (parsed and validated by internal/vex) and the subjects. It does
// not check any signature: use Verify for what comes from outside.
func ReadStatement(data []byte) (*openvex.VEX, []Subject, error) {
	c, err := ReadContent(data)
	if err != nil {
		return nil, nil, err
	}
	return c.Document, c.Subjects, nil
}

// Content is what an in-toto statement with an OpenVEX predicate says.
type Content struct {
	// Document is the predicate, parsed and validated by internal/vex.
	Document *openvex.VEX
	// Subjects are the statement's subjects.
	Subjects []Subject
	// PredicateType is the statement's predicate type.
	PredicateType string
	// Predicate is the predicate as it was signed.
	Predicate json.RawMessage
}

// ReadContent is ReadStatement giving the statement's whole content: for
// comparing what was signed with a document published beside it.
func ReadContent(data []byte) (*Content, error) {
	if len(data) > MaxStatementSize {
		return nil, fmt.Errorf("%w: statement of %d bytes is more than the %d allowed", ErrMalformed, len(data), MaxStatementSize)
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return nil, fmt.Errorf("%w: statement is not a JSON object", ErrMalformed)
	}
	var raw statementJSON
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%w: statement: %v", ErrMalformed, err)
	}
	if raw.Type != intoto.StatementTypeUri && raw.Type != "https://in-toto.io/Statement/v0.1" {
		return nil, fmt.Errorf("%w: _type %q is not an in-toto statement", ErrMalformed, truncate(raw.Type))
	}
	if len(raw.Subject) == 0 {
		return nil, fmt.Errorf("%w: statement has no subject", ErrMalformed)
	}
	if len(raw.Subject) > maxSubjects {
		return nil, fmt.Errorf("%w: statement has %d subjects, more than the %d allowed", ErrMalformed, len(raw.Subject), maxSubjects)
	}
	subjects := make([]Subject, 0, len(raw.Subject))
	for i, s := range raw.Subject {
		if len(s.Digest) == 0 {
			return nil, fmt.Errorf("%w: subject %d (%s) has no digest", ErrMalformed, i+1, truncate(s.Name))
		}
		norm := make(map[string]string, len(s.Digest))
		for alg, h := range s.Digest {
			if !digest.Known(alg) && alg != GitCommit {
				norm[alg] = h // other algorithms are kept as they are, never matched
				continue
			}
			d, err := digest.New(alg, h)
			if err != nil {
				return nil, fmt.Errorf("%w: subject %d (%s): %v", ErrMalformed, i+1, truncate(s.Name), err)
			}
			norm[d.Algorithm] = d.Hex
		}
		subjects = append(subjects, Subject{Name: s.Name, Digest: norm})
	}
	if !strings.HasPrefix(raw.PredicateType, PredicateTypePrefix) {
		return nil, fmt.Errorf("%w: predicate type %q does not start with %s", ErrPredicate, truncate(raw.PredicateType), PredicateTypePrefix)
	}
	if len(raw.Predicate) == 0 || bytes.Equal(raw.Predicate, []byte("null")) {
		return nil, fmt.Errorf("%w: statement has no predicate", ErrPredicate)
	}
	doc, err := vex.Parse(raw.Predicate)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPredicate, err)
	}
	return &Content{Document: doc, Subjects: subjects, PredicateType: raw.PredicateType, Predicate: raw.Predicate}, nil
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
