// Package vexsource reads published VEX back from wherever it is kept: a
// file or a directory of files, the local store `vexloom publish` writes,
// the OCI referrers of an image (every platform of an index), a VEX
// repository in aquasecurity's vex-repo layout (over HTTP or in a
// directory) and GitHub's attestation store.
//
// Every source gives Documents: a Sigstore bundle, left for attest.Verify
// (the one verification path) to check against the artifact it is asked
// about, or an unsigned document already read. A source verifies nothing.
// One constructor, Open, takes the spec a user writes (local[:DIR], oci:REF,
// github:OWNER/REPO, feed:URL|DIR, a path).
package vexsource

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-github/v75/github"
	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/attest"
	"github.com/vexloom/vexloom/internal/digest"
	"github.com/vexloom/vexloom/internal/purl"
	"github.com/vexloom/vexloom/internal/vex"
)

// Kind is the kind of place a source reads.
type Kind string

// Kinds of sources.
const (
	// KindFile is a file, or every .json file under a directory.
	KindFile Kind = "file"
	// KindLocal is a local store of published documents.
	KindLocal Kind = "local"
	// KindOCI is the referrers of an image in a registry.
	KindOCI Kind = "oci"
	// KindFeed is a VEX repository (vex-repo spec): its per-package
	// documents are unsigned; the Sigstore bundles it may carry beside them
	// (what `vexloom publish` puts under bundles/) are read as documents of
	// their own, for attest.Verify.
	KindFeed Kind = "feed"
	// KindGitHub is a repository's artifact attestations on GitHub.
	KindGitHub Kind = "github"
)

// Errors callers branch on.
var (
	// ErrSpec: the spec names no source vexsource can read (a usage error).
	ErrSpec = errors.New("not a VEX source")
	// ErrNotVEX: a file holds no VEX.
	ErrNotVEX = errors.New("not a Sigstore bundle, an in-toto statement or an OpenVEX document")
	// ErrNeedsArtifact: the source is indexed by artifact and cannot list
	// everything it holds (GitHub's attestation store): ask About.
	ErrNeedsArtifact = errors.New("the store is read by artifact digest")
)

// Document is one VEX document as a source holds it.
type Document struct {
	// ID is what the store calls the document: a record digest, "referrer
	// <manifest digest>", "attestation N", a path, a feed location.
	ID string
	// Origin names where it was found, whole: a path, "published <id>",
	// "<repository>@<digest> referrer <manifest>", "<feed> <location>".
	Origin string
	// Bundle is the Sigstore bundle (JSON), nil for an unsigned document.
	Bundle []byte
	// VEX is an unsigned document, read (nil with a bundle).
	VEX *openvex.VEX
	// Form is what the document is: attest.FormBundle, FormStatement or
	// FormOpenVEX.
	Form attest.Form
	// Subject is the artifact the store filed the document under (the
	// image platform a referrer hangs off, the digest GitHub was asked
	// about); zero when the store does not file by artifact.
	Subject digest.Digest
	// Foreign: the document was put there by anyone who may push to the
	// store (a registry, an API); one that does not read is skipped with a
	// note rather than failing the whole read.
	Foreign bool
}

// Source is a place published VEX is read from.
type Source interface {
	// String is the spec the source was opened with.
	String() string
	// Kind says what kind of place it is.
	Kind() Kind
	// Documents returns every document the source holds (for an image,
	// those attached to each of its platforms), oldest first where the
	// store says. A store indexed only by artifact returns
	// ErrNeedsArtifact.
	Documents(ctx context.Context) ([]Document, error)
	// About returns the documents the source holds about the artifact d:
	// filed under it (a store's index, an image's referrers, GitHub's
	// subjects), or naming it as a product (a feed, a file).
	About(ctx context.Context, d digest.Digest) ([]Document, error)
}

