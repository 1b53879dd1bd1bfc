// Package osv reads vulnerability reports in the OSV format
// (https://ossf.github.io/osv-schema/), the format of the Go vulnerability
// database, of osv.dev exports and of the advisories of projects such as
// Kubernetes.
//
// Only the fields vexloom uses are modelled; the raw bytes of an entry are
// kept wherever an entry is stored, so nothing a source wrote is lost.
// The github.com/ossf/osv-schema Go bindings are protobuf messages that need
// protojson and drop the Go-specific ecosystem_specific imports into an
// untyped struct; reading the same subset govulncheck reads, with
// encoding/json and the same leniency, keeps vexloom's view of an entry
// identical to the scanner's.
package osv

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// MaxEntrySize bounds the size of one OSV entry vexloom accepts. The largest
// entry in the Go vulnerability database is well under 100 KiB.
const MaxEntrySize = 4 << 20

// ErrInvalid is wrapped by every error about a malformed entry.
var ErrInvalid = errors.New("invalid OSV entry")

// Entry is one vulnerability report.
type Entry struct {
	SchemaVersion    string          `json:"schema_version,omitempty"`
	ID               string          `json:"id"`
	Modified         time.Time       `json:"modified"`
	Published        time.Time       `json:"published,omitempty"`
	Withdrawn        *time.Time      `json:"withdrawn,omitempty"`
	Aliases          []string        `json:"aliases,omitempty"`
	Related          []string        `json:"related,omitempty"`
	Summary          string          `json:"summary,omitempty"`
	Details          string          `json:"details,omitempty"`
	Severity         []Severity      `json:"severity,omitempty"`
	Affected         []Affected      `json:"affected,omitempty"`
	References       []Reference     `json:"references,omitempty"`
	DatabaseSpecific json.RawMessage `json:"database_specific,omitempty"`
}

// Severity is a scored severity such as a CVSS vector.
type Severity struct {
	Type  string `json:"type"`
	Score string `json:"score"`
}

// Affected names one package and the versions of it that are affected.
type Affected struct {
	Package           Package           `json:"package"`
	Ranges            []Range           `json:"ranges,omitempty"`
	Versions          []string          `json:"versions,omitempty"`
	EcosystemSpecific EcosystemSpecific `json:"ecosystem_specific,omitempty"`
	DatabaseSpecific  json.RawMessage   `json:"database_specific,omitempty"`
}

// Package identifies the affected package. For the Go ecosystem the name is a
// module path ("stdlib" and "toolchain" for Go itself).
type Package struct {
	Ecosystem string `json:"ecosystem"`
	Name      string `json:"name"`
	Purl      string `json:"purl,omitempty"`
}

// Range is a list of events over an ordered version space.
type Range struct {
	Type   string  `json:"type"`
	Repo   string  `json:"repo,omitempty"`
	Events []Event `json:"events"`
}

// Range types.
const (
	RangeSemver    = "SEMVER"
	RangeEcosystem = "ECOSYSTEM"
	RangeGit       = "GIT"
)

// Event is one point in a range. Exactly one field is set.
type Event struct {
	Introduced   string `json:"introduced,omitempty"`
	Fixed        string `json:"fixed,omitempty"`
	LastAffected string `json:"last_affected,omitempty"`
	Limit        string `json:"limit,omitempty"`
}

// EcosystemSpecific holds the Go database's per-package detail: which
// packages of the module and which symbols in them are vulnerable.
type EcosystemSpecific struct {
	Imports []Import `json:"imports,omitempty"`
}

