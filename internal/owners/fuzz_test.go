package owners

import (
	"errors"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// seedFiles are OWNERS-shaped seeds for the fuzzers: the Kubernetes
// fixture and inputs that once were, or could be, trouble.
func seedFiles() []string {
	seeds := slices.Sorted(maps.Values(kubernetes))
	return append(seeds,
		"",
		"approvers: [alice, Alice, '@bob', 123]\nreviewers: &r [carol]\nemeritus_approvers: *r\n",
		"filters:\n  \".*\": &f {approvers: [a]}\n  \"\\\\.go$\": *f\n",
		"options: {no_parent_owners: True}\n",
		"approvers: [a]\nfilters: {}\n",
		"<<: {approvers: [a]}\n",
		"approvers: !!seq [a]\nlabels: [\"x\\ty\"]\n",
		"a: &a [x, x]\nb: &b [*a, *a]\napprovers: *b\n",
		"filters:\n  \"<<\": {}\n  \"(?i)x\": {approvers: [\"\u212Aate\"]}\n",
		"approvers:\n\t- alice\n",
		"--- \napprovers: [a]\n...\n",
		"aliases:\n  team: [a, team]\n  Team2: [team]\n",
		"aliases: {a: [b], b: [c], c: [a]}\n",
	)
}

func FuzzParseFile(f *testing.F) {
	for _, s := range seedFiles() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := ParseFile(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error %q is neither ErrInvalid nor ErrTooLarge", err)
			}
			if file != nil {
				t.Fatalf("ParseFile returned a file and an error")
			}
			if err.Error() == "" || len(err.Error()) > 64<<10 {
				t.Fatalf("error of %d bytes", len(err.Error()))
			}
			return
		}
		checkNames(t, "approvers", file.Approvers)
		checkNames(t, "reviewers", file.Reviewers)
		checkNames(t, "required_reviewers", file.RequiredReviewers)
		checkNames(t, "emeritus_approvers", file.EmeritusApprovers)
		checkNames(t, "emeritus_reviewers", file.EmeritusReviewers)
		for re, flt := range file.Filters {
			if _, err := regexp.Compile(re); err != nil {
				t.Fatalf("filter %q does not compile: %v", re, err)
			}
			checkNames(t, "filter approvers", flt.Approvers)
			checkNames(t, "filter reviewers", flt.Reviewers)
			checkNames(t, "filter required reviewers", flt.RequiredReviewers)
		}
		if file.Filters != nil && len(file.Approvers)+len(file.Reviewers)+len(file.RequiredReviewers)+len(file.Labels) > 0 {
			t.Fatalf("filters beside a simple configuration were accepted: %#v", file)
		}
		// What was parsed, written out again, parses to the same.
		out, err := yaml.Marshal(renderFile(file))
		if err != nil {
			t.Fatalf("rendering %#v: %v", file, err)
		}
		again, err := ParseFile(out)
		if err != nil {
			t.Fatalf("the rendering of %#v does not parse: %v\n%s", file, err, out)
		}
		if !reflect.DeepEqual(again, file) {
			t.Fatalf("round trip:\n%#v\n%#v\n%s", file, again, out)
		}
	})
}

func FuzzParseAliases(f *testing.F) {
	for _, s := range seedFiles() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ParseAliases(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error %q is neither ErrInvalid nor ErrTooLarge", err)
			}
			return
		}
		for name, members := range a {
			checkNames(t, "alias name", []string{name})
			checkNames(t, "members of "+name, members)
		}
		out, err := yaml.Marshal(map[string]any{"aliases": map[string][]string(a)})
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseAliases(out)
		if err != nil {
			t.Fatalf("the rendering of %#v does not parse: %v\n%s", a, err, out)
		}
		if !reflect.DeepEqual(again, a) {
			t.Fatalf("round trip:\n%#v\n%#v\n%s", a, again, out)
		}
	})
}

