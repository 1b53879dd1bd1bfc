package triage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vexloom/vexloom/internal/assess"
	"github.com/vexloom/vexloom/internal/atomicfile"
	"github.com/vexloom/vexloom/internal/buildinfo"
	"github.com/vexloom/vexloom/internal/owners"
	"github.com/vexloom/vexloom/internal/progress"
	"github.com/vexloom/vexloom/internal/scan"
	"github.com/vexloom/vexloom/internal/source"
	"github.com/vexloom/vexloom/internal/store"
	"github.com/vexloom/vexloom/internal/vex"
)

// Backend is where triages are discussed: the local store alone, or a
// hosted service such as GitHub.
type Backend interface {
	// Name is how progress and history name it ("local", "github").
	Name() string
	// Comments returns the comments made since the last run, oldest first.
	Comments(ctx context.Context) ([]Comment, error)
	// Answer tells a commenter what their comment did (a reaction when it
	// was applied, a reply when it was not), at most once per comment.
	Answer(ctx context.Context, c Comment, o Outcome) error
	// Sync makes the backend show each triage's current state.
	Sync(ctx context.Context, views []View) error
	// Link returns where a triage is discussed, if anywhere.
	Link(triageID string) string
}

// Local is the backend of a project without a hosted service: comments are
// made with `vexloom triage comment` and applied at once.
type Local struct{}

func (Local) Name() string                                   { return "local" }
func (Local) Comments(context.Context) ([]Comment, error)    { return nil, nil }
func (Local) Answer(context.Context, Comment, Outcome) error { return nil }
func (Local) Sync(context.Context, []View) error             { return nil }
func (Local) Link(string) string                             { return "" }

// Runner is one run of the main job (`vexloom update`).
type Runner struct {
	Store    *store.Store
	Repo     *source.Repository
	Scanner  *scan.Scanner
	DB       scan.Database
	Policy   *owners.Policy
	Backend  Backend
	Progress *progress.Reporter
	Now      func() time.Time

	// Branches are the configured names and patterns: the maintained
	// branches.
	Branches []string
	// Only, when set, restricts this run's scans to the maintained branches
	// matching these names or patterns; the others keep their last scan.
	Only []string
	once sync.Once

	// Author and VEXDir: the documents' author and where they are written.
	Author string
	VEXDir string
}

// Summary is what a run did.
type Summary struct {
	Branches    []BranchSummary
	Transitions []Transition
	Comments    []CommentSummary
	Failures    []string
	// Failing are the branches whose scan did not complete in this run:
	// they kept their last complete scan and their document.
	Failing []BranchFailure
}

// BranchFailure is a branch whose scan did not complete.
type BranchFailure struct {
	Branch string `json:"branch"`
	Commit string `json:"commit"`
	Reason string `json:"reason"`
}

// BranchSummary is one branch's part of a run.
type BranchSummary struct {
	Branch   string `json:"branch"`
	Commit   string `json:"commit"`
	Findings int    `json:"findings"`
	// Document is where the branch's VEX was written, its version, and
	// whether this run changed it.
	Document string `json:"document"`
	Version  int    `json:"version"`
	Changed  bool   `json:"changed"`
}

// CommentSummary is a comment applied during the run.
type CommentSummary struct {
	TriageID string `json:"triage"`
	Author   string `json:"author"`
	Outcome  string `json:"outcome"`
}

