package owners

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseFileKubernetes(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want *File
	}{{
		name: "root in the filters form",
		in:   kubernetes["OWNERS"],
		want: &File{
			EmeritusApprovers: []string{"lavalamp", "old-oscar"},
			Filters: map[string]Filter{
				".*": {
					Approvers: []string{"dims", "thockin", "sig-release-leads"},
					Reviewers: []string{"thockin", "reviewer-rita"},
					Labels:    []string{"sig/release"},
				},
				`\.md$`: {Approvers: []string{"docs-dora"}},
			},
		},
	}, {
		name: "staging with no_parent_owners, a login twice in different case",
		in:   kubernetes["staging/src/k8s.io/apiserver/OWNERS"],
		want: &File{
			Approvers:         []string{"sig-api-machinery-api-approvers", "sttts"},
			Reviewers:         []string{"rev-rob"},
			RequiredReviewers: []string{"req-ray"},
			EmeritusApprovers: []string{"ex-eve"},
			EmeritusReviewers: []string{"ex-ed"},
			NoParentOwners:    true,
		},
	}, {
		name: "vendor",
		in:   kubernetes["vendor/OWNERS"],
		want: &File{
			Approvers:      []string{"dep-approvers"},
			Reviewers:      []string{"dep-reviewers"},
			Labels:         []string{"area/dependency"},
			NoParentOwners: true,
		},
	}, {
		name: "names as Prow normalizes them",
		in:   "approvers:\n  - '@Alice'\n  - ' bob '\n  - 1234\n  - alice\nreviewers: [\"@Carol\"]\n",
		want: &File{Approvers: []string{"alice", "bob", "1234"}, Reviewers: []string{"carol"}},
	}, {
		name: "unknown keys are tolerated, also in options and filters",
		in: `approvers: [alice]
future_key: {anything: [1, 2]}
options:
  no_parent_owners: false
  auto_approve_unowned_subfolders: true
`,
		want: &File{Approvers: []string{"alice"}},
	}, {
		name: "empty lists and null values",
		in:   "approvers:\nreviewers: []\noptions:\nfilters:\n  \".*\":\n",
		want: &File{Filters: map[string]Filter{".*": {}}},
	}, {
		name: "anchors and aliases within bounds",
		in:   "approvers: &people [alice, bob]\nreviewers: *people\n",
		want: &File{Approvers: []string{"alice", "bob"}, Reviewers: []string{"alice", "bob"}},
	}, {
		name: "empty file",
		in:   "",
		want: &File{},
	}, {
		name: "comments only",
		in:   "# See the OWNERS docs at https://go.k8s.io/owners\n",
		want: &File{},
	}, {
		name: "null document",
		in:   "~\n",
		want: &File{},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseFile([]byte(tc.in))
			if err != nil {
				t.Fatalf("ParseFile: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseFile =\n%#v\nwant\n%#v", got, tc.want)
			}
		})
	}
}

func TestParseFileErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		// want are substrings of the error, in order; the first is usually
		// "line N: ".
		want []string
	}{
		{"not YAML", "approvers: [alice\n", []string{"line 1: not valid YAML: did not find expected ',' or ']'"}},
		{"unbalanced", "approvers:\n  - bob\n reviewers: [\n", []string{"line 2: not valid YAML: did not find expected key"}},
		{"tab indentation", "approvers:\n\t- alice\n", []string{"line 2: not valid YAML: found character that cannot start any token"}},
		{"binary", "\x00\x01\x02", []string{"not valid YAML"}},
		{"top level is a list", "- alice\n- bob\n", []string{"line 1: want a mapping of keys (approvers, reviewers, options, filters, ...), got a list"}},
		{"top level is a string", "alice bob\n", []string{"line 1: want a mapping of keys", "got a string"}},
		{"approvers is a string", "approvers: alice\n", []string{`line 1: approvers: want a list (one a GitHub login or alias name per line, each after "- "), got a string`}},
		{"approvers is a mapping", "approvers:\n  alice: true\n", []string{"line 2: approvers: want a list", "got a mapping"}},
		{"nested list", "approvers:\n  - alice\n  - [bob, carol]\n", []string{"line 3: approvers: want a GitHub login or alias name, got a list"}},
		{"boolean entry", "reviewers:\n  - true\n", []string{"line 2: reviewers: want a GitHub login or alias name, got a boolean"}},
		{"empty entry", "approvers:\n  -\n  - alice\n", []string{"line 2: approvers: want a GitHub login or alias name, got nothing"}},
		{"float entry", "approvers: [1.5]\n", []string{"got a number"}},
		{"tagged entry", "approvers: [!!binary aGVsbG8=]\n", []string{"got binary data"}},
		{"space in a name", "approvers:\n  - alice bob\n", []string{`line 2: approvers: "alice bob" is not a GitHub login or alias name`}},
		{"slash in a name", "emeritus_approvers: [kubernetes/sig-node]\n", []string{`line 1: emeritus_approvers: "kubernetes/sig-node" is not a GitHub login or alias name`}},
		{"Kelvin sign", "approvers: [\"\u212Aate\"]\n", []string{"is not a GitHub login or alias name"}},
		{"name too long", "approvers: [" + strings.Repeat("a", 101) + "]\n", []string{"is not a GitHub login or alias name"}},
		{"empty label", "labels: ['']\n", []string{`line 1: labels: "" is empty`}},
		{"label with a newline", "labels: [\"a\\nb\"]\n", []string{"holds a control character"}},
		{"options is a list", "options: [no_parent_owners]\n", []string{"line 1: options: want a mapping, got a list"}},
		{"no_parent_owners is a string", "options:\n  no_parent_owners: \"true\"\n", []string{"line 2: options.no_parent_owners: want true or false, got a string"}},
		{"no_parent_owners is yes", "options:\n  no_parent_owners: yes\n", []string{"want true or false, got a string"}},
		{"no_parent_owners is null", "options:\n  no_parent_owners:\n", []string{"want true or false, got nothing"}},
		{"filters is a list", "filters:\n  - \".*\"\n", []string{"line 2: filters: want a mapping of regular expressions"}},
		{"bad filter expression", "filters:\n  \"(\":\n    approvers: [alice]\n", []string{`line 2: filters: "(" is not a Go regular expression`}},
		{"filter is a list", "filters:\n  \".*\": [alice]\n", []string{`line 2: filters.".*": want a mapping, got a list`}},
		{"filter approvers is a string", "filters:\n  \".*\":\n    approvers: alice\n", []string{`line 3: filters.".*".approvers: want a list`}},
		{"filter key is a list", "filters:\n  [a]: {}\n", []string{"line 2: filters: want a regular expression as key, got a list"}},
		{"filter twice", "filters:\n  a: {}\n  a: {}\n", []string{`line 3: filters: "a" is set twice (first at line 2)`}},
		{"approvers beside filters", "approvers: [alice]\nfilters:\n  \".*\":\n    approvers: [bob]\n", []string{`line 1: approvers is set beside filters (line 2); the OWNERS format allows only one of them: move it under filters ".*"`}},
		{"labels beside filters", "filters: {}\nlabels: [a]\n", []string{"line 2: labels is set beside filters (line 1)"}},
		{"required reviewers beside filters", "required_reviewers: [a]\nfilters: {}\n", []string{"line 1: required_reviewers is set beside filters (line 2)"}},
		{"key in another case", "Approvers: [alice]\n", []string{`line 1: "Approvers" is written in lowercase: approvers`}},
		{"option in another case", "options:\n  No_Parent_Owners: true\n", []string{`line 2: options: "No_Parent_Owners" is written in lowercase: no_parent_owners`}},
		{"key twice", "approvers: [alice]\napprovers: [bob]\n", []string{"line 2: approvers is set twice (first at line 1)"}},
		{"merge key", "base: &b {approvers: [alice]}\n<<: *b\n", []string{"line 2: merge keys (<<) are not supported"}},
		{"key is a list", "[a]: b\n", []string{"line 1: keys must be strings, got a list"}},
		{"two documents", "approvers: [alice]\n---\napprovers: [bob]\n", []string{"line 2: a second YAML document starts here"}},
		{"unknown anchor", "approvers: *nobody\n", []string{"not valid YAML: unknown anchor 'nobody' referenced"}},
		{"several problems", "approvers: alice\nreviewers: bob\n", []string{"line 1: approvers: want a list", "line 2: reviewers: want a list"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParseFile([]byte(tc.in))
			if err == nil {
				t.Fatalf("ParseFile = %#v, want an error", f)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %q is not ErrInvalid", err)
			}
			assertInOrder(t, err.Error(), tc.want)
		})
	}
}

