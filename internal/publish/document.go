package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/attest"
	"github.com/vexloom/vexloom/internal/purl"
	"github.com/vexloom/vexloom/internal/vex"
)

// ErrAllHeld is returned when the publish policy holds back every
// statement of a document: there is nothing to publish.
var ErrAllHeld = errors.New("every statement is held")

// Options say how a document is published.
type Options struct {
	// Kind is KindRelease or KindBranch; Ref the release (tag) or branch the
	// document belongs to.
	Kind string
	Ref  string
	// Hold decides which statements are made public (the zero value holds
	// under_investigation statements back).
	Hold HoldPolicy
	// Now is the time the policy is applied at.
	Now time.Time
	// Signer signs the public document. Nil publishes it unsigned, which
	// only a branch document may be.
	Signer attest.Signer
	// Commit is the release's git commit, the subject of the document's Go
	// module product when a release is signed; when it is empty,
	// ResolveCommit (if set) is asked for it.
	Commit        string
	ResolveCommit func(context.Context) (string, error)
	// Held, if set, records what the policy held back (see RecordHeld).
	Held HeldLog
	// Stores receive the document, in order.
	Stores []Store
}

// Result is what publishing a document did.
type Result struct {
	// Document is the public part of the document: what was signed and
	// published.
	Document *openvex.VEX
	// Held is what the policy kept back.
	Held []Held
	// Object is what the stores were given.
	Object Object
	// Receipts are the stores' answers, in the order of Options.Stores; on
	// an error, those of the stores published to before it.
	Receipts []Receipt
	// Notes say what the caller may want to tell a person: a release
	// commit that could not be made a subject.
	Notes []string
}

// Document applies the publish policy to doc, records what it held back,
// signs the rest (with the release commit as the subject of the module
// product for a release) and publishes it to every store. The document is
// encoded once, when it is signed; the subjects are those it was signed
// for.
func Document(ctx context.Context, doc *openvex.VEX, opts Options) (Result, error) {
	var res Result
	if err := checkKind(opts.Kind); err != nil {
		return res, err
	}
	public, held := opts.Hold.Apply(doc, opts.Now)
	res.Document, res.Held = public, held
	if len(held) > 0 && opts.Held != nil {
		if err := RecordHeld(ctx, opts.Held, HeldRecord{Ref: opts.Ref, Document: public.ID, Held: held}); err != nil {
			return res, err
		}
	}
	if len(public.Statements) == 0 {
		return res, ErrAllHeld
	}
	var (
		bundle   []byte
		subjects []attest.Subject
	)
	switch {
	case opts.Signer != nil:
		var extra []attest.Subject
		if opts.Kind == KindRelease {
			// The release commit is the subject of the project's module
			// product (what gate --release checks); for a source release
			// it is the only one.
			sub, err := opts.commitSubject(ctx, public)
			if err != nil && !HasDigestProduct(public) {
				return res, fmt.Errorf("the document names no image or binary, so its release commit is the subject: %w", err)
			}
			if err == nil {
				extra = append(extra, sub)
			} else {
				res.Notes = append(res.Notes, fmt.Sprintf("the module product is not signed for the release commit: %v", err))
			}
		}
		st, subs, err := attest.StatementSubjects(public, extra...)
		if err != nil {
			return res, err
		}
		if bundle, err = attest.Sign(ctx, st, opts.Signer); err != nil {
			return res, err
		}
		subjects = subs
	case opts.Kind == KindRelease:
		return res, fmt.Errorf("%w: a release document is published signed", ErrUnsigned)
	}
	obj, err := ObjectOf(public, subjects, bundle)
	if err != nil {
		return res, err
	}
	obj.Kind, obj.Ref = opts.Kind, opts.Ref
	res.Object = obj
	res.Receipts, err = publishTo(ctx, obj, opts.Stores)
	return res, err
}

// Bundle publishes a Sigstore bundle signed elsewhere, as it is: no publish
// policy applies. Its subjects and document are read from its statement,
// unverified (readers verify).
func Bundle(ctx context.Context, bundle []byte, opts Options) (Result, error) {
	var res Result
	if err := checkKind(opts.Kind); err != nil {
		return res, err
	}
	obj, doc, err := BundleObject(bundle)
	if err != nil {
		return res, err
	}
	obj.Kind, obj.Ref = opts.Kind, opts.Ref
	res.Document, res.Object = doc, obj
	res.Receipts, err = publishTo(ctx, obj, opts.Stores)
	return res, err
}

