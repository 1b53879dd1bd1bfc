package advisory

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vexloom/vexloom/internal/osv"
)

// Limits on OSV input: one document of entries (a single entry or an array)
// and a directory of them.
const (
	MaxOSVSize     = 64 << 20
	MaxOSVEntries  = 20000
	maxDetailsSize = 64 << 10
)

// Ecosystems whose entries can be about the project: Kubernetes' own
// advisories and Go modules. Compared case-insensitively (Kubernetes' OSV
// feed writes "kubernetes").
var ecosystems = []string{"kubernetes", "go"}

// ParseOSV reads OSV entries: one entry object, or an array of them. Each
// entry is checked by internal/osv; one that does not pass is reported in
// the problems and left out.
func ParseOSV(data []byte) ([]*osv.Entry, []Problem, error) {
	if len(data) > MaxOSVSize {
		return nil, nil, fmt.Errorf("%w: %d bytes of OSV is more than the %d allowed", ErrInvalid, len(data), MaxOSVSize)
	}
	data = bytes.TrimSpace(data)
	var raws []json.RawMessage
	switch {
	case len(data) > 0 && data[0] == '[':
		if err := json.Unmarshal(data, &raws); err != nil {
			return nil, nil, fmt.Errorf("%w: not an array of OSV entries: %v", ErrInvalid, err)
		}
	case len(data) > 0 && data[0] == '{':
		raws = []json.RawMessage{data}
	default:
		return nil, nil, fmt.Errorf("%w: not OSV JSON (an entry or an array of entries)", ErrInvalid)
	}
	if len(raws) > MaxOSVEntries {
		return nil, nil, fmt.Errorf("%w: %d OSV entries is more than the %d allowed", ErrInvalid, len(raws), MaxOSVEntries)
	}
	var out []*osv.Entry
	var problems []Problem
	for i, r := range raws {
		e, err := osv.Parse(r)
		if err != nil {
			var probe struct {
				ID string `json:"id"`
			}
			_ = json.Unmarshal(r, &probe)
			id := ""
			if osv.ValidID(probe.ID) {
				id = probe.ID
			}
			problems = append(problems, Problem{ID: id, Reason: fmt.Sprintf("entries[%d]: %v", i, err)})
			continue
		}
		if err := withAffectedSeverity(e, r); err != nil {
			problems = append(problems, Problem{ID: e.ID, Reason: fmt.Sprintf("entries[%d]: %v", i, err)})
			continue
		}
		out = append(out, e)
	}
	return out, problems, nil
}

// withAffectedSeverity adds the severities Kubernetes' OSV entries put under
// affected[] (internal/osv models only the entry-level ones).
func withAffectedSeverity(e *osv.Entry, raw []byte) error {
	var x struct {
		Affected []struct {
			Severity []osv.Severity `json:"severity"`
		} `json:"affected"`
	}
	if err := json.Unmarshal(raw, &x); err != nil {
		return fmt.Errorf("%w: affected[].severity: %v", ErrInvalid, err)
	}
	for _, a := range x.Affected {
		for _, s := range a.Severity {
			if !slices.Contains(e.Severity, s) {
				e.Severity = append(e.Severity, s)
			}
		}
	}
	return nil
}