// assertInOrder checks that s holds each of want, in order.
func assertInOrder(t *testing.T, s string, want []string) {
	t.Helper()
	rest := s
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Errorf("error\n%s\ndoes not hold (in order)\n%s", s, w)
			return
		}
		rest = rest[i+len(w):]
	}
}

// TestParseHostile feeds inputs made to exhaust a parser: each must be
// refused with a clear error (or, for what is never walked, accepted) and
// quickly.
func TestParseHostile(t *testing.T) {
	// Billion laughs: nine levels of nine references to the level below.
	var laughs strings.Builder
	laughs.WriteString("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n")
	for c := 'b'; c <= 'i'; c++ {
		fmt.Fprintf(&laughs, "%c: &%c [", c, c)
		for i := range 9 {
			if i > 0 {
				laughs.WriteString(",")
			}
			fmt.Fprintf(&laughs, "*%c", c-1)
		}
		laughs.WriteString("]\n")
	}
	laughsUnused := laughs.String()
	laughsUsed := laughsUnused + "approvers: *i\nfilters: {}\n"

	// A bomb that passes every type check: a thousand filters, each the
	// same mapping whose lists are the same 2000 names.
	var bomb strings.Builder
	bomb.WriteString("names: &l [")
	for i := range 2000 {
		if i > 0 {
			bomb.WriteString(",")
		}
		fmt.Fprintf(&bomb, "u%d", i)
	}
	bomb.WriteString("]\nsection: &m {approvers: *l, reviewers: *l}\nfilters:\n")
	for i := range 1000 {
		fmt.Fprintf(&bomb, "  f%d: *m\n", i)
	}

	// The largest file that is allowed: about a hundred thousand approvers.
	var big strings.Builder
	big.WriteString("approvers:\n")
	n := 0
	for big.Len() < MaxFileSize-20 {
		fmt.Fprintf(&big, "  - u%d\n", n)
		n++
	}

	for _, tc := range []struct {
		name    string
		in      string
		wantErr error
		want    []string
	}{
		{"billion laughs, never walked", laughsUnused, nil, nil},
		{"billion laughs as approvers", laughsUsed, ErrInvalid, []string{"approvers: want a GitHub login or alias name, got a list"}},
		{"alias bomb in filters", bomb.String(), ErrInvalid, []string{"the file expands to more than 524288 YAML nodes (through anchors and aliases)"}},
		{"deeply nested flow lists", "approvers: " + strings.Repeat("[", 100000), ErrInvalid, []string{"not valid YAML: exceeded max depth of 10000"}},
		{"deeply nested flow mappings", strings.Repeat("{a: ", 50000), ErrInvalid, []string{"not valid YAML"}},
		{"deeply nested block lists", nestedBlock(1400), ErrInvalid, []string{"line 3: approvers: want a GitHub login or alias name, got a list"}},
		{"over the size limit", strings.Repeat("# padding\n", MaxFileSize/10+1), ErrTooLarge, []string{"too large: larger than 1048576 bytes"}},
		{"at the size limit", big.String(), nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			f, err := ParseFile([]byte(tc.in))
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("ParseFile took %v", took)
			}
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("ParseFile: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseFile = %d approvers, %d filters; want an error", len(f.Approvers), len(f.Filters))
			}
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("error %q is not %v", err, tc.wantErr)
			}
			assertInOrder(t, err.Error(), tc.want)
			if len(err.Error()) > 4096 {
				t.Errorf("error is %d bytes long", len(err.Error()))
			}
		})
	}

	f, err := ParseFile([]byte(big.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Approvers) != n {
		t.Errorf("the largest file gives %d approvers, want %d", len(f.Approvers), n)
	}
}

