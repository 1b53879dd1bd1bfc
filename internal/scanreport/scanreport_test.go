package scanreport

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func describe(r *Report) string {
	var lines []string
	lines = append(lines, fmt.Sprintf("%s %s %v config=%s", r.Format, r.Image, r.Digests, r.ConfigDigest))
	for _, f := range r.Findings {
		lines = append(lines, fmt.Sprintf("%s (%s %v) %s %s %s fix=%s at %s", f.Name(), f.ID, f.Aliases, f.Class, f.Package, f.PackageKey(), f.FixedVersion, f.Where))
	}
	return strings.Join(lines, "\n")
}

// Each format is detected and read into the same shape: the image, its
// digests, and one finding per vulnerability and package, named by package
// URL (vexloom's normal form) and classed.
func TestParse(t *testing.T) {
	for _, c := range []struct{ file, want string }{
		{"trivy.json", `trivy registry.example/kube-proxy:v1.34.2 [sha256:4b1c56e1a8a1a0f7d8e0c6e0a4f0b5c3d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6] config=sha256:1111111111111111111111111111111111111111111111111111111111111111
CVE-2024-1111 (CVE-2024-1111 [DSA-5999-1]) os pkg:deb/debian/libc6@2.36-9+deb12u10?arch=amd64&distro=debian-12.7 pkg:deb/debian/libc6 fix= at registry.example/kube-proxy:v1.34.2 (debian 12.7)
CVE-2025-22871 (CVE-2025-22871 []) go pkg:golang/stdlib@v1.24.1 pkg:golang/stdlib fix=1.24.2, 1.23.8 at usr/local/bin/kube-proxy
CVE-2025-3333 (CVE-2025-3333 []) os pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?arch=amd64&distro=debian-12.7 pkg:deb/debian/zlib1g fix=1:1.2.13.dfsg-1+deb12u1 at registry.example/kube-proxy:v1.34.2 (debian 12.7)
CVE-2025-4444 (CVE-2025-4444 []) os pkg:deb/debian/tzdata@2025a-0+deb12u1 pkg:deb/debian/tzdata fix= at registry.example/kube-proxy:v1.34.2 (debian 12.7)
GHSA-xxxx-yyyy-zzzz (GHSA-xxxx-yyyy-zzzz []) go pkg:golang/golang.org/x/net@v0.35.0 pkg:golang/golang.org/x/net fix= at usr/local/bin/kube-proxy`},
		{"grype.json", `grype registry.example/kube-proxy:v1.34.2 [sha256:2222222222222222222222222222222222222222222222222222222222222222 sha256:4b1c56e1a8a1a0f7d8e0c6e0a4f0b5c3d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6] config=sha256:1111111111111111111111111111111111111111111111111111111111111111
CVE-2024-1111 (CVE-2024-1111 []) os pkg:deb/debian/libc6@2.36-9+deb12u10?arch=amd64&distro=debian-12 pkg:deb/debian/libc6 fix= at /usr/share/doc/libc6/copyright
CVE-2025-5555 (GHSA-aaaa-bbbb-cccc [CVE-2025-5555]) go pkg:golang/golang.org/x/net@v0.35.0 pkg:golang/golang.org/x/net fix=0.36.0 at /usr/local/bin/kube-proxy
GHSA-dddd-eeee-ffff (GHSA-dddd-eeee-ffff []) other pkg:npm/left-pad@1.0.0 pkg:npm/left-pad fix= at `},
		{"osv-scanner.json", `osv-scanner registry.example/kube-proxy:v1.34.2 [] config=
CVE-2024-1111 (DEBIAN-CVE-2024-1111 [CVE-2024-1111]) os pkg:deb/debian/libc6@2.36-9+deb12u10 pkg:deb/debian/libc6 fix= at registry.example/kube-proxy:v1.34.2
CVE-2025-22871 (GO-2025-3563 [CVE-2025-22871]) go pkg:golang/stdlib@v1.24.1 pkg:golang/stdlib fix= at registry.example/kube-proxy:v1.34.2
GHSA-1111-2222-3333 (GHSA-1111-2222-3333 []) other pkg:npm/%40babel/core@7.0.0 pkg:npm/%40babel/core fix= at registry.example/kube-proxy:v1.34.2`},
	} {
		t.Run(c.file, func(t *testing.T) {
			r, err := Parse(read(t, c.file))
			if err != nil {
				t.Fatal(err)
			}
			if got := describe(r); got != c.want {
				t.Errorf("got\n%s\nwant\n%s", got, c.want)
			}
		})
	}
}

