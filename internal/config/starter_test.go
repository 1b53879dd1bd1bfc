package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestStarterRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    InitOptions
		want func(c *Config) // what Parse should read back besides o's values
	}{
		{name: "kubernetes", o: InitOptions{
			Repository:   "https://github.com/kubernetes/kubernetes",
			Branches:     []string{"master", "release-1.*"},
			Module:       "k8s.io/kubernetes",
			Triage:       "github",
			SecurityTeam: []string{"security-response-committee", "sig-security-leads"},
			Author:       "Kubernetes Security Response Committee <security@kubernetes.io>",
		}},
		{name: "minimal", o: InitOptions{
			Branches: []string{"main"},
			Module:   "example.com/m",
		}},
		{name: "values that need quoting", o: InitOptions{
			Repository: "git@github.com:acme/widget.git",
			Branches:   []string{"1.0", "true", "*-stable", "release-[0-9]*", "v2.?"},
			Module:     "example.com/widget/v2",
			Owners:     "hack/owners #1",
			Triage:     "local",
			Author:     `Acme: "security" team # 24/7, 'on call' {really} [yes] & more`,
		}},
		{name: "github enterprise", o: InitOptions{
			Repository:       "https://ghe.example.com/platform/api",
			Branches:         []string{"main", "release/*"},
			Module:           "ghe.example.com/platform/api",
			Triage:           "github",
			TriageRepository: "platform/.vexloom",
			SecurityTeam:     []string{"NULL", "yes", "0123"},
		}},
		{name: "local path and owners", o: InitOptions{
			Repository: "../upstream",
			Branches:   []string{"main"},
			Module:     "example.com/upstream",
			Owners:     "owners",
			Author:     "Ünïcødé Maintainers ✓",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := Starter(tc.o)
			if err != nil {
				t.Fatal(err)
			}
			c, err := Parse("proj/"+FileName, data)
			if err != nil {
				t.Fatalf("Parse(Starter()) = %v\n%s", err, data)
			}
			o := tc.o
			repo := o.Repository
			if repo == "" {
				repo = "."
			}
			author := o.Author
			if author == "" {
				author = o.Module + " maintainers"
			}
			backend := o.Triage
			if backend == "" {
				backend = BackendLocal
			}
			if c.Version != 1 || c.Project != (Project{Module: o.Module, Repository: repo, Author: author}) ||
				!reflect.DeepEqual(c.Branches, o.Branches) || c.Owners.Path != o.Owners ||
				!reflect.DeepEqual(c.Owners.SecurityTeam, o.SecurityTeam) || c.Triage.Backend != backend {
				t.Errorf("Parse(Starter(%+v)) =\n%+v\n%s", o, c, data)
			}
			if backend == BackendGitHub {
				want := o.TriageRepository
				if want == "" {
					owner, _ := gitHubOwner(o.Repository)
					want = owner + "/.vexloom"
				}
				if c.Triage.GitHub.Repository != want || c.Triage.GitHub.API != DefaultGitHubAPI ||
					c.Triage.GitHub.Labels != DefaultLabels || c.Triage.GitHub.AppID != 0 {
					t.Errorf("GitHub = %+v", c.Triage.GitHub)
				}
			} else if c.Triage.GitHub != (GitHub{}) {
				t.Errorf("GitHub = %+v with backend %s", c.Triage.GitHub, backend)
			}
			if !reflect.DeepEqual(c.Scan, Scan{Packages: []string{"./..."}}) || c.Database.Source != DefaultDatabaseSource ||
				c.VEX.Dir != DefaultVEXDir || c.Store.Path != DefaultStorePath {
				t.Errorf("defaults: %+v", c)
			}
		})
	}
}

// TestStarterExplainsEveryKey checks that each key of a starter file has a
// comment above it (the GitHub App's three keys share one).
func TestStarterExplainsEveryKey(t *testing.T) {
	for _, backend := range []string{BackendLocal, BackendGitHub} {
		data, err := Starter(InitOptions{Module: "example.com/m", Repository: "https://github.com/o/r", Branches: []string{"main"}, Triage: backend})
		if err != nil {
			t.Fatal(err)
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		var walk func(n *yaml.Node, where string)
		walk = func(n *yaml.Node, where string) {
			if n.Kind != yaml.MappingNode {
				return
			}
			for i := 0; i < len(n.Content); i += 2 {
				k := n.Content[i]
				p := join(where, k.Value)
				if k.HeadComment == "" && p != "triage.github.installation_id" && p != "triage.github.private_key" {
					t.Errorf("%s: %s has no comment", backend, p)
				}
				walk(n.Content[i+1], p)
			}
		}
		walk(doc.Content[0], "")
		if backend == BackendLocal && !strings.Contains(string(data), "\n  # github:\n") {
			t.Errorf("the local starter does not show the github section:\n%s", data)
		}
	}
}

func TestStarterRejects(t *testing.T) {
	ok := InitOptions{Module: "example.com/m", Branches: []string{"main"}}
	for _, tc := range []struct {
		name   string
		change func(o *InitOptions)
		want   string
	}{
		{"no module", func(o *InitOptions) { o.Module = "" }, "module: required"},
		{"bad module path", func(o *InitOptions) { o.Module = "not a module" }, `module: malformed module path "not a module"`},
		{"no branches", func(o *InitOptions) { o.Branches = nil }, "branches: list at least one branch"},
		{"empty branch", func(o *InitOptions) { o.Branches = []string{""} }, "branches: an empty branch name"},
		{"bad pattern", func(o *InitOptions) { o.Branches = []string{"release-[1"} }, "is not a valid pattern"},
		{"branch twice", func(o *InitOptions) { o.Branches = []string{"main", "main"} }, `"main" is listed twice`},
		{"unknown backend", func(o *InitOptions) { o.Triage = "gitlab" }, `triage: "gitlab" is not one of local, github`},
		{"github off github.com", func(o *InitOptions) { o.Triage, o.Repository = "github", "https://gitlab.com/a/b" }, "triage repository: required"},
		{"github with a local path", func(o *InitOptions) { o.Triage = "github" }, "triage repository: required"},
		{"bad triage repository", func(o *InitOptions) {
			o.Triage, o.Repository, o.TriageRepository = "github", "https://github.com/a/b", "a/b/c"
		}, `"a/b/c" is not a GitHub repository`},
		{"triage repository with local backend", func(o *InitOptions) { o.TriageRepository = "a/b" }, "only used with the github backend"},
		{"repository with a token", func(o *InitOptions) { o.Repository = "https://u:tok@github.com/a/b" }, "password or token"},
		{"control character", func(o *InitOptions) { o.Author = "a\nb" }, "author: contains a control character"},
		{"bad security team", func(o *InitOptions) { o.SecurityTeam = []string{"a b"} }, "is not an OWNERS_ALIASES alias or a login"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := ok
			tc.change(&o)
			data, err := Starter(o)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Starter(%+v) = %v, want an error containing %q\n%s", o, err, tc.want, data)
			}
		})
	}
	if _, err := Starter(ok); err != nil {
		t.Errorf("Starter(%+v) = %v", ok, err)
	}
}
