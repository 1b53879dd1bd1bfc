package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/vexloom/vexloom/internal/advisory"
	"github.com/vexloom/vexloom/internal/bridge"
	"github.com/vexloom/vexloom/internal/gate"
	"github.com/vexloom/vexloom/internal/report"
	"github.com/vexloom/vexloom/internal/scan"
	"github.com/vexloom/vexloom/internal/store"
	"github.com/vexloom/vexloom/internal/triage"
)

// hostileTexts are what an outsider can write into a comment, a login or
// an issue title: terminal control sequences that retitle the window,
// clear the screen and forge output, and bidirectional overrides.
var hostileTexts = []string{
	"\x1b]0;pwned\a\x1b[2J\x1b[1;1HAll triages verified OK",
	"ok\rAll triages verified OK",
	"8-bit CSI \u009b2J",
	"pay\u202egnp.exe \u2066isolated\u2069",
	"zero\u200bwidth",
}

// checkTerminalSafe fails if out holds a control character other than a
// newline or a tab, or a bidirectional override or isolate.
func checkTerminalSafe(t *testing.T, what, out string) {
	t.Helper()
	for _, r := range out {
		if r == '\n' || r == '\t' {
			continue
		}
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0x200b {
			t.Errorf("%s writes %U to the terminal:\n%q", what, r, out)
			return
		}
	}
}

// TestOutsideTextEscapedOnTerminal: comments are stored verbatim and
// written exactly in JSON, but history, triage show and the reply of
// triage comment show their control characters escaped.
func TestOutsideTextEscapedOnTerminal(t *testing.T) {
	t.Parallel()
	p := newTestProject(t)
	p.update()
	out := p.ok("triage", "list", "--format", "json", "--config", p.cfg)
	var list struct{ Triages []triageOutput }
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list.Triages) == 0 {
		t.Fatalf("triage list: %v\n%s", err, out)
	}
	id := list.Triages[0].ID
	for _, text := range hostileTexts {
		stdout, stderr, _ := p.cmd("triage", "comment", id, "--as", "outsider"+text, text)
		checkTerminalSafe(t, "triage comment", stdout+stderr)
		stdout, stderr, _ = p.cmd("triage", "comment", id, "--as", "outsider", "/not_affected:"+text+" because")
		checkTerminalSafe(t, "triage comment (a rejected command)", stdout+stderr)
	}
	for _, args := range [][]string{
		{"history", id},
		{"history"},
		{"triage", "show", id},
		{"triage", "list"},
		{"status"},
	} {
		stdout, stderr, code := p.cmd(args...)
		if code != 0 {
			t.Errorf("%s: exit %d\n%s", strings.Join(args, " "), code, stderr)
		}
		checkTerminalSafe(t, strings.Join(args, " "), stdout+stderr)
	}
	// What the outsider wrote is visible, escaped.
	if stdout, _, _ := p.cmd("history", id); !strings.Contains(stdout, `\x1b]0;pwned\x07`) {
		t.Errorf("history does not show the escaped comment:\n%s", stdout)
	}
	// JSON stays JSON: nothing escapes it for a terminal.
	for _, args := range [][]string{{"history", id, "--format", "json"}, {"triage", "show", id, "--format", "json"}} {
		stdout, _, _ := p.cmd(args...)
		var doc any
		if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
			t.Fatalf("%s: %v", strings.Join(args, " "), err)
		}
	}
}

// TestTextOutputsEscapeOutsideText runs each hostile text through every
// text writer that shows outside text: the bridge report, the scan table,
// the gate table, the advisories table and the history line.
func TestTextOutputsEscapeOutsideText(t *testing.T) {
	for _, text := range hostileTexts {
		var buf bytes.Buffer
		writeBridgeReport(&buf, bridge.Report{
			Opened:  []bridge.Bridged{{URL: "https://github.com/o/r/issues/1" + text, TriageID: "vx-1", Candidate: bridge.Candidate{VulnIDs: []string{text}, Module: text, Title: text}}},
			Updated: []bridge.Bridged{{URL: text, TriageID: text, Candidate: bridge.Candidate{Module: text}}},
			Copied:  []bridge.Copied{{URL: text, TriageID: "vx-1", Author: text, Commands: []string{"/not_affected " + text}}},
			Skipped: []bridge.Skip{{URL: text, Reason: "no module in the title " + text}},
		}, map[string]triage.Outcome{})
		checkTerminalSafe(t, "bridge report", buf.String())

		buf.Reset()
		f := report.Finding{Finding: scan.Finding{ID: "GO-2026-0001" + text, Aliases: []string{text}, Module: text, Version: text, FixedVersion: text, Level: scan.LevelSymbol,
			Traces: []scan.Trace{{{Package: text, Function: text}}}}}
		r := &report.Scan{Database: scan.Database{Source: text}, Targets: []report.Target{
			{Branch: text, Commit: "abcdef0123", Modules: []report.Module{{Path: text, Dir: text, Findings: []report.Finding{f}}}},
			{Branch: "main", Modules: []report.Module{{Path: "m", Error: "scan failed: " + text}}},
		}}
		if err := report.WriteTable(&buf, r, report.Options{}); err != nil {
			t.Fatal(err)
		}
		checkTerminalSafe(t, "scan table", buf.String())

		buf.Reset()
		res := &gate.Result{Release: text, Verdict: gate.VerdictFail, Findings: []gate.FindingVerdict{{
			Finding: gate.Finding{ID: text, Module: text, Version: text, Product: text}, Verdict: gate.VerdictFail, Rule: text, Reason: "the statement says " + text, Action: text,
		}}}
		if err := res.WriteTable(&buf); err != nil {
			t.Fatal(err)
		}
		checkTerminalSafe(t, "gate table", buf.String())

		buf.Reset()
		if err := advisory.WriteTable(&buf, []advisory.Advisory{{ID: text, Summary: text}}); err != nil {
			t.Fatal(err)
		}
		checkTerminalSafe(t, "advisories table", buf.String())

		line := eventLine(store.Event{Seq: 1, Author: text, Kind: store.KindComment, Notes: text, Branches: []string{text}})
		checkTerminalSafe(t, "history line", line)

		buf.Reset()
		writeUpdateSummary(&buf, &triage.Summary{
			Comments:    []triage.CommentSummary{{TriageID: "vx-1", Author: text, Outcome: text}},
			Transitions: []triage.Transition{{TriageID: "vx-1", To: triage.Open, Reason: text}},
			Failures:    []string{text},
		})
		checkTerminalSafe(t, "update summary", buf.String())
	}
	// A long note is shortened at a character's start: nothing of it
	// shows as a byte escape.
	long := strings.Repeat("é", 60)
	if line := eventLine(store.Event{Seq: 1, Author: "a", Kind: store.KindComment, Notes: long}); strings.Contains(line, `\x`) {
		t.Errorf("a shortened note splits a character: %s", line)
	}
}
