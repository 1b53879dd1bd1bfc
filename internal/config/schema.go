package config

import (
	"strings"

	"go.yaml.in/yaml/v3"
)

// config decodes the top mapping into c, checks what spans several keys and
// applies the defaults.
func (d *decoder) config(root *yaml.Node, c *Config) {
	var githubLine int
	var version int64
	versionOK := false
	top := d.mapping(root, "", []field{
		{"version", func(_, v *yaml.Node) {
			if isNull(v) {
				return // reported missing below
			}
			var n int64
			before := len(d.errs)
			d.integer(v, "version", &n)
			if len(d.errs) > before {
				return
			}
			if n != 1 {
				d.errorf(v.Line, "version: %d is not supported: this vexloom reads version 1", n)
				return
			}
			version, versionOK = n, true
		}},
		{"project", func(k, v *yaml.Node) { d.project(k, v, &c.Project) }},
		{"branches", func(_, v *yaml.Node) {
			d.list(v, "branches", &c.Branches, checkBranchPattern, func(s string) string { return s })
		}},
		{"scan", func(_, v *yaml.Node) { d.scan(v, &c.Scan) }},
		{"database", func(_, v *yaml.Node) {
			d.mapping(v, "database", []field{
				{"source", func(_, v *yaml.Node) { d.str(v, "database.source", &c.Database.Source, checkDatabaseSource) }},
			})
		}},
		{"owners", func(_, v *yaml.Node) {
			d.mapping(v, "owners", []field{
				{"path", func(_, v *yaml.Node) { d.str(v, "owners.path", &c.Owners.Path, nil) }},
				{"security_team", func(_, v *yaml.Node) {
					d.list(v, "owners.security_team", &c.Owners.SecurityTeam, checkOwnerName, strings.ToLower)
				}},
			})
		}},
		{"triage", func(_, v *yaml.Node) { githubLine = d.triage(v, &c.Triage) }},
		{"vex", func(_, v *yaml.Node) {
			d.mapping(v, "vex", []field{
				{"dir", func(_, v *yaml.Node) { d.str(v, "vex.dir", &c.VEX.Dir, nil) }},
				{"feed_format", func(_, v *yaml.Node) { d.str(v, "vex.feed_format", &c.VEX.FeedFormat, checkFeedFormat) }},
			})
		}},
		{"store", func(_, v *yaml.Node) {
			d.mapping(v, "store", []field{
				{"path", func(_, v *yaml.Node) { d.str(v, "store.path", &c.Store.Path, nil) }},
				{"url", func(_, v *yaml.Node) { d.str(v, "store.url", &c.Store.URL, checkStoreURL) }},
			})
		}},
		{"advisories", func(_, v *yaml.Node) { d.advisories(v, &c.Advisories) }},
		{"releases", func(_, v *yaml.Node) { d.releases(v, &c.Releases) }},
	})
	if versionOK {
		c.Version = int(version)
	}

	// Required keys, reported at the line of the mapping that lacks them.
	rootLine := max(root.Line, 1)
	if !versionOK && !d.reported("version") {
		d.errorf(lineOr(top, "version", rootLine), "version is missing: add \"version: 1\"")
	}
	if _, ok := top["branches"]; !ok {
		d.errorf(rootLine, "branches is missing: list the maintained branches (names or patterns such as release-1.*)")
	} else if len(c.Branches) == 0 && !d.reported("branches") {
		d.errorf(top["branches"], "branches: list at least one branch")
	}
	if line, ok := top["project"]; !ok {
		d.errorf(rootLine, "project is missing: it needs module and repository")
	} else if !d.notMapping["project"] {
		if c.Project.Module == "" && !d.reported("project.module") {
			d.errorf(line, "project.module is missing: the path of the project's main Go module")
		}
		if c.Project.Repository == "" && !d.reported("project.repository") {
			d.errorf(line, "project.repository is missing: the project's git repository (a URL or a local path)")
		}
	}

	// Defaults.
	if c.Project.Author == "" && c.Project.Module != "" {
		c.Project.Author = c.Project.Module + " maintainers"
	}
	if len(c.Scan.Packages) == 0 {
		c.Scan.Packages = []string{DefaultPackages}
	}
	if c.Database.Source == "" {
		c.Database.Source = DefaultDatabaseSource
	}
	if c.Triage.Backend == "" {
		c.Triage.Backend = BackendLocal
	}
	if c.VEX.Dir == "" {
		c.VEX.Dir = DefaultVEXDir
	}
	if c.Store.Path == "" {
		c.Store.Path = DefaultStorePath
	}
	if cleanSlash(c.VEX.Dir) == cleanSlash(c.Store.Path) {
		d.errorf(rootLine, "vex.dir and store.path are both %s: they must be different directories", quote(c.VEX.Dir))
	}

	switch c.Triage.Backend {
	case BackendLocal:
		if githubLine > 0 {
			d.errorf(githubLine, "triage.github: only used with backend: github (the backend is local)")
		}
		c.Triage.GitHub = GitHub{}
	case BackendGitHub:
		d.githubDefaults(c, max(githubLine, rootLine))
	}
}

func lineOr(lines map[string]int, key string, def int) int {
	if l, ok := lines[key]; ok {
		return l
	}
	return def
}

// reported says whether a problem was already reported about where, so that
// a key with an invalid value is not reported missing as well.
func (d *decoder) reported(where string) bool {
	for _, e := range d.errs {
		if ce, ok := e.(*Error); ok && strings.HasPrefix(ce.Msg, where+":") {
			return true
		}
	}
	return false
}

