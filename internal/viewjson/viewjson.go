// Package viewjson is vexloom's JSON for triages and their history, and for
// a version of a branch's or a tracked release's VEX: the versioned schemas
// triages/v1, triage/v1, history/v1, vex/v1 and release-vex/v1 that the
// command line (`triage list|show`, `history`, `vex --format json`) and the
// dashboard's API both write.
// Fields may be added within a schema version, never removed or changed in
// meaning.
package viewjson

import (
	"encoding/json"
	"time"

	"github.com/vexloom/vexloom/internal/store"
	"github.com/vexloom/vexloom/internal/triage"
)

// SchemaBase prefixes the schema URIs of vexloom's JSON outputs.
const SchemaBase = "https://github.com/vexloom/vexloom/schema/"

// Schema URIs.
const (
	SchemaTriages = SchemaBase + "triages/v1"
	SchemaTriage  = SchemaBase + "triage/v1"
	SchemaHistory = SchemaBase + "history/v1"
	// SchemaVEX is a version of a branch's document.
	SchemaVEX = SchemaBase + "vex/v1"
	// SchemaReleaseVEX is a version of a tracked release's document.
	SchemaReleaseVEX = SchemaBase + "release-vex/v1"
)

// BranchVEX is a version of a branch's VEX document (vex/v1).
type BranchVEX struct {
	Schema      string          `json:"schema"`
	Branch      string          `json:"branch"`
	Version     int             `json:"version"`
	ContentHash string          `json:"content_hash"`
	Written     time.Time       `json:"written"`
	File        string          `json:"file"`
	Document    json.RawMessage `json:"document"`
}

// BranchVEXOf is the view of a stored branch document.
func BranchVEXOf(doc store.Document) BranchVEX {
	return BranchVEX{SchemaVEX, doc.Branch, doc.Version, doc.ContentHash, doc.At.UTC(), doc.Path, json.RawMessage(doc.Body)}
}

// ReleaseVEX is a version of a tracked release's VEX document
// (release-vex/v1).
type ReleaseVEX struct {
	Schema   string          `json:"schema"`
	Release  string          `json:"release"`
	Branch   string          `json:"branch"`
	Commit   string          `json:"commit"`
	Version  int             `json:"version"`
	Hash     string          `json:"statements_hash"`
	Written  time.Time       `json:"written"`
	Signed   bool            `json:"signed"`
	Document json.RawMessage `json:"document"`
}

// ReleaseVEXOf is the view of a stored release document.
func ReleaseVEXOf(doc store.ReleaseDocument) ReleaseVEX {
	return ReleaseVEX{SchemaReleaseVEX, doc.Release, doc.Branch, doc.Commit, doc.Version, doc.StatementsHash, doc.At.UTC(), doc.Bundle != nil, json.RawMessage(doc.Body)}
}

// Triage is a triage (triage/v1; in a list, triages/v1, without schema and
// history).
type Triage struct {
	Schema        string     `json:"schema,omitempty"`
	ID            string     `json:"id"`
	Vulnerability string     `json:"vulnerability"`
	Aliases       []string   `json:"aliases"`
	Summary       string     `json:"summary,omitempty"`
	Dependency    string     `json:"dependency"`
	State         string     `json:"state"`
	Since         *time.Time `json:"since,omitempty"`
	Created       time.Time  `json:"created"`
	Branches      []Branch   `json:"branches"`
	LastSeen      []string   `json:"last_seen,omitempty"`
	History       []Event    `json:"history,omitempty"`
}

// Triages is a list of triages (triages/v1).
type Triages struct {
	Schema  string   `json:"schema"`
	Triages []Triage `json:"triages"`
}

// History is a list of events (history/v1).
type History struct {
	Schema string  `json:"schema"`
	Events []Event `json:"events"`
}

// Branch is a triage on one branch.
type Branch struct {
	Branch       string               `json:"branch"`
	Commit       string               `json:"commit"`
	Level        string               `json:"level"`
	Observations []triage.Observation `json:"observations"`
	Decision     *Decision            `json:"decision"`
	Automatic    *Decision            `json:"automatic"`
	NeedsPerson  bool                 `json:"needs_person"`
	Flagged      bool                 `json:"flagged"`
	Published    bool                 `json:"published"`
}

// Decision is an assessment in force.
type Decision struct {
	Seq           int64     `json:"seq"`
	Status        string    `json:"status"`
	Justification string    `json:"justification,omitempty"`
	Impact        string    `json:"impact_statement,omitempty"`
	Action        string    `json:"action_statement,omitempty"`
	Author        string    `json:"author"`
	Source        string    `json:"source"`
	At            time.Time `json:"at"`
}

// Event is one entry of a history.
type Event struct {
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
	// as RELEASE@vVERSION (history's text and JSON, when known).
	Releases []string `json:"releases,omitempty"`
}

// DecisionOf is an assessment event as a decision; nil for nil.
func DecisionOf(ev *store.Event) *Decision {
	if ev == nil {
		return nil
	}
	return &Decision{Seq: ev.Seq, Status: ev.Status, Justification: ev.Justification, Impact: ev.Impact, Action: ev.Action, Author: ev.Author, Source: ev.Source, At: ev.At.UTC()}
}

// EventOf is an event of the history.
func EventOf(ev store.Event) Event {
	return Event{
		Seq: ev.Seq, Triage: ev.TriageID, Kind: string(ev.Kind), At: ev.At.UTC(), Author: ev.Author, Source: ev.Source,
		Branches: ev.Branches, Status: ev.Status, Justification: ev.Justification, Impact: ev.Impact, Action: ev.Action,
		Notes: ev.Notes, Command: ev.Command, Comment: ev.CommentRef, Retracts: ev.Retracts,
		Evidence: ev.Evidence, Data: ev.Data,
	}
}

// HistoryOf is events as history/v1.
func HistoryOf(evs []store.Event) History {
	out := History{Schema: SchemaHistory, Events: []Event{}}
	for _, ev := range evs {
		out.Events = append(out.Events, EventOf(ev))
	}
	return out
}

// TriageOf is a triage's view; with history, as a triage/v1 document.
func TriageOf(v triage.View, history bool) Triage {
	out := Triage{
		ID: v.ID, Vulnerability: v.Name(), Aliases: []string{}, Summary: v.Vulnerability.Summary,
		Dependency: v.Dependency, State: string(v.State), Created: v.Created.UTC(), Branches: []Branch{}, LastSeen: v.LastSeen,
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
		out.Branches = append(out.Branches, Branch{
			Branch: b.Branch, Commit: b.Commit, Level: b.Level.String(), Observations: b.Observations,
			Decision: DecisionOf(b.Decision), Automatic: DecisionOf(b.Automatic),
			NeedsPerson: b.NeedsPerson(), Flagged: b.Flagged,
			Published: b.Decision != nil && b.PublishedDecision == b.Decision.Seq,
		})
	}
	if history {
		out.Schema = SchemaTriage
		out.History = HistoryOf(v.Events).Events
	}
	return out
}

// TriagesOf is a list of views as triages/v1.
func TriagesOf(views []triage.View) Triages {
	out := Triages{Schema: SchemaTriages, Triages: []Triage{}}
	for _, v := range views {
		out.Triages = append(out.Triages, TriageOf(v, false))
	}
	return out
}
