package config

import (
	"fmt"
	"path"
	"regexp"
	"strings"
	"time"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// Releases says which release points of the project stay covered by a
// living VEX document (each update re-derives, re-signs and re-publishes
// what changed), what each release ships, how its documents are signed and
// where they are published.
type Releases struct {
	// Track are the rules choosing tags: which tags of which maintained
	// branches, and how many.
	Track []TrackRule
	// Commits are release points named by commit (no tag).
	Commits []string
	// Images are image references with {tag} (and {commit}) placeholders:
	// registry.k8s.io/kube-apiserver:{tag}.
	Images []string
	// Binaries is a directory template ({tag}, {commit}) relative to Dir
	// holding the release's Go executables.
	Binaries string
	// Platforms restricts the image platforms covered (linux/amd64); empty
	// means every platform of each image.
	Platforms []string
	// Signing says how release documents are signed.
	Signing Signing
	// Publish are the stores: local, feed, oci (every image of the
	// release), github:OWNER/REPO.
	Publish []string

	// ScannerReports are the Trivy, Grype or OSV-Scanner JSON reports of
	// the release images: paths or glob patterns relative to Dir, with
	// {tag} and {commit} placeholders. update reads each tracked release's
	// (the patterns naming the release); images ingest reads them when
	// given no report.
	ScannerReports []string
	// BaseImages name the base image of release images that do not say so
	// in their OCI annotations, and where its VEX is.
	BaseImages []BaseImage
	// BaseVEXKey is the public key (relative to Dir) that signs the base
	// images' VEX; without it (or --base-key) no base statement counts.
	BaseVEXKey string
}

// BaseImage is the base of a release image.
type BaseImage struct {
	// Image is the release image's repository (registry.k8s.io/kube-proxy).
	Image string
	// Base is the base image, by tag or digest.
	Base string
	// VEX are where the base's VEX is: oci:REF (its referrers), feed:URL
	// or feed:DIR (a vex-repo feed carrying the bundles of its signed
	// documents), or a bundle file (default: the referrers of Base).
	VEX []string
}

// TrackRule chooses tags on maintained branches.
type TrackRule struct {
	// Tags are tag patterns (v1.*).
	Tags []string
	// Branches are maintained branch names or patterns the tags must be on;
	// empty means any maintained branch.
	Branches []string
	// Keep is how many of the newest matching tags per branch are tracked;
	// 0 means all.
	Keep int
	// Since drops tags whose commit is older than this date; zero means no
	// limit.
	Since time.Time
	// Line is where the rule is in the file, for messages.
	Line int
}

// Signing says how release documents are signed: with a private key file
// (whose password, for an encrypted cosign key, comes from COSIGN_PASSWORD
// or VEXLOOM_KEY_PASSWORD) or keyless through Fulcio and Rekor.
type Signing struct {
	// Key is a private key file relative to Dir.
	Key       string
	Keyless   bool
	FulcioURL string
	RekorURL  string
}

// Enabled says whether any release is tracked.
func (r Releases) Enabled() bool { return len(r.Track) > 0 || len(r.Commits) > 0 }

// The publish stores of releases.publish.
const (
	PublishLocal = "local"
	PublishFeed  = "feed"
	PublishOCI   = "oci"
)

// ExpandTemplate replaces {tag} and {commit} in s.
func ExpandTemplate(s, tag, commit string) string {
	return strings.NewReplacer("{tag}", tag, "{commit}", commit).Replace(s)
}

// releases decodes the releases mapping.
func (d *decoder) releases(v *yaml.Node, r *Releases) {
	const where = "releases"
	var signLine int
	lines := d.mapping(v, where, []field{
		{"track", func(_, v *yaml.Node) { d.trackRules(v, where+".track", &r.Track) }},
		{"commits", func(_, v *yaml.Node) {
			d.list(v, where+".commits", &r.Commits, checkCommit, strings.ToLower)
		}},
		{"images", func(_, v *yaml.Node) {
			d.list(v, where+".images", &r.Images, checkImageTemplate, func(s string) string { return s })
		}},
		{"binaries", func(_, v *yaml.Node) { d.str(v, where+".binaries", &r.Binaries, checkBinaryTemplate) }},
		{"platforms", func(_, v *yaml.Node) {
			d.list(v, where+".platforms", &r.Platforms, checkPlatform, strings.ToLower)
		}},
		{"signing", func(k, v *yaml.Node) {
			signLine = k.Line
			d.mapping(v, where+".signing", []field{
				{"key", func(_, v *yaml.Node) { d.str(v, where+".signing.key", &r.Signing.Key, checkBinaryName) }},
				{"keyless", func(_, v *yaml.Node) { d.boolean(v, where+".signing.keyless", &r.Signing.Keyless) }},
				{"fulcio_url", func(_, v *yaml.Node) { d.str(v, where+".signing.fulcio_url", &r.Signing.FulcioURL, checkSigstoreURL) }},
				{"rekor_url", func(_, v *yaml.Node) { d.str(v, where+".signing.rekor_url", &r.Signing.RekorURL, checkSigstoreURL) }},
			})
		}},
		{"publish", func(_, v *yaml.Node) {
			d.list(v, where+".publish", &r.Publish, checkPublishStore, strings.ToLower)
		}},
		{"scanner_reports", func(_, v *yaml.Node) {
			d.list(v, where+".scanner_reports", &r.ScannerReports, checkPathLike, func(s string) string { return s })
		}},
		{"base_vex_key", func(_, v *yaml.Node) { d.str(v, where+".base_vex_key", &r.BaseVEXKey, checkPathLike) }},
		{"base_images", func(_, v *yaml.Node) {
			if isNull(v) {
				return
			}
			s := resolve(v)
			if s.Kind != yaml.SequenceNode {
				d.errorf(v.Line, "%s.base_images: expected a list (\"- image: ...\"), got %s", where, describe(v))
				return
			}
			for i, item := range s.Content {
				at := fmt.Sprintf("%s.base_images[%d]", where, i)
				var b BaseImage
				lines := d.mapping(item, at, []field{
					{"image", func(_, v *yaml.Node) { d.str(v, at+".image", &b.Image, checkImageRepository) }},
					{"base", func(_, v *yaml.Node) { d.str(v, at+".base", &b.Base, checkPathLike) }},
					{"vex", func(_, v *yaml.Node) {
						d.list(v, at+".vex", &b.VEX, checkBaseVEX, func(s string) string { return s })
					}},
				})
				if d.notMapping[at] {
					continue
				}
				if b.Image == "" || b.Base == "" {
					d.errorf(lineOr(lines, "image", item.Line), "%s: image and base are both required", at)
					continue
				}
				r.BaseImages = append(r.BaseImages, b)
			}
		}},
	})
	if d.notMapping[where] {
		return
	}
	line := max(v.Line, 1)
	if r.Signing.Key != "" && r.Signing.Keyless {
		d.errorf(lineOr(lines, "signing", signLine), "releases.signing: key and keyless exclude each other")
	}
	if r.Enabled() && r.Signing.Key == "" && !r.Signing.Keyless && !d.reported("releases.signing") {
		d.errorf(lineOr(lines, "signing", line), "releases.signing: tracked releases are published signed: give key (a private key file) or keyless: true")
	}
	if r.Signing.Keyless {
		if r.Signing.FulcioURL == "" {
			r.Signing.FulcioURL = "https://fulcio.sigstore.dev"
		}
		if r.Signing.RekorURL == "" {
			r.Signing.RekorURL = "https://rekor.sigstore.dev"
		}
	}
	if r.Enabled() && len(r.Publish) == 0 {
		r.Publish = []string{PublishLocal, PublishFeed}
	}
}

// trackRules decodes releases.track, a list of rules.
func (d *decoder) trackRules(n *yaml.Node, where string, dst *[]TrackRule) {
	if isNull(n) {
		return
	}
	s := resolve(n)
	if s.Kind != yaml.SequenceNode {
		d.errorf(n.Line, "%s: expected a list of rules (\"- tags: [v1.*]\"), got %s", where, describe(n))
		return
	}
	var out []TrackRule
	for i, item := range s.Content {
		at := fmt.Sprintf("%s[%d]", where, i)
		r := TrackRule{Line: item.Line}
		var keep int64
		var since string
		lines := d.mapping(item, at, []field{
			{"tags", func(_, v *yaml.Node) {
				d.list(v, at+".tags", &r.Tags, checkTagPattern, func(s string) string { return s })
			}},
			{"branches", func(_, v *yaml.Node) {
				d.list(v, at+".branches", &r.Branches, checkBranchPattern, func(s string) string { return s })
			}},
			{"keep", func(_, v *yaml.Node) { d.integer(v, at+".keep", &keep) }},
			{"since", func(_, v *yaml.Node) { d.date(v, at+".since", &since) }},
		})
		if d.notMapping[at] {
			continue
		}
		if len(r.Tags) == 0 {
			if !d.reported(at + ".tags") {
				d.errorf(lineOr(lines, "tags", item.Line), "%s: tags is missing: the tag patterns of the releases to track (v1.*)", at)
			}
			continue
		}
		if keep > 10000 {
			d.errorf(lineOr(lines, "keep", item.Line), "%s.keep: %d is more than 10000", at, keep)
			continue
		}
		r.Keep = int(keep)
		if since != "" {
			r.Since, _ = time.Parse(time.DateOnly, since)
		}
		out = append(out, r)
	}
	*dst = out
}

// boolean decodes true or false.
func (d *decoder) boolean(n *yaml.Node, where string, dst *bool) {
	if isNull(n) {
		return
	}
	r := resolve(n)
	if r.Kind != yaml.ScalarNode || r.ShortTag() != "!!bool" {
		d.errorf(n.Line, "%s: expected true or false, got %s", where, describe(n))
		return
	}
	var b bool
	if err := r.Decode(&b); err != nil {
		d.errorf(n.Line, "%s: expected true or false", where)
		return
	}
	*dst = b
}

// date decodes a YYYY-MM-DD date (YAML reads it as a timestamp or a string).
func (d *decoder) date(n *yaml.Node, where string, dst *string) {
	if isNull(n) {
		return
	}
	r := resolve(n)
	if r.Kind != yaml.ScalarNode || (r.ShortTag() != "!!str" && r.ShortTag() != "!!timestamp") {
		d.errorf(n.Line, "%s: expected a date (2026-01-01), got %s", where, describe(n))
		return
	}
	if _, err := time.Parse(time.DateOnly, r.Value); err != nil {
		d.errorf(n.Line, "%s: %s is not a date (2026-01-01)", where, quote(r.Value))
		return
	}
	*dst = r.Value
}

var hexCommit = regexp.MustCompile(`^(?:[0-9a-fA-F]{40}|[0-9a-fA-F]{64})$`)

func checkCommit(s string) error {
	if !hexCommit.MatchString(s) {
		return fmt.Errorf("%s is not a full commit hash (40 or 64 hex digits)", quote(s))
	}
	return nil
}

// checkTagPattern accepts a git tag name or a path.Match pattern of tags.
func checkTagPattern(s string) error {
	if _, err := path.Match(s, ""); err != nil {
		return fmt.Errorf("%s is not a valid pattern: %v", quote(s), err)
	}
	switch {
	case strings.HasPrefix(s, "-"), strings.HasPrefix(s, "refs/"), strings.Contains(s, ".."),
		strings.ContainsAny(s, " ~^:\\@"), strings.ContainsFunc(s, unicode.IsSpace), len(s) > 255:
		return fmt.Errorf("%s is not a valid tag name or pattern", quote(s))
	}
	return nil
}

// checkImageTemplate accepts an image reference whose tag (or digest) may
// hold {tag} and {commit}.
func checkImageTemplate(s string) error {
	if len(s) > 1024 {
		return fmt.Errorf("%s is too long", quote(s))
	}
	if strings.ContainsFunc(s, unicode.IsSpace) || strings.Contains(s, "://") {
		return fmt.Errorf("%s is not an image reference (registry/name:{tag}, no scheme)", quote(s))
	}
	rest := strings.NewReplacer("{tag}", "", "{commit}", "").Replace(s)
	if strings.ContainsAny(rest, "{}") {
		return fmt.Errorf("%s: the only placeholders are {tag} and {commit}", quote(s))
	}
	if i := strings.LastIndex(s, "/"); i <= 0 || !strings.ContainsAny(s[i+1:], ":@") {
		return fmt.Errorf("%s needs a registry, a repository and a tag or digest (registry.k8s.io/kube-apiserver:{tag})", quote(s))
	}
	return nil
}

func checkBinaryTemplate(s string) error {
	if err := checkBinaryName(s); err != nil {
		return err
	}
	rest := strings.NewReplacer("{tag}", "", "{commit}", "").Replace(s)
	if strings.ContainsAny(rest, "{}") {
		return fmt.Errorf("%s: the only placeholders are {tag} and {commit}", quote(s))
	}
	return nil
}

var platformRE = regexp.MustCompile(`^[a-z0-9]+/[a-z0-9_]+(?:/[a-z0-9]+)?$`)

func checkPlatform(s string) error {
	if !platformRE.MatchString(strings.ToLower(s)) {
		return fmt.Errorf("%s is not a platform (os/arch[/variant], e.g. linux/amd64)", quote(s))
	}
	return nil
}

func checkSigstoreURL(s string) error {
	if !strings.HasPrefix(s, "https://") && !strings.HasPrefix(s, "http://") {
		return fmt.Errorf("%s is not an http(s) URL", quote(s))
	}
	return checkAdvisoryLocation(s)
}

// checkPublishStore accepts local, feed, oci and github:OWNER/REPO.
func checkPublishStore(s string) error {
	switch strings.ToLower(s) {
	case PublishLocal, PublishFeed, PublishOCI:
		return nil
	}
	if rest, ok := strings.CutPrefix(s, "github:"); ok {
		return checkGitHubRepository(rest)
	}
	return fmt.Errorf("%s is not a store: local, feed, oci or github:OWNER/REPO", quote(s))
}

// starterReleases is the releases section of the starter file, commented
// out: tracking releases needs a signing key and the images' names.
const starterReleases = `
# Tracked releases: shipped release points whose VEX stays alive. Each
# update re-derives every tracked release's statements (its own scan, the
# decisions in force on its branch or scoped to its tag, advisories) and,
# when a statement changed, signs and publishes a new version of its
# document. Uncomment to use.
# releases:
#   # Which tags are tracked: tag patterns, on which maintained branches
#   # (empty: any), the newest keep per branch (0: all), none older than since.
#   track:
#     - tags: ["v1.*"]
#       branches: ["release-1.*"]
#       keep: 12
#       since: 2026-01-01
#   # Release points named by commit (40 or 64 hex digits).
#   commits: []
#   # The release's images; {tag} and {commit} are replaced. Each platform's
#   # digest is resolved once and recorded.
#   images:
#     - registry.k8s.io/kube-apiserver:{tag}
#   # A directory of the release's Go executables ({tag}, {commit}).
#   binaries: dist/{tag}
#   # The image platforms covered (os/arch[/variant]); empty: every one.
#   platforms: []
#   # How documents are signed: a private key file (COSIGN_PASSWORD for an
#   # encrypted cosign key), or keyless: true (SIGSTORE_ID_TOKEN).
#   signing:
#     key: release.key
#   # Where they are published: local, feed, oci (referrers of every image
#   # platform), github:OWNER/REPO (GITHUB_TOKEN).
#   publish: [local, feed, oci]
#   # Release images: scanner reports of them, Trivy, Grype or
#   # OSV-Scanner JSON (paths or globs; update reads each tracked
#   # release's, named by {tag}) ...
#   scanner_reports: ["reports/{tag}/*.json"]
#   # ... the public key that signs the base images' VEX (unverified base
#   # statements never count) ...
#   base_vex_key: keys/debian-base.pub
#   # ... and the base images they are built on, when their OCI
#   # annotations do not say, with where the base's VEX is: oci:REF,
#   # feed:URL (a vex-repo feed; only its signed bundles count) or a bundle
#   # file (default: the base's OCI referrers).
#   base_images:
#     - image: registry.k8s.io/kube-proxy
#       base: registry.k8s.io/build-image/debian-base:bookworm-v1.0.4
#       vex: [oci:registry.k8s.io/build-image/debian-base:bookworm-v1.0.4]
`

// checkPathLike accepts a non-empty value without control characters.
func checkPathLike(s string) error {
	if s == "" || len(s) > 4096 || strings.ContainsFunc(s, unicode.IsControl) {
		return fmt.Errorf("%s is not a path or reference", quote(s))
	}
	return nil
}

// checkBaseVEX accepts where a base image's VEX is: oci:REF, feed:URL
// (http or https), feed:DIR, or a file.
func checkBaseVEX(s string) error {
	if err := checkPathLike(s); err != nil {
		return err
	}
	kind, where, ok := strings.Cut(s, ":")
	switch {
	case !ok:
		return nil
	case kind == "oci" && where == "":
		return fmt.Errorf("%s names no image", quote(s))
	case kind == "feed" && where == "":
		return fmt.Errorf("%s names no feed: want feed:URL or feed:DIR", quote(s))
	case kind == "feed" && strings.Contains(where, "://") && !strings.HasPrefix(where, "https://") && !strings.HasPrefix(where, "http://"):
		return fmt.Errorf("%s: a feed is read over http(s) or from a directory", quote(s))
	}
	return nil
}

// BaseImageOf returns the configured base of a release image repository.
func (c *Config) BaseImageOf(repository string) (BaseImage, bool) {
	for _, b := range c.Releases.BaseImages {
		if strings.EqualFold(b.Image, repository) {
			return b, true
		}
	}
	return BaseImage{}, false
}

// checkFeedFormat accepts the formats the VEX repository specification
// allows for a feed's documents.
func checkFeedFormat(s string) error {
	if s != "openvex" && s != "csaf" {
		return fmt.Errorf("%s is not a feed format: openvex or csaf", quote(s))
	}
	return nil
}
