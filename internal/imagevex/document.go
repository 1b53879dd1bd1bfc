package imagevex

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/artifact"
	"github.com/vexloom/vexloom/internal/attest"
	"github.com/vexloom/vexloom/internal/store"
	"github.com/vexloom/vexloom/internal/triage"
	"github.com/vexloom/vexloom/internal/vex"
)

// DocumentOptions are what a release's images' VEX is built from.
type DocumentOptions struct {
	Store   *store.Store
	Release string
	Author  string
	Now     time.Time
	// Images are release images whose base images' verified statements
	// about packages no scanner reported are added, verified by Policy.
	Images     []string
	BaseImages BaseImages
	Policy     *attest.TrustPolicy
	// Inherit: add the base images' statements about Images.
	Inherit bool
	// Notes receives what reading the base VEX found and skipped.
	Notes io.Writer
}

// Document is the VEX of what scanners reported in a release's images:
// the decision in force for each vulnerability and package, and, with
// Inherit, the base images' verified statements the document says nothing
// of yet.
func Document(ctx context.Context, o DocumentOptions) (*openvex.VEX, error) {
	views, err := triage.Views(ctx, o.Store, nil)
	if err != nil {
		return nil, err
	}
	doc, err := triage.ImageDocument(views, o.Release, o.Author, o.Now)
	if err != nil {
		return nil, err
	}
	if o.Inherit {
		if err := addInherited(ctx, doc, o); err != nil {
			return nil, err
		}
	}
	return doc, nil
}

// AddPackages adds to a release's document what is known about its
// images' packages: what images ingest recorded (base image statements and
// maintainers' decisions), and, with Inherit, the base images' verified
// statements about the packages no scanner reported.
func AddPackages(ctx context.Context, doc *openvex.VEX, o DocumentOptions) error {
	img, err := Document(ctx, DocumentOptions{Store: o.Store, Release: o.Release, Author: o.Author, Now: o.Now})
	if err != nil {
		return err
	}
	if len(img.Statements) > 0 {
		doc.Statements = append(doc.Statements, img.Statements...)
		doc.ID = ""
		if err := vex.Finalize(doc); err != nil {
			return err
		}
	}
	if o.Inherit {
		return addInherited(ctx, doc, o)
	}
	return nil
}

func addInherited(ctx context.Context, doc *openvex.VEX, o DocumentOptions) error {
	inherited, err := inheritedStatements(ctx, o)
	if err != nil {
		return err
	}
	return withInherited(doc, inherited)
}

// inheritedStatements are the base images' verified statements about
// their OS packages, restated for each platform of the release images.
func inheritedStatements(ctx context.Context, o DocumentOptions) ([]openvex.Statement, error) {
	var out []openvex.Statement
	for _, image := range o.Images {
		// An image that cannot be read, or whose base cannot be found, is
		// one line: nothing is inherited for it, the other images are done.
		plats, err := artifact.ResolveImage(ctx, image, registryOptions(ctx)...)
		if err != nil {
			fmt.Fprintf(o.Notes, "images: image %s cannot be resolved (%v); nothing is inherited for it\n", image, err)
			continue
		}
		srcs, err := baseSources(ctx, o.BaseImages, image)
		if err != nil {
			fmt.Fprintf(o.Notes, "images: image %s: %v; nothing is inherited for it\n", image, err)
			continue
		}
		var products []openvex.Component
		for _, pl := range plats {
			products = append(products, artifact.ImageProduct(pl).Component)
		}
		for _, src := range srcs {
			b, _ := LoadBase(ctx, src, o.Policy, o.Notes)
			out = append(out, Inherit(b, products)...)
		}
	}
	return out, nil
}

// withInherited adds to a document the inherited statements about
// products and packages it says nothing of yet: what people decided, or
// what a scanner's finding recorded, stands.
func withInherited(doc *openvex.VEX, inherited []openvex.Statement) error {
	if len(inherited) == 0 {
		return nil
	}
	have := map[string]bool{}
	for _, f := range vex.Facts(doc) {
		have[string(f.Vulnerability.Name)+"\x00"+vex.ComponentKey(f.Product)+"\x00"+packageIdentity(vex.ComponentKey(f.Subcomponent))] = true
	}
	extra := &openvex.VEX{Metadata: doc.Metadata, Statements: inherited}
	var add []vex.Fact
	for _, f := range vex.Facts(extra) {
		if !have[string(f.Vulnerability.Name)+"\x00"+vex.ComponentKey(f.Product)+"\x00"+packageIdentity(vex.ComponentKey(f.Subcomponent))] {
			add = append(add, f)
		}
	}
	if len(add) == 0 {
		return nil
	}
	doc.Statements = append(doc.Statements, vex.Statements(add)...)
	doc.ID = ""
	return vex.Finalize(doc)
}

// packageIdentity is a package URL without its qualifiers: the same package
// at the same version, whichever scanner named it.
func packageIdentity(purl string) string {
	p, _, _ := strings.Cut(purl, "?")
	return p
}