// BundleObject describes a bundle signed elsewhere (or stored earlier) for
// the stores, with the document it carries: its subjects and document are
// read from its statement, unverified.
func BundleObject(bundle []byte) (Object, *openvex.VEX, error) {
	st, err := attest.BundleStatement(bundle)
	if err != nil {
		return Object{}, nil, err
	}
	doc, subjects, err := attest.ReadStatement(st)
	if err != nil {
		return Object{}, nil, err
	}
	obj, err := ObjectOf(doc, subjects, bundle)
	return obj, doc, err
}

func checkKind(kind string) error {
	if kind != KindRelease && kind != KindBranch {
		return fmt.Errorf("%w: kind must be %s or %s", ErrInvalidObject, KindRelease, KindBranch)
	}
	return nil
}

func publishTo(ctx context.Context, obj Object, stores []Store) ([]Receipt, error) {
	var out []Receipt
	for _, s := range stores {
		r, err := s.Publish(ctx, obj)
		if err != nil {
			return out, fmt.Errorf("publishing to %s: %w", s.Name(), err)
		}
		out = append(out, r)
	}
	return out, nil
}

func (o Options) commitSubject(ctx context.Context, doc *openvex.VEX) (attest.Subject, error) {
	commit := o.Commit
	if commit == "" {
		if o.ResolveCommit == nil {
			return attest.Subject{}, errors.New("no release commit given")
		}
		c, err := o.ResolveCommit(ctx)
		if err != nil {
			return attest.Subject{}, err
		}
		commit = c
	}
	return CommitSubject(doc, commit)
}

// CommitSubject makes the subject of a source release: the document's
// first Go module product (the project's module at the release version),
// by the release's commit.
func CommitSubject(doc *openvex.VEX, commit string) (attest.Subject, error) {
	d, err := attest.ParseDigest(attest.GitCommit + ":" + commit)
	if err != nil {
		return attest.Subject{}, err
	}
	name := ""
	for _, st := range doc.Statements {
		for _, p := range st.Products {
			if name == "" || p.ID < name {
				if purl.IsGo(p.ID) {
					name = p.ID
				}
			}
		}
	}
	if name == "" {
		return attest.Subject{}, errors.New("the document names no Go module product to attach the commit to")
	}
	return attest.Subject{Name: name, Digest: map[string]string{d.Algorithm: d.Hex}}, nil
}

// HasDigestProduct reports whether a document names a product with a
// digest (an image, a binary): something to attest without a commit.
func HasDigestProduct(doc *openvex.VEX) bool {
	_, err := attest.Statement(doc)
	return !errors.Is(err, attest.ErrNoSubject)
}

// ObjectOf describes a document for the stores: its encoding, the subjects
// it was signed for and the package URLs of its products.
func ObjectOf(doc *openvex.VEX, subjects []attest.Subject, bundle []byte) (Object, error) {
	body, err := vex.Marshal(doc)
	if err != nil {
		return Object{}, err
	}
	obj := Object{Bundle: bundle, Document: body}
	for _, s := range subjects {
		obj.Subjects = append(obj.Subjects, Subject{Name: s.Name, Digest: maps.Clone(s.Digest)})
	}
	for _, st := range doc.Statements {
		for _, pr := range st.Products {
			id := pr.ID
			if p, ok := pr.Identifiers[openvex.PURL]; ok {
				id = p
			}
			if purl.Is(id) && !slices.Contains(obj.Products, id) {
				obj.Products = append(obj.Products, id)
			}
		}
	}
	slices.Sort(obj.Products)
	return obj, nil
}

// HeldLog keeps the record of what was held back: the project's store.
type HeldLog interface {
	SetCursor(ctx context.Context, key, value string) error
	Cursor(ctx context.Context, key string) (string, error)
}

// HeldRecord is what the publish policy held back of a release's or
// branch's document, the last time it was published.
type HeldRecord struct {
	Ref      string `json:"ref"`
	Document string `json:"document"`
	Held     []Held `json:"held"`
}

// heldKey is where the record of a ref is kept.
func heldKey(ref string) string { return "publish:held:" + ref }

// RecordHeld records what was held back of a ref's document, replacing
// the previous record.
func RecordHeld(ctx context.Context, log HeldLog, rec HeldRecord) error {
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return log.SetCursor(ctx, heldKey(rec.Ref), string(data))
}

// ReadHeld returns the last record of what was held back of a ref's
// document; ok is false when nothing was.
func ReadHeld(ctx context.Context, log HeldLog, ref string) (rec HeldRecord, ok bool, err error) {
	s, err := log.Cursor(ctx, heldKey(ref))
	if err != nil || s == "" {
		return HeldRecord{}, false, err
	}
	if err := json.Unmarshal([]byte(s), &rec); err != nil {
		return HeldRecord{}, false, fmt.Errorf("reading what was held of %s: %w", ref, err)
	}
	return rec, true, nil
}
