package triage

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/assess"
	"github.com/vexloom/vexloom/internal/owners"
	"github.com/vexloom/vexloom/internal/scan"
	"github.com/vexloom/vexloom/internal/store"
)

// applyFixture is a store with one triage: x/net's html vulnerability,
// called from cmd/app on main and imported on release-1.0.
func applyFixture(t testing.TB) (*store.Store, string) {
	t.Helper()
	st := openStore(t)
	mustObserve(t, st, observed("main", "m1", in(appModule, htmlFinding(scan.LevelSymbol, "v0.32.0"))))
	mustObserve(t, st, observed("release-1.0", "r1", in(appModule, htmlFinding(scan.LevelPackage, "v0.32.0"))))
	return st, store.TriageID(htmlVuln, netDep)
}

func TestDecisionDirs(t *testing.T) {
	st, _ := applyFixture(t)
	v := view(t, st, htmlVuln, netDep, maintained)
	if got, want := DecisionDirs(v), []string{".", "vendor/golang.org/x/net", "cmd/app"}; !slices.Equal(got, want) {
		t.Errorf("DecisionDirs = %v, want %v", got, want)
	}
}

func TestApply(t *testing.T) {
	ctx := context.Background()
	pol := policy(t)
	cases := []struct {
		name   string
		author string
		body   string
		policy *owners.Approvers
		// before is applied (by alice) first.
		before string
		kind   string
		// decisions: assessment and withdrawal events recorded.
		decisions int
		reply     []string
	}{
		{name: "root approver", author: "alice", body: "/not_affected:vulnerable_code_cannot_be_controlled_by_adversary only trusted pages",
			kind: OutcomeApplied, decisions: 1, reply: []string{"Recorded /not_affected:vulnerable_code_cannot_be_controlled_by_adversary from @alice", "approver"}},
		{name: "login case", author: "ALICE", body: "/fixed upgraded", kind: OutcomeApplied, decisions: 1},
		{name: "approver where it is called", author: "carol", body: "/affected Upgrade golang.org/x/net to v0.33.0.", kind: OutcomeApplied, decisions: 1},
		{name: "approver of the vendored dependency through an alias", author: "dana", body: "/under_investigation", kind: OutcomeApplied, decisions: 1},
		{name: "security team", author: "sam", body: "/fixed branches=main\n/affected branches=release-1.0 Upgrade.", kind: OutcomeApplied, decisions: 2},
		{name: "between prose and Prow commands", author: "alice", body: "Looked at it.\n\n/lgtm\n/not-affected:vulnerable-code-not-in-execute-path branches=release-1.0\n/hold cancel",
			kind: OutcomeApplied, decisions: 1},
		{name: "reviewer", author: "rob", body: "/fixed upgraded", kind: OutcomeUnauthorized, reply: []string{"@rob", "nothing in this comment was applied"}},
		{name: "emeritus approver", author: "eve", body: "/fixed upgraded", kind: OutcomeUnauthorized},
		{name: "approver of an unrelated directory", author: "doris", body: "/fixed upgraded", kind: OutcomeUnauthorized},
		{name: "stranger", author: "mallory", body: "/not_affected:component_not_present", kind: OutcomeUnauthorized},
		{name: "alias name as a login", author: "security-team", body: "/fixed", kind: OutcomeUnauthorized},
		{name: "not a login", author: "alice bob", body: "/fixed", kind: OutcomeUnauthorized},
		{name: "no author", author: "", body: "/fixed", kind: OutcomeUnauthorized},
		{name: "no OWNERS read", author: "alice", body: "/fixed", policy: &owners.Approvers{}, kind: OutcomeUnauthorized},
		{name: "bad justification", author: "alice", body: "/not_affected:code_not_reachable", kind: OutcomeRejected,
			reply: []string{"not an OpenVEX justification", "Nothing in this comment was applied."}},
		{name: "affected without action", author: "alice", body: "/affected", kind: OutcomeRejected, reply: []string{"action statement"}},
		{name: "one bad command rejects the comment", author: "alice", body: "/fixed branches=main\n/not_affected", kind: OutcomeRejected},
		{name: "malformed from a stranger", author: "mallory", body: "/fixed.", kind: OutcomeRejected},
		{name: "branch where it is not present", author: "alice", body: "/fixed branches=release-1.1 upgraded", kind: OutcomeRejected,
			reply: []string{"release-1.1 is not a branch where " + htmlVuln + " is present", "main, release-1.0"}},
		{name: "pattern matching no branch", author: "alice", body: "/fixed branches=release-2.* upgraded", kind: OutcomeRejected},
		{name: "withdraw with nothing to withdraw", author: "alice", body: "/withdraw", kind: OutcomeRejected,
			reply: []string{"no maintainer's decision to withdraw"}},
		{name: "withdraw on a branch with nothing to withdraw", author: "alice", before: "/fixed branches=main done",
			body: "/withdraw branches=release-1.0", kind: OutcomeRejected, reply: []string{"to withdraw on release-1.0"}},
		{name: "withdraw twice in one comment", author: "alice", before: "/fixed done", body: "/withdraw\n/withdraw", kind: OutcomeRejected},
		{name: "withdraw", author: "alice", before: "/fixed done", body: "/withdraw", kind: OutcomeApplied, decisions: 1},
		{name: "Prow only", author: "alice", body: "/lgtm\n/approve\n/retest", kind: OutcomeIgnored},
		{name: "quoted command", author: "mallory", body: "> /fixed\n\nwhy?", kind: OutcomeIgnored},
		{name: "command in code", author: "alice", body: "```\n/fixed\n```", kind: OutcomeIgnored},
		{name: "empty", author: "alice", body: "", kind: OutcomeIgnored},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, id := applyFixture(t)
			rules := Rules{Approvers: pol, Maintained: maintained}
			if c.before != "" {
				if out := mustApply(t, st, rules, comment(id, "alice", c.before)); out.Kind != OutcomeApplied {
					t.Fatalf("before: %+v", out)
				}
			}
			if c.policy != nil {
				rules.Approvers = c.policy
			}
			before := history(t, st, id)
			cm := comment(htmlVuln, c.author, c.body) // by vulnerability ID
			out := mustApply(t, st, rules, cm)
			after := history(t, st, id)
			if out.Kind != c.kind || out.Duplicate {
				t.Fatalf("outcome %s (duplicate %v), want %s; reply %q", out.Kind, out.Duplicate, c.kind, out.Reply)
			}
			for _, r := range c.reply {
				if !strings.Contains(out.Reply, r) {
					t.Errorf("reply %q does not say %q", out.Reply, r)
				}
			}
			if !slices.EqualFunc(before, after[:min(len(before), len(after))], sameEvent) {
				t.Fatalf("the history before the comment was changed")
			}
			added := after[len(before):]
			decisions := countKind(added, store.KindAssessment) + countKind(added, store.KindWithdrawal)
			if decisions != c.decisions {
				t.Errorf("%d decisions recorded, want %d: %v", decisions, c.decisions, kinds(added))
			}
			for _, ev := range added {
				switch ev.Kind {
				case store.KindAssessment, store.KindWithdrawal:
					if ev.Author != c.author || ev.Source != string(assess.SourceMaintainer) || ev.CommentRef != cm.Ref || ev.Command == "" || !ev.At.Equal(cm.At) {
						t.Errorf("decision provenance: %+v", ev)
					}
				case store.KindState:
					if c.kind != OutcomeApplied {
						t.Errorf("a %s comment changed the state", c.kind)
					}
				case store.KindComment:
					if c.kind != OutcomeRejected && c.kind != OutcomeUnauthorized {
						t.Errorf("a comment record for a %s comment", c.kind)
					}
				default:
					t.Errorf("unexpected %s event", ev.Kind)
				}
			}
			wantComments := 0
			if c.kind == OutcomeRejected || c.kind == OutcomeUnauthorized {
				wantComments = 1
			}
			if n := countKind(added, store.KindComment); n != wantComments {
				t.Errorf("%d comment records, want %d", n, wantComments)
			}
			// The comment is kept as written, whatever it did.
			rec, err := st.Comment(ctx, cm.Ref)
			if err != nil {
				t.Fatal(err)
			}
			if rec.Body != c.body || rec.Author != c.author || rec.TriageID != id || rec.Outcome != c.kind || rec.Reply != out.Reply {
				t.Errorf("recorded comment %+v", rec)
			}
			// Applying it again changes nothing and says what it did then.
			again := mustApply(t, st, rules, cm)
			if !again.Duplicate || again.Kind != out.Kind || again.Reply != out.Reply || len(again.Events) != 0 {
				t.Errorf("again: %+v", again)
			}
			if n := len(history(t, st, id)); n != len(after) {
				t.Errorf("applying the comment again recorded %d events", n-len(after))
			}
		})
	}
}

