// Package publish puts signed VEX documents where their consumers look for
// them, in stores that never rewrite history: a local content-addressed
// directory, OCI registries (as referrers of the image), the GitHub
// attestation store and a feed in the vex-repo-spec layout that Trivy can
// subscribe to. It also holds the publish policy, which keeps statements
// back (affected ones until a fix exists or a date, under_investigation
// ones always by default) and says what it held and why.
//
// Every store takes the same Object: the Sigstore bundle (nil for unsigned
// branch documents), the OpenVEX document it signs, the subjects and
// products. Publishing the same bytes twice is idempotent; a new version is
// a new object and the old ones stay readable.
//
// Document is the one way a document is published: it applies the hold
// policy, records what it held, signs once (a release with its commit as
// the subject of its module product) and hands every store the subjects it
// signed for. Bundle publishes what was signed elsewhere. OpenStore makes a
// store from a spec (local[:DIR], feed[:DIR], oci:REF, github:OWNER/REPO).
package publish

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"unicode"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/attest"
	"github.com/vexloom/vexloom/internal/digest"
	"github.com/vexloom/vexloom/internal/purl"
	"github.com/vexloom/vexloom/internal/vex"
)

// Limits on what an Object may carry. Publishing reads documents and
// bundles that came from outside (a file given on the command line, a
// registry, an API), so every part is bounded.
const (
	// MaxBundleSize bounds a Sigstore bundle.
	MaxBundleSize = 16 << 20
	// MaxSubjects bounds the subjects of one object.
	MaxSubjects = 4096
	// MaxProducts bounds the products of one object.
	MaxProducts = 4096
	// MaxNameLength bounds a subject name, a product purl and a ref.
	MaxNameLength = 4096
)

// OpenVEXPredicatePrefix starts every predicate type vexloom accepts in a
// bundle (DESIGN.md: read any type that starts with it).
const OpenVEXPredicatePrefix = attest.PredicateTypePrefix

// Kinds of published documents.
const (
	KindBranch  = "branch"
	KindRelease = "release"
)

// Errors callers branch on.
var (
	// ErrInvalidObject is wrapped by every error about an Object that
	// cannot be published (bad digest, not OpenVEX, bundle and document
	// disagree, too large).
	ErrInvalidObject = errors.New("invalid object")
	// ErrUnsigned is returned by stores that only take signed objects (OCI,
	// GitHub) when the Object has no bundle.
	ErrUnsigned = errors.New("object has no Sigstore bundle")
	// ErrNotFound is returned when an object or subject is not in a store.
	ErrNotFound = errors.New("not found")
)

// Store is a place documents are published to. Publish never overwrites
// what was published before, and publishing identical bytes twice returns
// the same receipt without writing a second copy.
type Store interface {
	// Name says which store this is, as in a receipt ("local:DIR",
	// "oci:REPO", "github:OWNER/REPO", "feed:DIR").
	Name() string
	// Publish stores obj and says where it can be fetched.
	Publish(ctx context.Context, obj Object) (Receipt, error)
}

// Object is one document to publish.
type Object struct {
	// Bundle is the Sigstore bundle (JSON) whose DSSE envelope carries an
	// in-toto statement with the OpenVEX predicate; nil for an unsigned
	// branch document.
	Bundle []byte
	// Document is the OpenVEX document (JSON). With a bundle, it must be the
	// statement's predicate.
	Document []byte
	// Subjects are the artifacts the document is about, by digest.
	Subjects []Subject
	// Products are the package URLs of the document's products.
	Products []string
	// Kind is KindBranch or KindRelease.
	Kind string
	// Ref is the branch or release the document belongs to.
	Ref string
}

// Subject is an artifact named by its digests. It is internal/digest's
// (the subject of an in-toto statement).
type Subject = digest.Subject

// Digest is a content digest. It is internal/digest's.
type Digest = digest.Digest

// ParseDigest reads "algorithm:hex" as vexloom writes it (lowercase).
func ParseDigest(s string) (Digest, error) {
	d, err := digest.ParseExact(s)
	if err != nil {
		return Digest{}, fmt.Errorf("%w: %v", ErrInvalidObject, err)
	}
	return d, nil
}

// SHA256 returns the sha256 digest of b.
func SHA256(b []byte) Digest { return digest.SHA256(b) }

// Receipt says where a store put an object.
type Receipt struct {
	// Store is the store's Name.
	Store string
	// Location is where the object can be fetched (a path, an image
	// reference by digest, an API URL).
	Location string
	// Locations lists every place the object was written when there are
	// several (one referrer per image subject); Location is the first.
	Locations []string `json:",omitempty"`
	// ID is the content digest by which the store addresses the object: the
	// record digest (local, feed), the referrer manifest digest (OCI), the
	// bundle digest (GitHub).
	ID string
}

