// Package gate is vexloom's release gate: it reads what a scanner found
// (vexloom's own scan report, a govulncheck JSON stream or OSV-Scanner
// results), matches every finding with the VEX statements that apply to it,
// and decides, by a default rule and an optional CEL policy, whether a
// release may ship. A release is blocked while a vulnerability reached by the
// code has no verified statement saying it is not exploitable (DESIGN.md,
// "Gate").
//
// The result is written as a table for people, as JSON in a versioned
// schema, as SARIF 2.1.0 and as an in-toto statement the caller signs, so
// that the decision itself is auditable. Verifying signatures and loading
// VEX from files, stores, registries and feeds is the caller's job: the gate
// receives statements already marked verified or not.
package gate

import (
	"errors"
	"time"

	"github.com/vexloom/vexloom/internal/osv"
	"github.com/vexloom/vexloom/internal/purl"
	"github.com/vexloom/vexloom/internal/scan"
)

// MaxInputSize bounds a scanner result the gate reads. A symbol scan of the
// main Kubernetes binaries with every trace is a few tens of MiB.
const MaxInputSize = 256 << 20

// Sentinel errors callers branch on.
var (
	// ErrInput is wrapped by every error about a malformed scanner result.
	ErrInput = errors.New("invalid scan results")
	// ErrUnknownFormat is wrapped when the input is none of the formats the
	// gate reads.
	ErrUnknownFormat = errors.New("unknown scan results format")
	// ErrIncomplete is wrapped when a vexloom scan report says some modules
	// could not be scanned: the gate cannot vouch for what it did not see.
	ErrIncomplete = errors.New("scan is incomplete")
	// ErrPolicy is wrapped by every error about a policy file.
	ErrPolicy = errors.New("invalid policy")
	// ErrFailed is wrapped by Result.Err when the gate says no.
	ErrFailed = errors.New("release gate failed")
)

// Format is a scanner result format the gate reads.
type Format string

// Formats.
const (
	// FormatVexloom is vexloom's scan report (report.Schema).
	FormatVexloom Format = "vexloom"
	// FormatGovulncheck is govulncheck's JSON stream (-format json).
	FormatGovulncheck Format = "govulncheck"
	// FormatOSVScanner is OSV-Scanner's JSON results (--format json).
	FormatOSVScanner Format = "osv-scanner"
)

// Finding is one vulnerability in one dependency of a product, at the
// strongest level a scanner found it.
type Finding struct {
	// ID is the vulnerability's ID in the scanner's database.
	ID string `json:"id"`
	// Aliases are its other IDs (CVE, GHSA, …), sorted, without ID.
	Aliases []string `json:"aliases,omitempty"`
	// Ecosystem is the OSV ecosystem of Module ("Go" for Go modules).
	Ecosystem string `json:"ecosystem"`
	// Module is the vulnerable dependency: a Go module path ("stdlib" for
	// the standard library) or another ecosystem's package name.
	Module string `json:"module"`
	// Version is the dependency's version in the product (Go versions with
	// their "v").
	Version string `json:"version,omitempty"`
	// Level is how deep the vulnerability reaches into the product's code.
	Level scan.Level `json:"level"`
	// Symbols are the vulnerable symbols reached, when the scanner says.
	Symbols []string `json:"symbols,omitempty"`
	// FixedVersion is the first version of Module without the
	// vulnerability, "" when none is known.
	FixedVersion string `json:"fixed_version,omitempty"`
	// Product is what the finding belongs to: the purl of the scanned
	// module, binary or image where the scanner says, else the path the
	// scanner read (a go.mod, a lockfile), else "".
	Product string `json:"product,omitempty"`
	// Published and Modified are the vulnerability's dates (zero if unknown).
	Published time.Time `json:"published,omitzero"`
	Modified  time.Time `json:"modified,omitzero"`
	// Severity is the vulnerability's CVSS severity, when the data has one.
	Severity Severity `json:"severity,omitzero"`
}

// Severity is a CVSS severity.
type Severity struct {
	// Vector is the CVSS vector string ("CVSS:3.1/AV:N/…"), if known.
	Vector string `json:"vector,omitempty"`
	// Score is the CVSS base score, 0 when unknown.
	Score float64 `json:"score,omitempty"`
}

// DependencyPURL is the package URL of the finding's vulnerable dependency
// at its version, "" when its ecosystem has no package URL type the gate
// knows.
func (f *Finding) DependencyPURL() string {
	return purl.Ecosystem(f.Ecosystem, f.Module, f.Version)
}

// Name is the CVE of the finding if it has one, else its ID.
func (f *Finding) Name() string { return osv.Name(f.ID, f.Aliases) }
