package advisory

import (
	"fmt"
	"slices"

	"golang.org/x/mod/semver"

	"github.com/vexloom/vexloom/internal/osv"
)

// line is a version's release line, "v1.29" for "v1.29.4".
func line(v string) string { return semver.MajorMinor(v) }

// versionRange is one affected range of a component in canonical form,
// evaluated by internal/osv.
type versionRange = osv.Compiled

// compileRanges checks and sorts the version ranges of an affected package.
// SEMVER and ECOSYSTEM ranges are read as semantic versions (Kubernetes
// versions are); GIT ranges name commits, which only a repository can order,
// and are left out. A range with a version that is not a semantic version is
// an error: guessing would put products in or out of it wrongly.
func compileRanges(ranges []osv.Range) ([]versionRange, error) {
	var out []versionRange
	for i, r := range ranges {
		switch r.Type {
		case osv.RangeSemver, osv.RangeEcosystem:
		case osv.RangeGit:
			continue
		default:
			return nil, fmt.Errorf("ranges[%d]: unknown range type %q", i, clip(r.Type, 20))
		}
		vr, err := osv.Compile(r.Events, osv.Canonical)
		if err != nil {
			return nil, fmt.Errorf("ranges[%d].%w", i, err)
		}
		if len(vr.Points) > 0 {
			out = append(out, vr)
		}
	}
	return out, nil
}

// verdict is what an advisory says about one version of one component.
type verdict struct {
	status string // "affected", "fixed" or "" (not concerned)
	// fix is the version a fixed product is past (fixed), or the upgrade
	// target (affected; "" when no fix is known).
	fix string
	// after is set when the range ends at a last_affected version rather
	// than a fix: an affected version must upgrade past it, a fixed one is
	// past it.
	after string
	// sameLine reports whether fix is in the product's own release line.
	sameLine bool
}

// judge decides what a component's ranges, explicit versions and fixes say
// about version v (canonical):
//
//   - affected: v is in a range or listed among the affected versions;
//   - fixed: v is not affected and is past a fix (or past the last affected
//     version) in its own release line, or is in a release line newer than
//     every line the advisory names and past all of its fixes, with no range
//     left open (the fix is in the code the line started from);
//   - otherwise the advisory does not concern v (it predates the
//     vulnerability, or is in a line the advisory says nothing about).
func judge(ranges []versionRange, versions, fixes []string, v string) verdict {
	inRange := slices.Contains(versions, v)
	for _, r := range ranges {
		if r.Affects(v) {
			inRange = true
		}
	}
	var fixPoints, lastPoints []string
	fixPoints = append(fixPoints, fixes...)
	newestLine, anyOpen, earliest := "", false, ""
	for _, r := range ranges {
		if r.Open() {
			anyOpen = true
		}
		for _, p := range r.Points {
			if p.At != "" && (newestLine == "" || semver.Compare(line(p.At), newestLine) > 0) {
				newestLine = line(p.At)
			}
			switch p.Kind {
			case osv.Fixed:
				fixPoints = append(fixPoints, p.At)
			case osv.LastAffected:
				lastPoints = append(lastPoints, p.At)
			case osv.Introduced:
				if earliest == "" || p.At == "" || semver.Compare(p.At, earliest) < 0 {
					earliest = p.At
					if p.At == "" {
						earliest = "v0.0.0"
					}
				}
			}
		}
	}
	for _, f := range fixes {
		if newestLine == "" || semver.Compare(line(f), newestLine) > 0 {
			newestLine = line(f)
		}
	}
	for _, x := range versions {
		if newestLine == "" || semver.Compare(line(x), newestLine) > 0 {
			newestLine = line(x)
		}
		if earliest == "" || semver.Compare(x, earliest) < 0 {
			earliest = x
		}
	}
	sortVersions(fixPoints)
	sortVersions(lastPoints)

	if inRange {
		vd := verdict{status: "affected"}
		// The upgrade target: the first fix after v in its own line, else
		// the first fix after v in a newer line.
		for _, f := range fixPoints {
			if semver.Compare(f, v) > 0 && line(f) == line(v) {
				vd.fix, vd.sameLine = f, true
				return vd
			}
		}
		for _, f := range fixPoints {
			if semver.Compare(f, v) > 0 && semver.Compare(line(f), line(v)) > 0 {
				vd.fix = f
				return vd
			}
		}
		for _, l := range lastPoints {
			if semver.Compare(l, v) >= 0 && line(l) == line(v) {
				vd.after = l
				return vd
			}
		}
		return vd
	}
	// Past a fix in its own line.
	var best string
	for _, f := range fixPoints {
		if line(f) == line(v) && semver.Compare(f, v) <= 0 {
			best = f
		}
	}
	if best != "" {
		return verdict{status: "fixed", fix: best, sameLine: true}
	}
	for _, l := range lastPoints {
		if line(l) == line(v) && semver.Compare(l, v) < 0 {
			return verdict{status: "fixed", after: l, sameLine: true}
		}
	}
	// A newer line than any the advisory names, past every fix.
	if !anyOpen && newestLine != "" && len(fixPoints)+len(lastPoints) > 0 &&
		semver.Compare(line(v), newestLine) > 0 && earliest != "" && semver.Compare(v, earliest) >= 0 {
		if len(lastPoints) > 0 && (len(fixPoints) == 0 || semver.Compare(lastPoints[len(lastPoints)-1], fixPoints[len(fixPoints)-1]) >= 0) {
			return verdict{status: "fixed", after: lastPoints[len(lastPoints)-1]}
		}
		return verdict{status: "fixed", fix: fixPoints[len(fixPoints)-1]}
	}
	return verdict{}
}

func sortVersions(vs []string) {
	slices.SortFunc(vs, semver.Compare)
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func compareVersions(a, b string) int { return semver.Compare(a, b) }
