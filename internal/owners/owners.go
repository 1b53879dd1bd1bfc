// Package owners reads a repository's Kubernetes-style OWNERS and
// OWNERS_ALIASES files and decides who may answer a vulnerability triage.
//
// The format is the one Prow reads (https://www.kubernetes.dev/docs/guide/owners/):
// an OWNERS file in a directory names the approvers and reviewers of that
// directory and everything below it; OWNERS_ALIASES at the root names groups
// of logins. Only approvers count for vexloom: reviewers, required
// reviewers and emeritus approvers have no say. A triage may be decided by a
// root approver, a member of the configured security team, or an approver
// of one of the directories the vulnerable code is reached from (see
// [Approvers.CanDecide]).
//
// Every name is normalized as Prow does (surrounding spaces and a leading
// "@" dropped, lowercased: GitHub logins are case-insensitive) and checked
// to be a login or an alias name, so an entry with a typo is reported rather
// than silently never matching.
package owners

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// File names.
const (
	// OwnersFile is the name of an OWNERS file in any directory.
	OwnersFile = "OWNERS"
	// AliasesFile is the name of the aliases file at the repository root.
	AliasesFile = "OWNERS_ALIASES"
)

// Limits on what is read: OWNERS files are written by people, a few
// kilobytes each; Kubernetes has about two thousand of them.
const (
	// MaxFileSize bounds one OWNERS or OWNERS_ALIASES file.
	MaxFileSize = 1 << 20
	// MaxFiles bounds how many OWNERS files one repository may have.
	MaxFiles = 1 << 16
	// maxNodes bounds how many YAML nodes decoding one file may visit,
	// counting each use of an anchor again: it stops alias bombs
	// ("billion laughs") that a plain size bound lets through.
	maxNodes = 1 << 19
	// maxFilterLen bounds a filter's regular expression.
	maxFilterLen = 1024
)

var (
	// ErrInvalid is wrapped by every error about the content of an OWNERS
	// or OWNERS_ALIASES file.
	ErrInvalid = errors.New("invalid OWNERS file")
	// ErrTooLarge is wrapped by the error about a file larger than
	// MaxFileSize, and about a repository with more than MaxFiles OWNERS
	// files.
	ErrTooLarge = errors.New("too large")
	// ErrPath is wrapped by the error about a file path that is not a clean
	// path relative to the repository root.
	ErrPath = errors.New("not a clean relative path")
)

// File is one OWNERS file. Every name is normalized (lowercased, without a
// leading "@"), and listed once, in the order first written.
type File struct {
	// Approvers may approve changes to the directory: for vexloom, decide
	// its triages.
	Approvers []string
	// Reviewers may review; they cannot decide.
	Reviewers []string
	// RequiredReviewers must review; they cannot decide either.
	RequiredReviewers []string
	// EmeritusApprovers and EmeritusReviewers were approvers or reviewers
	// and are kept for the record; they have no say.
	EmeritusApprovers []string
	EmeritusReviewers []string
	// NoParentOwners (options.no_parent_owners) stops the walk to the
	// parent directories' OWNERS files.
	NoParentOwners bool
	// Filters are the per-file-name sections, keyed by the regular
	// expression's source as written ("\\.go$"). The ".*" filter covers the
	// whole directory.
	Filters map[string]Filter
	// Labels are applied to pull requests; vexloom does not use them.
	Labels []string
}

// Filter is one section of an OWNERS file's filters: the people of the
// files whose names (relative to the OWNERS file) match its expression.
type Filter struct {
	Approvers         []string
	Reviewers         []string
	RequiredReviewers []string
	Labels            []string
}

// AllFiles is the filter expression that covers a whole directory.
const AllFiles = ".*"

// directoryApprovers returns the approvers of the file's whole directory:
// its own and those of its ".*" filter.
func (f *File) directoryApprovers() []string {
	if f == nil {
		return nil
	}
	all, ok := f.Filters[AllFiles]
	if !ok {
		return f.Approvers
	}
	return append(append([]string(nil), f.Approvers...), all.Approvers...)
}

// Aliases maps an alias name (lowercase) to its members, as written in
// OWNERS_ALIASES (normalized; a member may itself be an alias name).
type Aliases map[string][]string

// Warning is an OWNERS or OWNERS_ALIASES file that was not used, and why.
type Warning struct {
	// File is the file's path relative to the repository root.
	File string
	Err  error
}

func (w Warning) Error() string { return w.File + ": " + w.Err.Error() }

// Unwrap returns the reason.
func (w Warning) Unwrap() error { return w.Err }

// SyntaxError is one problem in a file, at a line.
type SyntaxError struct {
	// Line is 1-based; 0 when the problem concerns the whole file.
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return e.Msg
}

// Unwrap makes every SyntaxError an ErrInvalid.
func (e *SyntaxError) Unwrap() error { return ErrInvalid }

// The names' lengths are checked apart from their patterns: a bounded
// repetition compiles into as many states as its bound, at every start of
// the program.
var (
	// entryName is a GitHub login or an OWNERS_ALIASES alias name (which
	// Kubernetes writes like sig-release-leads), at most 100 bytes; the
	// same rule as the configuration's security_team.
	entryName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
	// loginName is a GitHub login: letters, digits and hyphens, at most 39.
	// Older accounts may have doubled or trailing hyphens, so those pass.
	loginName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]*$`)
)

func isEntryName(s string) bool { return len(s) <= 100 && entryName.MatchString(s) }
func isLoginName(s string) bool { return len(s) <= 39 && loginName.MatchString(s) }

// normalizeEntry turns an entry of an OWNERS list into its canonical form
// the way Prow does (spaces and a leading "@" dropped, lowercased), and
// checks it is a name. The check comes before lowercasing so that a
// non-ASCII letter that lowercases to an ASCII one (the Kelvin sign to "k")
// cannot pass for a login.
func normalizeEntry(s string) (string, bool) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "@")
	if !isEntryName(s) {
		return "", false
	}
	return strings.ToLower(s), true
}

// normalizeLogin checks that s is a GitHub login as GitHub reports a
// comment's author and returns it lowercased.
func normalizeLogin(s string) (string, bool) {
	if !isLoginName(s) {
		return "", false
	}
	return strings.ToLower(s), true
}
