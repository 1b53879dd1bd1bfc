package cli

import (
	"github.com/vexloom/vexloom/internal/release"
	"github.com/vexloom/vexloom/internal/triage"
)

type updateOutput struct {
	Schema      string                  `json:"schema"`
	Branches    []triage.BranchSummary  `json:"branches"`
	Transitions []transitionOutput      `json:"transitions"`
	Comments    []triage.CommentSummary `json:"comments"`
	Failures    []string                `json:"failures"`
	// Failing are the branches whose scan did not complete: they kept
	// their last complete scan and VEX.
	Failing []triage.BranchFailure `json:"failing"`
	// Releases are the tracked releases (issue 12), when configured.
	Releases []release.Kept `json:"releases,omitempty"`
}

type transitionOutput struct {
	Triage string `json:"triage"`
	From   string `json:"from"`
	To     string `json:"to"`
	Reason string `json:"reason"`
}

func updateJSON(sum *triage.Summary) updateOutput {
	out := updateOutput{
		Schema:   schemaBase + "update/v1",
		Branches: sum.Branches, Comments: sum.Comments, Failures: sum.Failures,
		Transitions: []transitionOutput{},
	}
	for _, t := range sum.Transitions {
		out.Transitions = append(out.Transitions, transitionOutput{Triage: t.TriageID, From: string(t.From), To: string(t.To), Reason: t.Reason})
	}
	if out.Branches == nil {
		out.Branches = []triage.BranchSummary{}
	}
	if out.Comments == nil {
		out.Comments = []triage.CommentSummary{}
	}
	if out.Failures == nil {
		out.Failures = []string{}
	}
	out.Failing = sum.Failing
	if out.Failing == nil {
		out.Failing = []triage.BranchFailure{}
	}
	return out
}
