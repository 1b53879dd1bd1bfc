// Package imagevex carries a base image's VEX into the images built on it,
// and matches what scanners report about those images against it.
//
// A release image (kube-proxy) carries its base image's operating-system
// packages; the base's publisher states which of their vulnerabilities
// matter. Inherit takes the base's verified documents and restates what
// they say about those packages with the derived image (each platform's
// digest) as the product and the package as subcomponent, naming the
// source document. Covering tells whether such a statement answers a
// scanner's finding. Only verified documents count: an unverified base
// statement is never inherited.
package imagevex

import (
	"fmt"
	"slices"
	"strings"
	"time"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/purl"
	"github.com/vexloom/vexloom/internal/vex"
)

// BaseDocument is one VEX document published for a base image.
type BaseDocument struct {
	Doc *openvex.VEX
	// Source says where it came from (oci:REF@DIGEST referrer …, a file).
	Source string
	// Verified: its signature and signer checked out against the
	// configured trust. Unverified documents are never inherited.
	Verified bool
}

// Base is a base image: its digests (the index's and each platform's) and
// the VEX published for it.
type Base struct {
	// Name is the base image as configured or annotated.
	Name    string
	Digests []string
	Docs    []BaseDocument
}

// Inherit restates the base's verified statements about OS packages
// (pkg:deb, pkg:apk, pkg:rpm…) for each derived product (one per platform
// of the release image). A statement counts when its product is the base
// image (by digest) with the package as subcomponent, or the package
// itself. For one vulnerability and package the latest statement wins.
// The statements come with the derived product's digest as product, the
// package as subcomponent, and status_notes naming the source.
func Inherit(base Base, derived []openvex.Component) []openvex.Statement {
	type pick struct {
		f      vex.Fact
		source string
		docID  string
	}
	latest := map[string]pick{}
	var keys []string
	for _, d := range base.Docs {
		if !d.Verified || d.Doc == nil {
			continue
		}
		for _, f := range vex.Facts(d.Doc) {
			pkg, ok := basePackage(f, base.Digests)
			if !ok {
				continue
			}
			f.Subcomponent = pkg
			k := string(f.Vulnerability.Name) + "\x00" + packageKey(vex.ComponentKey(pkg)) + "\x00" + packageVersion(vex.ComponentKey(pkg))
			old, seen := latest[k]
			if seen && !f.Timestamp.After(old.f.Timestamp) {
				continue
			}
			if !seen {
				keys = append(keys, k)
			}
			latest[k] = pick{f: f, source: d.Source, docID: d.Doc.ID}
		}
	}
	slices.Sort(keys)
	var out []openvex.Statement
	for _, k := range keys {
		p := latest[k]
		ts := p.f.Timestamp
		var products []openvex.Product
		for _, d := range derived {
			products = append(products, vex.Product(d, vex.ComponentKey(p.f.Subcomponent)))
		}
		st := vex.NewStatement(p.f.Vulnerability, products, vex.Assertion{
			Status: p.f.Status, Justification: p.f.Justification, Impact: p.f.ImpactStatement, Action: p.f.ActionStatement,
			Notes:     strings.TrimSpace(p.f.StatusNotes + " " + SourceNote(base.Name, p.source, p.docID, ts)),
			Timestamp: &ts,
		})
		if len(st.Products) > 0 {
			out = append(out, st)
		}
	}
	return out
}

// SourceNote is the status note of an inherited statement.
func SourceNote(base, source, docID string, ts time.Time) string {
	return fmt.Sprintf("Inherited from the VEX of the base image %s: document %s (%s), statement of %s.", base, docID, source, ts.UTC().Format(time.RFC3339))
}

// basePackage returns the OS package a base statement is about, if it is
// about one of the base image.
func basePackage(f vex.Fact, baseDigests []string) (openvex.Component, bool) {
	sub := vex.ComponentKey(f.Subcomponent)
	if sub != "" {
		if !isOSPackage(sub) || !isBase(f.Product, baseDigests) {
			return openvex.Component{}, false
		}
		return f.Subcomponent, true
	}
	if isOSPackage(vex.ComponentKey(f.Product)) {
		return f.Product, true
	}
	return openvex.Component{}, false
}

func isBase(c openvex.Component, digests []string) bool {
	ids := []string{c.ID, c.Identifiers[openvex.PURL]}
	for _, h := range c.Hashes {
		ids = append(ids, "sha256:"+string(h))
	}
	for _, id := range ids {
		d := id
		if purl.Type(id) == "oci" {
			p, err := purl.Split(id)
			if err != nil {
				continue
			}
			d = p.Version
		}
		if d != "" && slices.Contains(digests, d) {
			return true
		}
	}
	return false
}

// isOSPackage tells whether a package URL is an operating-system package.
func isOSPackage(s string) bool {
	switch purl.Type(s) {
	case "deb", "apk", "rpm", "alpm":
		return true
	}
	return false
}

// packageKey is a package URL without version, qualifiers and subpath.
func packageKey(s string) string { return purl.Key(s) }

func packageVersion(s string) string {
	p, err := purl.Split(s)
	if err != nil {
		return ""
	}
	return p.Version
}

// Finding is what Covering matches: a vulnerability (under all its IDs) in
// a package at a version.
type Finding struct {
	IDs     []string
	Package string
}

// Covering returns the statement among sts that answers a finding: about
// the same vulnerability (any alias), the same package (type, namespace and
// name) at the same version, as subcomponent or product. nil when none
// does.
func Covering(sts []openvex.Statement, f Finding) *openvex.Statement {
	key, version := packageKey(f.Package), packageVersion(f.Package)
	for i := range sts {
		st := &sts[i]
		names := []string{string(st.Vulnerability.Name)}
		for _, a := range st.Vulnerability.Aliases {
			names = append(names, string(a))
		}
		if !slices.ContainsFunc(f.IDs, func(id string) bool { return slices.Contains(names, id) }) {
			continue
		}
		for _, p := range st.Products {
			cands := []string{vex.ComponentKey(p.Component)}
			for _, s := range p.Subcomponents {
				cands = append(cands, vex.ComponentKey(s.Component))
			}
			for _, c := range cands {
				if packageKey(c) == key && packageVersion(c) == version {
					return st
				}
			}
		}
	}
	return nil
}
