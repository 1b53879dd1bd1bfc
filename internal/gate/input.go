package gate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/semver"

	"github.com/vexloom/vexloom/internal/osv"
	"github.com/vexloom/vexloom/internal/purl"
	"github.com/vexloom/vexloom/internal/report"
	"github.com/vexloom/vexloom/internal/scan"
	"github.com/vexloom/vexloom/internal/scanreport"
)

// MaxFindings bounds how many findings one input may hold.
const MaxFindings = 100_000

// scanSchemaPrefix is the prefix of every version of vexloom's scan schema.
const scanSchemaPrefix = "https://github.com/vexloom/vexloom/schema/scan/"

// ReadFindings reads scanner results, detecting their format from the first
// JSON object: vexloom's scan report (its "schema" field), a govulncheck
// JSON stream (a "config", "progress", "SBOM", "osv" or "finding"
// message) or OSV-Scanner's results (a "results" field). At most
// MaxInputSize bytes are read. Findings come back sorted by level
// (strongest first), ID, module and product.
//
// A vexloom report naming modules that could not be scanned, or a
// govulncheck stream that stopped before its SBOM message, gives the
// findings it holds together with an error wrapping ErrIncomplete.
func ReadFindings(r io.Reader) ([]Finding, Format, error) {
	return readFindings(r, MaxInputSize)
}

// readFindings is ReadFindings reading at most limit bytes (tests bound
// the input with a smaller limit than MaxInputSize).
func readFindings(r io.Reader, limit int) ([]Finding, Format, error) {
	data, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, "", fmt.Errorf("reading scan results: %w", err)
	}
	if len(data) > limit {
		return nil, "", fmt.Errorf("%w: more than %d bytes", ErrInput, limit)
	}
	format, err := detect(data)
	if err != nil {
		return nil, "", err
	}
	var fs []Finding
	switch format {
	case FormatVexloom:
		fs, err = readVexloom(data)
	case FormatGovulncheck:
		fs, err = readGovulncheck(data)
	case FormatOSVScanner:
		fs, err = readOSVScanner(data)
	}
	if fs != nil {
		sortFindings(fs)
	}
	if err != nil && !errors.Is(err, ErrIncomplete) {
		return nil, format, err
	}
	return fs, format, err
}

// detect names the format of data from the keys of its first JSON object.
func detect(data []byte) (Format, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 {
		return "", fmt.Errorf("%w: the input is empty", ErrUnknownFormat)
	}
	if trimmed[0] != '{' {
		return "", fmt.Errorf("%w: the input is not a JSON object", ErrUnknownFormat)
	}
	var first map[string]json.RawMessage
	if err := json.NewDecoder(bytes.NewReader(trimmed)).Decode(&first); err != nil {
		return "", fmt.Errorf("%w: %v", ErrInput, err)
	}
	if raw, ok := first["schema"]; ok {
		var schema string
		if err := json.Unmarshal(raw, &schema); err != nil {
			return "", fmt.Errorf("%w: schema is not a string", ErrInput)
		}
		if schema == report.Schema {
			return FormatVexloom, nil
		}
		if strings.HasPrefix(schema, scanSchemaPrefix) {
			return "", fmt.Errorf("%w: vexloom scan schema %q is not one this version reads (want %s)", ErrUnknownFormat, shorten(schema), report.Schema)
		}
		return "", fmt.Errorf("%w: schema %q", ErrUnknownFormat, shorten(schema))
	}
	for _, k := range []string{"config", "progress", "SBOM", "osv", "finding"} {
		if _, ok := first[k]; ok {
			return FormatGovulncheck, nil
		}
	}
	if _, ok := first["results"]; ok {
		return FormatOSVScanner, nil
	}
	return "", fmt.Errorf("%w: want vexloom scan JSON, a govulncheck -format json stream or OSV-Scanner JSON results", ErrUnknownFormat)
}

// readVexloom reads vexloom's scan report: every finding of every scanned
// module, the module at its scanned version as the product.
func readVexloom(data []byte) ([]Finding, error) {
	var r report.Scan
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%w: vexloom scan report: %v", ErrInput, err)
	}
	return fromReport(&r)
}

