package imagevex

import (
	"strings"
	"testing"
	"time"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/vex"
)

const (
	baseDigest = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	otherBase  = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	libc       = "pkg:deb/debian/libc6@2.36-9+deb12u10?arch=amd64"
	zlib       = "pkg:deb/debian/zlib1g@1.2.13"
)

var t0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func statement(vuln, product string, subs []string, status openvex.Status, ts time.Time) openvex.Statement {
	st := openvex.Statement{Vulnerability: openvex.Vulnerability{Name: openvex.VulnerabilityID(vuln)}, Status: status, Timestamp: &ts,
		Products: []openvex.Product{{Component: openvex.Component{ID: product}}}}
	for _, s := range subs {
		st.Products[0].Subcomponents = append(st.Products[0].Subcomponents, openvex.Subcomponent{Component: openvex.Component{ID: s}})
	}
	switch status {
	case openvex.StatusNotAffected:
		st.Justification = openvex.VulnerableCodeNotInExecutePath
	case openvex.StatusAffected:
		st.ActionStatement = "Upgrade."
	}
	return st
}

func document(id string, sts ...openvex.Statement) *openvex.VEX {
	d := vex.NewDocument("Base Images Inc.", "", t0)
	d.ID = id
	d.Statements = sts
	return d
}

func baseImage(digest string) string {
	return "pkg:oci/debian-base@" + digest + "?repository_url=registry.example/debian-base"
}

// Verified statements about the base's OS packages are restated for each
// platform of the derived image; statements about other images, other
// kinds of components, or from unverified documents are not; the latest
// statement for a vulnerability and package wins.
func TestInherit(t *testing.T) {
	derived := []openvex.Component{
		{ID: "pkg:oci/kube-proxy@sha256:1111111111111111111111111111111111111111111111111111111111111111?repository_url=registry.example/kube-proxy"},
		{ID: "pkg:oci/kube-proxy@sha256:2222222222222222222222222222222222222222222222222222222222222222?repository_url=registry.example/kube-proxy"},
	}
	base := Base{Name: "registry.example/debian-base:bookworm", Digests: []string{baseDigest}, Docs: []BaseDocument{
		{Source: "signed", Verified: true, Doc: document("doc-1",
			statement("CVE-2024-1111", baseImage(baseDigest), []string{libc}, openvex.StatusAffected, t0),
			statement("CVE-2024-2222", baseImage(otherBase), []string{libc}, openvex.StatusNotAffected, t0),                         // another image
			statement("CVE-2024-3333", baseImage(baseDigest), []string{"pkg:golang/stdlib@v1.24.1"}, openvex.StatusNotAffected, t0), // not an OS package
			statement("CVE-2024-4444", zlib, nil, openvex.StatusFixed, t0),                                                          // the package itself
		)},
		{Source: "signed later", Verified: true, Doc: document("doc-2",
			statement("CVE-2024-1111", baseImage(baseDigest), []string{libc}, openvex.StatusNotAffected, t0.Add(time.Hour)),
		)},
		{Source: "forged", Verified: false, Doc: document("doc-3",
			statement("CVE-2024-5555", baseImage(baseDigest), []string{libc}, openvex.StatusNotAffected, t0.Add(2*time.Hour)),
			statement("CVE-2024-1111", baseImage(baseDigest), []string{libc}, openvex.StatusAffected, t0.Add(3*time.Hour)),
		)},
	}}
	got := Inherit(base, derived)
	var lines []string
	for _, st := range got {
		if len(st.Products) != 2 || st.Products[0].ID != derived[0].ID || st.Products[1].ID != derived[1].ID {
			t.Errorf("%s: products %+v", st.Vulnerability.Name, st.Products)
		}
		if err := st.Validate(); err != nil {
			t.Errorf("%s: %v", st.Vulnerability.Name, err)
		}
		lines = append(lines, string(st.Vulnerability.Name)+" "+string(st.Status)+" "+st.Products[0].Subcomponents[0].ID)
		if !strings.Contains(st.StatusNotes, "registry.example/debian-base:bookworm") || !strings.Contains(st.StatusNotes, "doc-") {
			t.Errorf("%s: the source is not named: %q", st.Vulnerability.Name, st.StatusNotes)
		}
	}
	want := "CVE-2024-1111 not_affected " + libc + "\nCVE-2024-4444 fixed " + zlib
	if strings.Join(lines, "\n") != want {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(lines, "\n"), want)
	}
	if !strings.Contains(got[0].StatusNotes, "doc-2") {
		t.Errorf("the later statement did not win: %q", got[0].StatusNotes)
	}
}

func TestCovering(t *testing.T) {
	sts := []openvex.Statement{statement("CVE-2024-1111", "pkg:oci/kube-proxy@sha256:1", []string{libc}, openvex.StatusNotAffected, t0)}
	sts[0].Vulnerability.Aliases = []openvex.VulnerabilityID{"DEBIAN-CVE-2024-1111"}
	for _, c := range []struct {
		f    Finding
		want bool
	}{
		{Finding{IDs: []string{"CVE-2024-1111"}, Package: "pkg:deb/debian/libc6@2.36-9+deb12u10?arch=amd64&distro=debian-12.7"}, true},
		{Finding{IDs: []string{"DEBIAN-CVE-2024-1111"}, Package: "pkg:deb/debian/libc6@2.36-9+deb12u10"}, true},
		{Finding{IDs: []string{"CVE-2024-1111"}, Package: "pkg:deb/debian/libc6@2.36-9+deb12u11"}, false},
		{Finding{IDs: []string{"CVE-2024-9999"}, Package: "pkg:deb/debian/libc6@2.36-9+deb12u10"}, false},
		{Finding{IDs: []string{"CVE-2024-1111"}, Package: "pkg:deb/ubuntu/libc6@2.36-9+deb12u10"}, false},
	} {
		if got := Covering(sts, c.f) != nil; got != c.want {
			t.Errorf("%+v: covered %v, want %v", c.f, got, c.want)
		}
	}
}
