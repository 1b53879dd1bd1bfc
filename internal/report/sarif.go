package report

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif"

	"github.com/vexloom/vexloom/internal/buildinfo"
	"github.com/vexloom/vexloom/internal/jsonx"
	"github.com/vexloom/vexloom/internal/scan"
)

// SARIF builds a SARIF 2.1.0 log of the scan: one rule per vulnerability and
// one result per finding. Called code is an error located at the call in
// the scanned code with the trace as a code flow; imported and required
// vulnerabilities are a warning and a note located at the module's go.mod.
func SARIF(r *Scan) (*sarif.Report, error) {
	v := buildinfo.Get()
	run := sarif.NewRunWithInformationURI(buildinfo.ToolName, "https://github.com/vexloom/vexloom")
	run.Tool.Driver.WithVersion(v.Tool).WithSemanticVersion(strings.TrimPrefix(v.Tool, "v"))
	run.Tool.Driver.WithFullName(buildinfo.Tool())

	ruleIndex := map[string]int{}
	addRule := func(id string) int {
		if i, ok := ruleIndex[id]; ok {
			return i
		}
		vv := r.Vulnerability(id)
		rule := sarif.NewRule(id)
		short := vv.Summary
		if short == "" {
			short = id
		}
		rule.WithShortDescription(sarif.NewMultiformatMessageString().WithText(short))
		full := vv.Details
		if full == "" {
			full = short
		}
		rule.WithFullDescription(sarif.NewMultiformatMessageString().WithText(full))
		if vv.URL != "" {
			rule.WithHelpURI(vv.URL)
		}
		help := fmt.Sprintf("%s: %s\nIDs: %s", vv.Name(), short, strings.Join(append([]string{vv.ID}, vv.Aliases...), ", "))
		rule.WithHelp(sarif.NewMultiformatMessageString().WithText(help).WithMarkdown(help))
		props := sarif.NewPropertyBag().WithTags(append([]string{"vulnerability", "security"}, vv.Aliases...))
		rule.WithProperties(props)
		run.Tool.Driver.AddRule(rule)
		ruleIndex[id] = len(run.Tool.Driver.Rules) - 1
		return ruleIndex[id]
	}

	for _, t := range r.Targets {
		for _, m := range t.Modules {
			gomod := path.Join(m.Dir, "go.mod")
			for _, f := range m.Findings {
				idx := addRule(f.ID)
				res := sarif.NewRuleResult(f.ID).WithRuleIndex(idx)
				res.WithLevel(sarifLevel(f.Level))
				res.WithMessage(sarif.NewTextMessage(sarifMessage(t, m, f)))
				loc := sarif.NewPhysicalLocation().
					WithArtifactLocation(sarif.NewSimpleArtifactLocation(gomod).WithURIBaseID("%SRCROOT%")).
					WithRegion(sarif.NewSimpleRegion(1, 1))
				if f.Level == scan.LevelSymbol && len(f.Traces) > 0 {
					if entry := f.Traces[0][len(f.Traces[0])-1]; entry.Module == m.Path {
						if l := frameLocation(m.Dir, entry); l != nil {
							loc = l
						}
					}
					for _, tr := range f.Traces {
						res.AddCodeFlow(codeFlow(m.Path, m.Dir, tr))
					}
				}
				res.AddLocation(sarif.NewLocationWithPhysicalLocation(loc))
				res.WithPartialFingerprints(map[string]string{
					"vexloom/v1": fingerprint(t.Branch, m.Path, f.ID, f.Module),
				})
				props := sarif.NewPropertyBag().
					Add("level", f.Level.String()).
					Add("module", f.Module).
					Add("version", f.Version).
					Add("status", string(f.Assessment.Status))
				if f.Assessment.Justification != "" {
					props.Add("justification", string(f.Assessment.Justification))
				}
				if t.Branch != "" {
					props.Add("branch", t.Branch)
				}
				if t.Commit != "" {
					props.Add("commit", t.Commit)
				}
				res.WithProperties(props)
				run.AddResult(res)
			}
		}
	}
	rep := sarif.NewReport()
	rep.AddRun(run)
	return rep, nil
}

func sarifLevel(l scan.Level) string {
	switch l {
	case scan.LevelSymbol:
		return "error"
	case scan.LevelPackage:
		return "warning"
	}
	return "note"
}

func sarifMessage(t Target, m Module, f Finding) string {
	name := f.Name()
	if name != f.ID {
		name = f.ID + " (" + name + ")"
	}
	fixed := "no fixed version"
	if f.FixedVersion != "" {
		fixed = "fixed in " + f.FixedVersion
	}
	switch f.Level {
	case scan.LevelSymbol:
		return fmt.Sprintf("%s calls %s of %s@%s, which has %s; %s. It needs a maintainer's assessment.",
			m.Path, strings.Join(f.Symbols, ", "), f.Module, f.Version, name, fixed)
	case scan.LevelPackage:
		return fmt.Sprintf("%s imports %s of %s@%s, which has %s, but does not reach the vulnerable code; %s.",
			m.Path, strings.Join(f.Packages, ", "), f.Module, f.Version, name, fixed)
	}
	return fmt.Sprintf("%s requires %s@%s, which has %s, but does not import the vulnerable packages; %s.",
		m.Path, f.Module, f.Version, name, fixed)
}

// frameLocation locates a frame of the scanned module in the repository.
func frameLocation(moduleDir string, fr scan.Frame) *sarif.PhysicalLocation {
	if fr.Position == nil || fr.Position.Line == 0 || fr.Position.Filename == "" {
		return nil
	}
	uri := path.Join(moduleDir, fr.Position.Filename)
	region := sarif.NewSimpleRegion(fr.Position.Line, fr.Position.Line)
	if fr.Position.Column > 0 {
		region.WithStartColumn(fr.Position.Column)
	}
	return sarif.NewPhysicalLocation().
		WithArtifactLocation(sarif.NewSimpleArtifactLocation(uri).WithURIBaseID("%SRCROOT%")).
		WithRegion(region)
}

// codeFlow turns a trace into a thread flow from the entry point to the
// vulnerable symbol.
func codeFlow(modulePath, moduleDir string, tr scan.Trace) *sarif.CodeFlow {
	tf := sarif.NewThreadFlow()
	for i := len(tr) - 1; i >= 0; i-- {
		fr := tr[i]
		loc := sarif.NewLocation().WithMessage(sarif.NewTextMessage(fr.Symbol()))
		// Positions are relative to the frame's own module: only frames of
		// the scanned module can be placed in the repository.
		if fr.Module == modulePath {
			if pl := frameLocation(moduleDir, fr); pl != nil {
				loc.WithPhysicalLocation(pl)
			}
		}
		tf.AddLocation(sarif.NewThreadFlowLocation().WithLocation(loc))
	}
	return sarif.NewCodeFlow().WithThreadFlows([]*sarif.ThreadFlow{tf})
}

func fingerprint(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:16])
}

// WriteSARIF writes the scan as SARIF 2.1.0.
func WriteSARIF(w io.Writer, r *Scan) error {
	rep, err := SARIF(r)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := rep.Write(&buf); err != nil {
		return err
	}
	// Re-encode for the same formatting as every other vexloom output.
	var generic any
	if err := jsonx.Unmarshal(buf.Bytes(), &generic); err != nil {
		return err
	}
	return jsonx.Write(w, generic)
}
