package triage

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/scan"
	"github.com/vexloom/vexloom/internal/store"
	"github.com/vexloom/vexloom/internal/vex"
)

// documentFixture is main with three triages: x/net's html vulnerability
// (called, decided by a maintainer), HTTP/2 rapid reset in both the
// standard library (imported: not affected by the scanner) and x/net
// (called, affected by a maintainer), and x/crypto's ssh vulnerability
// (required only).
func documentFixture(t *testing.T) (*store.Store, Rules) {
	t.Helper()
	st := openStore(t)
	rules := Rules{Approvers: policy(t), Maintained: maintained}
	// What a run records with its scan: the vulnerabilities' descriptions.
	for _, f := range []scan.Finding{htmlFinding(scan.LevelModule, ""), resetFinding(netDep, "", scan.LevelModule), sshFinding(scan.LevelModule)} {
		if err := st.PutVulnerability(context.Background(), scan.Vulnerability{ID: f.ID, Aliases: f.Aliases, Summary: "summary of " + f.ID, Modified: "2026-01-01T00:00:00Z"}); err != nil {
			t.Fatal(err)
		}
	}
	mustObserve(t, st, observed("main", "m1",
		in(appModule, htmlFinding(scan.LevelSymbol, "v0.32.0")),
		in(appModule, resetFinding("stdlib", "v1.21.2", scan.LevelPackage)),
		in(appModule, resetFinding(netDep, "v0.16.0", scan.LevelSymbol)),
		in(appModule, sshFinding(scan.LevelModule))))
	for _, c := range []struct{ dep, body string }{
		{netDep, "/not_affected:vulnerable_code_cannot_be_controlled_by_adversary only trusted pages"},
	} {
		if out := mustApply(t, st, rules, comment(store.TriageID(htmlVuln, c.dep), "alice", c.body)); out.Kind != OutcomeApplied {
			t.Fatal(out.Reply)
		}
	}
	if out := mustApply(t, st, rules, comment(store.TriageID(resetVuln, netDep), "alice", "/affected Upgrade golang.org/x/net to v0.17.0.")); out.Kind != OutcomeApplied {
		t.Fatal(out.Reply)
	}
	return st, rules
}