// Checked is what Check learnt about an object.
type Checked struct {
	// Document is the parsed OpenVEX document.
	Document *openvex.VEX
	// PredicateType is the bundle statement's predicate type ("" unsigned).
	PredicateType string
	// StatementSubjects are the digests the bundle's statement names.
	StatementSubjects []Digest
}

// Check validates obj: sizes, digests, names, kind; the document must be
// OpenVEX; a bundle must be a Sigstore bundle whose DSSE envelope carries an
// in-toto statement with an OpenVEX predicate equal to the document and
// naming every subject. Signatures are not verified here (that is
// internal/attest's job, before publishing).
func Check(obj Object) (*Checked, error) {
	if len(obj.Document) == 0 {
		return nil, fmt.Errorf("%w: no document", ErrInvalidObject)
	}
	if len(obj.Bundle) > MaxBundleSize {
		return nil, fmt.Errorf("%w: bundle of %d bytes is more than the %d allowed", ErrInvalidObject, len(obj.Bundle), MaxBundleSize)
	}
	if len(obj.Subjects) > MaxSubjects {
		return nil, fmt.Errorf("%w: %d subjects, at most %d", ErrInvalidObject, len(obj.Subjects), MaxSubjects)
	}
	if len(obj.Products) > MaxProducts {
		return nil, fmt.Errorf("%w: %d products, at most %d", ErrInvalidObject, len(obj.Products), MaxProducts)
	}
	switch obj.Kind {
	case KindBranch, KindRelease:
	default:
		return nil, fmt.Errorf("%w: kind %q is not %q or %q", ErrInvalidObject, truncate(obj.Kind), KindBranch, KindRelease)
	}
	if err := checkName("ref", obj.Ref); err != nil {
		return nil, err
	}
	for _, s := range obj.Subjects {
		if len(s.Digest) == 0 {
			return nil, fmt.Errorf("%w: subject %q has no digest", ErrInvalidObject, truncate(s.Name))
		}
		for _, d := range s.Digests() {
			if err := d.Validate(); err != nil {
				return nil, fmt.Errorf("%w: subject %q: %v", ErrInvalidObject, truncate(s.Name), err)
			}
		}
		if s.Name != "" {
			if err := checkName("subject name", s.Name); err != nil {
				return nil, err
			}
		}
	}
	for _, p := range obj.Products {
		if err := checkName("product", p); err != nil {
			return nil, err
		}
		if !purl.Is(p) {
			return nil, fmt.Errorf("%w: product %q is not a package URL", ErrInvalidObject, truncate(p))
		}
		if _, err := purl.Normalize(p); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidObject, err)
		}
	}
	doc, err := vex.Parse(obj.Document)
	if err != nil {
		return nil, fmt.Errorf("%w: document: %w", ErrInvalidObject, err)
	}
	c := &Checked{Document: doc}
	if obj.Bundle == nil {
		return c, nil
	}
	if err := checkBundle(obj, c); err != nil {
		return nil, err
	}
	return c, nil
}

func checkBundle(obj Object, c *Checked) error {
	// internal/attest reads the bundle and its statement (unverified:
	// signatures are checked before publishing, and by every reader).
	st, err := attest.BundleStatement(obj.Bundle)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidObject, err)
	}
	content, err := attest.ReadContent(st)
	if err != nil {
		return fmt.Errorf("%w: the bundle's statement: %v", ErrInvalidObject, err)
	}
	c.PredicateType = content.PredicateType
	for _, s := range content.Subjects {
		c.StatementSubjects = append(c.StatementSubjects, s.Digests()...)
	}
	for _, s := range obj.Subjects {
		for _, d := range s.Digests() {
			if !slices.Contains(c.StatementSubjects, d) {
				return fmt.Errorf("%w: subject %s is not in the signed statement", ErrInvalidObject, d)
			}
		}
	}
	// The document published beside the bundle must be what was signed:
	// compare both as JSON values.
	var signed, given any
	if err := json.Unmarshal(content.Predicate, &signed); err != nil {
		return fmt.Errorf("%w: reading the predicate: %v", ErrInvalidObject, err)
	}
	if err := json.Unmarshal(obj.Document, &given); err != nil {
		return fmt.Errorf("%w: document: %v", ErrInvalidObject, err)
	}
	if !reflect.DeepEqual(signed, given) {
		return fmt.Errorf("%w: the document is not the signed predicate", ErrInvalidObject)
	}
	return nil
}

func checkName(what, s string) error {
	if s == "" {
		return fmt.Errorf("%w: empty %s", ErrInvalidObject, what)
	}
	if len(s) > MaxNameLength {
		return fmt.Errorf("%w: %s of %d bytes is longer than %d", ErrInvalidObject, what, len(s), MaxNameLength)
	}
	if strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) || r == unicode.ReplacementChar }) {
		return fmt.Errorf("%w: %s %q has control characters", ErrInvalidObject, what, truncate(s))
	}
	return nil
}

// canonicalJSON re-encodes JSON compactly with sorted keys, so that two
// encodings of the same value compare equal.
func canonicalJSON(b []byte) ([]byte, error) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