func sameEvent(a, b store.Event) bool {
	return a.Seq == b.Seq && a.Kind == b.Kind && a.At.Equal(b.At) && a.Author == b.Author && a.Source == b.Source &&
		slices.Equal(a.Branches, b.Branches) && a.Status == b.Status && a.Justification == b.Justification &&
		a.Impact == b.Impact && a.Action == b.Action && a.Notes == b.Notes && a.Command == b.Command &&
		a.CommentRef == b.CommentRef && a.Retracts == b.Retracts && string(a.Evidence) == string(b.Evidence) && string(a.Data) == string(b.Data)
}

// A comment Ref is processed once, even when a backend delivers it again
// with another text or author.
func TestApplyDuplicateRef(t *testing.T) {
	st, id := applyFixture(t)
	rules := Rules{Approvers: policy(t), Maintained: maintained}
	c := comment(id, "alice", "/affected Upgrade golang.org/x/net.")
	first := mustApply(t, st, rules, c)
	if first.Kind != OutcomeApplied || first.Duplicate || len(first.Events) != 1 || first.Events[0].Status != string(openvex.StatusAffected) {
		t.Fatalf("first: %+v", first)
	}
	n := len(history(t, st, id))
	c.Body, c.Author = "/withdraw", "mallory"
	again := mustApply(t, st, rules, c)
	if !again.Duplicate || again.Kind != OutcomeApplied || again.Reply != first.Reply || len(again.Events) != 0 {
		t.Errorf("again: %+v", again)
	}
	if m := len(history(t, st, id)); m != n {
		t.Errorf("a duplicate recorded %d events", m-n)
	}
	if rec, err := st.Comment(context.Background(), c.Ref); err != nil || rec.Body != "/affected Upgrade golang.org/x/net." || rec.Author != "alice" {
		t.Errorf("recorded comment %+v (%v)", rec, err)
	}
}

