package cli

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/vexloom/vexloom/internal/scan"
	"github.com/vexloom/vexloom/internal/store"
	"github.com/vexloom/vexloom/internal/triage"
	"github.com/vexloom/vexloom/internal/viewjson"
)

// The command line and the dashboard's API write a triage the same way:
// until the command line's own copy of the schema goes, this holds them
// to the same bytes.
func TestTriageJSONMatchesViewJSON(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	obs, _ := json.Marshal(triage.Observation{Branch: "main", Commit: "abc", Module: "example.com/m", DependencyVersion: "v0.1.0", FixedVersion: "v0.2.0", Level: scan.LevelSymbol, Symbols: []string{"pkg.F"}})
	evs := []store.Event{
		{Seq: 1, TriageID: "vx-aaaaaa", Kind: store.KindObserved, At: at, Author: "vexloom", Branches: []string{"main"}, Data: obs},
		{Seq: 2, TriageID: "vx-aaaaaa", Kind: store.KindAssessment, At: at, Author: "vexloom", Source: "automatic", Status: "under_investigation", Impact: "reached <html>"},
		{Seq: 3, TriageID: "vx-aaaaaa", Kind: store.KindState, At: at, Author: "vexloom", Data: json.RawMessage(`{"to":"open","reason":"reached"}`)},
		{Seq: 4, TriageID: "vx-aaaaaa", Kind: store.KindAssessment, At: at.Add(time.Hour), Author: "alice", Source: "maintainer", Status: "not_affected", Justification: "inline_mitigations_already_exist", CommentRef: "local:1", Evidence: json.RawMessage(`{"level":3}`)},
	}
	v := triage.Derive(store.Triage{ID: "vx-aaaaaa", VulnID: "GO-2026-0001", Dependency: "example.com/dep", Created: at}, evs, []string{"main"}, map[string]string{"main": "abc"})
	v.Vulnerability = scan.Vulnerability{ID: "GO-2026-0001", Aliases: []string{"CVE-2026-1"}, Summary: "a <b>summary</b>"}
	for _, history := range []bool{false, true} {
		a, err := json.Marshal(triageJSON(v, history))
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(viewjson.TriageOf(v, history))
		if err != nil {
			t.Fatal(err)
		}
		if string(a) != string(b) {
			t.Errorf("history %v:\ncli:      %s\nviewjson: %s", history, a, b)
		}
	}
	if schemaBase != viewjson.SchemaBase {
		t.Errorf("schema bases differ: %q, %q", schemaBase, viewjson.SchemaBase)
	}
}
