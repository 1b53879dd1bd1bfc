package triage

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/vexloom/vexloom/internal/scan"
	"github.com/vexloom/vexloom/internal/store"
)

// FuzzApply applies arbitrary comments by arbitrary logins to a store with
// one triage. Whatever the comment, Apply does not fail or panic, records
// no decision for a login that may not decide, never changes what was
// already recorded, keeps the comment exactly as written, and records a
// comment once.
func FuzzApply(f *testing.F) {
	seeds := []struct{ login, body string }{
		{"alice", "/not_affected:vulnerable_code_cannot_be_controlled_by_adversary only trusted pages"},
		{"Carol", "/affected branches=release-1.* Upgrade golang.org/x/net to v0.33.0."},
		{"dana", "/fixed branches=main,release-1.0\nupgraded"},
		{"sam", "/under_investigation\n/withdraw"},
		{"alice", "/withdraw branches=main reason"},
		{"mallory", "/fixed upgraded"},
		{"rob", "/not_affected:vulnerable_code_not_present"},
		{"security-team", "/fixed"},
		{"@alice", "/fixed"},
		{"alice ", "/fixed"},
		{"", "/fixed"},
		{"alice", "/lgtm\n/approve"},
		{"alice", "> /fixed\n```\n/affected x\n```\n<!-- /withdraw -->"},
		{"alice", "/not_affected:bogus"},
		{"alice", "/fixed branches=release-9.9"},
		{"alice", "/fixed branches=../../etc"},
		{"alice", "/affected \u202eevil"},
		{"alice", "/fixed\x00nul"},
		{"alice", "\ufeff/Not-Affected:Inline-Mitigations-Already-Exist branch=main\r\nok\r\n/withdraw"},
		{"alice", strings.Repeat("/fixed x\n", 300)},
	}
	for _, s := range seeds {
		f.Add(s.login, s.body)
	}

	pol := policy(f)
	base := f.TempDir()
	var (
		mu   sync.Mutex
		st   *store.Store
		id   string
		n    int
		dirs int
	)
	// The store is shared by the inputs a worker runs, so that comments
	// meet decisions made by earlier ones; it is replaced when its history
	// grows long, to keep each input cheap.
	fresh := func(t *testing.T) {
		if st != nil {
			st.Close()
		}
		dirs++
		dir, err := os.MkdirTemp(base, fmt.Sprintf("store-%d-", dirs))
		if err != nil {
			t.Fatal(err)
		}
		st, err = store.Open(context.Background(), dir, (&clock{t: epoch}).now)
		if err != nil {
			t.Fatal(err)
		}
		mustObserve(t, st, observed("main", "m1", in(appModule, htmlFinding(scan.LevelSymbol, "v0.32.0"))))
		mustObserve(t, st, observed("release-1.0", "r1", in(appModule, htmlFinding(scan.LevelPackage, "v0.32.0"))))
		id = store.TriageID(htmlVuln, netDep)
	}
	f.Cleanup(func() {
		if st != nil {
			st.Close()
		}
	})

	f.Fuzz(func(t *testing.T, login, body string) {
		mu.Lock()
		defer mu.Unlock()
		ctx := context.Background()
		if st == nil {
			fresh(t)
		}
		before := history(t, st, id)
		if len(before) > 300 {
			fresh(t)
			before = history(t, st, id)
		}
		n++
		c := Comment{Ref: fmt.Sprintf("fuzz:%d", n), TriageID: id, Author: login, Body: body, At: epoch}
		rules := Rules{Approvers: pol, Maintained: maintained}
		out, err := Apply(ctx, st, rules, c)
		if err != nil {
			t.Fatalf("Apply(%q by %q): %v", body, login, err)
		}
		after := history(t, st, id)
		if len(after) < len(before) || !slices.EqualFunc(before, after[:len(before)], sameEvent) {
			t.Fatalf("Apply(%q by %q) changed or lost recorded events", body, login)
		}
		added := after[len(before):]
		decisions := countKind(added, store.KindAssessment) + countKind(added, store.KindWithdrawal)
		if decisions > 0 && !slices.Contains(authorized, strings.ToLower(login)) {
			t.Fatalf("Apply(%q by %q) recorded %d decisions for a login that may not decide", body, login, decisions)
		}
		switch out.Kind {
		case OutcomeApplied:
			if decisions == 0 || decisions != len(out.Events) || countKind(added, store.KindState) > 1 || len(added) != decisions+countKind(added, store.KindState) {
				t.Fatalf("applied %q by %q: recorded %v, outcome events %d", body, login, kinds(added), len(out.Events))
			}
			for _, ev := range added {
				if ev.Kind != store.KindState && (ev.Author != login || ev.CommentRef != c.Ref) {
					t.Fatalf("decision without its provenance: %+v", ev)
				}
			}
		case OutcomeRejected, OutcomeUnauthorized:
			if !slices.Equal(kinds(added), []store.Kind{store.KindComment}) || out.Reply == "" {
				t.Fatalf("%s %q by %q: recorded %v, reply %q", out.Kind, body, login, kinds(added), out.Reply)
			}
		case OutcomeIgnored:
			if len(added) != 0 {
				t.Fatalf("ignored %q by %q: recorded %v", body, login, kinds(added))
			}
		default:
			t.Fatalf("outcome %q", out.Kind)
		}
		if out.Duplicate {
			t.Fatalf("a new comment was taken for a duplicate")
		}
		rec, err := st.Comment(ctx, c.Ref)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Body != body || rec.Author != login || rec.Outcome != out.Kind {
			t.Fatalf("the comment was not kept as written: %q by %q (%s), recorded %q by %q (%s)", body, login, out.Kind, rec.Body, rec.Author, rec.Outcome)
		}

		again, err := Apply(ctx, st, rules, c)
		if err != nil {
			t.Fatal(err)
		}
		if !again.Duplicate || again.Kind != out.Kind || again.Reply != out.Reply {
			t.Fatalf("applying %q again: %+v, first %+v", body, again, out)
		}
		if m := len(history(t, st, id)); m != len(after) {
			t.Fatalf("applying %q again recorded %d events", body, m-len(after))
		}
	})
}
