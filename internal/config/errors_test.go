package config

import (
	"errors"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// valid is a small valid file the broken ones are made from.
const valid = `version: 1
project:
  module: k8s.io/kubernetes
  repository: https://github.com/kubernetes/kubernetes
branches:
  - master
  - release-1.*
`

// withGitHub is valid with the GitHub backend, to break its keys.
const withGitHub = valid + `triage:
  backend: github
  github:
    repository: kubernetes/.vexloom
`

var fileLine = regexp.MustCompile(`^vexloom\.yaml:[1-9][0-9]*: \S`)

// problems parses data and returns its problems, checking that each names
// the file and a line and is an ErrInvalid.
func problems(t *testing.T, data string) []string {
	t.Helper()
	c, err := Parse(FileName, []byte(data))
	if err == nil {
		t.Fatalf("Parse accepted:\n%s\n=> %+v", data, c)
	}
	if c != nil {
		t.Errorf("Parse returned a config with an error")
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("error is not ErrInvalid: %v", err)
	}
	lines := strings.Split(err.Error(), "\n")
	for _, l := range lines {
		if !fileLine.MatchString(l) {
			t.Errorf("problem does not start with file:line: %q", l)
		}
	}
	return lines
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		data string
		want []string // each a whole line of the error, in order
	}{
		// Unknown keys, at every level.
		{"unknown top key", strings.Replace(valid, "branches:", "brnaches:", 1), []string{
			`vexloom.yaml:5: unknown key "brnaches" (did you mean "branches"?)`,
			`vexloom.yaml:1: branches is missing: list the maintained branches (names or patterns such as release-1.*)`,
		}},
		{"unknown key in project", strings.Replace(valid, "  module:", "  modlue:", 1), []string{
			`vexloom.yaml:3: unknown key "modlue" in project (did you mean "module"?)`,
			`vexloom.yaml:2: project.module is missing: the path of the project's main Go module`,
		}},
		{"abbreviated key", strings.Replace(valid, "  repository:", "  repo:", 1), []string{
			`vexloom.yaml:4: unknown key "repo" in project (did you mean "repository"?)`,
			`vexloom.yaml:2: project.repository is missing: the project's git repository (a URL or a local path)`,
		}},
		{"dash for underscore in scan", valid + "scan:\n  go-version: 1.26.8\n", []string{
			`vexloom.yaml:9: unknown key "go-version" in scan (did you mean "go_version"?)`,
		}},
		{"key at the wrong level", valid + "author: me\n", []string{
			`vexloom.yaml:8: unknown key "author" (did you mean "project.author"? it belongs under project)`,
		}},
		{"unknown key without suggestion", valid + "vex:\n  directory: out\n", []string{
			`vexloom.yaml:9: unknown key "directory" in vex (known keys: dir, feed_format)`,
		}},
		{"unknown key in triage.github", withGitHub + "    app-id: 3\n", []string{
			`vexloom.yaml:12: unknown key "app-id" in triage.github (did you mean "app_id"?)`,
		}},
		{"unknown key in labels", withGitHub + "    labels:\n      clsoed: done\n", []string{
			`vexloom.yaml:13: unknown key "clsoed" in triage.github.labels (did you mean "closed"?)`,
		}},
		{"unknown keys in database, owners, store", valid + "database:\n  src: x\nowners:\n  security-team: [a]\nstore:\n  dir: s\n", []string{
			`vexloom.yaml:9: unknown key "src" in database (known keys: source)`,
			`vexloom.yaml:11: unknown key "security-team" in owners (did you mean "security_team"?)`,
			`vexloom.yaml:13: unknown key "dir" in store (did you mean "vex.dir"? it belongs under vex)`,
		}},

		{"CRLF line endings", strings.ReplaceAll(strings.Replace(valid, "branches:", "brnaches:", 1), "\n", "\r\n"), []string{
			`vexloom.yaml:5: unknown key "brnaches" (did you mean "branches"?)`,
			`vexloom.yaml:1: branches is missing: list the maintained branches (names or patterns such as release-1.*)`,
		}},
		{"CR line endings and a tab", strings.ReplaceAll(strings.Replace(valid, "  module:", "\tmodule:", 1), "\n", "\r"), []string{
			`vexloom.yaml:3: a tab in the indentation: YAML indents with spaces only (found character that cannot start any token)`,
		}},
		{"unknown anchor after CR line endings", strings.ReplaceAll(valid+"vex:\n  dir: *nowhere\n", "\n", "\r"), []string{
			`vexloom.yaml:9: invalid YAML: unknown anchor 'nowhere' referenced`,
		}},

		// Wrong types.
		{"version as a string", strings.Replace(valid, "version: 1", `version: "1"`, 1), []string{
			`vexloom.yaml:1: version: expected an integer, got a string`,
		}},
		{"branches as a string", strings.Replace(valid, "branches:\n  - master\n  - release-1.*\n", "branches: master\n", 1), []string{
			`vexloom.yaml:5: branches: expected a list, got a string (write a list: [master] or one "- item" per line)`,
		}},
		{"project as a list", "version: 1\nproject: [a, b]\nbranches: [main]\n", []string{
			`vexloom.yaml:2: project: expected a mapping, got a list`,
		}},
		{"nested list in branches", "version: 1\nproject: {module: example.com/m, repository: .}\nbranches: [main, [x]]\n", []string{
			`vexloom.yaml:3: branches: expected a string, got a list`,
		}},
		{"boolean author", strings.Replace(valid, "branches:", "  author: true\nbranches:", 1), []string{
			`vexloom.yaml:5: project.author: expected a string, got a boolean (quote it)`,
		}},
		{"app_id as a word", withGitHub + "    app_id: abc\n", []string{
			`vexloom.yaml:12: triage.github.app_id: expected an integer, got a string`,
		}},
		{"negative installation_id", withGitHub + "    app_id: 1\n    installation_id: -4\n    private_key: key.pem\n", []string{
			`vexloom.yaml:13: triage.github.installation_id: must not be negative, got -4`,
			`vexloom.yaml:12: triage.github: app_id needs installation_id as well`,
		}},
		{"tags as a mapping", valid + "scan:\n  tags: {a: b}\n", []string{
			`vexloom.yaml:9: scan.tags: expected a list, got a mapping`,
		}},
		{"a list at the top", "- version: 1\n", []string{
			`vexloom.yaml:1: expected a mapping of keys (version, project, branches, ...), got a list`,
			`vexloom.yaml:1: version is missing: add "version: 1"`,
			`vexloom.yaml:1: branches is missing: list the maintained branches (names or patterns such as release-1.*)`,
			`vexloom.yaml:1: project is missing: it needs module and repository`,
		}},
		{"a custom tag", valid + "vex:\n  dir: !secret x\n", []string{
			`vexloom.yaml:9: vex.dir: expected a string, got a value tagged "!secret" (quote it)`,
		}},
		{"a non-string key", valid + "[a]: b\n", []string{
			`vexloom.yaml:8: keys must be strings, got a list`,
		}},
		{"a control character", strings.Replace(valid, "branches:", "  author: \"a\\x00b\"\nbranches:", 1), []string{
			`vexloom.yaml:5: project.author: contains the control character U+0000`,
		}},
		{"a multi-line value", strings.Replace(valid, "branches:", "  author: |\n    a\n    b\nbranches:", 1), []string{
			`vexloom.yaml:5: project.author: contains the control character U+000A`,
		}},

		// Bad values.
		{"bad enum", valid + "triage:\n  backend: gitlab\n", []string{
			`vexloom.yaml:9: triage.backend: "gitlab" is not one of local, github`,
		}},
		{"bad module path", strings.Replace(valid, "k8s.io/kubernetes", "kubernetes", 1), []string{
			`vexloom.yaml:3: project.module: malformed module path "kubernetes": missing dot in first path element`,
		}},
		{"bad glob", strings.Replace(valid, "release-1.*", `"release-[1"`, 1), []string{
			`vexloom.yaml:7: branches: "release-[1" is not a valid pattern: syntax error in pattern`,
		}},
		{"branch with a space", strings.Replace(valid, "release-1.*", `release 1`, 1), []string{
			`vexloom.yaml:7: branches: "release 1" is not a valid branch name or pattern: git does not allow spaces, '~', '^', ':' or '\'`,
		}},
		{"branch listed twice", valid + "  - master\n", []string{
			`vexloom.yaml:8: branches: "master" is listed twice (first at line 6)`,
		}},
		{"empty branch", valid + "  - \"\"\n", []string{
			`vexloom.yaml:8: branches: an empty item`,
		}},
		{"http repository", strings.Replace(valid, "https://github.com", "http://github.com", 1), []string{
			`vexloom.yaml:4: project.repository: "http://github.com/kubernetes/kubernetes": the scheme "http" is not supported (use https, ssh, git or file, or user@host:path)`,
		}},
		{"repository with a token", strings.Replace(valid, "https://github.com", "https://x:ghp_s3cr3t@github.com", 1), []string{
			`vexloom.yaml:4: project.repository: the URL holds a password or token: remove it and use a git credential helper`,
		}},
		{"repository without path", strings.Replace(valid, "https://github.com/kubernetes/kubernetes", "https://github.com/", 1), []string{
			`vexloom.yaml:4: project.repository: "https://github.com/" names no repository on github.com`,
		}},
		{"scp-like without path", strings.Replace(valid, "https://github.com/kubernetes/kubernetes", `"git@github.com:"`, 1), []string{
			`vexloom.yaml:4: project.repository: "git@github.com:": expected user@host:path`,
		}},
		{"bad go version", valid + "scan:\n  go_version: 1.x\n", []string{
			`vexloom.yaml:9: scan.go_version: "1.x" is not a Go version (e.g. 1.26.8)`,
		}},
		{"tags in one item", valid + "scan:\n  tags: [\"linux,cgo\"]\n", []string{
			`vexloom.yaml:9: scan.tags: "linux,cgo": one build tag per item`,
		}},
		{"package pattern as a flag", valid + "scan:\n  packages: [-tags=x]\n", []string{
			`vexloom.yaml:9: scan.packages: "-tags=x": a package pattern cannot start with '-'`,
		}},
		{"module dir outside", valid + "scan:\n  modules: [../other]\n", []string{
			`vexloom.yaml:9: scan.modules: "../other" is outside the repository`,
		}},
		{"bad database version", valid + "database:\n  source: golang.org/x/vulndb@\n", []string{
			`vexloom.yaml:9: database.source: "golang.org/x/vulndb@": invalid version ""`,
		}},
		{"bad security team name", valid + "owners:\n  security_team: [\"sig auth\", Alice, alice]\n", []string{
			`vexloom.yaml:9: owners.security_team: "sig auth" is not an OWNERS_ALIASES alias or a login`,
			`vexloom.yaml:9: owners.security_team: "alice" is listed twice (first at line 9)`,
		}},
		{"github section with the local backend", valid + "triage:\n  github:\n    repository: a/b\n", []string{
			`vexloom.yaml:9: triage.github: only used with backend: github (the backend is local)`,
		}},
		{"github backend off github.com", strings.Replace(valid, "https://github.com/kubernetes/kubernetes", "https://gitlab.com/k/k", 1) + "triage:\n  backend: github\n", []string{
			`vexloom.yaml:1: triage.github.repository is missing: it is needed when the project repository is not on github.com`,
		}},
		{"triage repository without owner", strings.Replace(withGitHub, "kubernetes/.vexloom", ".vexloom", 1), []string{
			`vexloom.yaml:11: triage.github.repository: ".vexloom" is not a GitHub repository (owner/repo)`,
		}},
		{"plain http api", withGitHub + "    api: http://ghe.example.com/api/v3\n", []string{
			`vexloom.yaml:12: triage.github.api: "http://ghe.example.com/api/v3": use https (http is only for a server on this machine)`,
		}},
		{"api with credentials", withGitHub + "    api: https://u:p@ghe.example.com/\n", []string{
			`vexloom.yaml:12: triage.github.api: the URL holds credentials: remove them`,
		}},
		{"a secret for its variable's name", withGitHub + "    webhook_secret_env: 9f86d081884c7d659a2feaa0c55ad015\n", []string{
			`vexloom.yaml:12: triage.github.webhook_secret_env: not the name of an environment variable: give the variable's name, never the secret itself`,
		}},
		{"app without key", withGitHub + "    app_id: 12\n    installation_id: 34\n", []string{
			`vexloom.yaml:12: triage.github: app_id needs private_key, the path of the App's PEM key`,
		}},
		{"key without app", withGitHub + "    private_key: app.pem\n", []string{
			`vexloom.yaml:12: triage.github: private_key needs app_id and installation_id`,
		}},
		{"one label for two states", withGitHub + "    labels: {open: triage, assessed: Triage}\n", []string{
			`vexloom.yaml:10: triage.github.labels: "Triage" marks two states; each state needs a label of its own`,
		}},
		{"long label", withGitHub + "    labels: {open: " + strings.Repeat("x", 51) + "}\n", []string{
			`vexloom.yaml:12: triage.github.labels.open: "` + strings.Repeat("x", 51) + `": a GitHub label has at most 50 characters`,
		}},
		{"vex and store in one place", valid + "vex: {dir: state}\nstore: {path: ./state/}\n", []string{
			`vexloom.yaml:1: vex.dir and store.path are both "state": they must be different directories`,
		}},

		// Missing required keys.
		{"no version", strings.Replace(valid, "version: 1\n", "", 1), []string{
			`vexloom.yaml:1: version is missing: add "version: 1"`,
		}},
		{"null version", strings.Replace(valid, "version: 1\n", "version:\n", 1), []string{
			`vexloom.yaml:1: version is missing: add "version: 1"`,
		}},
		{"no project", "version: 1\nbranches: [main]\n", []string{
			`vexloom.yaml:1: project is missing: it needs module and repository`,
		}},
		{"empty project", "version: 1\nproject:\nbranches: [main]\n", []string{
			`vexloom.yaml:2: project.module is missing: the path of the project's main Go module`,
			`vexloom.yaml:2: project.repository is missing: the project's git repository (a URL or a local path)`,
		}},
		{"empty branches", strings.Replace(valid, "branches:\n  - master\n  - release-1.*\n", "branches: []\n", 1), []string{
			`vexloom.yaml:5: branches: list at least one branch`,
		}},

		// Structure.
		{"duplicate top key", valid + "version: 1\n", []string{
			`vexloom.yaml:8: duplicate key "version" (first at line 1)`,
		}},
		{"duplicate nested key", strings.Replace(valid, "branches:", "  module: example.com/other\nbranches:", 1), []string{
			`vexloom.yaml:5: project: duplicate key "module" (first at line 3)`,
		}},
		{"version 2", strings.Replace(valid, "version: 1", "version: 2", 1), []string{
			`vexloom.yaml:1: version: 2 is not supported: this vexloom reads version 1`,
		}},
		{"huge version", strings.Replace(valid, "version: 1", "version: 18446744073709551615", 1), []string{
			`vexloom.yaml:1: version: "18446744073709551615" is out of range`,
		}},
		{"tab indentation", strings.Replace(valid, "  module:", "\tmodule:", 1), []string{
			`vexloom.yaml:3: a tab in the indentation: YAML indents with spaces only (found character that cannot start any token)`,
		}},
		{"tab before a list item", valid + "scan:\n\t- x\n", []string{
			`vexloom.yaml:9: a tab in the indentation: YAML indents with spaces only (found character that cannot start any token)`,
		}},
		{"empty file", "", []string{
			`vexloom.yaml:1: the file is empty: it needs at least version, project and branches (run ` + "`vexloom init`" + ` for a starter file)`,
		}},
		{"comments only", "# nothing here\n\n", []string{
			`vexloom.yaml:1: the file is empty: it needs at least version, project and branches (run ` + "`vexloom init`" + ` for a starter file)`,
		}},
		{"two documents", valid + "---\nversion: 1\n", []string{
			`vexloom.yaml:8: a second YAML document starts here; vexloom.yaml holds exactly one`,
		}},
		{"a trailing document marker", valid + "---\n", []string{
			`vexloom.yaml:8: a second YAML document starts here; vexloom.yaml holds exactly one`,
		}},
		{"syntax error in a second document", valid + "---\n[\n", []string{
			`vexloom.yaml:10: invalid YAML: did not find expected node content`,
		}},
		{"unclosed flow list", "version: 1\nbranches: [main\n\n", []string{
			`vexloom.yaml:2: invalid YAML: did not find expected ',' or ']'`,
		}},
		{"bad indentation", "version: 1\nproject:\n  module: x\n repository: y\n", []string{
			`vexloom.yaml:4: invalid YAML: did not find expected key`,
		}},
		{"unknown anchor", valid + "vex:\n  dir: *nowhere\n", []string{
			`vexloom.yaml:9: invalid YAML: unknown anchor 'nowhere' referenced`,
		}},
		{"merge key", "version: 1\nbase: &b {module: example.com/m, repository: .}\nproject:\n  <<: *b\nbranches: [main]\n", []string{
			`vexloom.yaml:2: unknown key "base" (known keys: version, project, branches, scan, database, owners, triage, vex, store, advisories, releases)`,
			`vexloom.yaml:4: project: merge keys (<<) are not supported: write the keys out`,
			`vexloom.yaml:3: project.module is missing: the path of the project's main Go module`,
			`vexloom.yaml:3: project.repository is missing: the project's git repository (a URL or a local path)`,
		}},
		{"several problems at once", "version: 3\nproject:\n  module: nodot\n  repository: ftp://x/y\nbranches: [\"a b\"]\ntriage: {backend: jira}\n", []string{
			`vexloom.yaml:1: version: 3 is not supported: this vexloom reads version 1`,
			`vexloom.yaml:3: project.module: malformed module path "nodot": missing dot in first path element`,
			`vexloom.yaml:4: project.repository: "ftp://x/y": the scheme "ftp" is not supported (use https, ssh, git or file, or user@host:path)`,
			`vexloom.yaml:5: branches: "a b" is not a valid branch name or pattern: git does not allow spaces, '~', '^', ':' or '\'`,
			`vexloom.yaml:6: triage.backend: "jira" is not one of local, github`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := problems(t, tc.data)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestParseErrorsDoNotLeakSecrets(t *testing.T) {
	data := strings.Replace(valid, "https://github.com", "https://x:ghp_s3cr3t@github.com", 1) +
		"triage:\n  backend: github\n  github:\n    webhook_secret_env: s3cr3t-value\n"
	for _, p := range problems(t, data) {
		if strings.Contains(p, "s3cr3t") {
			t.Errorf("problem shows a secret: %s", p)
		}
	}
}

func TestParseBranchStartingWithDash(t *testing.T) {
	got := problems(t, strings.Replace(valid, "release-1.*", "-release", 1))
	if len(got) != 1 || !strings.Contains(got[0], `"-release" is not a valid branch name or pattern: it starts with '-'`) {
		t.Errorf("problems = %q", got)
	}
}

func TestParseTooLarge(t *testing.T) {
	data := valid + "# " + strings.Repeat("x", MaxFileSize) + "\n"
	_, err := Parse(FileName, []byte(data))
	if !errors.Is(err, ErrInvalid) || err.Error() != "vexloom.yaml: larger than 1048576 bytes (1 MiB)" {
		t.Errorf("Parse(2 MiB) = %v", err)
	}
}

func TestParseStopsAfterManyProblems(t *testing.T) {
	var b strings.Builder
	b.WriteString(valid)
	for i := range 200 {
		b.WriteString("unknown" + strings.Repeat("x", i) + ": 1\n")
	}
	got := problems(t, b.String())
	if len(got) != maxErrors+1 || !strings.HasSuffix(got[maxErrors], "more than 50 problems; stopping here") {
		t.Errorf("%d problems, last %q", len(got), got[len(got)-1])
	}
}

// bombs are YAML documents whose aliases expand to billions of nodes.
var bombs = map[string]string{
	"lists": `version: 1
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
project: {module: example.com/m, repository: .}
branches: *i
scan: {modules: *i, tags: [*i, *h]}
`,
	"mappings": `version: 1
a: &a {x: lol, y: lol, z: lol}
b: &b {x: *a, y: *a, z: *a}
c: &c {x: *b, y: *b, z: *b}
d: &d {x: *c, y: *c, z: *c}
project: *d
scan: *d
triage: {github: {labels: *d}}
branches: [main]
`,
	"self-reference": `version: 1
project: {module: example.com/m, repository: .}
branches: &a [main, *a]
scan: &s {modules: *s}
`,
}

func TestParseYAMLBomb(t *testing.T) {
	for name, data := range bombs {
		t.Run(name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			got := problems(t, data)
			runtime.ReadMemStats(&after)
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
				t.Errorf("parsing a %d-byte bomb allocated %d bytes", len(data), alloc)
			}
			if len(got) == 0 || len(got) > 20 {
				t.Errorf("%d problems: %q", len(got), got)
			}
		})
	}
}

func TestParseYAMLBombProblems(t *testing.T) {
	got := problems(t, bombs["self-reference"])
	want := []string{
		`vexloom.yaml:3: branches: expected a string, got a list`,
		`vexloom.yaml:4: scan.modules: expected a list, got a mapping`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
