package config

import (
	"errors"
	"path"
	"reflect"
	"strings"
	"testing"
	"unicode"

	"golang.org/x/mod/module"
)

func FuzzParse(f *testing.F) {
	f.Add([]byte(valid))
	f.Add([]byte(withGitHub))
	f.Add([]byte(withGitHub + "    app_id: 1\n    installation_id: 2\n    private_key: k.pem\n    labels: {open: a, closed: b}\n"))
	for _, b := range bombs {
		f.Add([]byte(b))
	}
	for _, o := range []InitOptions{
		{Module: "example.com/m", Branches: []string{"main"}},
		{Module: "k8s.io/kubernetes", Repository: "https://github.com/kubernetes/kubernetes", Branches: []string{"master", "release-1.*"},
			Triage: "github", SecurityTeam: []string{"src"}, Author: "K8s <security@kubernetes.io>"},
	} {
		data, err := Starter(o)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"", "---\n", "version: 1\n---\nversion: 1\n", "\tversion: 1\n", "version: [\n", "a: *x\n",
		"version: 1\nproject: {module: example.com/m, repository: .}\nbranches: ['[']\n",
		"version: 1\nproject: {module: example.com/m, repository: .}\nbranches: [main]\nscan: {go_version: 1.26rc1, tags: [a]}\n",
		"version: 1\nproject: &p {module: example.com/m, repository: git@h:p}\nbranches: &b [main]\nscan: {modules: *b}\n",
		"version: 1\n<<: {a: 1}\n", "? [a]\n: b\n", "version: !!binary aGVsbG8=\n",
	} {
		f.Add([]byte(s))
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(FileName, data)
		if err != nil {
			if c != nil {
				t.Fatal("a config with an error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("not ErrInvalid: %v", err)
			}
			lines := len(splitLines(data)) + 1 // yaml may point just past the end
			for _, l := range strings.Split(err.Error(), "\n") {
				if len(data) > MaxFileSize {
					break
				}
				if !fileLine.MatchString(l) {
					t.Fatalf("problem without file:line: %q", l)
				}
			}
			var e *Error
			if errors.As(err, &e) && (e.Line < 1 || e.Line > lines) {
				t.Fatalf("line %d of a %d-line file: %v", e.Line, lines, err)
			}
			return
		}
		checkInvariants(t, c)

		// Starter can write every accepted configuration's init values,
		// and they read back the same.
		o := InitOptions{
			Repository: c.Project.Repository, Branches: c.Branches, Module: c.Project.Module,
			Owners: c.Owners.Path, Triage: c.Triage.Backend, SecurityTeam: c.Owners.SecurityTeam, Author: c.Project.Author,
		}
		if c.Triage.Backend == BackendGitHub {
			o.TriageRepository = c.Triage.GitHub.Repository
		}
		start, err := Starter(o)
		if err != nil {
			t.Fatalf("Starter(%+v) = %v", o, err)
		}
		back, err := Parse(FileName, start)
		if err != nil {
			t.Fatalf("Parse(Starter(%+v)) = %v", o, err)
		}
		if back.Project != c.Project || !reflect.DeepEqual(back.Branches, c.Branches) || back.Owners.Path != c.Owners.Path ||
			!reflect.DeepEqual(back.Owners.SecurityTeam, c.Owners.SecurityTeam) || back.Triage.Backend != c.Triage.Backend ||
			back.Triage.GitHub.Repository != c.Triage.GitHub.Repository {
			t.Fatalf("Starter round trip:\n%+v\n%+v", c, back)
		}
	})
}

// checkInvariants checks what every accepted configuration satisfies.
func checkInvariants(t *testing.T, c *Config) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("accepted config %+v: "+format, append([]any{c}, args...)...)
	}
	if c.Version != 1 {
		fail("version %d", c.Version)
	}
	if err := module.CheckPath(c.Project.Module); err != nil {
		fail("module: %v", err)
	}
	if c.Project.Repository == "" || checkRepository(c.Project.Repository) != nil {
		fail("repository %q", c.Project.Repository)
	}
	if c.Project.Author == "" {
		fail("no author")
	}
	if len(c.Branches) == 0 {
		fail("no branches")
	}
	seen := map[string]bool{}
	for _, b := range c.Branches {
		if _, err := path.Match(b, "x"); err != nil || b == "" || seen[b] || strings.HasPrefix(b, "-") {
			fail("branch %q", b)
		}
		seen[b] = true
	}
	if len(c.Scan.Packages) == 0 || c.Database.Source == "" || c.VEX.Dir == "" || c.Store.Path == "" {
		fail("a default is missing")
	}
	if cleanSlash(c.VEX.Dir) == cleanSlash(c.Store.Path) {
		fail("vex.dir is store.path")
	}
	g := c.Triage.GitHub
	switch c.Triage.Backend {
	case BackendLocal:
		if g != (GitHub{}) {
			fail("github settings with the local backend")
		}
	case BackendGitHub:
		if checkGitHubRepository(g.Repository) != nil || checkAPIURL(g.API) != nil || !strings.HasSuffix(g.API, "/") ||
			checkEnvName(g.WebhookSecretEnv) != nil {
			fail("github %+v", g)
		}
		if (g.AppID > 0) != (g.InstallationID > 0) || (g.AppID > 0) != (g.PrivateKey != "") || g.AppID < 0 {
			fail("github app %+v", g)
		}
		labels := map[string]bool{}
		for _, l := range []string{g.Labels.Open, g.Labels.Assessed, g.Labels.Published, g.Labels.Closed} {
			if l == "" || labels[strings.ToLower(l)] {
				fail("labels %+v", g.Labels)
			}
			labels[strings.ToLower(l)] = true
		}
	default:
		fail("backend %q", c.Triage.Backend)
	}
	// No value holds a control character.
	var strs []string
	strs = append(strs, c.Project.Module, c.Project.Repository, c.Project.Author, c.Scan.GoVersion, c.Database.Source,
		c.Owners.Path, g.Repository, g.API, g.PrivateKey, g.WebhookSecretEnv, c.VEX.Dir, c.Store.Path)
	for _, l := range [][]string{c.Branches, c.Scan.Modules, c.Scan.Packages, c.Scan.Tags, c.Owners.SecurityTeam} {
		strs = append(strs, l...)
	}
	for _, s := range strs {
		if strings.IndexFunc(s, unicode.IsControl) >= 0 {
			fail("control character in %q", s)
		}
	}
}
