package triage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/assess"
	"github.com/vexloom/vexloom/internal/chatops"
	"github.com/vexloom/vexloom/internal/owners"
	"github.com/vexloom/vexloom/internal/scan"
	"github.com/vexloom/vexloom/internal/store"
)

// Comment is a comment on a triage, from any backend.
type Comment struct {
	// Ref identifies the comment in its backend; a comment is applied once.
	Ref      string
	TriageID string
	Author   string
	Body     string
	URL      string
	At       time.Time
}

// Outcomes of a comment.
const (
	OutcomeApplied      = "applied"
	OutcomeRejected     = "rejected"
	OutcomeUnauthorized = "unauthorized"
	OutcomeIgnored      = "ignored"
)

// Outcome is what a comment did.
type Outcome struct {
	Kind string
	// Events recorded (the decisions, or the record of a rejection).
	Events []store.Event
	// Reply is the answer to the commenter: why nothing was applied, or
	// (for the local backend) what was.
	Reply string
	// Duplicate: the comment had been processed before; nothing was done
	// now, and Kind and Reply are what was decided then.
	Duplicate bool
}

// Rules are what Apply needs to judge a comment.
type Rules struct {
	Approvers *owners.Approvers
	// Maintained lists the maintained branches.
	Maintained []string
}

// Apply reads the slash commands in a comment and records what they
// decide, atomically with the comment itself. Other bots' commands are
// ignored; a malformed command or one from someone not authorized changes
// nothing and gets a reply explaining why.
func Apply(ctx context.Context, st *store.Store, rules Rules, c Comment) (Outcome, error) {
	if prev, err := st.Comment(ctx, c.Ref); err == nil {
		return Outcome{Kind: prev.Outcome, Reply: prev.Reply, Duplicate: true}, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return Outcome{}, err
	}
	t, err := st.FindTriage(ctx, c.TriageID)
	if err != nil {
		return Outcome{}, err
	}
	c.TriageID = t.ID
	view, err := ViewOf(ctx, st, t, rules.Maintained)
	if err != nil {
		return Outcome{}, err
	}
	cmds, problems := chatops.Parse(c.Body)
	if len(cmds) == 0 && len(problems) == 0 {
		return record(ctx, st, c, Outcome{Kind: OutcomeIgnored}, nil)
	}
	var evs []store.Event
	if len(problems) == 0 {
		evs, problems = decide(view, c, cmds)
	}
	if len(problems) > 0 {
		reply := chatops.Reply(problems) + "\n\nNothing in this comment was applied."
		return record(ctx, st, c, Outcome{Kind: OutcomeRejected, Reply: reply}, []store.Event{commentEvent(c, OutcomeRejected, reply)})
	}
	dec := owners.Decision{Reason: "no OWNERS files were read"}
	if rules.Approvers != nil {
		dec = rules.Approvers.CanDecide(c.Author, DecisionDirs(view))
	}
	if !dec.Allowed {
		reply := fmt.Sprintf("@%s: %s. Only approvers in the project's OWNERS files (or the security team) can decide a triage; nothing in this comment was applied.", c.Author, strings.TrimSuffix(dec.Reason, "."))
		return record(ctx, st, c, Outcome{Kind: OutcomeUnauthorized, Reply: reply}, []store.Event{commentEvent(c, OutcomeUnauthorized, reply)})
	}
	var done []string
	for _, ev := range evs {
		done = append(done, ev.Command)
	}
	reply := fmt.Sprintf("Recorded %s from @%s (%s).", strings.Join(done, " and "), c.Author, strings.TrimSuffix(dec.Reason, "."))
	out, err := record(ctx, st, c, Outcome{Kind: OutcomeApplied, Reply: reply}, evs)
	if err != nil {
		return out, err
	}
	if _, err := Reconcile(ctx, st, rules.Maintained, t.ID); err != nil {
		return out, err
	}
	return out, nil
}

func record(ctx context.Context, st *store.Store, c Comment, o Outcome, evs []store.Event) (Outcome, error) {
	recorded, err := st.RecordComment(ctx, store.Comment{
		Ref: c.Ref, TriageID: c.TriageID, Author: c.Author, At: c.At, Body: c.Body, URL: c.URL,
		Outcome: o.Kind, Reply: o.Reply,
	}, evs)
	if errors.Is(err, store.ErrDuplicate) {
		prev, err := st.Comment(ctx, c.Ref)
		if err != nil {
			return Outcome{}, err
		}
		return Outcome{Kind: prev.Outcome, Reply: prev.Reply, Duplicate: true}, nil
	}
	if err != nil {
		return Outcome{}, err
	}
	o.Events = recorded
	return o, nil
}

func commentEvent(c Comment, outcome, reply string) store.Event {
	data, _ := json.Marshal(map[string]string{"outcome": outcome, "reply": reply})
	return store.Event{Kind: store.KindComment, Author: c.Author, Source: string(assess.SourceMaintainer), At: c.At, Data: data}
}

