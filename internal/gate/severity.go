package gate

import (
	"math"
	"strconv"
	"strings"

	"github.com/vexloom/vexloom/internal/osv"
)

// severityOf picks the severity of an OSV entry: the first CVSS v3 vector
// (whose base score is computed), else the first CVSS v4 or v2 vector
// (kept without a score).
func severityOf(entries ...*osv.Entry) Severity {
	var fallback Severity
	for _, e := range entries {
		if e == nil {
			continue
		}
		for _, s := range e.Severity {
			switch s.Type {
			case "CVSS_V3":
				if score, ok := cvss3BaseScore(s.Score); ok {
					return Severity{Vector: s.Score, Score: score}
				}
			case "CVSS_V4", "CVSS_V2":
				if fallback.Vector == "" && len(s.Score) <= 256 {
					fallback.Vector = s.Score
				}
			}
		}
	}
	return fallback
}

// parseScore reads a numeric CVSS score such as OSV-Scanner's max_severity.
func parseScore(s string) (float64, bool) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > 10 {
		return 0, false
	}
	return f, true
}

// cvss3BaseScore computes the base score of a CVSS v3.0 or v3.1 vector as
// the specification (first.org, CVSS v3.1 section 7) defines it. There is
// no CVSS module among vexloom's dependencies, and the base formula is a
// dozen lines of published arithmetic, so it is written here.
func cvss3BaseScore(vector string) (float64, bool) {
	parts := strings.Split(vector, "/")
	if len(parts) < 9 || (parts[0] != "CVSS:3.0" && parts[0] != "CVSS:3.1") {
		return 0, false
	}
	m := map[string]string{}
	for _, p := range parts[1:] {
		k, v, ok := strings.Cut(p, ":")
		if !ok {
			return 0, false
		}
		if _, dup := m[k]; dup {
			return 0, false
		}
		m[k] = v
	}
	weight := func(metric string, table map[string]float64) (float64, bool) {
		w, ok := table[m[metric]]
		return w, ok
	}
	scopeChanged := m["S"] == "C"
	if m["S"] != "C" && m["S"] != "U" {
		return 0, false
	}
	av, ok1 := weight("AV", map[string]float64{"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2})
	ac, ok2 := weight("AC", map[string]float64{"L": 0.77, "H": 0.44})
	prTable := map[string]float64{"N": 0.85, "L": 0.62, "H": 0.27}
	if scopeChanged {
		prTable = map[string]float64{"N": 0.85, "L": 0.68, "H": 0.5}
	}
	pr, ok3 := weight("PR", prTable)
	ui, ok4 := weight("UI", map[string]float64{"N": 0.85, "R": 0.62})
	cia := map[string]float64{"H": 0.56, "L": 0.22, "N": 0}
	c, ok5 := weight("C", cia)
	i, ok6 := weight("I", cia)
	a, ok7 := weight("A", cia)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7) {
		return 0, false
	}
	iss := 1 - (1-c)*(1-i)*(1-a)
	var impact float64
	if scopeChanged {
		impact = 7.52*(iss-0.029) - 3.25*math.Pow(iss-0.02, 15)
	} else {
		impact = 6.42 * iss
	}
	exploitability := 8.22 * av * ac * pr * ui
	if impact <= 0 {
		return 0, true
	}
	if scopeChanged {
		return roundUp(math.Min(1.08*(impact+exploitability), 10)), true
	}
	return roundUp(math.Min(impact+exploitability, 10)), true
}

// roundUp is CVSS v3.1's Roundup: the smallest number with one decimal
// equal to or above x, computed on integers to avoid floating-point error.
func roundUp(x float64) float64 {
	n := int64(math.Round(x * 100000))
	if n%10000 == 0 {
		return float64(n) / 100000
	}
	return float64(n/10000+1) / 10
}
