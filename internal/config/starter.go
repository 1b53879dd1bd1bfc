package config

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// InitOptions are the values `vexloom init` fills into a starter file.
type InitOptions struct {
	// Repository is the project repository (URL or path relative to the
	// file); default "." (the file sits at the repository's root).
	Repository string
	// Branches are the maintained branches (names or patterns); required.
	Branches []string
	// Module is the project's main module path; required.
	Module string
	// Owners is a directory holding OWNERS files; default: the
	// repository's default branch.
	Owners string
	// Triage is the backend, local (the default) or github.
	Triage string
	// TriageRepository is the owner/repo holding GitHub triages; default
	// the ".vexloom" repository of the project repository's GitHub owner.
	// Needed with Triage github when the project is not on github.com.
	TriageRepository string
	// SecurityTeam are aliases or logins who may decide any triage.
	SecurityTeam []string
	// Author is the OpenVEX author; default "<module> maintainers".
	Author string
}

// check validates o with the same rules Parse applies to the file.
func (o *InitOptions) check() error {
	var errs []error
	bad := func(what string, err error) { errs = append(errs, fmt.Errorf("%s: %w", what, err)) }
	value := func(what, s string, check func(string) error) {
		if strings.IndexFunc(s, unicode.IsControl) >= 0 {
			bad(what, errors.New("contains a control character"))
			return
		}
		if s != "" && check != nil {
			if err := check(s); err != nil {
				bad(what, err)
			}
		}
	}
	if o.Module == "" {
		bad("module", errors.New("required: the path of the project's main Go module"))
	}
	value("module", o.Module, checkModulePath)
	value("repository", o.Repository, checkRepository)
	if len(o.Branches) == 0 {
		bad("branches", errors.New("list at least one branch"))
	}
	seen := map[string]bool{}
	for _, b := range o.Branches {
		if b == "" {
			bad("branches", errors.New("an empty branch name"))
			continue
		}
		if seen[b] {
			bad("branches", fmt.Errorf("%s is listed twice", quote(b)))
		}
		seen[b] = true
		value("branches", b, checkBranchPattern)
	}
	value("owners", o.Owners, nil)
	team := map[string]bool{}
	for _, s := range o.SecurityTeam {
		if s == "" {
			bad("security team", errors.New("an empty name"))
			continue
		}
		if team[strings.ToLower(s)] {
			bad("security team", fmt.Errorf("%s is listed twice", quote(s)))
		}
		team[strings.ToLower(s)] = true
		value("security team", s, checkOwnerName)
	}
	value("author", o.Author, nil)
	switch o.Triage {
	case "", BackendLocal:
		if o.TriageRepository != "" {
			bad("triage repository", errors.New("only used with the github backend"))
		}
	case BackendGitHub:
		value("triage repository", o.TriageRepository, checkGitHubRepository)
		if o.TriageRepository == "" && o.Repository != "" && checkRepository(o.Repository) == nil {
			if _, ok := gitHubOwner(o.Repository); !ok {
				bad("triage repository", errors.New("required with the github backend when the project repository is not on github.com"))
			}
		}
		if o.Repository == "" && o.TriageRepository == "" {
			bad("triage repository", errors.New("required with the github backend when the project repository is a local path"))
		}
	default:
		bad("triage", fmt.Errorf("%s is not one of %s, %s", quote(o.Triage), BackendLocal, BackendGitHub))
	}
	return errors.Join(errs...)
}

