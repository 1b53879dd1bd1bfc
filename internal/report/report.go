// Package report holds the result of a scan with its automatic assessments
// and writes it in every format vexloom offers: a table for people, its own
// versioned JSON schema, OpenVEX, and SARIF 2.1.0 for code-scanning tools.
package report

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/vexloom/vexloom/internal/assess"
	"github.com/vexloom/vexloom/internal/buildinfo"
	"github.com/vexloom/vexloom/internal/scan"
	"github.com/vexloom/vexloom/internal/source"
)

// Schema identifies the version of vexloom's JSON scan report. It changes
// only when a field changes meaning or is removed; fields may be added.
const Schema = "https://github.com/vexloom/vexloom/schema/scan/v1"

// Scan is a scan report: what was scanned with what, and what was found.
type Scan struct {
	Schema    string             `json:"schema"`
	Tool      buildinfo.Versions `json:"tool"`
	Database  scan.Database      `json:"database"`
	Generated time.Time          `json:"generated"`
	Targets   []Target           `json:"targets"`
	// Vulnerabilities describes every ID found, sorted by ID.
	Vulnerabilities []scan.Vulnerability `json:"vulnerabilities"`
}

// Target is a branch, commit or working tree with its modules.
type Target struct {
	Repository string     `json:"repository,omitempty"`
	Branch     string     `json:"branch,omitempty"`
	Commit     string     `json:"commit,omitempty"`
	CommitTime *time.Time `json:"commit_time,omitempty"`
	Tags       []string   `json:"tags,omitempty"`
	Dir        string     `json:"dir,omitempty"`
	Modules    []Module   `json:"modules"`
}

// Name is how tables name the target.
func (t *Target) Name() string {
	switch {
	case t.Branch != "":
		return t.Branch + "@" + shortHash(t.Commit)
	case t.Commit != "":
		return shortHash(t.Commit)
	}
	return t.Dir
}

// Module is one scanned module.
type Module struct {
	Path        string           `json:"path"`
	Dir         string           `json:"dir"`
	Version     string           `json:"version,omitempty"`
	GoVersion   source.GoVersion `json:"go_version"`
	ContentHash string           `json:"content_hash,omitempty"`
	Error       string           `json:"error,omitempty"`
	Findings    []Finding        `json:"findings"`
}

// Finding is a scanner finding with its automatic assessment.
type Finding struct {
	scan.Finding
	Assessment assess.Assessment `json:"assessment"`
}

// Build assembles a report from scanned targets, assessing every finding.
func Build(db scan.Database, targets []*scan.Target, now time.Time) *Scan {
	v := buildinfo.Get()
	r := &Scan{
		Schema:    Schema,
		Tool:      v,
		Database:  db,
		Generated: now.UTC().Truncate(time.Second),
		Targets:   []Target{},
	}
	vulns := map[string]scan.Vulnerability{}
	for _, t := range targets {
		rt := Target{
			Repository: t.Repository,
			Branch:     t.Branch,
			Commit:     t.Commit,
			CommitTime: t.CommitTime,
			Tags:       t.Tags,
			Dir:        t.Dir,
			Modules:    []Module{},
		}
		for _, m := range t.Modules {
			rm := Module{
				Path:        m.Path,
				Dir:         m.Dir,
				Version:     m.Version,
				GoVersion:   m.GoVersion,
				ContentHash: m.ContentHash,
				Error:       m.Error,
				Findings:    []Finding{},
			}
			for _, vv := range m.Vulnerabilities {
				vulns[vv.ID] = vv
			}
			ev := assess.Evidence{
				Analysis:  "symbol",
				Tool:      buildinfo.ToolName + " " + v.Tool,
				Engine:    buildinfo.EngineModule + " " + v.Engine,
				Database:  DatabaseName(db),
				GoVersion: m.GoVersion.Version,
				Module:    m.Path,
				Version:   m.Version,
				Commit:    t.Commit,
			}
			for _, f := range m.Findings {
				rm.Findings = append(rm.Findings, Finding{Finding: f, Assessment: assess.Automatic(f, ev)})
			}
			rt.Modules = append(rt.Modules, rm)
		}
		r.Targets = append(r.Targets, rt)
	}
	r.Vulnerabilities = []scan.Vulnerability{}
	for _, vv := range vulns {
		r.Vulnerabilities = append(r.Vulnerabilities, vv)
	}
	slices.SortFunc(r.Vulnerabilities, func(a, b scan.Vulnerability) int { return strings.Compare(a.ID, b.ID) })
	return r
}

