package triage

import (
	"context"
	"errors"
	"fmt"
	"slices"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/purl"
	"github.com/vexloom/vexloom/internal/store"
	"github.com/vexloom/vexloom/internal/vex"
)

// GoAnalysis is the project's own analysis of a release, which the Go
// findings scanners report in the release's images are matched against:
// they are the project's code, never a triage of their own.
type GoAnalysis struct {
	// Source names what the analysis is: a version of the release's
	// document, a file, a branch's triage history; "" when the store holds
	// none for the release.
	Source string
	doc    *openvex.VEX
	branch string
	views  []View
}

// GoMatch is what the project's analysis says of a Go finding.
type GoMatch struct {
	// Found: the analysis speaks of the vulnerability in the module.
	Found bool
	// Status is the status in force ("" while nobody decided on the
	// branch).
	Status string
}

// DocumentAnalysis is an analysis given as a VEX document (the release's,
// as assemble writes it).
func DocumentAnalysis(doc *openvex.VEX, source string) *GoAnalysis {
	return &GoAnalysis{Source: source, doc: doc}
}

// ReleaseAnalysis finds the project's analysis of a release in the store:
// the latest version of the tracked release's document, else the triage
// history of branch (the branch the release was cut from), else none
// (Source "").
func ReleaseAnalysis(ctx context.Context, st *store.Store, release, branch string) (*GoAnalysis, error) {
	rd, err := st.LatestReleaseDocument(ctx, release)
	switch {
	case err == nil:
		doc, err := vex.Parse(rd.Body)
		if err != nil {
			return nil, fmt.Errorf("version %d of the VEX of release %s: %w", rd.Version, release, err)
		}
		return DocumentAnalysis(doc, fmt.Sprintf("version %d of the VEX of release %s", rd.Version, release)), nil
	case !errors.Is(err, store.ErrNotFound):
		return nil, err
	}
	if branch == "" {
		return &GoAnalysis{}, nil
	}
	views, err := Views(ctx, st, []string{branch})
	if err != nil {
		return nil, err
	}
	return &GoAnalysis{Source: "the triage history of branch " + branch, branch: branch, views: views}, nil
}

// Match tells what the analysis says of a vulnerability (under any of its
// IDs) in a Go package (pkg:golang/MODULE@VERSION, the standard library as
// pkg:golang/stdlib). A document's statement counts when it is about the
// same module at the same version; a branch's triage when it is about the
// module and the vulnerability is present on the branch.
func (a *GoAnalysis) Match(ids []string, pkg string) GoMatch {
	module, version, ok := purl.Module(pkg)
	if a == nil || !ok {
		return GoMatch{}
	}
	named := func(name string, aliases []string) bool {
		return slices.Contains(ids, name) || slices.ContainsFunc(aliases, func(x string) bool { return slices.Contains(ids, x) })
	}
	if a.doc != nil {
		for _, f := range vex.Facts(a.doc) {
			var aliases []string
			for _, x := range f.Vulnerability.Aliases {
				aliases = append(aliases, string(x))
			}
			if !named(string(f.Vulnerability.Name), aliases) {
				continue
			}
			for _, c := range []openvex.Component{f.Subcomponent, f.Product} {
				m, v, ok := purl.Module(vex.ComponentKey(c))
				if ok && m == module && v == version {
					return GoMatch{Found: true, Status: string(f.Status)}
				}
			}
		}
		return GoMatch{}
	}
	for i := range a.views {
		v := &a.views[i]
		if v.Dependency != module || !named(v.VulnID, append([]string{v.Vulnerability.ID}, v.Vulnerability.Aliases...)) {
			continue
		}
		b := v.Branch(a.branch)
		if b == nil {
			continue
		}
		if b.Decision == nil {
			return GoMatch{Found: true}
		}
		return GoMatch{Found: true, Status: b.Decision.Status}
	}
	return GoMatch{}
}
