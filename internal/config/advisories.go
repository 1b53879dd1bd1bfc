package config

import (
	"fmt"
	"net/url"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"

	"github.com/vexloom/vexloom/internal/redact"
)

// Advisories says where the project's own security advisories are read
// (vexloom advisories sync) and how the components they name map onto what
// the project ships.
type Advisories struct {
	// Feed is the project's official CVE feed (JSON Feed 1.1 with the
	// _kubernetes_io extension): an http(s) URL, or a file relative to Dir.
	// Use Config.AdvisorySource to resolve it.
	Feed string
	// OSV is OSV JSON for the project's components: an http(s) URL, or a
	// file or directory relative to Dir.
	OSV string
	// Components are the project's deliverables as advisories name them.
	Components []Component
}

// Component is one deliverable of the project: the names advisories use
// for it, and what it ships as.
type Component struct {
	// Name is how advisories name it: kube-apiserver, kubelet, kubectl.
	Name string
	// Packages are other names advisories use for it (OSV package names
	// such as k8s.io/apiserver).
	Packages []string
	// Binaries are the executables it ships as (names or paths).
	Binaries []string
	// Images are the container image repositories it ships as, without tag
	// or digest (registry.k8s.io/kube-apiserver).
	Images []string
}

// AdvisorySource returns an advisory source as advisory.Sync takes it: an
// http(s) URL unchanged, a path made absolute against Dir.
func (c *Config) AdvisorySource(s string) string {
	if isHTTPURL(s) {
		return s
	}
	return c.Resolve(s)
}

func isHTTPURL(s string) bool {
	return strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://")
}

// advisories decodes the advisories mapping.
func (d *decoder) advisories(v *yaml.Node, a *Advisories) {
	const where = "advisories"
	d.mapping(v, where, []field{
		{"feed", func(_, v *yaml.Node) { d.str(v, where+".feed", &a.Feed, checkAdvisoryLocation) }},
		{"osv", func(_, v *yaml.Node) { d.str(v, where+".osv", &a.OSV, checkAdvisoryLocation) }},
		{"components", func(_, v *yaml.Node) { d.components(v, where+".components", &a.Components) }},
	})
}

// components decodes a list of component mappings; names must be unique.
func (d *decoder) components(n *yaml.Node, where string, dst *[]Component) {
	if isNull(n) {
		return
	}
	s := resolve(n)
	if s.Kind != yaml.SequenceNode {
		d.errorf(n.Line, "%s: expected a list of components (\"- name: ...\"), got %s", where, describe(n))
		return
	}
	var out []Component
	firsts := map[string]int{}
	for i, item := range s.Content {
		at := fmt.Sprintf("%s[%d]", where, i)
		var c Component
		lines := d.mapping(item, at, []field{
			{"name", func(_, v *yaml.Node) { d.str(v, at+".name", &c.Name, checkComponentName) }},
			{"packages", func(_, v *yaml.Node) {
				d.list(v, at+".packages", &c.Packages, checkComponentName, strings.ToLower)
			}},
			{"binaries", func(_, v *yaml.Node) {
				d.list(v, at+".binaries", &c.Binaries, checkBinaryName, func(s string) string { return s })
			}},
			{"images", func(_, v *yaml.Node) {
				d.list(v, at+".images", &c.Images, checkImageRepository, strings.ToLower)
			}},
		})
		if d.notMapping[at] {
			continue
		}
		if c.Name == "" {
			if !d.reported(at + ".name") {
				d.errorf(lineOr(lines, "name", item.Line), "%s: name is missing: how advisories name the component (kube-apiserver)", at)
			}
			continue
		}
		k := strings.ToLower(c.Name)
		if first, dup := firsts[k]; dup {
			d.errorf(lineOr(lines, "name", item.Line), "%s: component %s is configured twice (first at line %d)", at, quote(c.Name), first)
			continue
		}
		firsts[k] = lineOr(lines, "name", item.Line)
		out = append(out, c)
	}
	*dst = out
}

// checkAdvisoryLocation accepts an http(s) URL with a host, or a path.
func checkAdvisoryLocation(s string) error {
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("%s is neither an http(s) URL nor a path", quote(redact.Location(s)))
		}
		if u.User != nil {
			return fmt.Errorf("%s holds credentials: give them through the environment, not in the project file", quote(redact.URL(u)))
		}
		return nil
	}
	if strings.TrimSpace(s) != s {
		return fmt.Errorf("%s has leading or trailing spaces", quote(s))
	}
	return nil
}

// checkComponentName accepts the names advisories use: kube-apiserver,
// k8s.io/apiserver, a Go module path.
func checkComponentName(s string) error {
	if len(s) > 200 {
		return fmt.Errorf("%s is longer than 200 characters", quote(s))
	}
	for _, r := range s {
		if unicode.IsSpace(r) || r > unicode.MaxASCII {
			return fmt.Errorf("%s: a component or package name has no spaces and is ASCII", quote(s))
		}
	}
	return nil
}

func checkBinaryName(s string) error {
	if len(s) > 4096 {
		return fmt.Errorf("%s is too long", quote(s))
	}
	if strings.TrimSpace(s) != s {
		return fmt.Errorf("%s has leading or trailing spaces", quote(s))
	}
	return nil
}

// checkImageRepository accepts an image repository without tag or digest:
// statements about images are made per digest, never per tag.
func checkImageRepository(s string) error {
	if len(s) > 1024 {
		return fmt.Errorf("%s is too long", quote(s))
	}
	if strings.ContainsFunc(s, unicode.IsSpace) || strings.Contains(s, "://") {
		return fmt.Errorf("%s is not an image repository (registry/name, no scheme)", quote(s))
	}
	if strings.Contains(s, "@") {
		return fmt.Errorf("%s names a digest: give the repository only", quote(s))
	}
	if i := strings.LastIndex(s, "/"); strings.Contains(s[i+1:], ":") {
		return fmt.Errorf("%s names a tag: give the repository only", quote(s))
	}
	return nil
}
