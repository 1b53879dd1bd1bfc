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

	openvex "github.com/openvex/go-vex/pkg/vex"

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
	Store     *store.Store
	Repo      *source.Repository
	Scanner   *scan.Scanner
	DB        scan.Database
	Approvers *owners.Approvers
	Backend   Backend
	Progress  *progress.Reporter
	Now       func() time.Time

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

	// AfterRound, if set, is the rest of the round's shared work (the
	// published store and the feed), done by the runner that does the
	// round, under its lease, before the round is recorded done.
	AfterRound func(ctx context.Context, sum *Summary) error
	// Name names the runner in the rounds it records (default:
	// host:pid).
	Name string
}

// RoundOutcome says whether a run did the round's shared work.
type RoundOutcome string

// Outcomes of a run's round.
const (
	// RoundDone: this run did the round (always, on a store of one
	// machine).
	RoundDone RoundOutcome = "done"
	// RoundLeft: runners share the store, and the round was left to
	// another: one still at work, or one that did it since.
	RoundLeft RoundOutcome = "left"
)

// Summary is what a run did.
type Summary struct {
	Branches    []BranchSummary
	Transitions []Transition
	Comments    []CommentSummary
	Failures    []string
	// Failing are the branches whose scan did not complete in this run:
	// they kept their last complete scan and their document.
	Failing []BranchFailure
	// Others are the branches other runners recorded whose documents
	// this run's round wrote (runners sharing a store).
	Others []BranchSummary
	// Round says whether this run did the round's shared work.
	Round RoundOutcome
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
	// Doc is the branch's current document, as written.
	Doc *openvex.VEX `json:"-"`
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
	// mark is the newest round begun when this runner's last branch was
	// recorded: a round begun after it covers every branch of this run.
	var mark int64
	for i, b := range toScan {
		r.Progress.Printf("[%d/%d] branch %s", i+1, len(toScan), b)
		if shared {
			claim, err := r.Store.TakeLease(ctx, "branch:"+b)
			if err != nil {
				return nil, fmt.Errorf("claiming %s: %w", b, err)
			}
			err = r.runBranch(ctx, b, evidence, v, sum)
			if err == nil {
				// Read while the claim is held: no round begins while
				// a branch is claimed.
				mark, err = r.Store.RoundMark(ctx)
			}
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
	if !shared {
		// The store's lock is held for the whole run: the round is this
		// run's, recorded all the same.
		id, err := r.Store.BeginRound(ctx, r.runnerName())
		if err != nil {
			return nil, err
		}
		sum.Round = RoundDone
		if _, err := r.round(ctx, branches, sum); err != nil {
			return nil, err
		}
		if err := r.afterRound(ctx, sum); err != nil {
			return nil, err
		}
		return sum, r.Store.EndRound(ctx, id, r.runnerName())
	}
	return r.sharedRound(ctx, branches, mark, sum)
}

// sharedRound does the round's shared work for runners sharing a store,
// once per round: under the "round" lease, a runner leaves it to another
// when some branch is still being worked on (its runner does it when it is
// done) or when a round begun after this runner's branches were recorded is
// done already (it covered them). Otherwise it records the round begun,
// does it for every maintained branch, and records it done.
func (r *Runner) sharedRound(ctx context.Context, branches []string, mark int64, sum *Summary) (*Summary, error) {
	lease, err := r.Store.TakeLease(ctx, "round")
	if err != nil {
		return nil, fmt.Errorf("waiting for the round: %w", err)
	}
	defer lease.Release()
	busy, err := r.busyBranch(ctx, branches)
	if err != nil {
		return nil, err
	}
	covered := false
	if busy == "" {
		if covered, err = r.Store.RoundDoneSince(ctx, mark); err != nil {
			return nil, err
		}
	}
	if busy != "" || covered {
		if busy != "" {
			r.Progress.Printf("round: left to the runner of %s, which is still at work", busy)
		} else {
			r.Progress.Printf("round: done already by another runner since this run's branches were recorded")
		}
		sum.Round = RoundLeft
		return sum, r.documentsAsStored(ctx, sum)
	}
	id, err := r.Store.BeginRound(ctx, r.runnerName())
	if err != nil {
		return nil, err
	}
	sum.Round = RoundDone
	// The branches other runners scanned since their documents were last
	// written get theirs now, from the store: what a sequential update of
	// every branch would write.
	failing, err := r.Store.FailingBranches(ctx)
	if err != nil {
		return nil, err
	}
	scans, err := r.Store.LatestScans(ctx)
	if err != nil {
		return nil, err
	}
	// A branch whose runner stopped while observing its scan keeps its
	// document until a run of it completes: written now, it would say part
	// of what that scan found.
	pending, err := r.Store.PendingBranches(ctx)
	if err != nil {
		return nil, err
	}
	for _, b := range branches {
		if failing[b] != nil || pending[b] != nil || scans[b] == nil || slices.ContainsFunc(sum.Branches, func(bs BranchSummary) bool { return bs.Branch == b }) {
			continue
		}
		sum.Others = append(sum.Others, BranchSummary{Branch: b, Commit: scans[b].Commit})
	}
	if _, err := r.round(ctx, branches, sum); err != nil {
		return nil, err
	}
	if err := r.afterRound(ctx, sum); err != nil {
		return nil, err
	}
	if err := r.Store.EndRound(ctx, id, r.runnerName()); err != nil {
		return nil, err
	}
	return sum, nil
}

// busyBranch returns a maintained branch another runner has claimed (its
// lease is held), or "".
func (r *Runner) busyBranch(ctx context.Context, branches []string) (string, error) {
	for _, b := range branches {
		l, err := r.Store.TryLease(ctx, "branch:"+b)
		if err != nil {
			return "", fmt.Errorf("checking the claim on %s: %w", b, err)
		}
		if l == nil {
			return b, nil
		}
		l.Release()
	}
	return "", nil
}

// documentsAsStored fills in the branches' documents as the store has
// them, for a run that left the round to another runner.
func (r *Runner) documentsAsStored(ctx context.Context, sum *Summary) error {
	for i := range sum.Branches {
		bs := &sum.Branches[i]
		d, err := r.Store.LatestDocument(ctx, bs.Branch)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		bs.Document, bs.Version = filepath.Join(r.VEXDir, DocumentFileName(bs.Branch)), d.Version
	}
	return nil
}

func (r *Runner) afterRound(ctx context.Context, sum *Summary) error {
	if r.AfterRound == nil {
		return nil
	}
	return r.AfterRound(ctx, sum)
}

func (r *Runner) runnerName() string {
	if r.Name != "" {
		return r.Name
	}
	host, _ := os.Hostname()
	return fmt.Sprintf("%s:%d", host, os.Getpid())
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
	scanID, err := r.recordScan(ctx, t, v)
	if err != nil {
		return err
	}
	obs := ObservedFromTarget(t, evidence)
	changes, err := Observe(ctx, r.Store, obs)
	if err != nil {
		return err
	}
	// Only now is the scan its branch's latest: a runner stopped before
	// here (killed, say) leaves a scan that never counts, so no round
	// writes the branch's document from half its observations, and the
	// next run of the branch records and observes it again.
	if scanID != 0 {
		if err := r.Store.MarkObserved(ctx, scanID, r.Now()); err != nil {
			return err
		}
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
	rules := Rules{Approvers: r.Approvers, Maintained: branches}
	for _, c := range comments {
		out, trs, err := HandleComment(ctx, r.Store, rules, r.Backend, c)
		if errors.Is(err, store.ErrNotFound) {
			r.Progress.Printf("  skipping a comment on %s: %v", c.TriageID, err)
			continue
		}
		if err != nil {
			return nil, err
		}
		sum.Transitions = append(sum.Transitions, trs...)
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
	for i := range sum.Others {
		if err := r.publish(ctx, &sum.Others[i], pubViews, scans); err != nil {
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
	// What status and triage list read: every triage's derivation, kept
	// for the histories that moved since the last round.
	if _, err := RecordViews(ctx, r.Store); err != nil {
		return nil, err
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

// recordScan records a branch's complete scan, pending until what it found
// is observed (MarkObserved), and returns its ID: 0 when the store keeps
// the scan it has.
func (r *Runner) recordScan(ctx context.Context, t *scan.Target, v buildinfo.Versions) (int64, error) {
	if err := t.Incomplete(); err != nil {
		return 0, err
	}
	// The same commit scanned by the same tool against the same database
	// found the same: the store keeps the scan it has, unless the branch
	// failed since, when the complete scan is what heals it.
	prev, err := r.Store.LatestScans(ctx)
	if err != nil {
		return 0, err
	}
	failing, err := r.Store.FailingBranches(ctx)
	if err != nil {
		return 0, err
	}
	// A scan recorded since and never observed (its runner stopped) is
	// not the same: this run records and observes one again.
	pending, err := r.Store.PendingBranches(ctx)
	if err != nil {
		return 0, err
	}
	if p := prev[t.Branch]; p != nil && p.Commit == t.Commit && p.DBDigest == r.DB.Digest && p.Tool == v.Tool && p.Engine == v.Engine && failing[t.Branch] == nil && pending[t.Branch] == nil {
		return 0, nil
	}
	sc := &store.Scan{
		Branch: t.Branch, Commit: t.Commit, Tool: v.Tool, Engine: v.Engine,
		DBSource: r.DB.Source, DBVersion: r.DB.Version, DBDigest: r.DB.Digest, At: r.Now(),
		Pending: true,
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
	if err := r.Store.RecordScan(ctx, sc, findings, vulns); err != nil {
		return 0, err
	}
	return sc.ID, nil
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
	bs.Document, bs.Version, bs.Changed, bs.Doc = path, version, bd.Changed, bd.Doc
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
