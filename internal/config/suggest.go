package config

import "strings"

// schemaKeys lists every key of the format by its dotted path, for
// suggesting where a key put at the wrong level belongs. TestSchemaKeys
// checks it against what the decoder accepts.
var schemaKeys = []string{
	"version",
	"project", "project.module", "project.repository", "project.author",
	"branches",
	"scan", "scan.modules", "scan.packages", "scan.tags", "scan.go_version",
	"database", "database.source",
	"owners", "owners.path", "owners.security_team",
	"triage", "triage.backend", "triage.github",
	"triage.github.repository", "triage.github.api", "triage.github.app_id",
	"triage.github.installation_id", "triage.github.private_key",
	"triage.github.webhook_secret_env", "triage.github.labels",
	"triage.github.labels.open", "triage.github.labels.assessed",
	"triage.github.labels.published", "triage.github.labels.closed",
	"vex", "vex.dir",
	"store", "store.path", "store.url",
}

// normalizeKey folds the differences people make when they remember a key:
// case, and dashes or spaces for underscores.
func normalizeKey(s string) string {
	return strings.NewReplacer("-", "_", " ", "_").Replace(strings.ToLower(s))
}

// suggest returns the known key that key is most likely a misspelling of,
// or "".
func suggest(key string, known []string) string {
	if len(key) > 64 {
		return ""
	}
	k := normalizeKey(key)
	best, bestDist := "", -1
	for _, c := range known {
		dist := editDistance(k, c)
		limit := 1
		if len(c) >= 5 {
			limit = 2
		}
		if len(k) >= 3 && strings.HasPrefix(c, k) {
			dist = min(dist, limit) // an abbreviation: "repo" for "repository"
		}
		if dist <= limit && (bestDist < 0 || dist < bestDist) {
			best, bestDist = c, dist
		}
	}
	return best
}

// suggestPath returns the full path of a key that exists, under the same
// name, at another level than where it was written, or "".
func suggestPath(key, where string) string {
	if len(key) > 64 {
		return ""
	}
	k := normalizeKey(key)
	for _, p := range schemaKeys {
		if parentOf(p) != where && lastOf(p) == k {
			return p
		}
	}
	return ""
}

func parentOf(p string) string {
	if i := strings.LastIndexByte(p, '.'); i >= 0 {
		return p[:i]
	}
	return ""
}

func lastOf(p string) string {
	return p[strings.LastIndexByte(p, '.')+1:]
}

// editDistance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and transpositions of adjacent
// characters ("brnaches" is one away from "branches"). Hand-written: it is
// a dozen lines, used on keys of a few characters, and not worth a module.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	// d[i][j] is the distance between ra[:i] and rb[:j].
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
