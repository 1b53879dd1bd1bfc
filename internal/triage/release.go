package triage

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/vexloom/vexloom/internal/assess"
	"github.com/vexloom/vexloom/internal/scan"
	"github.com/vexloom/vexloom/internal/store"
)

// ReleasePoint is a release (a tag or commit on a maintained branch) with
// the scan of its commit.
type ReleasePoint struct {
	// Branch is the maintained branch the release was cut from; decisions
	// scoped to it apply to the release.
	Branch string
	// Name is the release's name (its tag, or the commit); decisions
	// scoped to it apply too.
	Name string
	// Target is the scan of the release commit.
	Target *scan.Target
	// Evidence of the scan, for the automatic assessments.
	Evidence assess.Evidence
	// Now stamps the release's automatic assessments.
	Now time.Time
}

// ReleaseViews derives the view of every vulnerability present at a release
// point, as if the release were a branch of its own: its observations and
// automatic assessments come from the release's scan, not from the
// branch's latest one; people's and advisories' decisions come from the
// history when their scope covers the branch or the release. A human
// decision made at a lower level than the release's finding does not hold
// (the release's evidence is re-checked, not carried), and vulnerabilities
// absent from the release are left out. Nothing is recorded.
//
// The views name the release's branch as their one branch, so
// BuildBranchDocument turns them into the release's statements.
func ReleaseViews(ctx context.Context, st *store.Store, rp ReleasePoint) ([]View, error) {
	// A release's views are its statements: a module that could not be
	// scanned would drop its vulnerabilities from them.
	if rp.Target == nil {
		return nil, fmt.Errorf("%w: release %s has no scan", scan.ErrIncomplete, rp.Name)
	}
	if err := rp.Target.Incomplete(); err != nil {
		return nil, fmt.Errorf("release %s: %w", rp.Name, err)
	}
	o := ObservedFromTarget(rp.Target, rp.Evidence)
	o.Branch = rp.Branch
	keys, groups := groupFindings(o.Findings)
	all, err := st.AllEvents(ctx)
	if err != nil {
		return nil, err
	}
	var views []View
	var seq int64 = -1 // synthetic events get negative sequence numbers
	for _, k := range keys {
		id := store.TriageID(k.vuln, k.dep)
		var history []store.Event
		for _, ev := range all[id] {
			switch ev.Kind {
			case store.KindAssessment, store.KindWithdrawal:
				if ev.Source == string(assess.SourceAutomatic) {
					continue
				}
				if len(ev.Branches) > 0 {
					if !ScopeMatches(ev.Branches, rp.Branch) && !ScopeMatches(ev.Branches, rp.Name) {
						continue
					}
					// A decision scoped to the release is a decision on
					// its branch, within this view.
					ev.Branches = []string{rp.Branch}
				}
				history = append(history, ev)
			}
		}
		for _, e := range observationEvents(o, groups[k]) {
			e.TriageID, e.Seq, e.At = id, seq, rp.Now
			seq--
			history = append(history, e)
		}
		slices.SortStableFunc(history, func(a, b store.Event) int {
			// Real events keep their order; synthetic ones come first, so
			// a later human decision wins over the release's automatic
			// assessment exactly as it does on the branch.
			if (a.Seq < 0) != (b.Seq < 0) {
				if a.Seq < 0 {
					return -1
				}
				return 1
			}
			if a.Seq < 0 {
				return 0
			}
			return int(a.Seq - b.Seq)
		})
		t := store.Triage{ID: id, VulnID: k.vuln, Dependency: k.dep}
		v := Derive(t, history, []string{rp.Branch}, map[string]string{rp.Branch: rp.Target.Commit})
		v.Vulnerability = vulnerabilityOf(rp.Target, k.vuln)
		views = append(views, v)
	}
	return views, nil
}

// vulnerabilityOf finds a vulnerability's details in a scan.
func vulnerabilityOf(t *scan.Target, id string) scan.Vulnerability {
	for _, m := range t.Modules {
		for _, v := range m.Vulnerabilities {
			if v.ID == id {
				return v
			}
		}
	}
	return scan.Vulnerability{ID: id}
}

// ReleaseDocumentInput builds the DocumentInput of a release's statements
// on the project's modules at the release's versions.
func ReleaseDocumentInput(repository string, rp ReleasePoint, views []View, author, tooling string, now time.Time) DocumentInput {
	sc := &store.Scan{Branch: rp.Branch, Commit: rp.Target.Commit}
	for _, m := range rp.Target.Modules {
		sc.Modules = append(sc.Modules, store.ScannedModule{Path: m.Path, Dir: m.Dir, Version: m.Version, GoVersion: m.GoVersion.Version})
	}
	return DocumentInput{
		Repository: repository + "@" + rp.Name,
		Branch:     rp.Branch,
		Scan:       sc,
		Views:      views,
		Author:     author,
		Tooling:    tooling,
		Now:        now,
	}
}
