package triage

import (
	"context"
	"fmt"
	"iter"
	"maps"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/vexloom/vexloom/internal/branch"
	"github.com/vexloom/vexloom/internal/store"
)

// Status is where a project stands: its branches' scans and documents,
// and its triages by state (`vexloom status`, schema status/v1).
type Status struct {
	Schema   string         `json:"schema"`
	Project  string         `json:"project"`
	Store    string         `json:"store"`
	Branches []BranchStatus `json:"branches"`
	Triages  map[string]int `json:"triages"`
	// Advisories counts the project's own advisories (triages about the
	// project itself, which no scan finds).
	Advisories  int      `json:"advisories"`
	NeedsPerson []string `json:"needs_person"`
}

// BranchStatus is where one maintained branch stands.
type BranchStatus struct {
	Branch     string    `json:"branch"`
	Commit     string    `json:"commit"`
	Scanned    time.Time `json:"scanned"`
	Database   string    `json:"database"`
	Findings   int       `json:"findings"`
	VEXVersion int       `json:"vex_version"`
	VEXFile    string    `json:"vex_file,omitempty"`
	// Triages on the branch by where they stand there: needing a person,
	// decided, decided and in the branch's VEX.
	Open      int `json:"open"`
	Assessed  int `json:"assessed"`
	Published int `json:"published"`
	// OldestOpen is since when the longest-waiting triage on the branch has
	// needed a person, and OldestOpenDays how many days that is.
	OldestOpen     *time.Time `json:"oldest_open"`
	OldestOpenDays int        `json:"oldest_open_days,omitempty"`
	// Failing is set while the branch's scans fail: since the first failed
	// attempt after its last complete scan (whose commit, findings and
	// VEX the other fields still show), why the latest one failed, at
	// which commit, and how many attempts failed.
	Failing *BranchFailing `json:"failing,omitempty"`
	// Interrupted is set while the branch's newest scan is recorded but
	// not observed (its update stopped in between): which commit, when.
	// The other fields show the branch's last observed scan until its
	// next update records and observes one again.
	Interrupted *BranchInterrupted `json:"interrupted,omitempty"`
}

// BranchInterrupted is a branch's scan that an update recorded and stopped
// before observing.
type BranchInterrupted struct {
	Commit string    `json:"commit"`
	At     time.Time `json:"at"`
}

// BranchFailing says since when and why a branch's scans fail.
type BranchFailing struct {
	Since    time.Time `json:"since"`
	Reason   string    `json:"reason"`
	Commit   string    `json:"commit"`
	At       time.Time `json:"at"`
	Attempts int       `json:"attempts"`
}

// Project is what status needs to know of a project.
type Project struct {
	// Module is the project's main module; its own advisories are about it.
	Module string
	// Branches are the configured maintained branch names and patterns.
	Branches []string
	// VEXDir is where the branch documents are written.
	VEXDir string
}