// UnmarshalJSON accepts any object (other ecosystems put other things here)
// and keeps only the Go "imports" list when it has the expected shape.
func (e *EcosystemSpecific) UnmarshalJSON(b []byte) error {
	var raw struct {
		Imports json.RawMessage `json:"imports"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		// Not an object: nothing Go-specific to read.
		*e = EcosystemSpecific{}
		return nil
	}
	var imports []Import
	if len(raw.Imports) > 0 && json.Unmarshal(raw.Imports, &imports) == nil {
		e.Imports = imports
	}
	return nil
}

// Import is a vulnerable package and its vulnerable symbols.
type Import struct {
	Path    string   `json:"path"`
	GOOS    []string `json:"goos,omitempty"`
	GOARCH  []string `json:"goarch,omitempty"`
	Symbols []string `json:"symbols,omitempty"`
}

// Reference is a link about the vulnerability.
type Reference struct {
	Type string `json:"type"`
	URL  string `json:"url"`
}

// idPattern is ValidID's but for the length, checked apart: a bounded
// repetition compiles into as many states as its bound, at every start of
// the program.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]*$`)

// ValidID reports whether id is usable as a vulnerability identifier and as a
// file name: letters, digits, '.', '_', ':' and '-', at most 128 bytes.
func ValidID(id string) bool {
	return len(id) <= 128 && idPattern.MatchString(id) && !strings.Contains(id, "..")
}

// Parse decodes and validates one entry.
func Parse(data []byte) (*Entry, error) {
	if len(data) > MaxEntrySize {
		return nil, fmt.Errorf("%w: %d bytes is more than the %d allowed", ErrInvalid, len(data), MaxEntrySize)
	}
	var e Entry
	if err := json.Unmarshal(data, &e); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := e.Validate(); err != nil {
		return nil, err
	}
	return &e, nil
}

// Validate checks the fields vexloom relies on.
func (e *Entry) Validate() error {
	if e.ID == "" {
		return fmt.Errorf("%w: no id", ErrInvalid)
	}
	if !ValidID(e.ID) {
		return fmt.Errorf("%w: id %q has characters outside [A-Za-z0-9._:-] or is too long", ErrInvalid, truncate(e.ID))
	}
	for _, a := range e.Aliases {
		if !ValidID(a) {
			return fmt.Errorf("%w: %s: alias %q is not a valid identifier", ErrInvalid, e.ID, truncate(a))
		}
	}
	for i, a := range e.Affected {
		if a.Package.Name == "" {
			return fmt.Errorf("%w: %s: affected[%d] has no package name", ErrInvalid, e.ID, i)
		}
		for j, r := range a.Ranges {
			if r.Type == "" {
				return fmt.Errorf("%w: %s: affected[%d].ranges[%d] has no type", ErrInvalid, e.ID, i, j)
			}
			for k, ev := range r.Events {
				n := 0
				for _, s := range []string{ev.Introduced, ev.Fixed, ev.LastAffected, ev.Limit} {
					if s != "" {
						n++
					}
				}
				if n != 1 {
					return fmt.Errorf("%w: %s: affected[%d].ranges[%d].events[%d] must set exactly one of introduced, fixed, last_affected, limit", ErrInvalid, e.ID, i, j, k)
				}
			}
		}
	}
	return nil
}

// Modules returns the distinct package names in Affected, in order.
func (e *Entry) Modules() []string {
	var out []string
	seen := map[string]bool{}
	for _, a := range e.Affected {
		if !seen[a.Package.Name] {
			seen[a.Package.Name] = true
			out = append(out, a.Package.Name)
		}
	}
	return out
}

// CVE returns the entry's CVE identifier: its ID if that is a CVE, else the
// first CVE alias, else "".
func (e *Entry) CVE() string { return CVE(e.ID, e.Aliases) }

// IsCVE reports whether id is a CVE identifier ("CVE-2024-45338").
func IsCVE(id string) bool { return strings.HasPrefix(id, "CVE-") }

// CVE returns the CVE of a vulnerability known by id and aliases: id if
// that is a CVE, else the first CVE alias, else "".
func CVE(id string, aliases []string) string {
	if IsCVE(id) {
		return id
	}
	for _, a := range aliases {
		if IsCVE(a) {
			return a
		}
	}
	return ""
}

// Name returns the name a vulnerability is written under in vexloom's
// statements, reports and triages: its CVE where it has one (CVE), else
// id.
func Name(id string, aliases []string) string {
	if cve := CVE(id, aliases); cve != "" {
		return cve
	}
	return id
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