// DatabaseName names a database in evidence: "golang.org/x/vulndb@v0.0.0-…".
func DatabaseName(db scan.Database) string {
	src := db.Source
	if src == "" {
		src = "database"
	}
	if db.Version == "" {
		return src
	}
	return src + "@" + db.Version
}

// Vulnerability returns the description of id.
func (r *Scan) Vulnerability(id string) scan.Vulnerability {
	i, ok := slices.BinarySearchFunc(r.Vulnerabilities, id, func(v scan.Vulnerability, id string) int { return strings.Compare(v.ID, id) })
	if ok {
		return r.Vulnerabilities[i]
	}
	return scan.Vulnerability{ID: id}
}

// Failures lists the modules that could not be scanned, as "target module:
// reason" lines.
func (r *Scan) Failures() []string {
	var out []string
	for _, t := range r.Targets {
		for _, m := range t.Modules {
			if m.Error != "" {
				name := m.Path
				if name == "" {
					name = m.Dir
				}
				out = append(out, fmt.Sprintf("%s: module %s: %s", t.Name(), name, m.Error))
			}
		}
	}
	return out
}

// MaxLevel returns the strongest level of any finding.
func (r *Scan) MaxLevel() scan.Level {
	max := scan.LevelNone
	for _, t := range r.Targets {
		for _, m := range t.Modules {
			for _, f := range m.Findings {
				if f.Level > max {
					max = f.Level
				}
			}
		}
	}
	return max
}

// Format is an output format.
type Format string

// Formats.
const (
	FormatTable   Format = "table"
	FormatJSON    Format = "json"
	FormatOpenVEX Format = "openvex"
	FormatSARIF   Format = "sarif"
	// FormatCSAF and FormatCycloneDX are the OpenVEX document's statements
	// in CSAF 2.0 and CycloneDX 1.6 (see internal/vexformat).
	FormatCSAF      Format = "csaf"
	FormatCycloneDX Format = "cyclonedx"
)

// Formats lists the formats for help text.
var Formats = []Format{FormatTable, FormatJSON, FormatOpenVEX, FormatCSAF, FormatCycloneDX, FormatSARIF}

// ParseFormat reads a format name.
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats {
		if string(f) == strings.ToLower(s) {
			return f, nil
		}
	}
	names := make([]string, len(Formats))
	for i, f := range Formats {
		names[i] = string(f)
	}
	return "", fmt.Errorf("unknown format %q: want one of %s", s, strings.Join(names, ", "))
}

// Options are what the writers need beyond the report.
type Options struct {
	// Author of OpenVEX documents.
	Author string
	// Now is the document timestamp (SOURCE_DATE_EPOCH already applied).
	Now time.Time
	// Verbose tables show every trace, not one per finding.
	Verbose bool
	// MinLevel hides table rows below this level (they are counted).
	MinLevel scan.Level
	// Namespace is the publisher's URL written in CSAF documents.
	Namespace string
}

// Write writes r in format f.
func Write(w io.Writer, r *Scan, f Format, opts Options) error {
	switch f {
	case FormatTable:
		return WriteTable(w, r, opts)
	case FormatJSON:
		return WriteJSON(w, r)
	case FormatOpenVEX:
		return WriteOpenVEX(w, r, opts)
	case FormatCSAF, FormatCycloneDX:
		return writeVEXFormat(w, r, f, opts)
	case FormatSARIF:
		return WriteSARIF(w, r)
	}
	return fmt.Errorf("unknown format %q", f)
}

func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