// ScanFindings are the findings of a scan report given as a value (a scan
// vexloom ran itself), read as ReadFindings reads the report's JSON:
// sorted, and with an error wrapping ErrIncomplete beside the findings when
// a module could not be scanned.
func ScanFindings(r *report.Scan) ([]Finding, error) {
	c := *r
	c.Vulnerabilities = slices.Clone(r.Vulnerabilities)
	fs, err := fromReport(&c)
	if fs != nil {
		sortFindings(fs)
	}
	if err != nil && !errors.Is(err, ErrIncomplete) {
		return nil, err
	}
	return fs, err
}

// fromReport reads the findings of a scan report.
func fromReport(r *report.Scan) ([]Finding, error) {
	slices.SortFunc(r.Vulnerabilities, func(a, b scan.Vulnerability) int { return strings.Compare(a.ID, b.ID) })
	out := []Finding{}
	incomplete := r.Failures()
	for _, t := range r.Targets {
		for _, m := range t.Modules {
			if m.Error != "" {
				continue // in incomplete
			}
			product := ""
			if m.Path != "" {
				product = purl.Go(m.Path, m.Version)
			}
			for _, f := range m.Findings {
				if err := checkID(f.ID); err != nil {
					return nil, err
				}
				v := r.Vulnerability(f.ID)
				g := Finding{
					ID:           f.ID,
					Aliases:      otherIDs(f.ID, append(slices.Clone(f.Aliases), v.Aliases...)),
					Ecosystem:    "Go",
					Module:       f.Module,
					Version:      f.Version,
					Level:        f.Level,
					Symbols:      listOrNil(f.Symbols),
					FixedVersion: f.FixedVersion,
					Product:      product,
					Published:    parseTime(v.Published),
					Modified:     parseTime(v.Modified),
				}
				if g.Module == "" || g.Level < scan.LevelModule || g.Level > scan.LevelSymbol {
					return nil, fmt.Errorf("%w: vexloom scan report: finding %s has no module or level", ErrInput, f.ID)
				}
				out = append(out, g)
				if len(out) > MaxFindings {
					return nil, fmt.Errorf("%w: more than %d findings", ErrInput, MaxFindings)
				}
			}
		}
	}
	if len(incomplete) > 0 {
		return out, fmt.Errorf("%w: %d modules could not be scanned: %s", ErrIncomplete, len(incomplete), strings.Join(incomplete, "; "))
	}
	return out, nil
}

// The govulncheck JSON stream (protocol 1.0.0): a sequence of messages,
// each with one field set. Only what the gate uses is modelled.
type govulncheckMessage struct {
	Config   *json.RawMessage   `json:"config"`
	Progress *json.RawMessage   `json:"progress"`
	SBOM     *govulncheckSBOM   `json:"SBOM"`
	OSV      *osv.Entry         `json:"osv"`
	Finding  *govulncheckResult `json:"finding"`
}

type govulncheckSBOM struct {
	Modules []struct {
		Path    string `json:"path"`
		Version string `json:"version"`
	} `json:"modules"`
	Roots []string `json:"roots"`
}

type govulncheckResult struct {
	OSV          string       `json:"osv"`
	FixedVersion string       `json:"fixed_version"`
	Trace        []scan.Frame `json:"trace"`
}