// Maintained returns the branches the project maintains as the store knows
// them: those with a recorded scan that match the configured patterns. It
// needs no network, unlike matching against the repository.
func (p Project) Maintained(ctx context.Context, st *store.Store) ([]string, error) {
	scans, err := st.LatestScans(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for b := range scans {
		if p.Configured(b) {
			out = append(out, b)
		}
	}
	sort.Strings(out)
	return out, nil
}

// Configured reports whether b matches the project's branch names and
// patterns.
func (p Project) Configured(b string) bool {
	return branch.MatchAny(p.Branches, b)
}

// IsAdvisory reports whether a triage is one of the project's own
// advisories: about the project's module, which no scan of the project
// finds, with statements from an advisory.
func (p Project) IsAdvisory(v View) bool {
	return v.Dependency == p.Module && len(v.Branches) == 0 && v.FromAdvisory
}

// ProjectStatus aggregates where the project stands from its store, at
// now. Schema and Store are the caller's to fill in.
func ProjectStatus(ctx context.Context, st *store.Store, p Project, now time.Time) (*Status, error) {
	maintained, err := p.Maintained(ctx, st)
	if err != nil {
		return nil, err
	}
	scans, err := st.LatestScans(ctx)
	if err != nil {
		return nil, err
	}
	out := &Status{
		Project:  p.Module,
		Branches: []BranchStatus{}, Triages: map[string]int{"open": 0, "assessed": 0, "published": 0, "closed": 0},
		NeedsPerson: []string{},
	}
	failing, err := st.FailingBranches(ctx)
	if err != nil {
		return nil, err
	}
	pending, err := st.PendingBranches(ctx)
	if err != nil {
		return nil, err
	}
	// A branch whose every scan failed, or whose first scan is not
	// observed yet, has no complete scan to be known by; it is listed
	// all the same.
	listed := slices.Clone(maintained)
	for _, bs := range []iter.Seq[string]{maps.Keys(failing), maps.Keys(pending)} {
		for b := range bs {
			if !slices.Contains(listed, b) && p.Configured(b) {
				listed = append(listed, b)
			}
		}
	}
	sort.Strings(listed)
	versions, err := st.DocumentVersions(ctx)
	if err != nil {
		return nil, err
	}
	findings, err := st.FindingCounts(ctx)
	if err != nil {
		return nil, err
	}
	for _, b := range listed {
		bs := BranchStatus{Branch: b}
		if sc := scans[b]; sc != nil {
			bs.Commit, bs.Scanned, bs.Database, bs.Findings = sc.Commit, sc.At.UTC(), sc.DBSource+"@"+sc.DBVersion, findings[sc.ID]
		}
		if f := failing[b]; f != nil {
			bs.Failing = &BranchFailing{Since: f.Since.UTC(), Reason: f.Latest.Reason, Commit: f.Latest.Commit, At: f.Latest.At.UTC(), Attempts: f.Attempts}
		}
		if sc := pending[b]; sc != nil {
			bs.Interrupted = &BranchInterrupted{Commit: sc.Commit, At: sc.At.UTC()}
		}
		if v, ok := versions[b]; ok {
			bs.VEXVersion = v
			bs.VEXFile = filepath.Join(p.VEXDir, DocumentFileName(b))
		}
		out.Branches = append(out.Branches, bs)
	}
	views, err := ListViews(ctx, st, maintained)
	if err != nil {
		return nil, err
	}
	index := map[string]int{}
	for i, b := range out.Branches {
		index[b.Branch] = i
	}
	for _, v := range views {
		for _, b := range v.Branches {
			i, ok := index[b.Branch]
			if !ok {
				continue
			}
			bs := &out.Branches[i]
			switch {
			case b.NeedsPerson():
				bs.Open++
				since := WaitingSince(v, b)
				if bs.OldestOpen == nil || since.Before(*bs.OldestOpen) {
					t := since.UTC()
					bs.OldestOpen = &t
					bs.OldestOpenDays = int(now.Sub(since).Hours() / 24)
				}
			case b.Decision != nil && b.PublishedDecision == b.Decision.Seq:
				bs.Published++
			default:
				bs.Assessed++
			}
		}
		if p.IsAdvisory(v) {
			out.Advisories++
			continue
		}
		out.Triages[string(v.State)]++
		if v.State == Open {
			out.NeedsPerson = append(out.NeedsPerson, fmt.Sprintf("%s %s in %s (%s)", v.ID, v.Name(), v.Dependency, v.BranchesText()))
		}
	}
	sort.Strings(out.NeedsPerson)
	return out, nil
}

// BranchesText says in one line where a triage stands on each branch
// ("main: not_affected; release-1.0: needs a person"), or where it was
// last seen.
func (v *View) BranchesText() string {
	if len(v.Branches) == 0 {
		if len(v.LastSeen) > 0 {
			return "(last seen on " + strings.Join(v.LastSeen, ", ") + ")"
		}
		return "-"
	}
	var parts []string
	for _, b := range v.Branches {
		d := "needs a person"
		if b.Decision != nil && !b.NeedsPerson() {
			d = b.Decision.Status
		}
		if b.Flagged {
			d = "re-assess"
		}
		parts = append(parts, b.Branch+": "+d)
	}
	return strings.Join(parts, "; ")
}
