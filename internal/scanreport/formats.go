package scanreport

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/vexloom/vexloom/internal/osv"
	"github.com/vexloom/vexloom/internal/purl"
)

// Trivy: trivy image --format json (schema version 2).
type trivyReport struct {
	SchemaVersion int    `json:"SchemaVersion"`
	ArtifactName  string `json:"ArtifactName"`
	Metadata      struct {
		ImageID     string   `json:"ImageID"`
		RepoDigests []string `json:"RepoDigests"`
		OS          *struct {
			Family string `json:"Family"`
			Name   string `json:"Name"`
		} `json:"OS"`
	} `json:"Metadata"`
	Results []struct {
		Target          string `json:"Target"`
		Class           string `json:"Class"`
		Type            string `json:"Type"`
		Vulnerabilities []struct {
			VulnerabilityID  string   `json:"VulnerabilityID"`
			VendorIDs        []string `json:"VendorIDs"`
			PkgName          string   `json:"PkgName"`
			InstalledVersion string   `json:"InstalledVersion"`
			FixedVersion     string   `json:"FixedVersion"`
			PkgIdentifier    struct {
				PURL string `json:"PURL"`
			} `json:"PkgIdentifier"`
		} `json:"Vulnerabilities"`
	} `json:"Results"`
}

// trivyDistro is the package URL type and namespace of a Trivy OS type.
var trivyDistro = map[string][2]string{
	"debian": {"deb", "debian"}, "ubuntu": {"deb", "ubuntu"},
	"alpine": {"apk", "alpine"}, "wolfi": {"apk", "wolfi"}, "chainguard": {"apk", "chainguard"},
	"redhat": {"rpm", "redhat"}, "centos": {"rpm", "centos"}, "rocky": {"rpm", "rocky"},
	"alma": {"rpm", "almalinux"}, "amazon": {"rpm", "amazon"}, "fedora": {"rpm", "fedora"},
	"oracle": {"rpm", "oracle"}, "opensuse": {"rpm", "opensuse"}, "sles": {"rpm", "sles"},
	"azurelinux": {"rpm", "azurelinux"}, "cbl-mariner": {"rpm", "mariner"},
}

func parseTrivy(data []byte) (*Report, error) {
	var tr trivyReport
	if err := json.Unmarshal(data, &tr); err != nil {
		return nil, fmt.Errorf("%w: Trivy report: %v", ErrMalformed, err)
	}
	if tr.SchemaVersion != 2 {
		return nil, fmt.Errorf("%w: Trivy report schema version %d (vexloom reads 2)", ErrMalformed, tr.SchemaVersion)
	}
	r := &Report{Format: Trivy, Image: tr.ArtifactName, Digests: addDigest(nil, tr.Metadata.RepoDigests...), ConfigDigest: configDigest(tr.Metadata.ImageID)}
	for ri, res := range tr.Results {
		for vi, v := range res.Vulnerabilities {
			where := fmt.Sprintf("Results[%d].Vulnerabilities[%d]", ri, vi)
			if err := checkID(v.VulnerabilityID); err != nil {
				return nil, fmt.Errorf("Trivy report: %s: %w", where, err)
			}
			purl := v.PkgIdentifier.PURL
			if purl == "" {
				var err error
				if purl, err = trivyPURL(res.Class, res.Type, v.PkgName, v.InstalledVersion); err != nil {
					return nil, fmt.Errorf("Trivy report: %s: %w", where, err)
				}
			}
			n, p, err := packageURL(purl)
			if err != nil {
				return nil, fmt.Errorf("Trivy report: %s: %w", where, err)
			}
			f := Finding{ID: v.VulnerabilityID, Package: n, PackageName: fullName(p), Version: p.Version, Class: classOf(p.Type),
				FixedVersion: v.FixedVersion, Where: res.Target}
			for _, a := range v.VendorIDs {
				if checkID(a) == nil && a != f.ID {
					f.Aliases = append(f.Aliases, a)
				}
			}
			r.Findings = append(r.Findings, f)
		}
	}
	return r, nil
}

// trivyPURL builds the package URL Trivy left out (older reports).
func trivyPURL(class, typ, name, version string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("%w: no package name", ErrMalformed)
	}
	switch {
	case class == "os-pkgs":
		d, ok := trivyDistro[typ]
		if !ok {
			return "", fmt.Errorf("%w: operating system %q is not one vexloom names packages of", ErrMalformed, short(typ))
		}
		return purl.New(d[0], d[1], name, version), nil
	case typ == "gobinary" || typ == "gomod":
		return purl.Go(name, version), nil
	}
	return purl.New("generic", "", name, version), nil
}

