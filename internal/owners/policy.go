package owners

import (
	"fmt"
	"path"
	"slices"
	"strings"
)

// Approvers are who may answer a triage: the approvers in the OWNERS files
// and the security team.
type Approvers struct {
	// Tree is the repository's OWNERS files; nil when none were read.
	Tree *Tree
	// SecurityTeam are OWNERS_ALIASES alias names or logins (from the
	// configuration's owners.security_team) who may decide any triage.
	SecurityTeam []string
}

// Decision is whether a login may decide a triage, and why.
type Decision struct {
	Allowed bool
	// Reason is a sentence without a final period, for a reply to the
	// commenter: "alice is an approver in OWNERS", or "bob is not an
	// approver of ., vendor/golang.org/x/net or pkg/kubelet and not in the
	// security team (security-response-committee)".
	Reason string
}

// maxListed bounds how many directories or hints a reason names.
const maxListed = 8

// CanDecide reports whether login may decide a triage whose vulnerable
// code is reached from dirs: the directories it is called from and
// vendor/<dependency module path>, slash separated and relative to the
// repository root. A login may decide when it is
//   - an approver in the root OWNERS file, who has a say over the whole
//     repository even where a no_parent_owners file stops the walk,
//   - in the security team: listed there, or a member of an alias listed
//     there, or
//   - an approver of one of dirs (see Tree.Approvers).
//
// Logins are compared case-insensitively; alias names never count as
// logins. Reviewers, required reviewers and emeritus approvers have no
// say. A login that is empty or not a GitHub login is never allowed, nor
// is anyone for a directory that is not a clean relative path.
func (p *Approvers) CanDecide(login string, dirs []string) Decision {
	var (
		t    *Tree
		team []string
	)
	if p != nil {
		t, team = p.Tree, p.SecurityTeam
	}
	if login == "" {
		return Decision{Reason: "the comment has no author"}
	}
	l, ok := normalizeLogin(login)
	if !ok {
		return Decision{Reason: fmt.Sprintf("%s is not a GitHub login", quote(login))}
	}

	if t != nil {
		if f, ok := t.files["."]; ok {
			if via, ok := t.approves(f, l); ok {
				return Decision{Allowed: true, Reason: fmt.Sprintf("%s is an approver in %s%s", l, OwnersFile, through(via))}
			}
		}
	}

	var teamNames []string
	for _, e := range team {
		name, ok := normalizeEntry(e)
		if !ok || slices.Contains(teamNames, name) {
			continue
		}
		teamNames = append(teamNames, name)
		if members, alias := t.aliasMembers(name); alias {
			if _, found := slices.BinarySearch(members, l); found {
				return Decision{Allowed: true, Reason: fmt.Sprintf("%s is in the security team%s", l, through(name))}
			}
		} else if name == l {
			return Decision{Allowed: true, Reason: fmt.Sprintf("%s is in the security team", l)}
		}
	}

	checked := []string{"."}
	seen := map[string]bool{".": true}
	for _, d := range dirs {
		d, ok := cleanDir(d)
		if !ok || seen[d] {
			continue
		}
		seen[d] = true
		checked = append(checked, d)
		if t == nil {
			continue
		}
		var reason string
		t.walk(d, func(fd string, f *File) {
			if reason != "" || fd == "." {
				return
			}
			if via, ok := t.approves(f, l); ok {
				file := path.Join(fd, OwnersFile)
				if fd == d {
					reason = fmt.Sprintf("%s is an approver in %s%s", l, file, through(via))
				} else {
					reason = fmt.Sprintf("%s is an approver in %s%s, which covers %s", l, file, through(via), d)
				}
			}
		})
		if reason != "" {
			return Decision{Allowed: true, Reason: reason}
		}
	}

	reason := fmt.Sprintf("%s is not an approver of %s", l, orList(checked))
	if len(teamNames) == 0 {
		reason += " and no security team is configured"
	} else {
		reason += fmt.Sprintf(" and not in the security team (%s)", strings.Join(teamNames, ", "))
	}
	if hints := t.roles(l, checked); len(hints) > 0 {
		reason += fmt.Sprintf(" (%s is %s, which gives no say)", l, andList(hints))
	}
	if t == nil {
		reason += "; no OWNERS files were read"
	}
	return Decision{Reason: reason}
}

// approves reports whether login is an approver of f's whole directory,
// and through which alias ("" when listed directly).
func (t *Tree) approves(f *File, login string) (via string, ok bool) {
	for _, e := range f.directoryApprovers() {
		if members, alias := t.members[e]; alias {
			if _, found := slices.BinarySearch(members, login); found {
				return e, true
			}
		} else if e == login {
			return "", true
		}
	}
	return "", false
}

// aliasMembers is members[name] for a Tree that may be nil.
func (t *Tree) aliasMembers(name string) ([]string, bool) {
	if t == nil {
		return nil, false
	}
	m, ok := t.members[name]
	return m, ok
}

// roles describes the places where login is named without a say, in the
// OWNERS files governing dirs: as a reviewer, an emeritus approver, or an
// approver of only some files.
func (t *Tree) roles(login string, dirs []string) []string {
	if t == nil {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	add := func(role, dir string, entries []string) {
		for _, e := range entries {
			if !slices.Contains(t.logins(e), login) {
				continue
			}
			s := fmt.Sprintf("%s in %s", role, path.Join(dir, OwnersFile))
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
			return
		}
	}
	for _, d := range dirs {
		t.walk(d, func(fd string, f *File) {
			add("a reviewer", fd, f.Reviewers)
			add("a required reviewer", fd, f.RequiredReviewers)
			add("an emeritus approver", fd, f.EmeritusApprovers)
			add("an emeritus reviewer", fd, f.EmeritusReviewers)
			for _, re := range sortedKeys(f.Filters) {
				flt := f.Filters[re]
				if re != AllFiles {
					add("an approver of the files matching "+quote(re)+" only", fd, flt.Approvers)
				}
				add("a reviewer", fd, flt.Reviewers)
				add("a required reviewer", fd, flt.RequiredReviewers)
			}
		})
	}
	if len(out) > maxListed {
		out = append(out[:maxListed], fmt.Sprintf("%d more", len(out)-maxListed))
	}
	return out
}

func sortedKeys(m map[string]Filter) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func through(alias string) string {
	if alias == "" {
		return ""
	}
	return " through the alias " + alias
}

// orList joins "a, b or c", naming at most maxListed items.
func orList(items []string) string { return joinList(items, "or", "directories") }

// andList joins "a, b and c".
func andList(items []string) string { return joinList(items, "and", "") }

func joinList(items []string, conj, more string) string {
	if more != "" && len(items) > maxListed {
		rest := len(items) - maxListed
		items = append(slices.Clone(items[:maxListed]), fmt.Sprintf("%d more %s", rest, more))
	}
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " " + conj + " " + items[len(items)-1]
}