// FuzzCanDecide builds a tree from fuzzed OWNERS files and checks who may
// decide against what the files say, computed here independently and
// generously: anyone named as an approver anywhere, in any filter, or in
// the security team, with every alias followed to any depth.
func FuzzCanDecide(f *testing.F) {
	f.Add([]byte(kubernetes["OWNERS"]), []byte(kubernetes["staging/src/k8s.io/apiserver/OWNERS"]), []byte(kubernetes["vendor/OWNERS"]),
		[]byte(kubernetes["OWNERS_ALIASES"]), "lavalamp", "security-response-committee,sam", "pkg/a/b")
	f.Add([]byte(kubernetes["OWNERS"]), []byte(kubernetes["pkg/kubelet/OWNERS"]), []byte(kubernetes["vendor/OWNERS"]),
		[]byte(kubernetes["OWNERS_ALIASES"]), "BenTheElder", "", "vendor/golang.org/x/net")
	f.Add([]byte("approvers: [team]\nreviewers: [rev]\n"), []byte("options: {no_parent_owners: true}\napprovers: [sub]\nemeritus_approvers: [old]\n"),
		[]byte("reviewers: [dep-reviewers]\n"), []byte("aliases: {team: [loop, x], loop: [team, y], dep-reviewers: [r1]}\n"), "old", "loop", "../pkg")
	f.Add([]byte("filters: {'\\.go$': {approvers: [go]}, '.*': {reviewers: [all]}}\n"), []byte(""), []byte("approvers: ['@Dep']\n"),
		[]byte("aliases:\n"), "dep", "Team", "")
	f.Fuzz(func(t *testing.T, root, sub, vendor, aliases []byte, login, team, dir string) {
		files := map[string]string{
			"OWNERS":         string(root),
			"pkg/a/OWNERS":   string(sub),
			"vendor/OWNERS":  string(vendor),
			"OWNERS_ALIASES": string(aliases),
		}
		tree, _ := loadMap(t, files)
		policy := &Approvers{Tree: tree, SecurityTeam: strings.Split(team, ",")}
		dirs := []string{"pkg/a/b", "vendor/example.com/dep", dir}

		// Everyone with any conceivable say.
		a, err := ParseAliases(aliases)
		if err != nil {
			a = nil
		}
		var named, others []string
		for _, d := range tree.Dirs() {
			file, _ := tree.File(d)
			named = append(named, file.Approvers...)
			others = append(others, file.Reviewers...)
			others = append(others, file.RequiredReviewers...)
			others = append(others, file.EmeritusApprovers...)
			others = append(others, file.EmeritusReviewers...)
			for _, flt := range file.Filters {
				named = append(named, flt.Approvers...)
				others = append(others, flt.Reviewers...)
				others = append(others, flt.RequiredReviewers...)
			}
		}
		for _, e := range policy.SecurityTeam {
			if n, ok := normalizeEntry(e); ok {
				named = append(named, n)
			}
		}
		sayers := closure(named, a)

		decide := func(login string) Decision {
			d := policy.CanDecide(login, dirs)
			if d.Reason == "" {
				t.Fatalf("CanDecide(%q): no reason", login)
			}
			if !d.Allowed {
				return d
			}
			l := strings.ToLower(login)
			if !isLoginName(login) {
				t.Fatalf("CanDecide(%q) allowed a malformed login: %s", login, d.Reason)
			}
			if !strings.Contains(d.Reason, l) {
				t.Fatalf("CanDecide(%q) allowed with a reason that does not name the login: %s", login, d.Reason)
			}
			if !sayers[l] {
				t.Fatalf("CanDecide(%q) allowed someone no file names as an approver: %s", login, d.Reason)
			}
			return d
		}
		d := decide(login)

		// Whoever Approvers lists for "." or a dir is allowed; and whoever
		// is allowed, other than through the security team, is listed.
		l := strings.ToLower(login)
		listed := false
		for _, dd := range append([]string{"."}, dirs...) {
			approvers := tree.Approvers(dd)
			if !slices.IsSorted(approvers) || len(slices.Compact(slices.Clone(approvers))) != len(approvers) {
				t.Fatalf("Approvers(%q) = %q: not sorted and unique", dd, approvers)
			}
			for _, x := range approvers {
				if x != strings.ToLower(x) || !sayers[x] {
					t.Fatalf("Approvers(%q) lists %q", dd, x)
				}
			}
			if slices.Contains(approvers, l) && isLoginName(login) {
				listed = true
				if !d.Allowed {
					t.Fatalf("CanDecide(%q) refused an approver of %q: %s", login, dd, d.Reason)
				}
			}
		}
		if d.Allowed && !listed && !strings.Contains(d.Reason, "security team") {
			t.Fatalf("CanDecide(%q) allowed someone Approvers does not list: %s", login, d.Reason)
		}

		// A reviewer, required reviewer or emeritus, with no approver role
		// anywhere, is never allowed.
		checked := 0
		for x := range closure(others, a) {
			if sayers[x] || !isLoginName(x) {
				continue
			}
			if d := decide(x); d.Allowed {
				t.Fatalf("CanDecide(%q) allowed a reviewer or emeritus: %s", x, d.Reason)
			}
			if checked++; checked > 50 {
				break
			}
		}
	})
}

// closure returns names and, through aliases, everyone they lead to at any
// depth (alias names included: it errs on the side of more).
func closure(names []string, a Aliases) map[string]bool {
	out := map[string]bool{}
	queue := slices.Clone(names)
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		if out[n] {
			continue
		}
		out[n] = true
		queue = append(queue, a[n]...)
	}
	return out
}

// checkNames checks that names are normalized and listed once.
func checkNames(t *testing.T, what string, names []string) {
	t.Helper()
	seen := map[string]bool{}
	for _, n := range names {
		if !isEntryName(n) || n != strings.ToLower(n) {
			t.Fatalf("%s: %q is not a normalized name", what, n)
		}
		if seen[n] {
			t.Fatalf("%s: %q listed twice", what, n)
		}
		seen[n] = true
	}
}

// renderFile writes f out as an OWNERS document.
func renderFile(f *File) map[string]any {
	m := map[string]any{}
	put := func(key string, v []string) {
		if len(v) > 0 {
			m[key] = v
		}
	}
	put("approvers", f.Approvers)
	put("reviewers", f.Reviewers)
	put("required_reviewers", f.RequiredReviewers)
	put("emeritus_approvers", f.EmeritusApprovers)
	put("emeritus_reviewers", f.EmeritusReviewers)
	put("labels", f.Labels)
	if f.NoParentOwners {
		m["options"] = map[string]any{"no_parent_owners": true}
	}
	if f.Filters != nil {
		filters := map[string]any{}
		for re, flt := range f.Filters {
			fm := map[string]any{}
			for key, v := range map[string][]string{
				"approvers": flt.Approvers, "reviewers": flt.Reviewers,
				"required_reviewers": flt.RequiredReviewers, "labels": flt.Labels,
			} {
				if len(v) > 0 {
					fm[key] = v
				}
			}
			filters[re] = fm
		}
		m["filters"] = filters
	}
	return m
}