// FromOSV turns an OSV entry into an advisory, keeping the affected packages
// of the Kubernetes and Go ecosystems. Its ID is the entry's CVE where it
// has one, every other identifier an alias.
func FromOSV(e *osv.Entry, source string) Advisory {
	a := Advisory{
		ID:        osv.Name(e.ID, e.Aliases),
		Summary:   strings.TrimSpace(e.Summary),
		Details:   e.Details,
		Published: e.Published.UTC(),
		Modified:  e.Modified.UTC(),
		Source:    source,
		Severity:  e.Severity,
		origin:    originOSV,
	}
	if len(a.Details) > maxDetailsSize {
		a.Details = a.Details[:maxDetailsSize]
	}
	for _, id := range append([]string{e.ID}, e.Aliases...) {
		if id != a.ID && !slices.Contains(a.Aliases, id) {
			a.Aliases = append(a.Aliases, id)
		}
	}
	if e.Withdrawn != nil {
		w := e.Withdrawn.UTC()
		a.Withdrawn = &w
	}
	for _, r := range e.References {
		if r.Type == "ADVISORY" && a.URL == "" {
			a.URL = r.URL
		}
	}
	if a.URL == "" && len(e.References) > 0 {
		a.URL = e.References[0].URL
	}
	for _, af := range e.Affected {
		if !slices.Contains(ecosystems, strings.ToLower(baseEcosystem(af.Package.Ecosystem))) {
			continue
		}
		a.Affected = append(a.Affected, Affected{
			Component: af.Package.Name,
			Ecosystem: af.Package.Ecosystem,
			Ranges:    af.Ranges,
			Versions:  af.Versions,
		})
	}
	return a
}

// baseEcosystem drops an ecosystem's suffix ("Debian:12" → "Debian").
func baseEcosystem(e string) string {
	if i := strings.IndexByte(e, ':'); i >= 0 {
		return e[:i]
	}
	return e
}

// merge combines the advisories of several sources about the same
// vulnerability (the feed's announcement and an OSV entry, say): OSV's
// version ranges where it has any, the announcement's mitigations and links
// where OSV has none, the later of the publication times (nothing is said
// before every source has published), and withdrawn if any source withdrew
// it.
func merge(advs []Advisory) []Advisory {
	var out []Advisory
	index := map[string]int{}
	for _, a := range advs {
		i, ok := -1, false
		for _, id := range append([]string{a.ID}, a.Aliases...) {
			if i, ok = index[strings.ToUpper(id)]; ok {
				break
			}
		}
		if !ok {
			out = append(out, a)
			i = len(out) - 1
		} else {
			out[i] = combine(out[i], a)
		}
		for _, id := range append([]string{out[i].ID}, out[i].Aliases...) {
			index[strings.ToUpper(id)] = i
		}
	}
	slices.SortFunc(out, func(a, b Advisory) int { return strings.Compare(a.ID, b.ID) })
	return out
}

func combine(a, b Advisory) Advisory {
	// a keeps its ID; b's become aliases.
	for _, id := range append([]string{b.ID}, b.Aliases...) {
		if id != a.ID && !slices.Contains(a.Aliases, id) {
			a.Aliases = append(a.Aliases, id)
		}
	}
	if usable(b.Affected) && (!usable(a.Affected) || fromOSV(b) && !fromOSV(a)) {
		a.Affected = b.Affected
	}
	if a.Mitigations == "" {
		a.Mitigations = b.Mitigations
	}
	for _, f := range []struct{ dst, src *string }{{&a.Summary, &b.Summary}, {&a.Details, &b.Details}, {&a.URL, &b.URL}, {&a.ExternalURL, &b.ExternalURL}} {
		if *f.dst == "" {
			*f.dst = *f.src
		}
	}
	// An unknown publication time stays unknown: such an advisory is not
	// emitted.
	if a.Published.IsZero() || b.Published.IsZero() {
		a.Published = time.Time{}
	} else if b.Published.After(a.Published) {
		a.Published = b.Published
	}
	if b.Modified.After(a.Modified) {
		a.Modified = b.Modified
	}
	if b.Withdrawn != nil && (a.Withdrawn == nil || b.Withdrawn.After(*a.Withdrawn)) {
		a.Withdrawn = b.Withdrawn
	}
	if len(a.Severity) == 0 {
		a.Severity = b.Severity
	}
	if b.Source != a.Source && !strings.Contains(a.Source, b.Source) {
		a.Source += ", " + b.Source
	}
	return a
}

// fromOSV tells the advisories read from OSV from the feed's, whose
// affected entries are read from prose.
func fromOSV(a Advisory) bool { return a.origin == originOSV }

func usable(affected []Affected) bool {
	for _, a := range affected {
		if len(a.Ranges) > 0 || len(a.Versions) > 0 {
			return true
		}
	}
	return false
}