// decide turns valid commands into events, checking them against the
// triage: branch scopes must name branches where it is present, and a
// withdrawal needs a decision to retract.
func decide(v View, c Comment, cmds []chatops.Command) ([]store.Event, []chatops.Problem) {
	var present []string
	for _, b := range v.Branches {
		present = append(present, b.Branch)
	}
	var evs []store.Event
	var problems []chatops.Problem
	retracting := retracted{}
	for _, cmd := range cmds {
		scope := cmd.Branches
		for _, s := range scope {
			if !slices.ContainsFunc(present, func(b string) bool { return ScopeMatches([]string{s}, b) }) {
				where := "any branch"
				if len(present) > 0 {
					where = strings.Join(present, ", ")
				}
				problems = append(problems, chatops.Problem{Line: cmd.Line, Written: firstLine(cmd.Raw),
					Reason: fmt.Sprintf("%s is not a branch where %s is present (it is present on %s)", s, v.VulnID, where),
					Usage:  chatops.Usage(cmd.Verb)})
			}
		}
		ev := store.Event{Kind: store.KindAssessment, Author: c.Author, Source: string(assess.SourceMaintainer), At: c.At, Branches: scope, Command: cmd.String()}
		switch cmd.Verb {
		case chatops.Withdraw:
			target := lastDecision(v, scope, retracting)
			if target == nil {
				problems = append(problems, chatops.Problem{Line: cmd.Line, Written: firstLine(cmd.Raw),
					Reason: "there is no maintainer's decision to withdraw" + scopeText(scope), Usage: chatops.Usage(cmd.Verb)})
				continue
			}
			retracting[target.Seq] = append(retracting[target.Seq], scope)
			ev.Kind = store.KindWithdrawal
			ev.Retracts = target.Seq
			// A scoped withdrawal retracts the decision on those branches
			// only; without scope, wherever the decision applied.
			ev.Branches = target.Branches
			if len(scope) > 0 {
				ev.Branches = scope
			}
			ev.Notes = cmd.Text
		case chatops.NotAffected:
			ev.Status = string(openvex.StatusNotAffected)
			ev.Justification = string(cmd.Justification)
			ev.Impact = cmd.Text
		case chatops.Affected:
			ev.Status = string(openvex.StatusAffected)
			ev.Action = cmd.Text
		case chatops.Fixed:
			ev.Status = string(openvex.StatusFixed)
			ev.Notes = cmd.Text
		case chatops.UnderInvestigation:
			ev.Status = string(openvex.StatusUnderInvestigation)
			ev.Notes = cmd.Text
		default:
			continue
		}
		if ev.Kind == store.KindAssessment {
			ev.Evidence = evidenceFor(v, scope)
		}
		evs = append(evs, ev)
	}
	return evs, problems
}

// evidenceFor records the levels in scope when a decision is made.
func evidenceFor(v View, scope []string) json.RawMessage {
	de := decisionEvidence{Branches: map[string]scan.Level{}}
	for _, b := range v.Branches {
		if ScopeMatches(scope, b.Branch) {
			de.Branches[b.Branch] = b.Level
			if b.Level > de.Level {
				de.Level = b.Level
			}
		}
	}
	data, _ := json.Marshal(de)
	return data
}

// lastDecision finds the latest maintainer decision whose scope overlaps
// scope and that is not yet withdrawn on every present branch in scope.
func lastDecision(v View, scope []string, retracting retracted) *store.Event {
	done := retractions(v.Events)
	for seq, scopes := range retracting {
		done[seq] = append(done[seq], scopes...)
	}
	var targets []string
	for _, b := range v.Branches {
		if ScopeMatches(scope, b.Branch) {
			targets = append(targets, b.Branch)
		}
	}
	for i := len(v.Events) - 1; i >= 0; i-- {
		ev := &v.Events[i]
		if ev.Kind != store.KindAssessment || ev.Source == string(assess.SourceAutomatic) {
			continue
		}
		if !overlaps(ev.Branches, scope) {
			continue
		}
		live := len(targets) == 0 && len(done[ev.Seq]) == 0
		for _, b := range targets {
			if ScopeMatches(ev.Branches, b) && !done.on(ev.Seq, b) {
				live = true
			}
		}
		if live {
			return ev
		}
	}
	return nil
}

func overlaps(a, b []string) bool {
	if len(a) == 0 || len(b) == 0 {
		return true
	}
	for _, x := range a {
		for _, y := range b {
			if x == y || ScopeMatches([]string{x}, y) || ScopeMatches([]string{y}, x) {
				return true
			}
		}
	}
	return false
}

func scopeText(scope []string) string {
	if len(scope) == 0 {
		return ""
	}
	return " on " + strings.Join(scope, ", ")
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// DecisionDirs are the directories whose OWNERS approvers may decide a
// triage: the root, the vendored copy of the dependency, and every
// directory of the scanned code from which the vulnerable code is called.
func DecisionDirs(v View) []string {
	dirs := []string{".", path.Join("vendor", v.Dependency)}
	for _, b := range v.Branches {
		for _, o := range b.Observations {
			for _, tr := range o.Traces {
				for _, fr := range tr {
					if fr.Module != o.Module || fr.Position == nil || fr.Position.Filename == "" {
						continue
					}
					d := path.Clean(path.Join(o.ModuleDir, path.Dir(fr.Position.Filename)))
					if !slices.Contains(dirs, d) {
						dirs = append(dirs, d)
					}
				}
			}
		}
	}
	return dirs
}
