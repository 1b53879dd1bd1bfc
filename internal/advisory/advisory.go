// Package advisory turns a project's own security advisories into VEX
// statements about its own products: "negative VEX", the half of the
// Cyber Resilience Act promise that says where a release is affected and
// what to do about it.
//
// Two sources are read: the Kubernetes official CVE feed (JSON Feed 1.1
// with the _kubernetes_io extension) and OSV entries for the project's
// components (ecosystem Kubernetes or Go). Each published advisory is
// matched to the project's components (kube-apiserver, kubelet, … with
// their binaries and images, from configuration) and judged against every
// maintained branch and release: affected, with an action statement naming
// the upgrade target and the advisory's mitigations; fixed; or not
// concerned. The statements are recorded as assessment events, with the
// advisory as their source, in the same history as the maintainers'
// decisions (internal/store), idempotently.
//
// Nothing is emitted for an advisory before its publication time;
// placeholders are ignored; a withdrawn advisory retracts what it said.
package advisory

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/osv"
)

// Sentinel errors.
var (
	// ErrInvalid is wrapped by every error about a malformed feed, entry or
	// configuration.
	ErrInvalid = errors.New("invalid advisory input")
	// ErrFetch is wrapped by every error reaching a source.
	ErrFetch = errors.New("fetching advisories")
)

// Advisory is one advisory about the project's own code.
type Advisory struct {
	// ID is the CVE where there is one.
	ID      string   `json:"id"`
	Aliases []string `json:"aliases,omitempty"`
	Summary string   `json:"summary,omitempty"`
	Details string   `json:"details,omitempty"`
	// URL is where the advisory is announced (the tracking issue);
	// ExternalURL its record elsewhere (cve.org).
	URL         string `json:"url,omitempty"`
	ExternalURL string `json:"external_url,omitempty"`
	// Published is when the advisory became public; nothing is said about
	// it before then.
	Published time.Time  `json:"published"`
	Modified  time.Time  `json:"modified,omitempty"`
	Withdrawn *time.Time `json:"withdrawn,omitempty"`
	// Source names where it was read (a feed URL, an OSV URL or path).
	Source      string         `json:"source"`
	Severity    []osv.Severity `json:"severity,omitempty"`
	Affected    []Affected     `json:"affected,omitempty"`
	Mitigations string         `json:"mitigations,omitempty"`

	// Set by List: the triage holding the advisory's statements, and the
	// statements in force (latest per product).
	Triage     string      `json:"triage,omitempty"`
	Statements []Statement `json:"statements,omitempty"`

	origin string
}

const (
	originFeed = "feed"
	originOSV  = "osv"
)

// Affected is one component (or package) an advisory names, with the
// versions of it that are affected.
type Affected struct {
	// Component is the name the advisory uses: "kube-apiserver",
	// "k8s.io/apiserver", a Go module path. Empty means the whole project.
	Component string `json:"component,omitempty"`
	Ecosystem string `json:"ecosystem,omitempty"`
	// Ranges are OSV ranges (SEMVER, ECOSYSTEM; GIT ranges are kept but
	// not used to judge versions).
	Ranges   []osv.Range `json:"ranges,omitempty"`
	Versions []string    `json:"versions,omitempty"`
	// Fixed lists fixed versions named outside the ranges (the feed's
	// "Fixed Versions").
	Fixed []string `json:"fixed,omitempty"`
}

// Component is one deliverable of the project, as configured: the names
// advisories use for it, and what it ships as.
type Component struct {
	// Name is the component's name: kube-apiserver, kubelet, kubectl.
	Name string `json:"name" yaml:"name"`
	// Packages are other names advisories use for it (OSV package names
	// such as "k8s.io/apiserver"). The name itself, and a package whose
	// last path element is the name ("k8s.io/kubelet"), always match.
	Packages []string `json:"packages,omitempty" yaml:"packages,omitempty"`
	// Binaries and Images are what the component ships as: binary names or
	// paths, image repositories.
	Binaries []string `json:"binaries,omitempty" yaml:"binaries,omitempty"`
	Images   []string `json:"images,omitempty" yaml:"images,omitempty"`
}

// ProductKind is a branch or a release.
type ProductKind string

// Product kinds.
const (
	Branch  ProductKind = "branch"
	Release ProductKind = "release"
)

// Product is the project at one maintained branch or release.
type Product struct {
	Kind ProductKind `json:"kind"`
	// Ref names it: the branch ("release-1.34") or the release tag
	// ("v1.34.2"). Statements are scoped to it.
	Ref string `json:"ref"`
	// Version is the project's version there: the tag's version for a
	// release, the branch's current version for a branch.
	Version string `json:"version"`
	// Purls identify the product in VEX documents.
	Purls []string `json:"purls,omitempty"`
}