// Bad and hostile input: an unknown format and a malformed report are told
// apart, and the error says what is wrong.
func TestParseRefuses(t *testing.T) {
	trivy := string(read(t, "trivy.json"))
	grype := string(read(t, "grype.json"))
	osv := string(read(t, "osv-scanner.json"))
	for _, c := range []struct {
		name, data string
		is         error
		want       string
	}{
		{"empty", "", ErrUnknownFormat, "empty"},
		{"array", "[]", ErrUnknownFormat, "not a JSON object"},
		{"openvex", `{"@context":"https://openvex.dev/ns/v0.2.0","statements":[]}`, ErrUnknownFormat, "Trivy"},
		{"spdx", `{"spdxVersion":"SPDX-2.3"}`, ErrUnknownFormat, "Grype"},
		{"truncated trivy", trivy[:len(trivy)/2], ErrMalformed, "truncated"},
		{"truncated grype", grype[:len(grype)-3], ErrMalformed, "truncated"},
		{"trivy schema 1", strings.Replace(trivy, `"SchemaVersion": 2`, `"SchemaVersion": 1`, 1), ErrMalformed, "schema version 1"},
		{"trivy wrong types", strings.Replace(trivy, `"Results": [`, `"Results": [7, `, 1), ErrMalformed, "Trivy report"},
		{"id with spaces", strings.Replace(trivy, `"CVE-2025-3333"`, `"CVE 2025 3333"`, 1), ErrMalformed, "not one"},
		{"id with a control character", strings.Replace(grype, `"GHSA-dddd-eeee-ffff"`, `"GHSA\u001b[31m"`, 1), ErrMalformed, "not one"},
		{"bad purl", strings.Replace(grype, `"pkg:npm/left-pad@1.0.0"`, `"pkg:%zz"`, 1), ErrMalformed, "package URL"},
		{"unknown distro without purl", strings.Replace(trivy, `"Type": "debian"`, `"Type": "plan9"`, 1), ErrMalformed, "plan9"},
		{"osv without ecosystem", strings.Replace(osv, `"ecosystem": "npm"`, `"ecosystem": ""`, 1), ErrMalformed, "no ecosystem"},
		{"osv group without ids", strings.Replace(osv, `"groups": [{"ids": ["DEBIAN-CVE-2024-1111"]`, `"groups": [{"ids": []`, 1), ErrMalformed, "no ids"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.data))
			if !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want %v mentioning %q", err, c.is, c.want)
			}
		})
	}
	t.Run("too big", func(t *testing.T) {
		// One byte over the limit; the bytes between the braces are never
		// written, so the test costs no memory the parser does not touch.
		data := make([]byte, MaxReportSize+1)
		data[0], data[len(data)-1] = '{', '}'
		if _, err := Parse(data); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "allowed") {
			t.Errorf("got %v, want %v mentioning %q", err, ErrMalformed, "allowed")
		}
	})
}

// Image digests from a report are read by internal/digest: only sha256,
// normalised to lowercase, each once; anything else is left out.
func TestAddDigest(t *testing.T) {
	hexd := strings.Repeat("ab", 32)
	got := addDigest(nil,
		"registry.example/app@sha256:"+strings.ToUpper(hexd),
		"sha256:"+hexd,
		"sha256:"+hexd[:60],
		"sha256:"+strings.Repeat("zz", 32),
		"md5:"+hexd[:32],
		"sha512:"+strings.Repeat("cd", 64),
		"registry.example/app:latest",
	)
	if want := []string{"sha256:" + hexd}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
