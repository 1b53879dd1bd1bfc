package chatops

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/vexloom/vexloom/internal/branch"
)

// readBranches reads the value of branches=: names or patterns separated
// by commas. It returns them without duplicates, in the order written, or
// the reason they cannot be read.
func readBranches(value string) ([]string, string) {
	if value == "" {
		return nil, fmt.Sprintf("%s names no branch; write for example %s or %s", code("branches="), code("branches=release-1.33"), code("branches=release-1.*"))
	}
	parts := strings.Split(value, ",")
	if len(parts) > MaxBranches {
		return nil, fmt.Sprintf("%s lists %d branches; at most %d may be given (use a pattern such as %s)", code("branches="), len(parts), MaxBranches, code("release-1.*"))
	}
	var branches []string
	for _, b := range parts {
		if b == "" {
			return nil, fmt.Sprintf("%s has an empty branch name; separate branches with commas and no spaces: %s", code("branches="+value), code("branches=release-1.32,release-1.33"))
		}
		if err := CheckBranch(b); err != nil {
			return nil, err.Error()
		}
		if !slices.Contains(branches, b) {
			branches = append(branches, b)
		}
	}
	return branches, ""
}

// ErrBranch is wrapped by CheckBranch's errors.
var ErrBranch = errors.New("not a branch name or pattern")

// CheckBranch checks that a branch name, or a pattern in the syntax of Go's
// path.Match, is one a git repository could plausibly have: at most
// MaxBranchSize bytes of letters, digits and . _ - / + @ # % (and * ? [ ]
// in patterns), without the sequences git forbids in refs. The errors wrap
// ErrBranch.
func CheckBranch(b string) error {
	bad := func(why string) error {
		return fmt.Errorf("%w: %s %s", ErrBranch, code(shown(b)), why)
	}
	if b == "" {
		return bad("is empty")
	}
	if len(b) > MaxBranchSize {
		return bad(fmt.Sprintf("is %d bytes long; a branch name is at most %d", len(b), MaxBranchSize))
	}
	glob := false
	for _, r := range b {
		switch {
		case r == '*' || r == '?' || r == '[' || r == ']':
			glob = true
		case unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("._-/+@#%", r):
		case unicode.IsSpace(r):
			return bad("holds a space; separate branches with commas and no spaces")
		default:
			return bad(fmt.Sprintf("holds %q; branch names are made of letters, digits and . _ - / + @ # %%, patterns also of * ? [ ]", r))
		}
	}
	switch {
	case strings.Contains(b, ".."):
		return bad(`holds ".."`)
	case strings.Contains(b, "//"):
		return bad(`holds "//"`)
	case strings.HasPrefix(b, "-"):
		return bad(`starts with "-"`)
	case strings.HasPrefix(b, "/"), strings.HasSuffix(b, "/"):
		return bad(`starts or ends with "/"`)
	case strings.HasSuffix(b, "."):
		return bad(`ends with "."`)
	case b == "@":
		return bad("is not a branch")
	}
	for _, c := range strings.Split(b, "/") {
		if strings.HasPrefix(c, ".") {
			return bad(`has a part starting with "."`)
		}
		if strings.HasSuffix(c, ".lock") {
			return bad(`has a part ending with ".lock"`)
		}
	}
	if glob {
		if err := branch.CheckPattern(b); err != nil {
			return bad("is not a valid pattern (see Go's path.Match)")
		}
	}
	return nil
}