// fullName is a package's name with its namespace (a Go module path, a
// Maven group).
func fullName(p purl.Parts) string {
	if p.Namespace != "" && p.Type != "deb" && p.Type != "apk" && p.Type != "rpm" {
		return p.Namespace + "/" + p.Name
	}
	return p.Name
}

// Grype: grype -o json.
type grypeReport struct {
	Matches []struct {
		Vulnerability struct {
			ID  string `json:"id"`
			Fix struct {
				Versions []string `json:"versions"`
			} `json:"fix"`
		} `json:"vulnerability"`
		RelatedVulnerabilities []struct {
			ID string `json:"id"`
		} `json:"relatedVulnerabilities"`
		Artifact struct {
			Name      string `json:"name"`
			Version   string `json:"version"`
			Type      string `json:"type"`
			PURL      string `json:"purl"`
			Locations []struct {
				Path string `json:"path"`
			} `json:"locations"`
		} `json:"artifact"`
	} `json:"matches"`
	Source struct {
		Type   string          `json:"type"`
		Target json.RawMessage `json:"target"`
	} `json:"source"`
}

type grypeImage struct {
	UserInput      string   `json:"userInput"`
	ImageID        string   `json:"imageID"`
	ManifestDigest string   `json:"manifestDigest"`
	RepoDigests    []string `json:"repoDigests"`
}

func parseGrype(data []byte) (*Report, error) {
	var gr grypeReport
	if err := json.Unmarshal(data, &gr); err != nil {
		return nil, fmt.Errorf("%w: Grype report: %v", ErrMalformed, err)
	}
	r := &Report{Format: Grype}
	if gr.Source.Type == "image" && len(gr.Source.Target) > 0 {
		var img grypeImage
		if err := json.Unmarshal(gr.Source.Target, &img); err != nil {
			return nil, fmt.Errorf("%w: Grype report: source.target: %v", ErrMalformed, err)
		}
		r.Image = img.UserInput
		r.Digests = addDigest(nil, append(img.RepoDigests, img.ManifestDigest)...)
		r.ConfigDigest = configDigest(img.ImageID)
	}
	for i, m := range gr.Matches {
		where := fmt.Sprintf("matches[%d]", i)
		if err := checkID(m.Vulnerability.ID); err != nil {
			return nil, fmt.Errorf("Grype report: %s: %w", where, err)
		}
		a := m.Artifact
		pu := a.PURL
		if pu == "" {
			if a.Name == "" {
				return nil, fmt.Errorf("%w: Grype report: %s: no package name", ErrMalformed, where)
			}
			if a.Type == "go-module" {
				pu = purl.Go(a.Name, a.Version)
			} else {
				pu = purl.New("generic", "", a.Name, a.Version)
			}
		}
		n, p, err := packageURL(pu)
		if err != nil {
			return nil, fmt.Errorf("Grype report: %s: %w", where, err)
		}
		f := Finding{ID: m.Vulnerability.ID, Package: n, PackageName: fullName(p), Version: p.Version, Class: classOf(p.Type)}
		if len(m.Vulnerability.Fix.Versions) > 0 {
			f.FixedVersion = m.Vulnerability.Fix.Versions[0]
		}
		if len(a.Locations) > 0 {
			f.Where = a.Locations[0].Path
		}
		for _, rv := range m.RelatedVulnerabilities {
			if checkID(rv.ID) == nil && rv.ID != f.ID && !contains(f.Aliases, rv.ID) {
				f.Aliases = append(f.Aliases, rv.ID)
			}
		}
		r.Findings = append(r.Findings, f)
	}
	return r, nil
}

// OSV-Scanner: osv-scanner --format json (of an image or lockfiles).
type osvReport struct {
	Results []struct {
		Source struct {
			Path string `json:"path"`
			Type string `json:"type"`
		} `json:"source"`
		Packages []struct {
			Package struct {
				Name      string `json:"name"`
				Version   string `json:"version"`
				Ecosystem string `json:"ecosystem"`
			} `json:"package"`
			Vulnerabilities []osv.Entry `json:"vulnerabilities"`
			Groups          []osvGroup  `json:"groups"`
		} `json:"packages"`
	} `json:"results"`
}

// osvGroup is one vulnerability under all its IDs.
type osvGroup struct {
	IDs     []string `json:"ids"`
	Aliases []string `json:"aliases"`
	// ExperimentalAnalysis is OSV-Scanner's call analysis (for Go,
	// govulncheck's): per ID whether the vulnerable code is called.
	ExperimentalAnalysis map[string]struct {
		Called bool `json:"called"`
	} `json:"experimentalAnalysis"`
	MaxSeverity string `json:"max_severity"`
}

