package owners

import (
	"cmp"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"slices"
	"strings"
)

// Tree is every OWNERS file of a repository, by directory, with the
// repository's aliases. It is not changed after Load, so it may be shared
// between goroutines.
type Tree struct {
	// files maps a directory ("." for the root) to its OWNERS file.
	files map[string]*File
	// aliases are OWNERS_ALIASES as parsed; nil when the file is missing or
	// malformed.
	aliases Aliases
	// members maps each alias name to the logins it stands for:
	// lowercase, sorted, unique, never an alias name.
	members map[string][]string
}

// Load builds a Tree from the files named in files (slash-separated paths
// relative to the repository root, as `git ls-tree -r --name-only` lists
// them), reading each OWNERS file and the root OWNERS_ALIASES through read.
// Other paths are ignored, as are files under a directory named testdata
// or whose name starts with "." or "_" (the directories the go command
// ignores); vendor/ is read.
//
// A file that cannot be parsed is left out and reported as a Warning, and
// so is a path that is not clean; an unreadable OWNERS_ALIASES leaves the
// aliases unexpanded. Load fails only when read fails, or when there are
// more than MaxFiles OWNERS files.
func Load(files []string, read func(path string) ([]byte, error)) (*Tree, []Warning, error) {
	var (
		warnings []Warning
		owners   []string
		aliases  bool
		seen     = map[string]bool{}
	)
	for _, p := range files {
		if (path.Base(p) != OwnersFile && p != AliasesFile) || seen[p] {
			continue
		}
		seen[p] = true
		if !fs.ValidPath(p) {
			warnings = append(warnings, Warning{File: p, Err: ErrPath})
			continue
		}
		if ignoredDir(path.Dir(p)) {
			continue
		}
		if p == AliasesFile {
			aliases = true
			continue
		}
		owners = append(owners, p)
	}
	if len(owners) > MaxFiles {
		return nil, nil, fmt.Errorf("reading OWNERS files: %w: %d of them, at most %d", ErrTooLarge, len(owners), MaxFiles)
	}
	slices.Sort(owners)

	t := &Tree{files: make(map[string]*File, len(owners))}
	for _, p := range owners {
		data, err := read(p)
		if err != nil {
			return nil, nil, fmt.Errorf("reading %s: %w", p, err)
		}
		f, err := ParseFile(data)
		if err != nil {
			warnings = append(warnings, Warning{File: p, Err: err})
			continue
		}
		t.files[path.Dir(p)] = f
	}
	if aliases {
		data, err := read(AliasesFile)
		if err != nil {
			return nil, nil, fmt.Errorf("reading %s: %w", AliasesFile, err)
		}
		a, err := ParseAliases(data)
		if err != nil {
			warnings = append(warnings, Warning{File: AliasesFile, Err: fmt.Errorf("aliases are not expanded: %w", err)})
		} else {
			t.aliases = a
		}
	}
	t.members = expandAliases(t.aliases)
	sortWarnings(warnings)
	return t, warnings, nil
}

// LoadDir is Load over the files of a directory on disk (the
// configuration's owners.path). Files are read through an os.Root, so a
// symbolic link cannot lead outside root; one that tries is a Warning.
func LoadDir(root string) (*Tree, []Warning, error) {
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, nil, fmt.Errorf("reading OWNERS files: %w", err)
	}
	defer r.Close()
	var (
		files    []string
		warnings []Warning
	)
	err = fs.WalkDir(r.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && ignoredName(d.Name()) {
				return fs.SkipDir
			}
			return nil
		}
		if d.Name() != OwnersFile && p != AliasesFile {
			return nil
		}
		mode := d.Type()
		if mode&fs.ModeSymlink != 0 {
			fi, err := r.Stat(p)
			if err != nil {
				warnings = append(warnings, Warning{File: p, Err: fmt.Errorf("following the symbolic link: %w", err)})
				return nil
			}
			mode = fi.Mode()
		}
		if !mode.IsRegular() {
			warnings = append(warnings, Warning{File: p, Err: fmt.Errorf("%w: not a regular file", ErrInvalid)})
			return nil
		}
		files = append(files, p)
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("reading OWNERS files in %s: %w", root, err)
	}
	t, more, err := Load(files, func(p string) ([]byte, error) {
		f, err := r.Open(p)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		// One byte past the limit is enough for ParseFile to refuse it.
		return io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	})
	if err != nil {
		return nil, nil, err
	}
	warnings = append(warnings, more...)
	sortWarnings(warnings)
	return t, warnings, nil
}

