package owners

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestLoadKubernetes(t *testing.T) {
	tree, warnings := loadMap(t, kubernetes)

	wantDirs := []string{".", "pkg", "pkg/kubelet", "staging", "staging/src/k8s.io/apiserver", "test/e2e", "vendor"}
	if got := tree.Dirs(); !reflect.DeepEqual(got, wantDirs) {
		t.Errorf("Dirs = %q, want %q", got, wantDirs)
	}

	var got []string
	for _, w := range warnings {
		if !errors.Is(w, ErrInvalid) {
			t.Errorf("warning %v is not ErrInvalid", w)
		}
		got = append(got, w.Error())
	}
	want := []string{
		"cmd/OWNERS: line 2: not valid YAML: did not find expected key",
		`hack/OWNERS: line 1: approvers: want a list (one a GitHub login or alias name per line, each after "- "), got a string`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("warnings =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	root := []string{"cpanato", "dims", "jeremyrickard", "justaugustus", "saschagrunert", "thockin"}
	for _, tc := range []struct {
		dir  string
		want []string
	}{
		// The ".*" filter's approvers, the sig-release-leads alias
		// expanded; not the "\.md$" filter's, not the emeritus ones.
		{".", root},
		{"", root},
		{"./", root},
		{"docs", root},
		// no_parent_owners: only the dependency approvers.
		{"vendor", []string{"bentheelder", "dims", "liggitt"}},
		{"vendor/golang.org/x/net", []string{"bentheelder", "dims", "liggitt"}},
		{"vendor/golang.org/x/net/", []string{"bentheelder", "dims", "liggitt"}},
		// pkg stops the walk; pkg/kubelet's ".*" filter counts, its "\.go$"
		// filter does not.
		{"pkg/kubelet/cm", []string{"dchen1107", "kubelet-kim", "liggitt"}},
		{"pkg/api", []string{"dchen1107", "liggitt"}},
		// The staging directory with no_parent_owners: staging-sam's
		// staging/OWNERS above it does not count.
		{"staging/src/k8s.io/apiserver/pkg/util", []string{"deads2k", "jpbetz", "sttts"}},
		{"staging/src/k8s.io/api", append([]string{"staging-sam"}, root...)},
		// Aliases inside aliases are expanded once; a loop ends.
		{"test/e2e", []string{"cpanato", "dims", "jeremyrickard", "justaugustus", "puerco", "saschagrunert", "thockin", "yan", "zed"}},
		// The malformed files are skipped: their parents decide.
		{"hack", root},
		{"cmd/kubectl", root},
		// Files in directories the go command ignores are not read.
		{"testdata", root},
		{"pkg/api/testdata", []string{"dchen1107", "liggitt"}},
		{".github", root},
		{"_output/bin", root},
		// Not a directory of the repository.
		{"..", nil},
		{"../vendor", nil},
		{"/pkg", nil},
	} {
		got := tree.Approvers(tc.dir)
		want := slices.Sorted(slices.Values(tc.want))
		if len(got) != len(want) || (len(want) > 0 && !reflect.DeepEqual(got, want)) {
			t.Errorf("Approvers(%q) = %q, want %q", tc.dir, got, want)
		}
	}

	for _, tc := range []struct {
		name string
		want []string
		ok   bool
	}{
		{"sig-release-leads", []string{"cpanato", "jeremyrickard", "justaugustus", "saschagrunert"}, true},
		{"SIG-Release-Leads", []string{"cpanato", "jeremyrickard", "justaugustus", "saschagrunert"}, true},
		{"release-engineering-approvers", []string{"cpanato", "jeremyrickard", "justaugustus", "puerco", "saschagrunert"}, true},
		{"loop-a", []string{"yan", "zed"}, true},
		{"loop-b", []string{"yan", "zed"}, true},
		{"dims", nil, false},
		{"x", nil, false}, // staging/OWNERS_ALIASES is not the root's
		{"", nil, false},
	} {
		got, ok := tree.Alias(tc.name)
		if ok != tc.ok || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Alias(%q) = %q, %v; want %q, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}

	f, ok := tree.File("vendor/")
	if !ok || !f.NoParentOwners || !reflect.DeepEqual(f.Approvers, []string{"dep-approvers"}) {
		t.Errorf("File(vendor/) = %#v, %v", f, ok)
	}
	if f, ok := tree.File("hack"); ok {
		t.Errorf("File(hack) = %#v for a malformed file", f)
	}
}

func TestLoadAliasesProblems(t *testing.T) {
	for _, tc := range []struct {
		name    string
		aliases string
		want    []string // Approvers(".")
		warning string
	}{{
		name:    "malformed: aliases are not expanded",
		aliases: "aliases:\n  team: alice\n",
		want:    []string{"bob", "team"},
		warning: "OWNERS_ALIASES: aliases are not expanded: line 2: aliases.team: want a list",
	}, {
		name:    "too large",
		aliases: strings.Repeat("#", MaxFileSize+1),
		want:    []string{"bob", "team"},
		warning: "OWNERS_ALIASES: aliases are not expanded: too large: larger than 1048576 bytes",
	}, {
		name: "alias loop of three",
		aliases: `aliases:
  team: [a, carol]
  a: [b, dave]
  b: [team, erin]
`,
		// team → a's members (b dropped: a third level), carol.
		want: []string{"bob", "carol", "dave"},
	}, {
		name:    "an alias naming itself",
		aliases: "aliases:\n  team: [team, carol]\n",
		want:    []string{"bob", "carol"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			tree, warnings := loadMap(t, map[string]string{
				"OWNERS":         "approvers: [team, bob]\n",
				"OWNERS_ALIASES": tc.aliases,
			})
			if got := tree.Approvers("."); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Approvers(.) = %q, want %q", got, tc.want)
			}
			switch {
			case tc.warning == "" && len(warnings) > 0:
				t.Errorf("warnings: %v", warnings)
			case tc.warning != "" && (len(warnings) != 1 || !strings.HasPrefix(warnings[0].Error(), tc.warning)):
				t.Errorf("warnings = %v, want one starting %q", warnings, tc.warning)
			}
		})
	}
}

func TestLoadPaths(t *testing.T) {
	files := map[string]string{
		"OWNERS":         "approvers: [root]\n",
		"a/OWNERS":       "approvers: [ann]\n",
		"/etc/OWNERS":    "approvers: [abs]\n",
		"b/../OWNERS":    "approvers: [dots]\n",
		"c//OWNERS":      "approvers: [double]\n",
		"./d/OWNERS":     "approvers: [dot]\n",
		"sub/OWNERS.bak": "approvers: [bak]\n",
	}
	// The same path twice is read once.
	paths := append(slices.Sorted(maps.Keys(files)), "a/OWNERS")
	reads := map[string]int{}
	tree, warnings, err := Load(paths, func(p string) ([]byte, error) {
		reads[p]++
		return readMap(files)(p)
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range warnings {
		if !errors.Is(w, ErrPath) {
			t.Errorf("warning %v is not ErrPath", w)
		}
		got = append(got, w.File)
	}
	if want := []string{"./d/OWNERS", "/etc/OWNERS", "b/../OWNERS", "c//OWNERS"}; !reflect.DeepEqual(got, want) {
		t.Errorf("warnings for %q, want %q", got, want)
	}
	if want := map[string]int{"OWNERS": 1, "a/OWNERS": 1}; !reflect.DeepEqual(reads, want) {
		t.Errorf("reads = %v, want %v", reads, want)
	}
	if got, want := tree.Approvers("a/x"), []string{"ann", "root"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Approvers(a/x) = %q, want %q", got, want)
	}
}

func TestLoadErrors(t *testing.T) {
	boom := errors.New("boom")
	_, _, err := Load([]string{"OWNERS", "pkg/OWNERS"}, func(p string) ([]byte, error) {
		if p == "pkg/OWNERS" {
			return nil, boom
		}
		return []byte("approvers: [a]\n"), nil
	})
	if !errors.Is(err, boom) || err.Error() != "reading pkg/OWNERS: boom" {
		t.Errorf("Load with a failing read: %v", err)
	}

	_, _, err = Load([]string{"OWNERS_ALIASES"}, func(string) ([]byte, error) { return nil, boom })
	if !errors.Is(err, boom) || err.Error() != "reading OWNERS_ALIASES: boom" {
		t.Errorf("Load with a failing read of the aliases: %v", err)
	}

	many := make([]string, MaxFiles+1)
	for i := range many {
		many[i] = fmt.Sprintf("d%d/OWNERS", i)
	}
	_, _, err = Load(many, func(string) ([]byte, error) {
		t.Fatal("read called for too many files")
		return nil, nil
	})
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("Load with %d files: %v", len(many), err)
	}

	// No files at all: an empty tree, nobody approves.
	tree, warnings, err := Load(nil, nil)
	if err != nil || len(warnings) > 0 || len(tree.Approvers(".")) > 0 || len(tree.Dirs()) > 0 {
		t.Errorf("Load(nil) = %v, %v, %v", tree, warnings, err)
	}
}

func TestLoadDir(t *testing.T) {
	root := writeTree(t, kubernetes)
	tree, warnings, err := LoadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	want, wantWarnings := loadMap(t, kubernetes)
	if !reflect.DeepEqual(tree, want) {
		t.Errorf("LoadDir differs from Load:\n%#v\n%#v", tree, want)
	}
	if fmt.Sprint(warnings) != fmt.Sprint(wantWarnings) {
		t.Errorf("LoadDir warnings %v, Load's %v", warnings, wantWarnings)
	}
}

func TestLoadDirHostile(t *testing.T) {
	outside := writeTree(t, map[string]string{"OWNERS": "approvers: [mallory]\n"})
	root := writeTree(t, map[string]string{
		"OWNERS":       "approvers: [root]\n",
		"big/OWNERS":   "approvers: [big]\n" + strings.Repeat("# padding\n", MaxFileSize/10),
		"inner/OWNERS": "approvers: [inner]\n",
	})
	// A directory named OWNERS, a link out of the tree, a link inside it, a
	// dangling link.
	mustDo(t, os.MkdirAll(filepath.Join(root, "dir", "OWNERS"), 0o755))
	mustDo(t, os.MkdirAll(filepath.Join(root, "escape"), 0o755))
	mustDo(t, os.Symlink(filepath.Join(outside, "OWNERS"), filepath.Join(root, "escape", "OWNERS")))
	mustDo(t, os.MkdirAll(filepath.Join(root, "linked"), 0o755))
	mustDo(t, os.Symlink(filepath.Join("..", "inner", "OWNERS"), filepath.Join(root, "linked", "OWNERS")))
	mustDo(t, os.MkdirAll(filepath.Join(root, "dangling"), 0o755))
	mustDo(t, os.Symlink("nowhere", filepath.Join(root, "dangling", "OWNERS")))
	// A link to a directory is not followed.
	mustDo(t, os.Symlink(outside, filepath.Join(root, "outside")))

	tree, warnings, err := LoadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range warnings {
		got = append(got, w.File)
	}
	if want := []string{"big/OWNERS", "dangling/OWNERS", "escape/OWNERS"}; !reflect.DeepEqual(got, want) {
		t.Errorf("warnings for %q, want %q: %v", got, want, warnings)
	}
	for _, w := range warnings {
		if w.File == "big/OWNERS" && !errors.Is(w, ErrTooLarge) {
			t.Errorf("%v is not ErrTooLarge", w)
		}
	}
	for dir, want := range map[string][]string{
		"escape":  {"root"},
		"outside": {"root"},
		"linked":  {"inner", "root"},
		"big":     {"root"},
	} {
		if got := tree.Approvers(dir); !reflect.DeepEqual(got, want) {
			t.Errorf("Approvers(%s) = %q, want %q", dir, got, want)
		}
	}

	if _, _, err := LoadDir(filepath.Join(root, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadDir of a missing directory: %v", err)
	}
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
