package cli

import (
	"encoding/json"
	"time"

	"github.com/vexloom/vexloom/internal/store"
	"github.com/vexloom/vexloom/internal/triage"
)

// triageOutput is a triage in vexloom's JSON (schema triages/v1 and
// triage/v1).
type triageOutput struct {
	Schema        string            `json:"schema,omitempty"`
	ID            string            `json:"id"`
	Vulnerability string            `json:"vulnerability"`
	Aliases       []string          `json:"aliases"`
	Summary       string            `json:"summary,omitempty"`
	Dependency    string            `json:"dependency"`
	State         string            `json:"state"`
	Since         *time.Time        `json:"since,omitempty"`
	Created       time.Time         `json:"created"`
	Branches      []branchOutput    `json:"branches"`
	LastSeen      []string          `json:"last_seen,omitempty"`
	History       []eventOutput     `json:"history,omitempty"`
	Extra         map[string]string `json:"-"`
}

type branchOutput struct {
	Branch       string               `json:"branch"`
	Commit       string               `json:"commit"`
	Level        string               `json:"level"`
	Observations []triage.Observation `json:"observations"`
	Decision     *decisionOutput      `json:"decision"`
	Automatic    *decisionOutput      `json:"automatic"`
	NeedsPerson  bool                 `json:"needs_person"`
	Flagged      bool                 `json:"flagged"`
	Published    bool                 `json:"published"`
}

type decisionOutput struct {
	Seq           int64     `json:"seq"`
	Status        string    `json:"status"`
	Justification string    `json:"justification,omitempty"`
	Impact        string    `json:"impact_statement,omitempty"`
	Action        string    `json:"action_statement,omitempty"`
	Author        string    `json:"author"`
	Source        string    `json:"source"`
	At            time.Time `json:"at"`
}

type eventOutput struct {
	Seq           int64           `json:"seq"`
	Triage        string          `json:"triage"`
	Kind          string          `json:"kind"`
	At            time.Time       `json:"at"`
	Author        string          `json:"author"`
	Source        string          `json:"source,omitempty"`
	Branches      []string        `json:"branches,omitempty"`
	Status        string          `json:"status,omitempty"`
	Justification string          `json:"justification,omitempty"`
	Impact        string          `json:"impact_statement,omitempty"`
	Action        string          `json:"action_statement,omitempty"`
	Notes         string          `json:"notes,omitempty"`
	Command       string          `json:"command,omitempty"`
	Comment       string          `json:"comment,omitempty"`
	Retracts      int64           `json:"retracts,omitempty"`
	Evidence      json.RawMessage `json:"evidence,omitempty"`
	Data          json.RawMessage `json:"data,omitempty"`
	// Releases are the tracked releases whose VEX this decision reached,
	// as RELEASE@vVERSION (the first version stating it).
	Releases []string `json:"releases,omitempty"`
}

func decisionJSON(ev *store.Event) *decisionOutput {
	if ev == nil {
		return nil
	}
	return &decisionOutput{Seq: ev.Seq, Status: ev.Status, Justification: ev.Justification, Impact: ev.Impact, Action: ev.Action, Author: ev.Author, Source: ev.Source, At: ev.At.UTC()}
}

func eventJSON(ev store.Event) eventOutput {
	return eventOutput{
		Seq: ev.Seq, Triage: ev.TriageID, Kind: string(ev.Kind), At: ev.At.UTC(), Author: ev.Author, Source: ev.Source,
		Branches: ev.Branches, Status: ev.Status, Justification: ev.Justification, Impact: ev.Impact, Action: ev.Action,
		Notes: ev.Notes, Command: ev.Command, Comment: ev.CommentRef, Retracts: ev.Retracts,
		Evidence: ev.Evidence, Data: ev.Data,
	}
}

func triageJSON(v triage.View, history bool) triageOutput {
	out := triageOutput{
		ID: v.ID, Vulnerability: v.Name(), Aliases: []string{}, Summary: v.Vulnerability.Summary,
		Dependency: v.Dependency, State: string(v.State), Created: v.Created.UTC(), Branches: []branchOutput{}, LastSeen: v.LastSeen,
	}
	for _, a := range append([]string{v.VulnID}, v.Vulnerability.Aliases...) {
		if a != out.Vulnerability && a != "" {
			out.Aliases = append(out.Aliases, a)
		}
	}
	if !v.Since.IsZero() {
		s := v.Since.UTC()
		out.Since = &s
	}
	for _, b := range v.Branches {
		bo := branchOutput{
			Branch: b.Branch, Commit: b.Commit, Level: b.Level.String(), Observations: b.Observations,
			Decision: decisionJSON(b.Decision), Automatic: decisionJSON(b.Automatic),
			NeedsPerson: b.NeedsPerson(), Flagged: b.Flagged,
			Published: b.Decision != nil && b.PublishedDecision == b.Decision.Seq,
		}
		out.Branches = append(out.Branches, bo)
	}
	if history {
		out.Schema = schemaBase + "triage/v1"
		out.History = []eventOutput{}
		for _, ev := range v.Events {
			out.History = append(out.History, eventJSON(ev))
		}
	}
	return out
}