// Statement is what an advisory says about one product.
type Statement struct {
	Advisory string     `json:"advisory"`
	Product  Product    `json:"product"`
	Status   vex.Status `json:"status"`
	// Action is the action statement of an affected product: never empty.
	Action string `json:"action_statement,omitempty"`
	Notes  string `json:"status_notes,omitempty"`
	// Fix is the upgrade target (affected) or the fix the product is past
	// (fixed), when known.
	Fix string `json:"fix,omitempty"`
	// Components are the project's components the advisory concerns, with
	// what they ship as.
	Components []string `json:"components,omitempty"`
	Binaries   []string `json:"binaries,omitempty"`
	Images     []string `json:"images,omitempty"`

	// Set by List.
	Seq       int64     `json:"seq,omitempty"`
	Recorded  time.Time `json:"recorded,omitempty"`
	Author    string    `json:"author,omitempty"`
	Withdrawn bool      `json:"withdrawn,omitempty"`
}

// Project is what advisories are judged against: the project's module path
// (the triages' dependency), its components and its products.
type Project struct {
	Module     string
	Components []Component
	Products   []Product
}

// Validate checks the configuration.
func (p Project) Validate() error {
	if p.Module == "" {
		return fmt.Errorf("%w: no project module path", ErrInvalid)
	}
	names := map[string]bool{}
	for i, c := range p.Components {
		if c.Name == "" {
			return fmt.Errorf("%w: components[%d] has no name", ErrInvalid, i)
		}
		if names[c.Name] {
			return fmt.Errorf("%w: component %q is configured twice", ErrInvalid, c.Name)
		}
		names[c.Name] = true
	}
	refs := map[string]bool{}
	for i, pr := range p.Products {
		if pr.Kind != Branch && pr.Kind != Release {
			return fmt.Errorf("%w: products[%d] (%s): kind %q is neither branch nor release", ErrInvalid, i, pr.Ref, pr.Kind)
		}
		if pr.Ref == "" {
			return fmt.Errorf("%w: products[%d] has no ref", ErrInvalid, i)
		}
		if refs[pr.Ref] {
			return fmt.Errorf("%w: product %q is listed twice", ErrInvalid, pr.Ref)
		}
		refs[pr.Ref] = true
		if _, ok := osv.Canonical(pr.Version); !ok {
			return fmt.Errorf("%w: product %s: version %q is not a semantic version", ErrInvalid, pr.Ref, clip(pr.Version, 40))
		}
	}
	return nil
}

// matches reports whether an advisory's component name denotes c.
func (c Component) matches(name string) bool {
	name = strings.TrimSpace(name)
	if strings.EqualFold(name, c.Name) || strings.EqualFold(path.Base(name), c.Name) {
		return true
	}
	for _, p := range c.Packages {
		if strings.EqualFold(name, p) {
			return true
		}
	}
	return false
}

// concerned returns the project's components an affected entry names: all
// of them for the whole project (no name, or the project's module path). A
// project with no components configured is one component, named by its
// module path, that every entry of its advisories concerns: the sources are
// the project's own.
func (p Project) concerned(a Affected) []Component {
	if len(p.Components) == 0 {
		return []Component{{Name: p.Module}}
	}
	if a.Component == "" || a.Component == p.Module {
		return p.Components
	}
	var out []Component
	for _, c := range p.Components {
		if c.matches(a.Component) {
			out = append(out, c)
		}
	}
	return out
}

