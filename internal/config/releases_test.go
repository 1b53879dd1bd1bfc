package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

const withReleases = valid + `releases:
  track:
    - tags: ["v1.*"]
      branches: [release-1.*]
      keep: 12
      since: 2026-01-01
    - tags: [v2.0.0]
  commits: [0123456789abcdef0123456789abcdef01234567]
  images:
    - registry.k8s.io/kube-apiserver:{tag}
    - registry.k8s.io/kube-proxy:{tag}
  binaries: dist/{tag}
  platforms: [linux/amd64, linux/arm64]
  signing:
    key: release.key
  publish: [local, feed, oci, github:kubernetes/vex]
`

func TestParseReleases(t *testing.T) {
	c := mustParse(t, FileName, withReleases)
	want := Releases{
		Track: []TrackRule{
			{Tags: []string{"v1.*"}, Branches: []string{"release-1.*"}, Keep: 12, Since: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Line: 10},
			{Tags: []string{"v2.0.0"}, Line: 14},
		},
		Commits:   []string{"0123456789abcdef0123456789abcdef01234567"},
		Images:    []string{"registry.k8s.io/kube-apiserver:{tag}", "registry.k8s.io/kube-proxy:{tag}"},
		Binaries:  "dist/{tag}",
		Platforms: []string{"linux/amd64", "linux/arm64"},
		Signing:   Signing{Key: "release.key"},
		Publish:   []string{"local", "feed", "oci", "github:kubernetes/vex"},
	}
	if !reflect.DeepEqual(c.Releases, want) {
		t.Errorf("releases:\n%+v\nwant\n%+v", c.Releases, want)
	}
	if !c.Releases.Enabled() {
		t.Error("not enabled")
	}
	if got := ExpandTemplate(c.Releases.Images[0], "v1.34.2", "abc"); got != "registry.k8s.io/kube-apiserver:v1.34.2" {
		t.Errorf("ExpandTemplate = %s", got)
	}
	// Keyless gets the public Sigstore instance; publish defaults to the
	// local store and the feed.
	c = mustParse(t, FileName, valid+"releases:\n  track: [{tags: [v*]}]\n  signing: {keyless: true}\n")
	if s := c.Releases.Signing; !s.Keyless || s.FulcioURL != "https://fulcio.sigstore.dev" || s.RekorURL != "https://rekor.sigstore.dev" {
		t.Errorf("keyless: %+v", s)
	}
	if !reflect.DeepEqual(c.Releases.Publish, []string{"local", "feed"}) {
		t.Errorf("default publish: %v", c.Releases.Publish)
	}
	// Without the section nothing is tracked.
	if mustParse(t, FileName, valid).Releases.Enabled() {
		t.Error("releases enabled without the section")
	}
}

func TestParseReleasesErrors(t *testing.T) {
	base := valid + "releases:\n"
	for _, tc := range []struct {
		name, data, want string
	}{
		{"not a mapping", base[:len(base)-1] + " [a]\n", "vexloom.yaml:8: releases: expected a mapping"},
		{"track not a list", base + "  track: v1.*\n  signing: {key: k}\n", "vexloom.yaml:9: releases.track: expected a list of rules"},
		{"no tags", base + "  track:\n    - keep: 3\n  signing: {key: k}\n", "vexloom.yaml:10: releases.track[0]: tags is missing"},
		{"bad pattern", base + "  track: [{tags: ['v[']}]\n  signing: {key: k}\n", `vexloom.yaml:9: releases.track[0].tags: "v[" is not a valid pattern`},
		{"bad tag", base + "  track: [{tags: ['v1 2']}]\n  signing: {key: k}\n", `is not a valid tag name or pattern`},
		{"negative keep", base + "  track: [{tags: [v*], keep: -1}]\n  signing: {key: k}\n", "releases.track[0].keep: must not be negative"},
		{"huge keep", base + "  track: [{tags: [v*], keep: 99999999999}]\n  signing: {key: k}\n", "releases.track[0].keep: 99999999999 is more than 10000"},
		{"bad since", base + "  track: [{tags: [v*], since: yesterday}]\n  signing: {key: k}\n", `releases.track[0].since: "yesterday" is not a date`},
		{"unknown rule key", base + "  track: [{tags: [v*], keeep: 1}]\n  signing: {key: k}\n", `unknown key "keeep" in releases.track[0] (did you mean "keep"?)`},
		{"short commit", base + "  commits: [abc123]\n  signing: {key: k}\n", `releases.commits: "abc123" is not a full commit hash`},
		{"image without tag", base + "  track: [{tags: [v*]}]\n  images: [registry.k8s.io/kube-apiserver]\n  signing: {key: k}\n", "needs a registry, a repository and a tag or digest"},
		{"image with scheme", base + "  track: [{tags: [v*]}]\n  images: ['https://r/x:{tag}']\n  signing: {key: k}\n", "is not an image reference"},
		{"unknown placeholder", base + "  track: [{tags: [v*]}]\n  images: ['r.io/x:{version}']\n  signing: {key: k}\n", "the only placeholders are {tag} and {commit}"},
		{"bad platform", base + "  track: [{tags: [v*]}]\n  platforms: [amd64]\n  signing: {key: k}\n", `releases.platforms: "amd64" is not a platform`},
		{"no signing", base + "  track: [{tags: [v*]}]\n", "vexloom.yaml:9: releases.signing: tracked releases are published signed"},
		{"key and keyless", base + "  track: [{tags: [v*]}]\n  signing: {key: k, keyless: true}\n", "releases.signing: key and keyless exclude each other"},
		{"keyless not bool", base + "  track: [{tags: [v*]}]\n  signing: {keyless: yes please}\n", "releases.signing.keyless: expected true or false"},
		{"bad store", base + "  track: [{tags: [v*]}]\n  signing: {key: k}\n  publish: [s3]\n", `releases.publish: "s3" is not a store`},
		{"bad github store", base + "  track: [{tags: [v*]}]\n  signing: {key: k}\n  publish: ['github:nope']\n", `is not a GitHub repository`},
		{"duplicate store", base + "  track: [{tags: [v*]}]\n  signing: {key: k}\n  publish: [oci, OCI]\n", `releases.publish: "OCI" is listed twice`},
		{"rekor not url", base + "  track: [{tags: [v*]}]\n  signing: {keyless: true, rekor_url: rekor}\n", `releases.signing.rekor_url: "rekor" is not an http(s) URL`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := strings.Join(problems(t, tc.data), "\n")
			if !strings.Contains(got, tc.want) {
				t.Errorf("problems:\n%s\nwant one containing %q", got, tc.want)
			}
		})
	}
}

