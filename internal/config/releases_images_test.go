package config

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseReleaseImages(t *testing.T) {
	c, err := Parse(filepath.Join(t.TempDir(), FileName), []byte(valid+`releases:
  scanner_reports: [reports/*.trivy.json, reports/grype.json]
  base_vex_key: keys/debian-base.pub
  base_images:
    - image: registry.k8s.io/kube-proxy
      base: registry.k8s.io/build-image/debian-base:bookworm-v1.0.4
    - image: registry.k8s.io/pause
      base: registry.k8s.io/build-image/distroless@sha256:aaaa
      vex: [oci:registry.k8s.io/build-image/distroless-vex:latest, "feed:https://vex.example/distroless", feed:vex/distroless]
`))
	if err != nil {
		t.Fatal(err)
	}
	want := Releases{
		ScannerReports: []string{"reports/*.trivy.json", "reports/grype.json"},
		BaseVEXKey:     "keys/debian-base.pub",
		BaseImages: []BaseImage{
			{Image: "registry.k8s.io/kube-proxy", Base: "registry.k8s.io/build-image/debian-base:bookworm-v1.0.4"},
			{Image: "registry.k8s.io/pause", Base: "registry.k8s.io/build-image/distroless@sha256:aaaa", VEX: []string{"oci:registry.k8s.io/build-image/distroless-vex:latest", "feed:https://vex.example/distroless", "feed:vex/distroless"}},
		},
	}
	if !reflect.DeepEqual(c.Releases, want) {
		t.Errorf("got %+v\nwant %+v", c.Releases, want)
	}
	if b, ok := c.BaseImageOf("registry.k8s.io/Kube-Proxy"); !ok || b.Base != want.BaseImages[0].Base {
		t.Errorf("BaseImageOf: %+v %v", b, ok)
	}
}

func TestParseReleasesRefuses(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"releases:\n  scanner_report: [a.json]\n", `unknown key "scanner_report"`},
		{"releases:\n  base_images: {image: x}\n", "expected a list"},
		{"releases:\n  base_images:\n    - image: registry.k8s.io/kube-proxy\n", "image and base are both required"},
		{"releases:\n  base_images:\n    - image: registry.k8s.io/kube-proxy:v1\n      base: x\n", "names a tag"},
		{"releases:\n  base_images:\n    - image: registry.k8s.io/kube-proxy\n      base: x\n      vex: [\"feed:\"]\n", "names no feed"},
		{"releases:\n  base_images:\n    - image: registry.k8s.io/kube-proxy\n      base: x\n      vex: [\"feed:ftp://vex.example\"]\n", "over http(s) or from a directory"},
		{"releases:\n  base_images:\n    - image: registry.k8s.io/kube-proxy\n      base: x\n      vex: [\"oci:\"]\n", "names no image"},
	} {
		_, err := Parse(filepath.Join(t.TempDir(), FileName), []byte(valid+c.yaml))
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.yaml, err, c.want)
		}
	}
}

func TestParseFeedFormat(t *testing.T) {
	c, err := Parse(filepath.Join(t.TempDir(), FileName), []byte(valid+"vex:\n  feed_format: csaf\n"))
	if err != nil || c.VEX.FeedFormat != "csaf" {
		t.Fatalf("%+v, %v", c.VEX, err)
	}
	if _, err := Parse(filepath.Join(t.TempDir(), FileName), []byte(valid+"vex:\n  feed_format: cyclonedx\n")); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "openvex or csaf") {
		t.Errorf("a CycloneDX feed: %v", err)
	}
}
