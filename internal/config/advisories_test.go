package config

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const withAdvisories = valid + `advisories:
  feed: https://kubernetes.io/docs/reference/issues-security/official-cve-feed/index.json
  osv: advisories/
  components:
    - name: kube-apiserver
      packages: [k8s.io/apiserver]
      binaries: [kube-apiserver]
      images: [registry.k8s.io/kube-apiserver]
    - name: kubectl
      binaries: [kubectl]
`

func TestParseAdvisories(t *testing.T) {
	c, err := Parse(filepath.Join(t.TempDir(), FileName), []byte(withAdvisories))
	if err != nil {
		t.Fatal(err)
	}
	want := Advisories{
		Feed: "https://kubernetes.io/docs/reference/issues-security/official-cve-feed/index.json",
		OSV:  "advisories/",
		Components: []Component{
			{Name: "kube-apiserver", Packages: []string{"k8s.io/apiserver"}, Binaries: []string{"kube-apiserver"}, Images: []string{"registry.k8s.io/kube-apiserver"}},
			{Name: "kubectl", Binaries: []string{"kubectl"}},
		},
	}
	if !reflect.DeepEqual(c.Advisories, want) {
		t.Errorf("got %+v\nwant %+v", c.Advisories, want)
	}
	if got := c.AdvisorySource(c.Advisories.Feed); got != want.Feed {
		t.Errorf("a URL source: %s", got)
	}
	if got := c.AdvisorySource(c.Advisories.OSV); got != filepath.Join(c.Dir, "advisories") {
		t.Errorf("a path source: %s", got)
	}
	if c.AdvisorySource("") != "" {
		t.Error("an unset source is not empty")
	}
	// The section is optional, and may be empty.
	for _, s := range []string{valid, valid + "advisories:\n", valid + "advisories: {components: []}\n"} {
		c, err := Parse(FileName, []byte(s))
		if err != nil || c.Advisories.Feed != "" || len(c.Advisories.Components) != 0 {
			t.Errorf("%q: %v %+v", s, err, c)
		}
	}
}

func TestParseAdvisoriesErrors(t *testing.T) {
	for _, tc := range []struct {
		yaml string
		line int
		want string
	}{
		{"advisories:\n  feeds: x\n", 9, `unknown key "feeds" in advisories (did you mean "feed"?)`},
		{"advisories: [a]\n", 8, "advisories: expected a mapping"},
		{"advisories:\n  feed: ftp://example.com/feed.json\n", 9, "neither an http(s) URL nor a path"},
		{"advisories:\n  osv: https://user:secret@example.com/osv\n", 9, "credentials"},
		{"advisories:\n  components: kube-apiserver\n", 9, "expected a list of components"},
		{"advisories:\n  components:\n    - binaries: [x]\n", 10, "advisories.components[0]: name is missing"},
		{"advisories:\n  components:\n    - name: a\n    - name: A\n", 11, `component "A" is configured twice (first at line 10)`},
		{"advisories:\n  components:\n    - name: a\n      image: [x]\n", 11, `unknown key "image" in advisories.components[0] (did you mean "images"?)`},
		{"advisories:\n  components:\n    - name: a\n      images: [registry.k8s.io/kube-apiserver:v1.30.0]\n", 11, "names a tag"},
		{"advisories:\n  components:\n    - name: a\n      images: [registry.k8s.io/kube-apiserver@sha256:abc]\n", 11, "names a digest"},
		{"advisories:\n  components:\n    - name: kube apiserver\n", 10, "no spaces"},
		{"advisories:\n  components:\n    - name: a\n      packages: [k8s.io/a, K8S.io/a]\n", 11, "listed twice"},
		{"advisories:\n  components:\n    - [a]\n", 10, "advisories.components[0]: expected a mapping"},
	} {
		_, err := Parse(FileName, []byte(valid+tc.yaml))
		if err == nil {
			t.Errorf("%q: no error", tc.yaml)
			continue
		}
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: not ErrInvalid: %v", tc.yaml, err)
		}
		var e *Error
		if !errors.As(err, &e) || e.Line != tc.line || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v (line %d), want line %d with %q", tc.yaml, err, lineOfErr(e), tc.line, tc.want)
		}
	}
}

func lineOfErr(e *Error) int {
	if e == nil {
		return 0
	}
	return e.Line
}

// FuzzAdvisories fuzzes the advisories section: whatever it holds, Parse
// either returns a configuration whose components are named and unique or
// a problem with its line.
func FuzzAdvisories(f *testing.F) {
	for _, s := range []string{
		strings.TrimPrefix(withAdvisories, valid),
		"advisories:\n  components:\n    - name: a\n    - name: a\n",
		"advisories: {feed: 'http://x', osv: ., components: [{name: a, images: [r/a]}]}\n",
		"advisories:\n  components: &c\n    - name: a\n  osv: *c\n",
		"advisories:\n  components:\n    - name: a\n      binaries: [\"\\t\"]\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, section string) {
		c, err := Parse(FileName, []byte(valid+section))
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("not ErrInvalid: %v", err)
			}
			for _, l := range strings.Split(err.Error(), "\n") {
				if !fileLine.MatchString(l) {
					t.Fatalf("problem without file:line: %q", l)
				}
			}
			return
		}
		seen := map[string]bool{}
		for _, comp := range c.Advisories.Components {
			k := strings.ToLower(comp.Name)
			if comp.Name == "" || seen[k] {
				t.Fatalf("component %q accepted", comp.Name)
			}
			seen[k] = true
			for _, img := range comp.Images {
				if strings.Contains(img, "@") {
					t.Fatalf("image %q with a digest accepted", img)
				}
			}
		}
		for _, s := range []string{c.Advisories.Feed, c.Advisories.OSV} {
			if strings.Contains(s, "://") && !isHTTPURL(s) {
				t.Fatalf("source %q accepted", s)
			}
		}
	})
}