func buildMain(t *testing.T, st *store.Store, views []View, prev *store.Document, now time.Time) *BranchDocument {
	t.Helper()
	sc := &store.Scan{Branch: "main", Commit: "m1", Modules: []store.ScannedModule{{Path: appModule, Dir: ".", Version: "v1.3.0-0.20260301090000-abcdefabcdef"}}}
	bd, err := BuildBranchDocument(DocumentInput{Repository: "https://example.com/app", Branch: "main", Scan: sc, Views: views,
		Author: "App Security", Tooling: "vexloom test", Previous: prev, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return bd
}

func marshal(t *testing.T, doc *openvex.VEX) []byte {
	t.Helper()
	b, err := vex.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBuildBranchDocument(t *testing.T) {
	ctx := context.Background()
	st, rules := documentFixture(t)
	views, err := Views(ctx, st, maintained)
	if err != nil {
		t.Fatal(err)
	}
	now := epoch.Add(24 * time.Hour)
	bd := buildMain(t, st, views, nil, now)
	if !bd.Changed || bd.Doc.Version != 1 || !strings.HasPrefix(bd.ContentHash, "sha256:") {
		t.Fatalf("first document: changed %v, version %d, hash %s", bd.Changed, bd.Doc.Version, bd.ContentHash)
	}
	first := marshal(t, bd.Doc)

	// The same input gives the same bytes, whatever the order of the views.
	if again := marshal(t, buildMain(t, st, views, nil, now).Doc); !bytes.Equal(again, first) {
		t.Errorf("two builds of the same input differ:\n%s\n%s", first, again)
	}
	reversed := slices.Clone(views)
	slices.Reverse(reversed)
	if again := marshal(t, buildMain(t, st, reversed, nil, now).Doc); !bytes.Equal(again, first) {
		t.Errorf("the order of the views changes the document:\n%s\n%s", first, again)
	}

	product := "pkg:golang/" + appModule + "@v1.3.0-0.20260301090000-abcdefabcdef"
	byName := map[string]openvex.Statement{}
	for _, s := range bd.Doc.Statements {
		if err := s.Validate(); err != nil {
			t.Errorf("statement on %s: %v", s.Vulnerability.Name, err)
		}
		if len(s.Products) != 1 || s.Products[0].ID != product {
			t.Errorf("statement on %s: products %+v, want the module at the scanned version", s.Vulnerability.Name, s.Products)
		}
		if _, dup := byName[string(s.Vulnerability.Name)]; dup {
			t.Errorf("two statements on %s for one product", s.Vulnerability.Name)
		}
		byName[string(s.Vulnerability.Name)] = s
	}
	if len(byName) != 3 {
		t.Fatalf("%d statements, want one per vulnerability (3): %s", len(byName), first)
	}
	// Rapid reset: the standard library's not_affected and x/net's
	// affected share one statement, which claims no more than the weaker.
	reset, ok := byName["CVE-2023-39325"]
	if !ok || len(reset.Products) != 1 {
		t.Fatalf("no statement named after rapid reset's first CVE: %s", first)
	}
	var subs []string
	for _, s := range reset.Products[0].Subcomponents {
		subs = append(subs, s.ID)
	}
	if reset.Status != openvex.StatusAffected || reset.ActionStatement != "Upgrade golang.org/x/net to v0.17.0." ||
		!slices.Equal(subs, []string{"pkg:golang/golang.org/x/net@v0.16.0", "pkg:golang/stdlib@v1.21.2"}) {
		t.Errorf("rapid reset: %s %q, subcomponents %v", reset.Status, reset.ActionStatement, subs)
	}
	if !strings.Contains(reset.StatusNotes, "stdlib: not_affected by vexloom (automatic)") || !strings.Contains(reset.StatusNotes, "golang.org/x/net: affected by alice (maintainer)") {
		t.Errorf("rapid reset notes %q do not name both decisions", reset.StatusNotes)
	}
	if s := byName["CVE-2024-45338"]; s.Status != openvex.StatusNotAffected || s.Justification != openvex.VulnerableCodeCannotBeControlledByAdversary || s.ImpactStatement != "only trusted pages" {
		t.Errorf("html: %+v", s)
	}
	if s := byName["CVE-2024-45337"]; s.Status != openvex.StatusNotAffected || s.Justification != openvex.VulnerableCodeNotPresent {
		t.Errorf("ssh: %+v", s)
	}
	if bd.Decisions[store.TriageID(htmlVuln, netDep)] == 0 || len(bd.Decisions) != 4 {
		t.Errorf("decisions %v", bd.Decisions)
	}

	// Recorded; a later build over the same history changes nothing, not
	// even the time.
	if err := st.RecordDocument(ctx, store.Document{Branch: "main", Version: bd.Doc.Version, ContentHash: bd.ContentHash, At: now, Body: first}, nil); err != nil {
		t.Fatal(err)
	}
	prev, err := st.LatestDocument(ctx, "main")
	if err != nil {
		t.Fatal(err)
	}
	later := now.Add(6 * time.Hour)
	same := buildMain(t, st, views, prev, later)
	if same.Changed || same.Doc.Version != 1 || same.ContentHash != bd.ContentHash {
		t.Errorf("unchanged: changed %v, version %d", same.Changed, same.Doc.Version)
	}
	if got := marshal(t, same.Doc); !bytes.Equal(got, first) {
		t.Errorf("an unchanged document was rewritten:\n%s\n%s", first, got)
	}

	// A new decision: version 2, last_updated now, first timestamp kept.
	if out := mustApply(t, st, rules, comment(store.TriageID(sshVuln, cryptoDep), "alice", "/fixed upgraded to v0.31.0")); out.Kind != OutcomeApplied {
		t.Fatal(out.Reply)
	}
	views, err = Views(ctx, st, maintained)
	if err != nil {
		t.Fatal(err)
	}
	next := buildMain(t, st, views, prev, later)
	if !next.Changed || next.Doc.Version != 2 || next.ContentHash == bd.ContentHash {
		t.Fatalf("changed: changed %v, version %d", next.Changed, next.Doc.Version)
	}
	if next.Doc.LastUpdated == nil || !next.Doc.LastUpdated.Equal(later) || next.Doc.Timestamp == nil || !next.Doc.Timestamp.Equal(now) {
		t.Errorf("timestamp %v, last_updated %v; want %v and %v", next.Doc.Timestamp, next.Doc.LastUpdated, now, later)
	}
	for _, s := range next.Doc.Statements {
		if err := s.Validate(); err != nil {
			t.Errorf("statement on %s: %v", s.Vulnerability.Name, err)
		}
	}
	// The document reads back as OpenVEX.
	if _, err := vex.Parse(marshal(t, next.Doc)); err != nil {
		t.Errorf("the document does not parse: %v", err)
	}
}

// The statement of a product and vulnerability carried by several
// dependencies states the weakest of their decisions, whichever they are.
func TestBuildBranchDocumentWeakestDecisionWins(t *testing.T) {
	ctx := context.Background()
	order := []string{"affected", "under_investigation", "fixed", "not_affected"}
	commands := map[string]string{
		"affected":            "/affected Upgrade.",
		"under_investigation": "/under_investigation looking",
		"fixed":               "/fixed upgraded",
		"not_affected":        "/not_affected:inline_mitigations_already_exist limited",
	}
	for i, weak := range order {
		for _, strong := range order[i+1:] {
			for _, swap := range []bool{false, true} {
				st := openStore(t)
				rules := Rules{Approvers: policy(t), Maintained: maintained}
				mustObserve(t, st, observed("main", "m1",
					in(appModule, resetFinding("stdlib", "v1.21.2", scan.LevelSymbol)),
					in(appModule, resetFinding(netDep, "v0.16.0", scan.LevelSymbol))))
				a, b := weak, strong
				if swap {
					a, b = b, a
				}
				for dep, status := range map[string]string{"stdlib": a, netDep: b} {
					if out := mustApply(t, st, rules, comment(store.TriageID(resetVuln, dep), "alice", commands[status])); out.Kind != OutcomeApplied {
						t.Fatal(out.Reply)
					}
				}
				views, err := Views(ctx, st, maintained)
				if err != nil {
					t.Fatal(err)
				}
				bd := buildMain(t, st, views, nil, epoch)
				if len(bd.Doc.Statements) != 1 {
					t.Fatalf("%d statements", len(bd.Doc.Statements))
				}
				s := bd.Doc.Statements[0]
				if string(s.Status) != weak || s.Validate() != nil {
					t.Errorf("stdlib %s, x/net %s: statement says %s, want %s", a, b, s.Status, weak)
				}
			}
		}
	}
}

// A branch where no assessment was recorded yet (a history written by an
// older vexloom or another tool: observed, never assessed) is stated as
// under_investigation. Building its document again later, with nothing
// changed, must not make a new version.
//
// Known bug (document.go, BuildBranchDocument): a statement without a
// decision gets the build time as its timestamp, and the statements'
// timestamps are part of ContentHash, so every run makes a new version.
func TestBuildBranchDocumentUndecidedIsStable(t *testing.T) {
	obs, _ := json.Marshal(Observation{Branch: "main", Commit: "m1", Module: appModule, ModuleVersion: "v1.3.0", DependencyVersion: "v0.32.0", Level: scan.LevelSymbol})
	v := Derive(store.Triage{ID: store.TriageID(htmlVuln, netDep), VulnID: htmlVuln, Dependency: netDep},
		[]store.Event{{Seq: 1, Kind: store.KindObserved, At: epoch, Data: obs}}, maintained, nil)
	if b := v.Branch("main"); b == nil || b.Decision != nil {
		t.Fatalf("main = %+v, want present without a decision", b)
	}
	in := DocumentInput{Repository: "https://example.com/app", Branch: "main", Views: []View{v}, Author: "App Security", Now: epoch}
	bd, err := BuildBranchDocument(in)
	if err != nil {
		t.Fatal(err)
	}
	if s := bd.Doc.Statements; len(s) != 1 || s[0].Status != openvex.StatusUnderInvestigation || s[0].Validate() != nil {
		t.Fatalf("statements %+v", s)
	}
	in.Previous = &store.Document{Branch: "main", Version: bd.Doc.Version, ContentHash: bd.ContentHash, Body: marshal(t, bd.Doc)}
	in.Now = epoch.Add(time.Hour)
	again, err := BuildBranchDocument(in)
	if err != nil {
		t.Fatal(err)
	}
	if again.Changed || again.Doc.Version != bd.Doc.Version {
		t.Errorf("BUG (document.go: the timestamp of a statement without a decision is the build time, and is hashed): "+
			"nothing changed, yet the document changed (%v) to version %d; content hash %s then %s",
			again.Changed, again.Doc.Version, bd.ContentHash, again.ContentHash)
	}
}
