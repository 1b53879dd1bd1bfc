package cli

import "github.com/vexloom/vexloom/internal/viewjson"

// The triage, branch, decision and history shapes of `triage list|show` and
// `history` are viewjson's (triages/v1, triage/v1, history/v1), which the
// dashboard's API writes too.
type (
	triageOutput   = viewjson.Triage
	branchOutput   = viewjson.Branch
	decisionOutput = viewjson.Decision
	eventOutput    = viewjson.Event
)

var (
	decisionJSON = viewjson.DecisionOf
	eventJSON    = viewjson.EventOf
	triageJSON   = viewjson.TriageOf
)
