package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func mustParse(t *testing.T, name, data string) *Config {
	t.Helper()
	c, err := Parse(name, []byte(data))
	if err != nil {
		t.Fatalf("Parse:\n%s\n=> %v", data, err)
	}
	return c
}

func TestParseDefaults(t *testing.T) {
	c := mustParse(t, FileName, valid)
	want := Config{
		Version: 1,
		Project: Project{
			Module:     "k8s.io/kubernetes",
			Repository: "https://github.com/kubernetes/kubernetes",
			Author:     "k8s.io/kubernetes maintainers",
		},
		Branches: []string{"master", "release-1.*"},
		Scan:     Scan{Packages: []string{"./..."}},
		Database: Database{Source: "golang.org/x/vulndb@latest"},
		Triage:   Triage{Backend: BackendLocal},
		VEX:      VEX{Dir: "vex"},
		Store:    Store{Path: ".vexloom"},
	}
	wd, _ := os.Getwd()
	want.Path, want.Dir = FileName, wd
	if !reflect.DeepEqual(*c, want) {
		t.Errorf("Parse =\n%+v\nwant\n%+v", *c, want)
	}
}

func TestParseGitHubDefaults(t *testing.T) {
	for _, tc := range []struct{ repo, want string }{
		{"https://github.com/kubernetes/kubernetes", "kubernetes/.vexloom"},
		{"https://github.com/kubernetes/kubernetes.git", "kubernetes/.vexloom"},
		{"ssh://git@github.com/Example-Org/repo", "Example-Org/.vexloom"},
		{"git@github.com:acme/widget.git", "acme/.vexloom"},
		{"git://www.GitHub.com/acme/widget", "acme/.vexloom"},
	} {
		data := strings.Replace(valid, "https://github.com/kubernetes/kubernetes", `"`+tc.repo+`"`, 1) + "triage:\n  backend: github\n"
		c := mustParse(t, FileName, data)
		want := GitHub{
			Repository:       tc.want,
			API:              "https://api.github.com/",
			WebhookSecretEnv: "VEXLOOM_WEBHOOK_SECRET",
			Labels:           Labels{Open: "vex/open", Assessed: "vex/assessed", Published: "vex/published", Closed: "vex/closed"},
		}
		if c.Triage.GitHub != want {
			t.Errorf("%s: GitHub = %+v, want %+v", tc.repo, c.Triage.GitHub, want)
		}
	}
}

func TestParseEveryKey(t *testing.T) {
	data := `version: 1
project:
  module: example.com/proj/v2
  repository: ../proj
  author: "Proj Security <security@example.com>"
branches: [main, "release-[0-9]*", "v2.?"]
scan:
  modules: [example.com/proj/v2, ./tools, staging/src/example.com/api]
  packages: [./cmd/..., example.com/proj/v2/pkg/...]
  tags: [linux, go1.26, with_cgo]
  go_version: go1.26.8
database:
  source: dir:osv
owners:
  path: owners
  security_team: [sig-security-leads, alice]
triage:
  backend: github
  github:
    repository: proj-org/triage
    api: http://127.0.0.1:8080/api/v3
    app_id: 123
    installation_id: 0x10
    private_key: keys/app.pem
    webhook_secret_env: PROJ_HOOK_SECRET
    labels:
      open: needs-vex
      assessed: vex-decided
vex:
  dir: out/vex
store:
  path: /var/lib/vexloom
`
	c := mustParse(t, "cfg/vexloom.yaml", data)
	want := Config{
		Version:  1,
		Project:  Project{Module: "example.com/proj/v2", Repository: "../proj", Author: "Proj Security <security@example.com>"},
		Branches: []string{"main", "release-[0-9]*", "v2.?"},
		Scan: Scan{
			Modules:   []string{"example.com/proj/v2", "./tools", "staging/src/example.com/api"},
			Packages:  []string{"./cmd/...", "example.com/proj/v2/pkg/..."},
			Tags:      []string{"linux", "go1.26", "with_cgo"},
			GoVersion: "1.26.8",
		},
		Database: Database{Source: "dir:osv"},
		Owners:   Owners{Path: "owners", SecurityTeam: []string{"sig-security-leads", "alice"}},
		Triage: Triage{Backend: BackendGitHub, GitHub: GitHub{
			Repository: "proj-org/triage", API: "http://127.0.0.1:8080/api/v3/",
			AppID: 123, InstallationID: 16, PrivateKey: "keys/app.pem",
			WebhookSecretEnv: "PROJ_HOOK_SECRET",
			Labels:           Labels{Open: "needs-vex", Assessed: "vex-decided", Published: "vex/published", Closed: "vex/closed"},
		}},
		VEX:   VEX{Dir: "out/vex"},
		Store: Store{Path: "/var/lib/vexloom"},
	}
	wd, _ := os.Getwd()
	want.Path, want.Dir = "cfg/vexloom.yaml", filepath.Join(wd, "cfg")
	if !reflect.DeepEqual(*c, want) {
		t.Errorf("Parse =\n%+v\nwant\n%+v", *c, want)
	}
	if got := c.RepositorySpec(); got != filepath.Join(wd, "proj") {
		t.Errorf("RepositorySpec = %q", got)
	}
	if got := c.DatabaseSpec(); got != "dir:"+filepath.Join(wd, "cfg", "osv") {
		t.Errorf("DatabaseSpec = %q", got)
	}
	if got := c.Resolve(c.Triage.GitHub.PrivateKey); got != filepath.Join(wd, "cfg", "keys", "app.pem") {
		t.Errorf("Resolve(private_key) = %q", got)
	}
}

