// Package scan runs govulncheck's engine (golang.org/x/vuln/scan) in-process
// over the modules of a branch or working tree and keeps every finding at its
// level — required, imported or called — with the call traces that prove it.
package scan

import (
	"fmt"
	"slices"
	"strings"

	"github.com/vexloom/vexloom/internal/osv"
)

// Level is how deep a vulnerability reaches into the scanned code.
type Level int

// Levels, ordered: a higher level is a stronger finding.
const (
	LevelNone Level = iota
	// LevelModule: the vulnerable module is required at a vulnerable version.
	LevelModule
	// LevelPackage: a vulnerable package is imported.
	LevelPackage
	// LevelSymbol: a vulnerable symbol is reachable from the scanned code.
	LevelSymbol
)

var levelNames = []string{"none", "module", "package", "symbol"}

func (l Level) String() string {
	if l < 0 || int(l) >= len(levelNames) {
		return fmt.Sprintf("Level(%d)", int(l))
	}
	return levelNames[l]
}

// Describe says what the level means for the scanned code.
func (l Level) Describe() string {
	switch l {
	case LevelModule:
		return "required"
	case LevelPackage:
		return "imported"
	case LevelSymbol:
		return "called"
	}
	return "not found"
}

// ParseLevel reads a level by name ("module", "package", "symbol") or by its
// description ("required", "imported", "called").
func ParseLevel(s string) (Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "module", "required":
		return LevelModule, nil
	case "package", "imported":
		return LevelPackage, nil
	case "symbol", "called", "reachable":
		return LevelSymbol, nil
	}
	return LevelNone, fmt.Errorf("unknown level %q: want module, package or symbol", s)
}

// MarshalText writes the level's name.
func (l Level) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText reads a level's name.
func (l *Level) UnmarshalText(b []byte) error {
	if string(b) == "none" {
		*l = LevelNone
		return nil
	}
	v, err := ParseLevel(string(b))
	if err != nil {
		return err
	}
	*l = v
	return nil
}

// Frame is one step of a call trace, as govulncheck reports it.
type Frame struct {
	Module   string    `json:"module"`
	Version  string    `json:"version,omitempty"`
	Package  string    `json:"package,omitempty"`
	Function string    `json:"function,omitempty"`
	Receiver string    `json:"receiver,omitempty"`
	Position *Position `json:"position,omitempty"`
}

// Symbol returns the frame's symbol as pkg.Recv.Func or pkg.Func.
func (f Frame) Symbol() string {
	name := f.Function
	if f.Receiver != "" {
		name = strings.TrimPrefix(f.Receiver, "*") + "." + name
	}
	if f.Package != "" && name != "" {
		return f.Package + "." + name
	}
	if name != "" {
		return name
	}
	return f.Package
}

// Position is a source position relative to the module of the frame.
type Position struct {
	Filename string `json:"filename,omitempty"`
	Line     int    `json:"line"`
	Column   int    `json:"column"`
}

func (p *Position) String() string {
	if p == nil || p.Line == 0 {
		return ""
	}
	return fmt.Sprintf("%s:%d:%d", p.Filename, p.Line, p.Column)
}

// Trace is a call path, from the vulnerable symbol to the entry point in the
// scanned code.
type Trace []Frame

// Finding is one vulnerability in one dependency module, at the strongest
// level at which it was found.
type Finding struct {
	// ID is the vulnerability's ID in the database (GO-YYYY-NNNN).
	ID string `json:"id"`
	// Aliases are the other IDs of the same vulnerability (CVE, GHSA), sorted.
	Aliases []string `json:"aliases,omitempty"`
	// Module is the dependency module's path; "stdlib" for the standard
	// library, "toolchain" for the go command.
	Module string `json:"module"`
	// Version is the module's version in the scanned build, with its "v".
	Version string `json:"version"`
	// FixedVersion is the first version that fixes it, "" if none.
	FixedVersion string `json:"fixed_version,omitempty"`
	// Level is the strongest level found.
	Level Level `json:"level"`
	// Packages are the vulnerable packages imported (package level and up).
	Packages []string `json:"packages,omitempty"`
	// Symbols are the vulnerable symbols reached (symbol level).
	Symbols []string `json:"symbols,omitempty"`
	// VulnerablePackages and VulnerableSymbols are what the database says is
	// vulnerable in Module, whether or not the scanned code uses it.
	VulnerablePackages []string `json:"vulnerable_packages,omitempty"`
	VulnerableSymbols  []string `json:"vulnerable_symbols,omitempty"`
	// Traces prove reachability (symbol level); one per reached symbol at most
	// as govulncheck chooses them.
	Traces []Trace `json:"traces,omitempty"`
}

// Name returns the CVE of the finding if it has one, else its ID: the name
// statements are written under.
func (f *Finding) Name() string { return osv.Name(f.ID, f.Aliases) }

// Key identifies a finding within a module scan.
func (f *Finding) Key() string { return f.ID + " " + f.Module }

// Vulnerability is the part of an OSV entry that reports show.
type Vulnerability struct {
	ID         string          `json:"id"`
	Aliases    []string        `json:"aliases,omitempty"`
	Summary    string          `json:"summary,omitempty"`
	Details    string          `json:"details,omitempty"`
	Published  string          `json:"published,omitempty"`
	Modified   string          `json:"modified,omitempty"`
	References []osv.Reference `json:"references,omitempty"`
	URL        string          `json:"url,omitempty"`
}

// Name returns the CVE if there is one, else the ID.
func (v *Vulnerability) Name() string { return osv.Name(v.ID, v.Aliases) }

// OtherIDs returns every identifier of the vulnerability except Name, sorted.
func (v *Vulnerability) OtherIDs() []string {
	name := v.Name()
	var out []string
	for _, id := range append([]string{v.ID}, v.Aliases...) {
		if id != name && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// SortFindings orders findings by level (strongest first), then ID, then module.
func SortFindings(fs []Finding) {
	slices.SortFunc(fs, func(a, b Finding) int {
		if a.Level != b.Level {
			return int(b.Level) - int(a.Level)
		}
		if c := strings.Compare(a.ID, b.ID); c != 0 {
			return c
		}
		return strings.Compare(a.Module, b.Module)
	})
}
