package scan

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The analysed code leaves out exactly what the engine cannot see: the text
// of string literals (not their length, position, nor import paths, struct
// tags and cgo), test files' contents. Anything else that changes changes
// it.
func TestAnalysisDigest(t *testing.T) {
	t.Parallel()
	const mainGo = "package main\n\nimport \"unicode/utf8\"\n\ntype T struct {\n\tA int `json:\"a\"`\n}\n\nfunc main() { println(utf8.RuneLen('x'), T{}.A, Version) }\n"
	base := map[string]string{
		"go.mod":             "module example.com/m\n\ngo 1.24\n",
		"main.go":            mainGo,
		"version.go":         "package main\n\n// Version is the release.\nconst Version = \"v1.0.1\"\n",
		"main_test.go":       "package main\n",
		"README":             "read me\n",
		"sub/go.mod":         "module example.com/m/sub\n",
		"sub/x.go":           "package sub\n",
		"c/c.go":             "package c\n\n// #include <stdio.h>\nimport \"C\"\n\nvar s = \"one\"\n",
		".git/HEAD":          "ref: refs/heads/main\n",
		"vendor/modules.txt": "# nothing\n",
	}
	digest := func(t *testing.T, change map[string]string) string {
		t.Helper()
		root := t.TempDir()
		files := map[string]string{}
		for n, c := range base {
			files[n] = c
		}
		for n, c := range change {
			if c == "" {
				delete(files, n)
				continue
			}
			files[n] = c
		}
		for n, c := range files {
			p := filepath.Join(root, filepath.FromSlash(n))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		d, err := AnalysisDigest(context.Background(), root, []string{"."})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	want := digest(t, nil)
	for _, tc := range []struct {
		name   string
		change map[string]string
		same   bool
	}{
		{"a string constant's text", map[string]string{"version.go": "package main\n\n// Version is the release.\nconst Version = \"v1.0.2\"\n"}, true},
		{"a raw string for an interpreted one", map[string]string{"version.go": "package main\n\n// Version is the release.\nconst Version = `v1.0.9`\n"}, false},
		{"a test file's content", map[string]string{"main_test.go": "package main\n\nfunc f() {}\n"}, true},
		{"a nested module", map[string]string{"sub/x.go": "package sub\n\nfunc F() {}\n"}, true},
		{"git's files", map[string]string{".git/HEAD": "ref: refs/heads/other\n"}, true},
		{"a worktree's .git file", map[string]string{".git/HEAD": "", ".git": "gitdir: /elsewhere/worktrees/x\n"}, true},
		{"a string constant's length", map[string]string{"version.go": "package main\n\n// Version is the release.\nconst Version = \"v1.0.10\"\n"}, false},
		{"a comment", map[string]string{"version.go": "package main\n\n// Version is this release.\nconst Version = \"v1.0.1\"\n"}, false},
		{"an import path", map[string]string{"main.go": strings.ReplaceAll(mainGo, `"unicode/utf8"`, `"unicode/utf16"`)}, false},
		{"a struct tag", map[string]string{"main.go": strings.ReplaceAll(mainGo, "`json:\"a\"`", "`json:\"b\"`")}, false},
		{"a called function", map[string]string{"main.go": strings.ReplaceAll(mainGo, "utf8.RuneLen('x')", "utf8.ValidRune('x')")}, false},
		{"a rune literal", map[string]string{"main.go": strings.ReplaceAll(mainGo, "'x'", "'y'")}, false},
		{"a position", map[string]string{"main.go": strings.ReplaceAll(mainGo, "func main() {", "func main()  {")}, false},
		{"a string in a cgo file", map[string]string{"c/c.go": "package c\n\n// #include <stdio.h>\nimport \"C\"\n\nvar s = \"two\"\n"}, false},
		{"a file that does not parse", map[string]string{"bad.go": "package main\n\nfunc {\n"}, false},
		{"a new file", map[string]string{"more.go": "package main\n"}, false},
		{"a removed file", map[string]string{"README": ""}, false},
		{"a file that is not Go", map[string]string{"README": "read me again\n"}, false},
		{"go.mod", map[string]string{"go.mod": "module example.com/m\n\ngo 1.25\n"}, false},
		{"vendor", map[string]string{"vendor/modules.txt": "# something\n"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := digest(t, tc.change); (got == want) != tc.same {
				t.Errorf("digest %s, base %s: same = %v, want %v", got, want, got == want, tc.same)
			}
		})
	}

	// A file that does not parse counts byte for byte.
	bad := map[string]string{"bad.go": "package main\n\nfunc {\n\"a\"\n"}
	if digest(t, bad) == digest(t, map[string]string{"bad.go": "package main\n\nfunc {\n\"b\"\n"}) {
		t.Error("two files that do not parse, with different strings, have the same digest")
	}
}