func TestApplyUnknownTriage(t *testing.T) {
	st, _ := applyFixture(t)
	_, err := Apply(context.Background(), st, Rules{Approvers: policy(t), Maintained: maintained}, comment("GO-2099-0001", "alice", "/fixed"))
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("err = %v, want ErrNotFound", err)
	}
}

// A decision records the levels it was made at, per branch in its scope.
func TestApplyRecordsEvidence(t *testing.T) {
	st, id := applyFixture(t)
	rules := Rules{Approvers: policy(t), Maintained: maintained}
	out := mustApply(t, st, rules, comment(id, "alice", "/not_affected:vulnerable_code_not_in_execute_path branches=release-*\nhtml is only imported there."))
	if out.Kind != OutcomeApplied || len(out.Events) != 1 {
		t.Fatalf("%+v", out)
	}
	ev := out.Events[0]
	if !slices.Equal(ev.Branches, []string{"release-*"}) || ev.Impact != "html is only imported there." || ev.Justification != string(openvex.VulnerableCodeNotInExecutePath) {
		t.Errorf("decision %+v", ev)
	}
	if got := decisionLevel(&ev, "release-1.0"); got != scan.LevelPackage {
		t.Errorf("decision level on release-1.0 = %s, want package", got)
	}
	if got := decisionLevel(&ev, "release-1.1"); got != scan.LevelPackage {
		t.Errorf("decision level on a branch not seen then = %s, want the strongest in scope (package)", got)
	}
}