// nestedBlock returns a list nested depth levels deep in block style.
func nestedBlock(depth int) string {
	var b strings.Builder
	b.WriteString("approvers:\n")
	for i := range depth {
		b.WriteString(strings.Repeat(" ", i+1))
		b.WriteString("-\n")
	}
	return b.String()
}

func TestParseAliases(t *testing.T) {
	got, err := ParseAliases([]byte(kubernetes["OWNERS_ALIASES"]))
	if err != nil {
		t.Fatal(err)
	}
	want := Aliases{
		"sig-release-leads":               {"cpanato", "jeremyrickard", "justaugustus", "saschagrunert"},
		"release-engineering-approvers":   {"sig-release-leads", "puerco"},
		"dep-approvers":                   {"bentheelder", "dims", "liggitt"},
		"dep-reviewers":                   {"logicalhan"},
		"security-response-committee":     {"cjcullen", "tabbysable"},
		"sig-api-machinery-api-approvers": {"deads2k", "jpbetz"},
		"loop-a":                          {"loop-b", "zed"},
		"loop-b":                          {"loop-a", "yan"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseAliases =\n%#v\nwant\n%#v", got, want)
	}

	for _, tc := range []struct {
		in   string
		want Aliases
	}{
		{"", Aliases{}},
		{"aliases:\n", Aliases{}},
		{"aliases:\n  Empty-Team:\n  other: []\nnote: unknown keys are fine\n", Aliases{"empty-team": nil, "other": nil}},
	} {
		got, err := ParseAliases([]byte(tc.in))
		if err != nil {
			t.Errorf("ParseAliases(%q): %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseAliases(%q) = %#v, want %#v", tc.in, got, tc.want)
		}
	}
}

func TestParseAliasesErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want []string
	}{
		{"not YAML", "aliases: {a: [b}\n", []string{"not valid YAML"}},
		{"aliases is a list", "aliases:\n  - a\n", []string{"line 2: aliases: want a mapping of alias names to lists of logins, got a list"}},
		{"members is a string", "aliases:\n  a: bob\n", []string{"line 2: aliases.a: want a list"}},
		{"member is a mapping", "aliases:\n  a:\n    - {bob: 1}\n", []string{"line 3: aliases.a: want a GitHub login or alias name, got a mapping"}},
		{"bad member", "aliases:\n  a: [\"b c\"]\n", []string{`line 2: aliases.a: "b c" is not a GitHub login or alias name`}},
		{"bad alias name", "aliases:\n  \"a b\": [c]\n", []string{`line 2: aliases: "a b" is not an alias name`}},
		{"alias twice, in different case", "aliases:\n  team: [a]\n  Team: [b]\n", []string{`line 3: aliases: "Team" is defined twice (first at line 2; alias names are case-insensitive)`}},
		{"merge key", "x: &x {a: [b]}\naliases:\n  <<: *x\n", []string{"line 3: aliases: want an alias name as key"}},
		{"top level is a list", "- a\n", []string{"line 1: want a mapping of keys (aliases), got a list"}},
		{"two aliases keys", "aliases: {}\naliases: {}\n", []string{"line 2: aliases is set twice"}},
		{"too large", strings.Repeat("#", MaxFileSize+1), []string{"too large"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ParseAliases([]byte(tc.in))
			if err == nil {
				t.Fatalf("ParseAliases = %#v, want an error", a)
			}
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrTooLarge) {
				t.Errorf("error %q is neither ErrInvalid nor ErrTooLarge", err)
			}
			assertInOrder(t, err.Error(), tc.want)
		})
	}
}