// maintainedBranches matches the configured names and patterns against the
// repository's branches. A configured branch that no longer exists (deleted
// upstream) is reported and no longer maintained — its triages see it gone —
// rather than stopping the run for every other branch; nothing matching at
// all is an error.
func (r *Runner) maintainedBranches(ctx context.Context) ([]string, error) {
	var out []string
	var missing []string
	for _, p := range r.Branches {
		bs, err := r.Repo.MatchBranches(ctx, []string{p})
		if errors.Is(err, source.ErrNoBranch) {
			missing = append(missing, p)
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, b := range bs {
			if !slices.Contains(out, b) {
				out = append(out, b)
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: none of the maintained branches (%s) is in %s", source.ErrNoBranch, strings.Join(r.Branches, ", "), r.Repo.Spec)
	}
	r.once.Do(func() {
		for _, m := range missing {
			r.Progress.Printf("warning: maintained branch %q is not in %s: treated as no longer maintained", m, r.Repo.Spec)
		}
	})
	return out, nil
}

// Run scans every maintained branch, records what changed, applies new
// comments, derives every triage's state and writes each branch's VEX.
func (r *Runner) Run(ctx context.Context) (*Summary, error) {
	if r.Backend == nil {
		r.Backend = Local{}
	}
	// One machine takes the store's update lock for the whole run. Runners
	// sharing a store on a database server (one per branch, on as many
	// machines) claim each branch they scan, and take turns for the
	// round's shared work below.
	shared := r.Store.Shared()
	if !shared {
		if err := r.Store.Lock(ctx); err != nil {
			return nil, err
		}
	}
	branches, err := r.maintainedBranches(ctx)
	if err != nil {
		return nil, err
	}
	sum := &Summary{}
	if _, err := Unmaintained(ctx, r.Store, branches); err != nil {
		return nil, err
	}
	toScan := branches
	if len(r.Only) > 0 {
		toScan = nil
		for _, b := range branches {
			if ScopeMatches(r.Only, b) {
				toScan = append(toScan, b)
			}
		}
		if len(toScan) == 0 {
			return nil, fmt.Errorf("no maintained branch matches %s (maintained: %s)", strings.Join(r.Only, ", "), strings.Join(branches, ", "))
		}
	}
	v := buildinfo.Get()
	evidence := ScanEvidence(r.DB)
	for i, b := range toScan {
		r.Progress.Printf("[%d/%d] branch %s", i+1, len(toScan), b)
		if shared {
			claim, err := r.Store.TakeLease(ctx, "branch:"+b)
			if err != nil {
				return nil, fmt.Errorf("claiming %s: %w", b, err)
			}
			err = r.runBranch(ctx, b, evidence, v, sum)
			claim.Release()
			if err != nil {
				return nil, err
			}
			continue
		}
		if err := r.runBranch(ctx, b, evidence, v, sum); err != nil {
			return nil, err
		}
	}
	if shared {
		round, err := r.Store.TakeLease(ctx, "round")
		if err != nil {
			return nil, fmt.Errorf("waiting for the round: %w", err)
		}
		defer round.Release()
	}
	return r.round(ctx, branches, sum)
}

// runBranch scans one branch at its current commit and records what
// changed.
func (r *Runner) runBranch(ctx context.Context, b string, evidence assess.Evidence, v buildinfo.Versions, sum *Summary) error {
	c, err := r.Repo.ResolveBranch(ctx, b)
	if err != nil {
		return err
	}
	t, err := r.Scanner.ScanCommit(ctx, r.Repo, b, c)
	if err != nil {
		return fmt.Errorf("scanning %s: %w", b, err)
	}
	if failed := t.Failed(); len(failed) > 0 {
		// A scan that did not complete is not an empty scan: nothing
		// of it is observed, the branch keeps its last complete scan
		// (for its document and every triage's state) and its
		// document is neither rewritten nor published. The attempt is
		// recorded so status says since when and why it fails.
		bf, err := r.recordFailure(ctx, t, failed)
		if err != nil {
			return err
		}
		for _, m := range failed {
			sum.Failures = append(sum.Failures, fmt.Sprintf("%s: module %s: %s", t.Name(), m.Name(), m.Error))
		}
		sum.Failing = append(sum.Failing, bf)
		r.Progress.Printf("  %s keeps its last complete scan: %s", b, bf.Reason)
		return nil
	}
	if err := r.recordScan(ctx, t, v); err != nil {
		return err
	}
	obs := ObservedFromTarget(t, evidence)
	changes, err := Observe(ctx, r.Store, obs)
	if err != nil {
		return err
	}
	created := 0
	for _, ch := range changes {
		if ch.Created {
			created++
		}
	}
	if created > 0 {
		r.Progress.Printf("  %d new %s", created, plural(created, "triage", "triages"))
	}
	sum.Branches = append(sum.Branches, BranchSummary{Branch: b, Commit: c.Hash, Findings: len(obs.Findings)})
	return nil
}

// round does a run's shared work once its branches are recorded: applies
// new comments, derives every triage's state, writes the scanned branches'
// documents and brings the backend up to date.
func (r *Runner) round(ctx context.Context, branches []string, sum *Summary) (*Summary, error) {
	comments, err := r.Backend.Comments(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading comments from %s: %w", r.Backend.Name(), err)
	}
	rules := Rules{Policy: r.Policy, Maintained: branches}
	for _, c := range comments {
		out, err := Apply(ctx, r.Store, rules, c)
		if errors.Is(err, store.ErrNotFound) {
			r.Progress.Printf("  skipping a comment on %s: %v", c.TriageID, err)
			continue
		}
		if err != nil {
			return nil, err
		}
		if err := r.Backend.Answer(ctx, c, out); err != nil {
			return nil, fmt.Errorf("answering comment %s: %w", c.Ref, err)
		}
		if !out.Duplicate && out.Kind != OutcomeIgnored {
			sum.Comments = append(sum.Comments, CommentSummary{TriageID: c.TriageID, Author: c.Author, Outcome: out.Kind})
		}
	}

	trs, err := Reconcile(ctx, r.Store, branches)
	if err != nil {
		return nil, err
	}
	sum.Transitions = append(sum.Transitions, trs...)
	// Every branch's document is built from one derivation of the views:
	// what one branch publishes does not change another's document.
	pubViews, err := Views(ctx, r.Store, branches)
	if err != nil {
		return nil, err
	}
	scans, err := r.Store.LatestScans(ctx)
	if err != nil {
		return nil, err
	}
	for i := range sum.Branches {
		if err := r.publish(ctx, &sum.Branches[i], pubViews, scans); err != nil {
			return nil, err
		}
	}
	trs, err = Reconcile(ctx, r.Store, branches)
	if err != nil {
		return nil, err
	}
	sum.Transitions = append(sum.Transitions, trs...)
	views, err := Views(ctx, r.Store, branches)
	if err != nil {
		return nil, err
	}
	if err := r.Backend.Sync(ctx, views); err != nil {
		return nil, fmt.Errorf("updating %s: %w", r.Backend.Name(), err)
	}
	return sum, nil
}

// recordFailure records a scan of a branch that did not complete.
func (r *Runner) recordFailure(ctx context.Context, t *scan.Target, failed []scan.ModuleResult) (BranchFailure, error) {
	var reasons []string
	for _, m := range failed {
		reasons = append(reasons, "module "+m.Name()+": "+oneLine(m.Error))
	}
	f := &store.ScanFailure{Branch: t.Branch, Commit: t.Commit, At: r.Now(), Reason: strings.Join(reasons, "; ")}
	for _, m := range t.Modules {
		f.Modules = append(f.Modules, store.ScannedModule{Path: m.Path, Dir: m.Dir, Version: m.Version, GoVersion: m.GoVersion.Version, Error: m.Error})
	}
	if err := r.Store.RecordScanFailure(ctx, f); err != nil {
		return BranchFailure{}, err
	}
	return BranchFailure{Branch: t.Branch, Commit: t.Commit, Reason: f.Reason}, nil
}

func (r *Runner) recordScan(ctx context.Context, t *scan.Target, v buildinfo.Versions) error {
	if err := t.Incomplete(); err != nil {
		return err
	}
	// The same commit scanned by the same tool against the same database
	// found the same: the store keeps the scan it has, unless the branch
	// failed since, when the complete scan is what heals it.
	prev, err := r.Store.LatestScans(ctx)
	if err != nil {
		return err
	}
	failing, err := r.Store.FailingBranches(ctx)
	if err != nil {
		return err
	}
	if p := prev[t.Branch]; p != nil && p.Commit == t.Commit && p.DBDigest == r.DB.Digest && p.Tool == v.Tool && p.Engine == v.Engine && failing[t.Branch] == nil {
		return nil
	}
	sc := &store.Scan{
		Branch: t.Branch, Commit: t.Commit, Tool: v.Tool, Engine: v.Engine,
		DBSource: r.DB.Source, DBVersion: r.DB.Version, DBDigest: r.DB.Digest, At: r.Now(),
	}
	if t.CommitTime != nil {
		sc.CommitTime = *t.CommitTime
	}
	var findings []store.Finding
	var vulns []scan.Vulnerability
	for _, m := range t.Modules {
		sc.Modules = append(sc.Modules, store.ScannedModule{Path: m.Path, Dir: m.Dir, Version: m.Version, GoVersion: m.GoVersion.Version, Error: m.Error})
		for _, f := range m.Findings {
			findings = append(findings, store.Finding{Module: m.Path, ModuleVersion: m.Version, GoVersion: m.GoVersion.Version, Finding: f})
		}
		vulns = append(vulns, m.Vulnerabilities...)
	}
	return r.Store.RecordScan(ctx, sc, findings, vulns)
}

// publish writes a branch's current VEX if it changed, and records which
// decisions it states.
func (r *Runner) publish(ctx context.Context, bs *BranchSummary, views []View, scans map[string]*store.Scan) error {
	prev, err := r.Store.LatestDocument(ctx, bs.Branch)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	bd, err := BuildBranchDocument(DocumentInput{
		Repository: r.Repo.Spec, Branch: bs.Branch, Scan: scans[bs.Branch], Views: views,
		Author: r.Author, Tooling: buildinfo.Tool(), Previous: prev, Now: r.Now(), Link: r.Backend.Link,
	})
	if err != nil {
		return fmt.Errorf("building the VEX of %s: %w", bs.Branch, err)
	}
	path := filepath.Join(r.VEXDir, DocumentFileName(bs.Branch))
	version := bd.Doc.Version
	var body []byte
	if bd.Changed {
		body, err = vex.Marshal(bd.Doc)
		if err != nil {
			return err
		}
	} else {
		body = prev.Body
	}
	var pubs []store.Event
	for _, v := range views {
		b := v.Branch(bs.Branch)
		if b == nil || b.Decision == nil || b.PublishedDecision == b.Decision.Seq {
			continue
		}
		data, _ := json.Marshal(publication{Branch: bs.Branch, Decision: b.Decision.Seq, Version: version, Path: path})
		pubs = append(pubs, store.Event{TriageID: v.ID, Kind: store.KindPublished, Author: buildinfo.ToolName, Source: string(assess.SourceAutomatic), Branches: []string{bs.Branch}, Data: data})
	}
	if bd.Changed {
		if err := r.Store.RecordDocument(ctx, store.Document{Branch: bs.Branch, Version: version, ContentHash: bd.ContentHash, Path: path, At: r.Now(), Body: body}, pubs); err != nil {
			return err
		}
	} else if len(pubs) > 0 {
		if _, err := r.Store.Append(ctx, pubs...); err != nil {
			return err
		}
	}
	// The file on disk follows the store: rewritten if missing or
	// different (a run killed between the two writes heals here).
	if cur, err := os.ReadFile(path); err != nil || !bytes.Equal(cur, body) {
		if err := os.MkdirAll(r.VEXDir, 0o755); err != nil {
			return err
		}
		if err := atomicfile.Write(path, body, 0o644); err != nil {
			return err
		}
	}
	bs.Document, bs.Version, bs.Changed = path, version, bd.Changed
	return nil
}

// DocumentFileName is the file a branch's VEX is written to: the branch
// name with "%" and "/" percent-encoded, so that every branch has a file of
// its own ("release/1.0" and "release_1.0" do not meet) and the name can be
// read back.
func DocumentFileName(branch string) string {
	return strings.NewReplacer("%", "%25", "/", "%2F").Replace(branch) + ".openvex.json"
}

// ScanEvidence is the evidence of the automatic assessments a symbol-level
// scan against db makes: the analysis, vexloom's and the engine's versions,
// the database and its version.
func ScanEvidence(db scan.Database) assess.Evidence {
	v := buildinfo.Get()
	name := db.Source
	if db.Version != "" {
		name += "@" + db.Version
	}
	return assess.Evidence{
		Analysis: "symbol",
		Tool:     buildinfo.ToolName + " " + v.Tool,
		Engine:   buildinfo.EngineModule + " " + v.Engine,
		Database: name,
	}
}

// oneLine folds an error's lines into one.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