// Assess judges the advisory against every product of the project. A
// product gets a statement when the advisory concerns it (see judge):
// affected when any component it names is affected at the product's
// version, else fixed when one is past its fix. Affected entries whose
// ranges cannot be read are reported in the error and left out; the others
// still count.
func (a *Advisory) Assess(p Project) ([]Statement, error) {
	type compiled struct {
		comps    []Component
		ranges   []versionRange
		versions []string
		fixes    []string
	}
	var entries []compiled
	var errs []error
	for i, af := range a.Affected {
		comps := p.concerned(af)
		if len(comps) == 0 {
			continue
		}
		ranges, err := compileRanges(af.Ranges)
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: %s: affected[%d] (%s): %v", ErrInvalid, a.ID, i, clip(af.Component, 60), err))
			continue
		}
		c := compiled{comps: comps, ranges: ranges}
		bad := false
		for _, lst := range []struct {
			in  []string
			out *[]string
		}{{af.Versions, &c.versions}, {af.Fixed, &c.fixes}} {
			for _, v := range lst.in {
				cv, ok := osv.Canonical(v)
				if !ok {
					errs = append(errs, fmt.Errorf("%w: %s: affected[%d] (%s): %q is not a semantic version", ErrInvalid, a.ID, i, clip(af.Component, 60), clip(v, 40)))
					bad = true
					break
				}
				*lst.out = append(*lst.out, cv)
			}
		}
		if bad {
			continue
		}
		if len(c.ranges) == 0 && len(c.versions) == 0 {
			// Only GIT ranges, or nothing: no version can be judged.
			continue
		}
		entries = append(entries, c)
	}
	var out []Statement
	for _, pr := range p.Products {
		v, ok := osv.Canonical(pr.Version)
		if !ok {
			errs = append(errs, fmt.Errorf("%w: product %s: version %q is not a semantic version", ErrInvalid, pr.Ref, clip(pr.Version, 40)))
			continue
		}
		var affected, fixed []verdictFor
		for _, e := range entries {
			vd := judge(e.ranges, e.versions, e.fixes, v)
			switch vd.status {
			case "affected":
				affected = append(affected, verdictFor{vd, e.comps})
			case "fixed":
				fixed = append(fixed, verdictFor{vd, e.comps})
			}
		}
		switch {
		case len(affected) > 0:
			out = append(out, a.affectedStatement(pr, v, affected))
		case len(fixed) > 0:
			out = append(out, a.fixedStatement(pr, v, fixed))
		}
	}
	return out, errors.Join(errs...)
}

type verdictFor struct {
	verdict
	comps []Component
}

func (a *Advisory) affectedStatement(pr Product, v string, vs []verdictFor) Statement {
	st := Statement{Advisory: a.ID, Product: pr, Status: vex.StatusAffected}
	names := componentsOf(&st, vs)
	// The upgrade target: the highest of the components' targets, so that
	// one upgrade fixes all of them.
	var target, after string
	sameLine, unknown := true, false
	for _, x := range vs {
		switch {
		case x.fix != "":
			if target == "" || compareVersions(x.fix, target) > 0 {
				target = x.fix
			}
			sameLine = sameLine && x.sameLine
		case x.after != "":
			if after == "" || compareVersions(x.after, after) > 0 {
				after = x.after
			}
		default:
			unknown = true
		}
	}
	var action string
	switch {
	case unknown:
		action = "No fixed version is published yet for " + line(v) + "; follow the advisory for updates"
		if a.URL != "" {
			action += " (" + a.URL + ")"
		}
		action += "."
	case target != "":
		st.Fix = target
		action = "Upgrade to " + target + " or later."
		if !sameLine {
			action = "Upgrade to " + target + " or later (no fix is published for the " + line(v) + " line)."
		}
		if after != "" && compareVersions(after, target) >= 0 {
			action = "Upgrade to a version later than " + after + "."
		}
	default:
		action = "Upgrade to a version later than " + after + "."
	}
	if m := a.Mitigations; m != "" {
		action += " Mitigation: " + m
	}
	st.Action = action
	st.Notes = fmt.Sprintf("%s %s is in the range %s affects (%s).", strings.Join(names, ", "), v, a.ID, a.sourceLine())
	return st
}

func (a *Advisory) fixedStatement(pr Product, v string, vs []verdictFor) Statement {
	st := Statement{Advisory: a.ID, Product: pr, Status: vex.StatusFixed}
	names := componentsOf(&st, vs)
	var fix, after string
	for _, x := range vs {
		if x.fix != "" && (fix == "" || compareVersions(x.fix, fix) > 0) {
			fix = x.fix
		}
		if x.after != "" && (after == "" || compareVersions(x.after, after) > 0) {
			after = x.after
		}
	}
	st.Fix = fix
	detail := "fixed in " + fix
	switch {
	case fix == "":
		detail = "affected up to " + after
	case after != "":
		detail += ", affected up to " + after
	}
	st.Notes = fmt.Sprintf("%s %s includes the fix for %s (%s; %s).", strings.Join(names, ", "), v, a.ID, detail, a.sourceLine())
	return st
}

func (a *Advisory) sourceLine() string {
	s := "advisory"
	if a.URL != "" {
		s += " " + a.URL
	}
	return s
}

// componentsOf fills the statement's components, binaries and images.
func componentsOf(st *Statement, vs []verdictFor) []string {
	for _, x := range vs {
		for _, c := range x.comps {
			if slices.Contains(st.Components, c.Name) {
				continue
			}
			st.Components = append(st.Components, c.Name)
			st.Binaries = append(st.Binaries, c.Binaries...)
			st.Images = append(st.Images, c.Images...)
		}
	}
	slices.Sort(st.Components)
	st.Binaries = sortedUnique(st.Binaries)
	st.Images = sortedUnique(st.Images)
	return st.Components
}

func sortedUnique(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}
