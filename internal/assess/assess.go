// Package assess turns what the scanner proved into assessments: a
// vulnerability whose code the scanned module provably does not reach is
// not_affected, with the evidence that proves it; one whose code it reaches
// needs a person and stays under_investigation until someone decides.
package assess

import (
	"fmt"
	"strings"

	"github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/scan"
)

// Source says where an assessment came from.
type Source string

// Sources of assessments.
const (
	SourceAutomatic  Source = "automatic"
	SourceMaintainer Source = "maintainer"
	SourceAdvisory   Source = "advisory"
)

// AutomaticAuthor is the author of automatic assessments.
const AutomaticAuthor = "vexloom"

// Evidence is what an automatic assessment rests on. If any of it changes
// (a new database, a new dependency version, a stronger level), the
// assessment must be made again.
type Evidence struct {
	// Level is the strongest level at which the scanner found the
	// vulnerability in the scanned module.
	Level scan.Level `json:"level"`
	// Analysis is the level the scanner analysed at ("symbol").
	Analysis string `json:"analysis"`
	// Tool and Engine name the scanner ("vexloom devel", "golang.org/x/vuln v1.9.0").
	Tool   string `json:"tool"`
	Engine string `json:"engine"`
	// Database names the vulnerability data ("golang.org/x/vulndb@v0.0.0-…").
	Database string `json:"database"`
	// GoVersion is the standard library version analysed.
	GoVersion string `json:"go_version,omitempty"`
	// Module and Version are the scanned module; Dependency and
	// DependencyVersion the vulnerable one.
	Module            string `json:"module"`
	Version           string `json:"version,omitempty"`
	Dependency        string `json:"dependency"`
	DependencyVersion string `json:"dependency_version"`
	// Commit is the scanned commit, when the scan was of a commit.
	Commit string `json:"commit,omitempty"`
}

// Assessment is a decision about one vulnerability in one product.
type Assessment struct {
	Status          vex.Status        `json:"status"`
	Justification   vex.Justification `json:"justification,omitempty"`
	ImpactStatement string            `json:"impact_statement,omitempty"`
	ActionStatement string            `json:"action_statement,omitempty"`
	StatusNotes     string            `json:"status_notes,omitempty"`
	Source          Source            `json:"source"`
	Author          string            `json:"author"`
	Evidence        *Evidence         `json:"evidence,omitempty"`
}

// NeedsPerson reports whether a person has to decide.
func (a Assessment) NeedsPerson() bool { return a.Status == vex.StatusUnderInvestigation }

// Automatic assesses a finding from the scanner's evidence alone.
func Automatic(f scan.Finding, ev Evidence) Assessment {
	ev.Level = f.Level
	if ev.Analysis == "" {
		ev.Analysis = "symbol"
	}
	ev.Dependency = f.Module
	ev.DependencyVersion = f.Version
	a := Assessment{Source: SourceAutomatic, Author: AutomaticAuthor, Evidence: &ev}
	dep := f.Module + "@" + f.Version
	switch f.Level {
	case scan.LevelModule:
		a.Status = vex.StatusNotAffected
		a.Justification = vex.VulnerableCodeNotPresent
		what := "its vulnerable packages"
		if len(f.VulnerablePackages) > 0 {
			what = "the vulnerable " + plural(len(f.VulnerablePackages), "package", "packages") + " " + list(f.VulnerablePackages, 4)
		}
		a.ImpactStatement = fmt.Sprintf("%s requires %s, but no package of %s imports %s, so the vulnerable code is not in the build. %s",
			ev.Module, dep, ev.Module, what, ev.sentence())
	case scan.LevelPackage:
		a.Status = vex.StatusNotAffected
		a.Justification = vex.VulnerableCodeNotInExecutePath
		what := "the vulnerable symbols"
		if len(f.VulnerableSymbols) > 0 {
			what = "none of the vulnerable symbols (" + list(f.VulnerableSymbols, 4) + ")"
		} else {
			what = "none of " + what
		}
		a.ImpactStatement = fmt.Sprintf("%s imports %s from %s, but %s is reachable from its code. %s",
			ev.Module, list(f.Packages, 4), dep, what, ev.sentence())
	default:
		a.Status = vex.StatusUnderInvestigation
		a.StatusNotes = fmt.Sprintf("%s reaches %s in %s; a maintainer must assess whether it is exploitable. %s",
			ev.Module, list(f.Symbols, 4), dep, ev.sentence())
	}
	return a
}

// sentence names the evidence in one sentence.
func (ev Evidence) sentence() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Evidence: %s-level reachability analysis by %s (%s)", ev.Analysis, ev.Tool, ev.Engine)
	if ev.GoVersion != "" {
		fmt.Fprintf(&b, " with %s", ev.GoVersion)
	}
	fmt.Fprintf(&b, ", vulnerability database %s", ev.Database)
	if ev.Commit != "" {
		fmt.Fprintf(&b, ", commit %s", ev.Commit)
	}
	b.WriteString(".")
	return b.String()
}

func list(items []string, max int) string {
	if len(items) <= max {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:max], ", ") + fmt.Sprintf(" and %d more", len(items)-max)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