// readGovulncheck folds a govulncheck stream into findings: one per
// vulnerability and module at the strongest level of its traces (a frame
// with a function is symbol level, with only a package package level, else
// module level). The product is the scanned module the SBOM message names
// as holding the scan's root packages.
func readGovulncheck(data []byte) ([]Finding, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	entries := map[string]*osv.Entry{}
	found := map[string]*Finding{}
	var sbom *govulncheckSBOM
	for n := 1; ; n++ {
		var m govulncheckMessage
		if err := dec.Decode(&m); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("%w: govulncheck stream, message %d: %v", ErrInput, n, err)
		}
		switch {
		case m.SBOM != nil:
			sbom = m.SBOM
		case m.OSV != nil:
			if err := m.OSV.Validate(); err != nil {
				return nil, fmt.Errorf("%w: govulncheck stream, message %d: %v", ErrInput, n, err)
			}
			entries[m.OSV.ID] = m.OSV
		case m.Finding != nil:
			sf := m.Finding
			if len(sf.Trace) == 0 {
				return nil, fmt.Errorf("%w: govulncheck stream, message %d: finding %q has no trace", ErrInput, n, shorten(sf.OSV))
			}
			if err := checkID(sf.OSV); err != nil {
				return nil, fmt.Errorf("govulncheck stream, message %d: %w", n, err)
			}
			top := sf.Trace[0]
			if top.Module == "" {
				return nil, fmt.Errorf("%w: govulncheck stream, message %d: finding %s names no module", ErrInput, n, sf.OSV)
			}
			level := scan.LevelModule
			switch {
			case top.Function != "":
				level = scan.LevelSymbol
			case top.Package != "":
				level = scan.LevelPackage
			}
			key := sf.OSV + "\x00" + top.Module
			f := found[key]
			if f == nil {
				if len(found) >= MaxFindings {
					return nil, fmt.Errorf("%w: more than %d findings", ErrInput, MaxFindings)
				}
				f = &Finding{ID: sf.OSV, Ecosystem: "Go", Module: top.Module}
				found[key] = f
			}
			if f.Version == "" {
				f.Version = osv.CanonicalGo(top.Version)
			}
			if sf.FixedVersion != "" {
				f.FixedVersion = osv.CanonicalGo(sf.FixedVersion)
			}
			if level > f.Level {
				f.Level = level
			}
			if level == scan.LevelSymbol {
				if sym := top.Symbol(); !slices.Contains(f.Symbols, sym) && len(f.Symbols) < 100 {
					f.Symbols = append(f.Symbols, sym)
				}
			}
		}
	}
	product := ""
	if sbom != nil {
		product = sbomProduct(sbom)
	}
	out := make([]Finding, 0, len(found))
	for _, f := range found {
		e := entries[f.ID]
		if e != nil {
			f.Aliases = otherIDs(f.ID, e.Aliases)
			f.Published = e.Published
			f.Modified = e.Modified
			f.Severity = severityOf(e)
		}
		f.Product = product
		slices.Sort(f.Symbols)
		out = append(out, *f)
	}
	// govulncheck writes the SBOM message once it has loaded the
	// packages, before any finding: a stream without one is a scan that
	// stopped early (a go.mod that does not parse, packages that do not
	// load, an interrupted run), not a scan that found nothing.
	if sbom == nil {
		return out, fmt.Errorf("%w: the govulncheck stream has no SBOM message: the scan stopped before analysing any package (or govulncheck is older than v1.1.0)", ErrIncomplete)
	}
	return out, nil
}

// sbomProduct names the module holding the scan's first root package (the
// longest module path that is a prefix of it), as a purl.
func sbomProduct(s *govulncheckSBOM) string {
	if len(s.Roots) == 0 {
		return ""
	}
	root := s.Roots[0]
	best := -1
	for i, m := range s.Modules {
		if m.Path == "" || m.Path == "stdlib" {
			continue
		}
		if root == m.Path || strings.HasPrefix(root, m.Path+"/") {
			if best < 0 || len(m.Path) > len(s.Modules[best].Path) {
				best = i
			}
		}
	}
	if best < 0 {
		return ""
	}
	m := s.Modules[best]
	return purl.Go(m.Path, m.Version)
}

