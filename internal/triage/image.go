package triage

import (
	"context"
	"fmt"
	"slices"
	"strings"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/assess"
	"github.com/vexloom/vexloom/internal/scan"
	"github.com/vexloom/vexloom/internal/store"
)

// ImageBranchPrefix starts the "branch" of an observation in a release's
// image ("image:v1.34.2"): git branch names cannot hold a colon, so it
// never collides with a branch of the repository.
const ImageBranchPrefix = "image:"

// BaseVEXAuthor is the author of assessments carried from a base image's
// VEX.
const BaseVEXAuthor = "base image VEX"

// ImageObserved is what a scanner reported about one image of a release,
// for the findings that are not the project's own Go code (operating-system
// packages and other languages' packages).
type ImageObserved struct {
	// Release is the release tag the image belongs to.
	Release string
	// Image is the image's repository (registry.k8s.io/kube-proxy), Digest
	// the digest the scanner saw.
	Image, Digest string
	// Scanner names the report (its format and file).
	Scanner  string
	Findings []ImageFinding
}

// ImageFinding is one vulnerability in one package of the image.
type ImageFinding struct {
	// Vulnerability is the name (the CVE where there is one); Aliases the
	// other IDs.
	Vulnerability string
	Aliases       []string
	// Package is the package URL with its version; PackageKey without
	// (the triage's dependency: one triage per vulnerability and package).
	Package, PackageKey string
	Version             string
	FixedVersion        string
	// Covered is the statement of the base image's verified VEX that
	// answers the finding, nil when none does: then a person decides.
	Covered *openvex.Statement
}

// ObserveImage records a scanner's findings in a release image like a
// branch scan's: each (vulnerability, package) gets its triage, observed in
// the image of the release; a finding the base image's VEX covers gets that
// statement as its automatic assessment (a maintainer's decision still
// wins), the others an under_investigation one, which waits for a person.
// Findings of the image no longer in the report are recorded gone. It is
// idempotent.
func ObserveImage(ctx context.Context, st *store.Store, o ImageObserved) ([]Change, error) {
	if o.Release == "" || o.Image == "" {
		return nil, fmt.Errorf("an image observation needs a release and an image")
	}
	branch := ImageBranchPrefix + o.Release
	// Each platform of a multi-platform image is a "module" of its own.
	module := o.Image
	if o.Digest != "" {
		module += "@" + o.Digest
	}
	var changes []Change
	seen := map[string]bool{}
	fs := slices.Clone(o.Findings)
	slices.SortFunc(fs, func(a, b ImageFinding) int {
		return strings.Compare(a.Vulnerability+"\x00"+a.PackageKey, b.Vulnerability+"\x00"+b.PackageKey)
	})
	for _, f := range fs {
		if err := st.PutVulnerability(ctx, scan.Vulnerability{ID: f.Vulnerability, Aliases: f.Aliases}); err != nil {
			return nil, err
		}
		obs := Observation{Branch: branch, Commit: o.Digest, Module: module, DependencyVersion: f.Version,
			FixedVersion: f.FixedVersion, Level: scan.LevelModule, Image: f.Package}
		auto := imageAssessment(o, f, branch)
		proposed := []store.Event{observedEvent(obs), auto}
		t, created, err := st.EnsureTriage(ctx, f.Vulnerability, f.PackageKey, proposed)
		if err != nil {
			return nil, err
		}
		seen[t.ID] = true
		if created {
			changes = append(changes, Change{TriageID: t.ID, Created: true, Events: proposed})
			continue
		}
		evs, err := st.AppendIf(ctx, t.ID, func(history []store.Event) ([]store.Event, error) {
			var evs []store.Event
			if prev := lastObservations(history, branch)[module]; prev == nil || prev.DependencyVersion != obs.DependencyVersion || prev.Commit != obs.Commit {
				evs = append(evs, proposed[0])
			}
			if prev := lastAutomatic(history, branch); prev == nil || prev.Status != auto.Status || prev.Justification != auto.Justification || prev.Notes != auto.Notes {
				evs = append(evs, auto)
			}
			return evs, nil
		})
		if err != nil {
			return nil, err
		}
		if len(evs) > 0 {
			changes = append(changes, Change{TriageID: t.ID, Events: evs})
		}
	}
	all, err := st.AllEvents(ctx)
	if err != nil {
		return nil, err
	}
	ids := sortedKeys(all)
	for _, id := range ids {
		if seen[id] || lastObservations(all[id], branch)[module] == nil {
			continue
		}
		evs, err := st.AppendIf(ctx, id, func(history []store.Event) ([]store.Event, error) {
			if lastObservations(history, branch)[module] == nil {
				return nil, nil
			}
			return []store.Event{goneEvent(Observed{Branch: branch, Commit: o.Digest}, module, "no longer reported in "+module+" of "+o.Release+" by "+o.Scanner)}, nil
		})
		if err != nil {
			return nil, err
		}
		if len(evs) > 0 {
			changes = append(changes, Change{TriageID: id, Events: evs})
		}
	}
	return changes, nil
}

// imageAssessment is the automatic assessment of an image finding: the base
// image's statement when one covers it, else under investigation.
func imageAssessment(o ImageObserved, f ImageFinding, branch string) store.Event {
	where := fmt.Sprintf("%s reports %s %s in %s@%s (release %s).", o.Scanner, f.PackageKey, f.Version, o.Image, short(strings.TrimPrefix(o.Digest, "sha256:")), o.Release)
	if c := f.Covered; c != nil {
		return store.Event{Kind: store.KindAssessment, Author: BaseVEXAuthor, Source: string(assess.SourceAutomatic), Branches: []string{branch},
			Status: string(c.Status), Justification: string(c.Justification), Impact: c.ImpactStatement, Action: c.ActionStatement,
			Notes: strings.TrimSpace(where + " " + c.StatusNotes)}
	}
	return store.Event{Kind: store.KindAssessment, Author: assess.AutomaticAuthor, Source: string(assess.SourceAutomatic), Branches: []string{branch},
		Status: string(openvex.StatusUnderInvestigation), Notes: where + " No VEX of the base image covers it: a maintainer decides."}
}

// isImageBranch tells an image observation's branch from a repository's.
func isImageBranch(b string) bool { return strings.HasPrefix(b, ImageBranchPrefix) }
