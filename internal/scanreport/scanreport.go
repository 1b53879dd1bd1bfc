// Package scanreport reads what container-image scanners report about a
// release's images: Trivy JSON (trivy image --format json), Grype JSON
// (grype -o json) and OSV-Scanner JSON (osv-scanner --format json). Each
// becomes a Report: the image scanned and one Finding per vulnerability and
// package, the package named by its package URL and classed as an
// operating-system package, a Go module or another language's package.
//
// Parse tells the format by the report's top-level keys. A report in none
// of them is ErrUnknownFormat; one that is not complete JSON, or whose
// content breaks its format, is ErrMalformed. Reports are bounded in size
// and every string that becomes part of a package URL is checked.
package scanreport

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/vexloom/vexloom/internal/digest"
	"github.com/vexloom/vexloom/internal/osv"
	"github.com/vexloom/vexloom/internal/purl"
	"github.com/vexloom/vexloom/internal/vex"
)

// MaxReportSize bounds the reports read.
const MaxReportSize = 128 << 20

// Sentinel errors.
var (
	// ErrUnknownFormat: the report is none of the formats read.
	ErrUnknownFormat = errors.New("not a Trivy, Grype or OSV-Scanner JSON report")
	// ErrMalformed: the report is truncated, not JSON, or breaks its format.
	ErrMalformed = errors.New("malformed scanner report")
)

// Format is a scanner's report format.
type Format string

// The formats read.
const (
	Trivy      Format = "trivy"
	Grype      Format = "grype"
	OSVScanner Format = "osv-scanner"
)

// Class is the kind of package a finding is in.
type Class string

// The classes.
const (
	// ClassOS: a package of the image's distribution (deb, apk, rpm).
	ClassOS Class = "os"
	// ClassGo: a Go module (or the standard library) in a Go binary.
	ClassGo Class = "go"
	// ClassOther: another language's package (npm, PyPI, Maven…).
	ClassOther Class = "other"
)

// Report is what a scanner reported about one image.
type Report struct {
	Format Format
	// Image is the image as the scanner was given it (a reference).
	Image string
	// Digests are the image's repository and manifest digests the scanner
	// saw (sha256:…), when it says; for a multi-platform image the
	// repository digest is the index's.
	Digests []string
	// ConfigDigest is the image's configuration digest (its "image ID"),
	// which tells the platform scanned.
	ConfigDigest string
	// Findings, sorted by vulnerability and package.
	Findings []Finding
}

// Finding is one vulnerability in one package of the image.
type Finding struct {
	// ID is the vulnerability as the scanner names it; Aliases are its
	// other IDs.
	ID      string
	Aliases []string
	// Package is the package's URL with its version (normalised as vexloom
	// writes package URLs).
	Package     string
	PackageName string
	Version     string
	Class       Class
	// FixedVersion is the version with a fix, when the scanner knows one.
	FixedVersion string
	// Where is where in the image the package is (the OS, a file).
	Where string
	// OSV is what an OSV-Scanner report says beyond that; nil for the
	// other formats.
	OSV *OSVDetail
}

// OSVDetail is what an OSV-Scanner report says of a finding in OSV's own
// terms: what the release gate weighs besides the package.
type OSVDetail struct {
	// Ecosystem, Name and Version are the package as OSV names it.
	Ecosystem, Name, Version string
	// IDs are the IDs of the vulnerability's group, as the report lists
	// them (ID is the first).
	IDs []string
	// Records are the OSV records the report holds for IDs, unvalidated.
	Records []osv.Entry
	// Called: OSV-Scanner's call analysis found the vulnerable code
	// called.
	Called bool
	// MaxSeverity is the group's highest severity score, as written.
	MaxSeverity string
}

// Name is the vulnerability's name as vexloom states it: the CVE where
// there is one, else the ID.
func (f Finding) Name() string {
	return vex.Vulnerability{ID: f.ID, Aliases: f.Aliases}.Name()
}

// PackageKey is the package without its version, qualifiers or subpath:
// what a triage of an image package is about (pkg:deb/debian/libc6).
func (f Finding) PackageKey() string {
	return purl.Key(f.Package)
}

// Parse reads a report in any of the formats.
func Parse(data []byte) (*Report, error) {
	if len(data) > MaxReportSize {
		return nil, fmt.Errorf("%w: %d bytes is more than the %d allowed", ErrMalformed, len(data), MaxReportSize)
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrUnknownFormat)
	}
	if data[0] != '{' {
		return nil, fmt.Errorf("%w: not a JSON object", ErrUnknownFormat)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(data, &keys); err != nil {
		return nil, fmt.Errorf("%w: not complete JSON (truncated?): %v", ErrMalformed, err)
	}
	var (
		r   *Report
		err error
	)
	switch {
	case has(keys, "SchemaVersion") && (has(keys, "Results") || has(keys, "ArtifactName")):
		r, err = parseTrivy(data)
	case has(keys, "matches") && (has(keys, "descriptor") || has(keys, "source")):
		r, err = parseGrype(data)
	case has(keys, "results") && !has(keys, "Results"):
		r, err = parseOSVScanner(data)
	default:
		return nil, ErrUnknownFormat
	}
	if err != nil {
		return nil, err
	}
	slices.SortFunc(r.Findings, func(a, b Finding) int {
		if c := strings.Compare(a.Name(), b.Name()); c != 0 {
			return c
		}
		if c := strings.Compare(a.Package, b.Package); c != 0 {
			return c
		}
		return strings.Compare(a.Where, b.Where)
	})
	r.Findings = slices.CompactFunc(r.Findings, func(a, b Finding) bool {
		return a.ID == b.ID && a.Package == b.Package && a.Where == b.Where
	})
	return r, nil
}

func has(m map[string]json.RawMessage, k string) bool {
	v, ok := m[k]
	return ok && len(v) > 0
}

// classOf classes a package by its package URL type.
func classOf(purlType string) Class {
	switch purlType {
	case "deb", "apk", "rpm", "alpm", "ebuild":
		return ClassOS
	case "golang":
		return ClassGo
	}
	return ClassOther
}

// checkID refuses vulnerability IDs that could not be one: empty, too long,
// with spaces or control characters.
func checkID(id string) error {
	if id == "" || len(id) > 128 || strings.ContainsFunc(id, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return fmt.Errorf("%w: vulnerability ID %q is not one", ErrMalformed, short(id))
	}
	return nil
}

// packageURL checks and normalises a package URL a report gives
// (purl.Read).
func packageURL(s string) (string, purl.Parts, error) {
	n, p, err := purl.Read(s)
	if err != nil {
		return "", purl.Parts{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return n, p, nil
}

func short(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

func addDigest(ds []string, refs ...string) []string {
	for _, r := range refs {
		if _, d, ok := strings.Cut(r, "@"); ok {
			r = d
		}
		if d, err := digest.Parse(r); err == nil && d.Algorithm == "sha256" && !slices.Contains(ds, d.String()) {
			ds = append(ds, d.String())
		}
	}
	slices.Sort(ds)
	return ds
}