// Options are what sources need from their caller.
type Options struct {
	// Published returns the directory of the project's local store, for
	// "local" (and "store") without a directory.
	Published func() (string, error)
	// GitHub returns the client of github: sources (the caller's one
	// constructor, which keeps tokens out of errors).
	GitHub func(context.Context) (*github.Client, error)
	// HTTP fetches feeds; nil is a client with a timeout.
	HTTP *http.Client
	// Remote are options for every registry call (authentication).
	Remote []remote.Option
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Notes receives one line for each thing a reader should know that is
	// not an error (a document skipped, nothing published yet); nil
	// discards them.
	Notes io.Writer
}

// feedTimeout bounds one HTTP request of a feed.
const feedTimeout = 2 * time.Minute

func (o *Options) note(format string, args ...any) {
	if o.Notes != nil {
		fmt.Fprintf(o.Notes, format+"\n", args...)
	}
}

// Open returns the source a spec names:
//
//	local, store     the project's local store of published documents
//	local:DIR        a local store
//	oci:REF          the referrers of an image (each platform of an index)
//	github:OWNER/REPO  a repository's artifact attestations on GitHub
//	feed:URL         a VEX repository served over http(s)
//	feed:DIR         a VEX repository written to a directory
//	PATH             a file, or every .json file under a directory
//
// Nothing is read until Documents or About. A spec that cannot name a
// source is ErrSpec.
func Open(spec string, o Options) (Source, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.HTTP == nil {
		o.HTTP = &http.Client{Timeout: feedTimeout}
	}
	kind, where, hasPrefix := strings.Cut(spec, ":")
	switch {
	case spec == "":
		return nil, fmt.Errorf("%w: an empty spec", ErrSpec)
	case spec == "local" || spec == "store":
		return &local{spec: spec, o: o}, nil
	case !hasPrefix:
		return &file{spec: spec, o: o}, nil
	}
	switch kind {
	case "local":
		if where == "" {
			return nil, fmt.Errorf("%w: %s: no directory", ErrSpec, spec)
		}
		return &local{spec: spec, dir: where, o: o}, nil
	case "oci":
		return newOCI(spec, where, o)
	case "github":
		return newGitHub(spec, where, o)
	case "feed":
		return newFeed(spec, where, o)
	}
	return &file{spec: spec, o: o}, nil
}

// Read reads one document's bytes whatever its form (attest.Sniff): a
// bundle is kept for verification, an in-toto statement or an OpenVEX
// document is read unsigned. origin names where the bytes came from. Bytes
// that hold no VEX are ErrNotVEX.
func Read(data []byte, origin string) (Document, error) {
	return read(data, Document{ID: origin, Origin: origin})
}

// read reads one file's bytes into d, whatever their form.
func read(data []byte, d Document) (Document, error) {
	d.Form = attest.Sniff(data)
	switch d.Form {
	case attest.FormBundle:
		d.Bundle = data
		return d, nil
	case attest.FormStatement:
		doc, _, err := attest.ReadStatement(data)
		if err != nil {
			return d, err
		}
		d.VEX = doc
		return d, nil
	case attest.FormOpenVEX:
		doc, err := vex.Parse(data)
		if err != nil {
			return d, err
		}
		d.VEX = doc
		return d, nil
	}
	return d, ErrNotVEX
}

// Count counts the product entries of doc's statements that name the
// artifact d as the digest of an OCI package URL (each package URL a
// product is known by counts).
func Count(doc *openvex.VEX, d digest.Digest) int {
	n := 0
	for _, st := range doc.Statements {
		for _, p := range st.Products {
			ids := []string{}
			if p.ID != "" {
				ids = append(ids, p.ID)
			}
			for _, v := range p.Identifiers {
				if purl.Is(v) && !slices.Contains(ids, v) {
					ids = append(ids, v)
				}
			}
			for _, id := range ids {
				if purl.OCIDigest(id) == d.String() {
					n++
				}
			}
		}
	}
	return n
}