func sortWarnings(w []Warning) {
	slices.SortStableFunc(w, func(a, b Warning) int { return cmp.Compare(a.File, b.File) })
}

// ignoredDir reports whether a directory (slash separated) is or is inside
// one whose files are not read.
func ignoredDir(dir string) bool {
	if dir == "." {
		return false
	}
	for name := range strings.SplitSeq(dir, "/") {
		if ignoredName(name) {
			return true
		}
	}
	return false
}

func ignoredName(name string) bool {
	return name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")
}

// expandAliases returns each alias's logins. Kubernetes' aliases do not
// nest; an alias that names another alias gets that alias's members, and
// no deeper: a name that would need a third expansion (a loop among them)
// is dropped, never taken for a login.
func expandAliases(a Aliases) map[string][]string {
	out := make(map[string][]string, len(a))
	for name, members := range a {
		set := map[string]bool{}
		for _, m := range members {
			sub, nested := a[m]
			if !nested {
				set[m] = true
				continue
			}
			for _, s := range sub {
				if _, deeper := a[s]; !deeper {
					set[s] = true
				}
			}
		}
		out[name] = slices.Sorted(maps.Keys(set))
	}
	return out
}

// logins returns the logins an OWNERS entry stands for.
func (t *Tree) logins(entry string) []string {
	if m, ok := t.members[entry]; ok {
		return m
	}
	return []string{entry}
}

// cleanDir returns dir as a clean slash-separated path relative to the
// root ("." for the root itself), or false when it is not one.
func cleanDir(dir string) (string, bool) {
	if dir == "" {
		return ".", true
	}
	dir = path.Clean(dir)
	if !fs.ValidPath(dir) {
		return "", false
	}
	return dir, true
}

// walk calls fn for the OWNERS files that govern dir, nearest first: dir's
// own, then its parents', up to the root or a file with no_parent_owners.
func (t *Tree) walk(dir string, fn func(dir string, f *File)) {
	for d := dir; ; d = path.Dir(d) {
		if f, ok := t.files[d]; ok {
			fn(d, f)
			if f.NoParentOwners {
				return
			}
		}
		if d == "." {
			return
		}
	}
}

// Approvers returns the effective approvers of dir (slash separated, "."
// for the root): those of its OWNERS file and of every parent's up to the
// root or to a file with no_parent_owners, including each file's ".*"
// filter, with aliases expanded; lowercase, sorted, unique. Other filters
// cover only some files of a directory and do not count.
func (t *Tree) Approvers(dir string) []string {
	if t == nil {
		return nil
	}
	dir, ok := cleanDir(dir)
	if !ok {
		return nil
	}
	set := map[string]bool{}
	t.walk(dir, func(_ string, f *File) {
		for _, e := range f.directoryApprovers() {
			for _, l := range t.logins(e) {
				set[l] = true
			}
		}
	})
	return slices.Sorted(maps.Keys(set))
}

// Alias returns the logins an OWNERS_ALIASES alias stands for (lowercase,
// sorted), and whether it is defined. Names are case-insensitive.
func (t *Tree) Alias(name string) ([]string, bool) {
	if t == nil {
		return nil, false
	}
	name, ok := normalizeEntry(name)
	if !ok {
		return nil, false
	}
	m, ok := t.members[name]
	return slices.Clone(m), ok
}

// File returns the OWNERS file of dir, if it has one that was read.
func (t *Tree) File(dir string) (*File, bool) {
	if t == nil {
		return nil, false
	}
	dir, ok := cleanDir(dir)
	if !ok {
		return nil, false
	}
	f, ok := t.files[dir]
	return f, ok
}

// Dirs returns the directories that have an OWNERS file, sorted.
func (t *Tree) Dirs() []string {
	if t == nil {
		return nil
	}
	return slices.Sorted(maps.Keys(t.files))
}