// TestSchemaKeys checks schemaKeys against the keys the decoder accepts: a
// file using every listed key parses, and a key that is not listed does not.
func TestSchemaKeys(t *testing.T) {
	start, err := Starter(InitOptions{Module: "example.com/m", Repository: "https://github.com/o/r", Branches: []string{"main"}, Triage: BackendGitHub})
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(start, &doc); err != nil {
		t.Fatal(err)
	}
	var keys []string
	var walk func(n *yaml.Node, where string)
	walk = func(n *yaml.Node, where string) {
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i < len(n.Content); i += 2 {
			p := join(where, n.Content[i].Value)
			keys = append(keys, p)
			walk(n.Content[i+1], p)
		}
	}
	walk(doc.Content[0], "")
	slices.Sort(keys)
	listed := slices.Sorted(slices.Values(schemaKeys))
	if !slices.Equal(keys, listed) {
		t.Errorf("keys of the full starter file:\n%v\nschemaKeys:\n%v", keys, listed)
	}
}

func TestResolve(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "proj")
	c := &Config{Dir: dir}
	abs := filepath.Join(t.TempDir(), "elsewhere")
	for in, want := range map[string]string{
		"":                "",
		".":               dir,
		"vex":             filepath.Join(dir, "vex"),
		"out/vex/":        filepath.Join(dir, "out", "vex"),
		"../sibling":      filepath.Join(filepath.Dir(dir), "sibling"),
		abs:               abs,
		abs + "/x/../y/.": filepath.Join(abs, "y"),
	} {
		if got := c.Resolve(in); got != want {
			t.Errorf("Resolve(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRepositorySpec(t *testing.T) {
	dir := t.TempDir()
	for repo, want := range map[string]string{
		"https://github.com/kubernetes/kubernetes": "https://github.com/kubernetes/kubernetes",
		"git@github.com:kubernetes/kubernetes.git": "git@github.com:kubernetes/kubernetes.git",
		"file:///srv/git/k.git":                    "file:///srv/git/k.git",
		".":                                        dir,
		"../upstream":                              filepath.Join(filepath.Dir(dir), "upstream"),
	} {
		c := &Config{Dir: dir, Project: Project{Repository: repo}}
		if got := c.RepositorySpec(); got != want {
			t.Errorf("RepositorySpec(%q) = %q, want %q", repo, got, want)
		}
	}
}

func TestDatabaseSpec(t *testing.T) {
	dir := t.TempDir()
	for src, want := range map[string]string{
		"golang.org/x/vulndb@latest":        "golang.org/x/vulndb@latest",
		"golang.org/x/vulndb@v0.0.0-2026":   "golang.org/x/vulndb@v0.0.0-2026",
		"https://vuln.example.com/":         "https://vuln.example.com/",
		"zip:https://osv.example.com/a.zip": "zip:https://osv.example.com/a.zip",
		"zip:osv/all.zip":                   "zip:" + filepath.Join(dir, "osv", "all.zip"),
		"dir:osv":                           "dir:" + filepath.Join(dir, "osv"),
		"osv.zip":                           filepath.Join(dir, "osv.zip"),
		"testdata/osv":                      filepath.Join(dir, "testdata", "osv"),
	} {
		c := &Config{Dir: dir, Database: Database{Source: src}}
		if got := c.DatabaseSpec(); got != want {
			t.Errorf("DatabaseSpec(%q) = %q, want %q", src, got, want)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, FileName)
	if err := os.WriteFile(p, []byte(valid), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.Path != p || c.Dir != dir || c.Resolve(c.VEX.Dir) != filepath.Join(dir, "vex") {
		t.Errorf("Path %q, Dir %q", c.Path, c.Dir)
	}

	// Relative paths are made absolute.
	t.Chdir(dir)
	c, err = Load(FileName)
	if err != nil || c.Path != p || c.Dir != dir {
		t.Errorf("Load(relative) = %+v, %v", c, err)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(filepath.Join(dir, FileName))
	if !errors.Is(err, ErrNotFound) || !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "vexloom init") {
		t.Errorf("missing file: %v", err)
	}

	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory: %v", err)
	}

	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, []byte(valid+"# "+strings.Repeat("x", MaxFileSize)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(big); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), big+": larger than") {
		t.Errorf("big file: %v", err)
	}

	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte(strings.Replace(valid, "branches:", "brnaches:", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(bad)
	var e *Error
	if !errors.Is(err, ErrInvalid) || !errors.As(err, &e) || e.File != bad || e.Line != 5 ||
		!strings.HasPrefix(err.Error(), bad+`:5: unknown key "brnaches" (did you mean "branches"?)`) {
		t.Errorf("bad file: %v", err)
	}
}

func TestFind(t *testing.T) {
	root := t.TempDir()
	repo := filepath.Join(root, "repo")
	deep := filepath.Join(repo, "cmd", "tool")
	if err := os.MkdirAll(filepath.Join(repo, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(p string) {
		t.Helper()
		if err := os.WriteFile(p, []byte(valid), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// A file above the repository is not the repository's.
	write(filepath.Join(root, FileName))
	_, err := Find(deep)
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "run `vexloom init`") || !strings.Contains(err.Error(), repo) {
		t.Errorf("Find above .git = %v", err)
	}

	// The repository's root file is found from any directory below it.
	write(filepath.Join(repo, FileName))
	for _, from := range []string{repo, deep, filepath.Join(repo, "cmd")} {
		if got, err := Find(from); err != nil || got != filepath.Join(repo, FileName) {
			t.Errorf("Find(%s) = %q, %v", from, got, err)
		}
	}

	// The nearest file wins.
	write(filepath.Join(deep, FileName))
	if got, err := Find(deep); err != nil || got != filepath.Join(deep, FileName) {
		t.Errorf("Find(nearest) = %q, %v", got, err)
	}

	// A .git file (a worktree or submodule) is a boundary too.
	sub := filepath.Join(repo, "third_party", "sub")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sub, ".git"), []byte("gitdir: ../../.git/modules/sub\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Find(sub); !errors.Is(err, ErrNotFound) {
		t.Errorf("Find(submodule) = %v", err)
	}

	// A relative start is made absolute.
	t.Chdir(filepath.Join(repo, "cmd"))
	if got, err := Find("."); err != nil || got != filepath.Join(repo, FileName) {
		t.Errorf("Find(.) = %q, %v", got, err)
	}

	// A directory named vexloom.yaml is not a file.
	odd := filepath.Join(root, "odd")
	if err := os.MkdirAll(filepath.Join(odd, FileName), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Find(odd); err == nil || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("Find(dir named %s) = %v", FileName, err)
	}
}

func TestSuggest(t *testing.T) {
	known := []string{"modules", "packages", "tags", "go_version"}
	for key, want := range map[string]string{
		"modlues":    "modules",
		"module":     "modules",
		"Packages":   "packages",
		"GoVersion":  "go_version",
		"go-version": "go_version",
		"tag":        "tags",
		"pkgs":       "",
		"x":          "",
		"":           "",
	} {
		if got := suggest(key, known); got != want {
			t.Errorf("suggest(%q) = %q, want %q", key, got, want)
		}
	}
	for _, tc := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"abc", "", 3}, {"brnaches", "branches", 1}, {"kitten", "sitting", 3}, {"ca", "abc", 3}, {"é", "e", 1}} {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