// Starter returns a commented starter project file holding o's values, every
// key explained. Parse accepts it and reads o's values back.
func Starter(o InitOptions) ([]byte, error) {
	if err := o.check(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
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

	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w(`# %s: the vexloom project file.
#
# vexloom keeps an OpenVEX document for each maintained branch of this
# project: it scans the branches for vulnerable dependencies, records what
# the analysis proves the code cannot reach, and asks the maintainers about
# the rest through triages they answer with slash commands.
#
# Relative paths in this file are relative to the directory that holds it.

# The version of this file's format; always 1.
version: 1

# The project vexloom keeps a VEX feed for.
project:
  # The path of the project's main Go module.
  module: %s
  # The project's git repository: an https://, ssh://, git:// or file:// URL,
  # user@host:path, or a local path. Never put a token in it: vexloom uses
  # git's own credential helpers.
  repository: %s
  # The author named in the OpenVEX documents vexloom writes.
  author: %s

# The maintained branches, each scanned and given its own VEX document:
# branch names or patterns (* any characters, ? one character, [0-9] a
# class), for example release-1.*.
branches:%s

# What is scanned on each branch.
scan:
  # The modules to scan, as module paths or directories in the repository.
  # Empty: every module (each go.mod outside vendor/ and testdata/).
  modules: []
  # The package patterns analysed in each module. Empty: ./...
  packages: []
  # Build tags to scan with, one per item.
  tags: []
  # The Go version whose standard library is analysed, e.g. 1.26.8. Empty:
  # what each branch builds with (.go-version, then go.mod's toolchain and go
  # lines).
  go_version: ""

# The vulnerability database.
database:
  # Where vulnerability data comes from: golang.org/x/vulndb[@VERSION] (the Go
  # vulnerability database, through the Go module proxy), dir:DIR (OSV JSON
  # files), zip:FILE (an OSV export) or the https:// URL of a mirror in
  # vuln.go.dev's layout.
  source: %s

# Who may answer triages.
owners:
  # A directory holding the project's OWNERS and OWNERS_ALIASES files, whose
  # approvers may answer triages. Empty: they are read from the repository's
  # default branch.
  path: %s
  # OWNERS_ALIASES alias names or logins who may decide any triage.
  security_team:%s

# The triages: one per vulnerability and dependency module that a person
# has to decide, listing every branch it shows up in.
triage:
  # Where triages are kept and answered: local (in vexloom's store, answered
  # on the command line) or github (issues answered with slash commands).
  backend: %s
`, FileName, scalar(o.Module), scalar(repo), scalar(author), block(o.Branches),
		scalar(DefaultDatabaseSource), scalar(o.Owners), block(o.SecurityTeam), scalar(backend))

	githubRepo := o.TriageRepository
	if githubRepo == "" {
		if owner, ok := gitHubOwner(repo); ok {
			githubRepo = owner + "/" + DefaultTriageRepository
		}
	}
	github := fmt.Sprintf(`# The GitHub backend; only with backend: github.
github:
  # The owner/repo whose issues hold the triages. Default: the %s
  # repository of the project repository's GitHub owner.
  repository: %s
  # The API base URL; change it for GitHub Enterprise Server
  # (https://HOST/api/v3/).
  api: %s
  # A GitHub App to act as: its ID, its installation's ID and the path of its
  # PEM private key. With app_id 0, the token in GITHUB_TOKEN is used.
  app_id: 0
  installation_id: 0
  private_key: ""
  # The name of the environment variable that holds the webhook secret
  # (never the secret itself).
  webhook_secret_env: %s
  # The labels that mark each state of a triage.
  labels:
    # Waiting for a maintainer's decision.
    open: %s
    # Decided; the statement is not yet in a published VEX document.
    assessed: %s
    # The statement is in a published VEX document.
    published: %s
    # Closed: the vulnerability is gone from every branch.
    closed: %s
`, scalar(DefaultTriageRepository), scalar(githubRepo), scalar(DefaultGitHubAPI), scalar(DefaultWebhookSecretEnv),
		scalar(DefaultLabels.Open), scalar(DefaultLabels.Assessed), scalar(DefaultLabels.Published), scalar(DefaultLabels.Closed))
	if backend != BackendGitHub {
		// Shown commented out: Parse refuses a github section the local
		// backend would ignore.
		var c strings.Builder
		for _, line := range strings.SplitAfter(strings.TrimSuffix(github, "\n"), "\n") {
			if strings.HasPrefix(line, "#") {
				c.WriteString("  " + line)
			} else {
				c.WriteString("  # " + line)
			}
		}
		github = c.String() + "\n"
	} else {
		github = indent(github)
	}
	b.WriteString(github)

	w(`
# The branch VEX documents.
vex:
  # Where each branch's OpenVEX document is written.
  dir: %s
  # The format of the VEX feed's documents: openvex, or csaf (CSAF 2.0 VEX).
  # feed_format: openvex

# vexloom's own state.
store:
  # The directory of vexloom's embedded store, which keeps the history of
  # every assessment and decision.
  path: %s
  # Or a PostgreSQL database shared by many runners and projects, such as
  # postgres://vexloom@db.example.com/vexloom (the password comes from
  # PGPASSWORD, a password file or a service file, never from here); path
  # then keeps only the published store. Empty: the embedded store.
  url: ""

`, scalar(DefaultVEXDir), scalar(DefaultStorePath))
	b.WriteString(starterReleases)

	out := b.Bytes()
	if _, err := Parse(FileName, out); err != nil {
		return nil, fmt.Errorf("the starter file does not parse: %w", err)
	}
	return out, nil
}

func indent(s string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(s, "\n") {
		if line != "" && line != "\n" {
			b.WriteString("  ")
		}
		b.WriteString(line)
	}
	return b.String()
}

// scalar writes s as a YAML string, quoted where YAML needs it; yaml's own
// encoder decides.
func scalar(s string) string {
	out, err := yaml.Marshal(&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s})
	if err != nil {
		// A string node always encodes; keep the file parseable anyway.
		return fmt.Sprintf("%q", s)
	}
	return strings.TrimSuffix(string(out), "\n")
}

// block writes a list as block items after its key, or [] when empty.
func block(items []string) string {
	if len(items) == 0 {
		return " []"
	}
	var b strings.Builder
	for _, s := range items {
		b.WriteString("\n  - " + scalar(s))
	}
	return b.String()
}