// The starter file shows the section commented out; uncommented, it
// parses as it is documented.
func TestStarterReleasesSection(t *testing.T) {
	data, err := Starter(InitOptions{Module: "example.com/m", Branches: []string{"main"}})
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	i := strings.Index(s, "# releases:")
	if i < 0 {
		t.Fatalf("no releases section:\n%s", s)
	}
	var b strings.Builder
	b.WriteString(s[:i])
	for _, line := range strings.SplitAfter(s[i:], "\n") {
		if rest, ok := strings.CutPrefix(line, "# "); ok && !strings.HasPrefix(strings.TrimSpace(rest), "#") {
			line = rest
		}
		b.WriteString(line)
	}
	c := mustParse(t, FileName, b.String())
	r := c.Releases
	if len(r.Track) != 1 || r.Track[0].Keep != 12 || r.Signing.Key != "release.key" || len(r.Images) != 1 || !reflect.DeepEqual(r.Publish, []string{"local", "feed", "oci"}) {
		t.Errorf("uncommented starter releases: %+v", r)
	}
}

// FuzzReleases feeds hostile releases sections: every problem names the
// file and a line, and what is accepted satisfies the section's
// invariants.
func FuzzReleases(f *testing.F) {
	f.Add([]byte(withReleases[len(valid):]))
	f.Add([]byte("releases:\n  track: [{tags: [v*], since: 2026-02-30}]\n  signing: {key: k}\n"))
	f.Add([]byte("releases:\n  track: &a [{tags: [v*]}]\n  commits: *a\n  signing: {keyless: true}\n"))
	f.Add([]byte("releases:\n  images: ['a/b:{tag}{commit}']\n  publish: [github:a/b, local]\n  signing: {key: k}\n"))
	f.Fuzz(func(t *testing.T, section []byte) {
		data := append([]byte(valid), section...)
		c, err := Parse(FileName, data)
		if err != nil {
			for _, l := range strings.Split(err.Error(), "\n") {
				if len(data) <= MaxFileSize && !fileLine.MatchString(l) {
					t.Fatalf("problem without file:line: %q", l)
				}
			}
			return
		}
		r := c.Releases
		if r.Enabled() && r.Signing.Key == "" && !r.Signing.Keyless {
			t.Fatalf("tracked releases without signing: %+v", r)
		}
		for _, tr := range r.Track {
			if len(tr.Tags) == 0 || tr.Keep < 0 {
				t.Fatalf("bad rule %+v", tr)
			}
			for _, p := range tr.Tags {
				if checkTagPattern(p) != nil {
					t.Fatalf("bad tag pattern %q", p)
				}
			}
		}
		for _, s := range r.Publish {
			if checkPublishStore(s) != nil {
				t.Fatalf("bad store %q", s)
			}
		}
		for _, im := range r.Images {
			if strings.ContainsAny(strings.NewReplacer("{tag}", "", "{commit}", "").Replace(im), "{} \t\n") {
				t.Fatalf("bad image template %q", im)
			}
		}
	})
}
