package config

import (
	"fmt"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// Releases configures what vexloom reads about a release's images
// (vexloom images ingest).
type Releases struct {
	// ScannerReports are the Trivy, Grype or OSV-Scanner JSON reports of
	// the release images read when images ingest is given none: paths or
	// glob patterns relative to Dir.
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
	// VEX are where the base's VEX is: oci:REF or a bundle file (default:
	// the referrers of Base).
	VEX []string
}

// releases decodes the releases mapping.
func (d *decoder) releases(v *yaml.Node, r *Releases) {
	const where = "releases"
	d.mapping(v, where, []field{
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
						d.list(v, at+".vex", &b.VEX, checkPathLike, func(s string) string { return s })
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
}

// checkPathLike accepts a non-empty value without control characters.
func checkPathLike(s string) error {
	if s == "" || len(s) > 4096 || strings.ContainsFunc(s, unicode.IsControl) {
		return fmt.Errorf("%s is not a path or reference", quote(s))
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