// readOSVScanner reads OSV-Scanner's results (through scanreport, which
// reads them for images too): one finding per package and group (a group
// is one vulnerability under all its IDs). The level is module (the
// package is in the build) unless OSV-Scanner's call analysis ran: called
// code makes it symbol level; code proved not called stays module level,
// since OSV-Scanner does not say whether the package is imported. The
// product is the path of the source OSV-Scanner read.
func readOSVScanner(data []byte) ([]Finding, error) {
	r, err := scanreport.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInput, err)
	}
	if r.Format != scanreport.OSVScanner {
		return nil, fmt.Errorf("%w: a %s report, not OSV-Scanner results", ErrInput, r.Format)
	}
	if len(r.Findings) > MaxFindings {
		return nil, fmt.Errorf("%w: more than %d findings", ErrInput, MaxFindings)
	}
	out := []Finding{}
	for _, sf := range r.Findings {
		d := sf.OSV
		for _, id := range append([]string{sf.ID}, sf.Aliases...) {
			if err := checkID(id); err != nil {
				return nil, fmt.Errorf("OSV-Scanner results: %s in %s: %w", shorten(sf.ID), shorten(d.Name), err)
			}
		}
		for i := range d.Records {
			if err := d.Records[i].Validate(); err != nil {
				return nil, fmt.Errorf("%w: OSV-Scanner results: %s in %s: %v", ErrInput, shorten(sf.ID), shorten(d.Name), err)
			}
		}
		version := d.Version
		if isGo(d.Ecosystem) {
			version = osv.CanonicalGo(version)
		}
		id := groupID(d.IDs)
		f := Finding{
			ID:        id,
			Aliases:   otherIDs(id, append([]string{sf.ID}, sf.Aliases...)),
			Ecosystem: d.Ecosystem,
			Module:    d.Name,
			Version:   version,
			Level:     scan.LevelModule,
			Product:   sf.Where,
		}
		if d.Called {
			f.Level = scan.LevelSymbol
		}
		var records []*osv.Entry
		for i := range d.Records {
			e := &d.Records[i]
			records = append(records, e)
			if f.Published.IsZero() || (!e.Published.IsZero() && e.Published.Before(f.Published)) {
				f.Published = e.Published
			}
			if e.Modified.After(f.Modified) {
				f.Modified = e.Modified
			}
			if f.FixedVersion == "" {
				f.FixedVersion = fixedVersion(e, d.Name, d.Ecosystem, version)
			}
		}
		f.Severity = severityOf(records...)
		if score, ok := parseScore(d.MaxSeverity); ok {
			f.Severity.Score = score
		}
		out = append(out, f)
	}
	return out, nil
}

func isGo(ecosystem string) bool { return ecosystem == "Go" }

// groupID chooses the ID a group is shown under: a Go vulnerability
// database ID if there is one (the gate's home database), else the first.
func groupID(ids []string) string {
	for _, id := range ids {
		if strings.HasPrefix(id, "GO-") {
			return id
		}
	}
	return ids[0]
}

// fixedVersion returns the first version of the package that fixes the
// entry above version: for SEMVER ranges (and Go) the lowest "fixed" above
// it, otherwise the first "fixed" event of the package.
func fixedVersion(e *osv.Entry, name, ecosystem, version string) string {
	var ranges []osv.Range
	for _, a := range e.Affected {
		if a.Package.Name != name || (a.Package.Ecosystem != "" && a.Package.Ecosystem != ecosystem) {
			continue
		}
		ranges = append(ranges, a.Ranges...)
	}
	best := osv.FixedAfter(ranges, version)
	if best != "" && isGo(ecosystem) && semver.IsValid(osv.CanonicalGo(version)) {
		return osv.CanonicalGo(best)
	}
	return best
}

// listOrNil copies a list, nil when it is empty (as a JSON list left out
// reads back).
func listOrNil(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return slices.Clone(s)
}

// checkID rejects identifiers that are no vulnerability ID.
func checkID(id string) error {
	if !osv.ValidID(id) {
		return fmt.Errorf("%w: %q is not a vulnerability ID", ErrInput, shorten(id))
	}
	return nil
}

// otherIDs returns ids without id and duplicates, sorted.
func otherIDs(id string, ids []string) []string {
	var out []string
	for _, a := range ids {
		if a != id && a != "" && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	slices.Sort(out)
	return out
}

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

func sortFindings(fs []Finding) {
	slices.SortFunc(fs, func(a, b Finding) int {
		if a.Level != b.Level {
			return int(b.Level) - int(a.Level)
		}
		for _, c := range []int{
			strings.Compare(a.ID, b.ID),
			strings.Compare(a.Module, b.Module),
			strings.Compare(a.Product, b.Product),
			strings.Compare(a.Version, b.Version),
		} {
			if c != 0 {
				return c
			}
		}
		return 0
	})
}

func shorten(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