// osvDistro maps an OSV ecosystem (before any ":release") to a package URL
// type and namespace.
var osvDistro = map[string][2]string{
	"Debian": {"deb", "debian"}, "Ubuntu": {"deb", "ubuntu"},
	"Alpine": {"apk", "alpine"}, "Wolfi": {"apk", "wolfi"}, "Chainguard": {"apk", "chainguard"},
	"Red Hat": {"rpm", "redhat"}, "Rocky Linux": {"rpm", "rocky"}, "AlmaLinux": {"rpm", "almalinux"},
	"openSUSE": {"rpm", "opensuse"}, "SUSE": {"rpm", "suse"}, "Mageia": {"rpm", "mageia"},
}

func parseOSVScanner(data []byte) (*Report, error) {
	var or osvReport
	if err := json.Unmarshal(data, &or); err != nil {
		return nil, fmt.Errorf("%w: OSV-Scanner report: %v", ErrMalformed, err)
	}
	r := &Report{Format: OSVScanner}
	for ri, res := range or.Results {
		if res.Source.Type == "docker" || res.Source.Type == "image" {
			r.Image = res.Source.Path
		}
		for pi, p := range res.Packages {
			where := fmt.Sprintf("results[%d].packages[%d]", ri, pi)
			if len(p.Vulnerabilities) == 0 && len(p.Groups) == 0 {
				continue
			}
			purl, err := osvPURL(p.Package.Ecosystem, p.Package.Name, p.Package.Version)
			if err != nil {
				return nil, fmt.Errorf("OSV-Scanner report: %s: %w", where, err)
			}
			n, pu, err := packageURL(purl)
			if err != nil {
				return nil, fmt.Errorf("OSV-Scanner report: %s: %w", where, err)
			}
			// One finding per group (a vulnerability under all its IDs);
			// older reports have no groups: each vulnerability is its own.
			groups := p.Groups
			if len(groups) == 0 {
				for _, v := range p.Vulnerabilities {
					groups = append(groups, osvGroup{IDs: []string{v.ID}, Aliases: v.Aliases})
				}
			}
			for gi, g := range groups {
				if len(g.IDs) == 0 {
					return nil, fmt.Errorf("%w: OSV-Scanner report: %s.groups[%d] has no ids", ErrMalformed, where, gi)
				}
				f := Finding{ID: g.IDs[0], Package: n, PackageName: fullName(pu), Version: pu.Version, Class: classOf(pu.Type), Where: res.Source.Path}
				for _, id := range append(append([]string{}, g.IDs...), g.Aliases...) {
					if err := checkID(id); err != nil {
						return nil, fmt.Errorf("OSV-Scanner report: %s.groups[%d]: %w", where, gi, err)
					}
					if id != f.ID && !contains(f.Aliases, id) {
						f.Aliases = append(f.Aliases, id)
					}
				}
				d := &OSVDetail{Ecosystem: p.Package.Ecosystem, Name: p.Package.Name, Version: p.Package.Version,
					IDs: slices.Clone(g.IDs), MaxSeverity: g.MaxSeverity}
				for _, id := range g.IDs {
					if i := slices.IndexFunc(p.Vulnerabilities, func(v osv.Entry) bool { return v.ID == id }); i >= 0 {
						d.Records = append(d.Records, p.Vulnerabilities[i])
					}
				}
				for _, a := range g.ExperimentalAnalysis {
					d.Called = d.Called || a.Called
				}
				f.OSV = d
				r.Findings = append(r.Findings, f)
			}
		}
	}
	return r, nil
}

// osvPURL builds a package's URL from its OSV ecosystem, name and version:
// a distribution's package by the distribution, a language's as
// purl.Ecosystem names it, else a generic one.
func osvPURL(ecosystem, name, version string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("%w: no package name", ErrMalformed)
	}
	if ecosystem == "" {
		return "", fmt.Errorf("%w: package %q has no ecosystem", ErrMalformed, short(name))
	}
	base, _, _ := strings.Cut(ecosystem, ":")
	if d, ok := osvDistro[base]; ok {
		return purl.New(d[0], d[1], name, version), nil
	}
	if p := purl.Ecosystem(ecosystem, name, version); p != "" {
		return p, nil
	}
	return purl.New("generic", "", name, version), nil
}

func contains(s []string, x string) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}

// configDigest keeps an image ID that is a sha256 digest.
func configDigest(id string) string {
	if d := addDigest(nil, id); len(d) == 1 {
		return d[0]
	}
	return ""
}