func (d *decoder) project(_, v *yaml.Node, p *Project) {
	d.mapping(v, "project", []field{
		{"module", func(_, v *yaml.Node) { d.str(v, "project.module", &p.Module, checkModulePath) }},
		{"repository", func(_, v *yaml.Node) { d.str(v, "project.repository", &p.Repository, checkRepository) }},
		{"author", func(_, v *yaml.Node) { d.str(v, "project.author", &p.Author, nil) }},
	})
}

func (d *decoder) scan(v *yaml.Node, s *Scan) {
	d.mapping(v, "scan", []field{
		{"modules", func(_, v *yaml.Node) {
			d.list(v, "scan.modules", &s.Modules, checkScanModule, func(s string) string { return s })
		}},
		{"packages", func(_, v *yaml.Node) {
			d.list(v, "scan.packages", &s.Packages, checkPackagePattern, func(s string) string { return s })
		}},
		{"tags", func(_, v *yaml.Node) {
			d.list(v, "scan.tags", &s.Tags, checkBuildTag, func(s string) string { return s })
		}},
		{"go_version", func(_, v *yaml.Node) {
			d.str(v, "scan.go_version", &s.GoVersion, checkGoVersion)
			s.GoVersion = strings.TrimPrefix(s.GoVersion, "go")
		}},
	})
}

// triage decodes the triage mapping and returns the line of its github key,
// 0 when there is none.
func (d *decoder) triage(v *yaml.Node, t *Triage) int {
	githubLine := 0
	d.mapping(v, "triage", []field{
		{"backend", func(_, v *yaml.Node) {
			d.str(v, "triage.backend", &t.Backend, func(s string) error {
				if s != BackendLocal && s != BackendGitHub {
					return errorf("%s is not one of %s, %s", quote(s), BackendLocal, BackendGitHub)
				}
				return nil
			})
		}},
		{"github", func(k, v *yaml.Node) {
			if !isNull(v) {
				githubLine = k.Line
			}
			d.github(k, v, &t.GitHub)
		}},
	})
	return githubLine
}

func (d *decoder) github(_, v *yaml.Node, g *GitHub) {
	const where = "triage.github"
	lines := d.mapping(v, where, []field{
		{"repository", func(_, v *yaml.Node) { d.str(v, where+".repository", &g.Repository, checkGitHubRepository) }},
		{"api", func(_, v *yaml.Node) {
			d.str(v, where+".api", &g.API, checkAPIURL)
			g.API = normalizeAPIURL(g.API)
		}},
		{"app_id", func(_, v *yaml.Node) { d.integer(v, where+".app_id", &g.AppID) }},
		{"installation_id", func(_, v *yaml.Node) { d.integer(v, where+".installation_id", &g.InstallationID) }},
		{"private_key", func(_, v *yaml.Node) { d.str(v, where+".private_key", &g.PrivateKey, nil) }},
		{"webhook_secret_env", func(_, v *yaml.Node) {
			d.str(v, where+".webhook_secret_env", &g.WebhookSecretEnv, checkEnvName)
		}},
		{"labels", func(_, v *yaml.Node) {
			const where = where + ".labels"
			d.mapping(v, where, []field{
				{"open", func(_, v *yaml.Node) { d.str(v, where+".open", &g.Labels.Open, checkLabel) }},
				{"assessed", func(_, v *yaml.Node) { d.str(v, where+".assessed", &g.Labels.Assessed, checkLabel) }},
				{"published", func(_, v *yaml.Node) { d.str(v, where+".published", &g.Labels.Published, checkLabel) }},
				{"closed", func(_, v *yaml.Node) { d.str(v, where+".closed", &g.Labels.Closed, checkLabel) }},
			})
		}},
	})
	// A GitHub App needs all three of its keys.
	line := func(key string) int {
		if l, ok := lines[key]; ok {
			return l
		}
		return v.Line
	}
	switch {
	case g.AppID > 0 && g.InstallationID == 0:
		d.errorf(line("app_id"), "%s: app_id needs installation_id as well", where)
	case g.AppID == 0 && g.InstallationID > 0:
		d.errorf(line("installation_id"), "%s: installation_id needs app_id as well", where)
	}
	switch {
	case g.AppID > 0 && g.PrivateKey == "":
		d.errorf(line("app_id"), "%s: app_id needs private_key, the path of the App's PEM key", where)
	case g.AppID == 0 && g.PrivateKey != "":
		d.errorf(line("private_key"), "%s: private_key needs app_id and installation_id", where)
	}
}

// githubDefaults fills in the GitHub backend's defaults; line is where to
// report a repository that cannot be derived.
func (d *decoder) githubDefaults(c *Config, line int) {
	g := &c.Triage.GitHub
	if g.Repository == "" && !d.reported("triage.github.repository") {
		if owner, ok := gitHubOwner(c.Project.Repository); ok {
			g.Repository = owner + "/" + DefaultTriageRepository
		} else if c.Project.Repository != "" {
			d.errorf(line, "triage.github.repository is missing: it is needed when the project repository is not on github.com")
		}
	}
	if g.API == "" {
		g.API = DefaultGitHubAPI
	}
	if g.WebhookSecretEnv == "" {
		g.WebhookSecretEnv = DefaultWebhookSecretEnv
	}
	l := &g.Labels
	for _, f := range []struct {
		dst *string
		def string
	}{{&l.Open, DefaultLabels.Open}, {&l.Assessed, DefaultLabels.Assessed}, {&l.Published, DefaultLabels.Published}, {&l.Closed, DefaultLabels.Closed}} {
		if *f.dst == "" {
			*f.dst = f.def
		}
	}
	seen := map[string]bool{}
	for _, s := range []string{l.Open, l.Assessed, l.Published, l.Closed} {
		k := strings.ToLower(s)
		if seen[k] {
			d.errorf(line, "triage.github.labels: %s marks two states; each state needs a label of its own", quote(s))
			return
		}
		seen[k] = true
	}
}
