package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	openvex "github.com/openvex/go-vex/pkg/vex"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"

	"github.com/vexloom/vexloom/internal/artifact"
	"github.com/vexloom/vexloom/internal/attest"
	"github.com/vexloom/vexloom/internal/attest/attesttest"
	"github.com/vexloom/vexloom/internal/imagevex"
	"github.com/vexloom/vexloom/internal/vex"
)

// A base image's VEX signed keyless counts only when its certificate is
// for the identity and issuer trusted (--base-identity, --base-issuer,
// with --trusted-root naming the authority): the statement the base's
// publisher signed answers the derived image's finding, the one signed by
// another identity of the same authority, or by the right identity at
// another authority, is refused and answers nothing.
func TestImagesBaseVEXKeyless(t *testing.T) {
	const (
		issuer    = "https://token.actions.githubusercontent.example"
		publisher = "https://github.example/debian-base/images/.github/workflows/vex.yaml@refs/heads/main"
		other     = "https://github.example/someone/else/.github/workflows/vex.yaml@refs/heads/main"
	)
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// The authority as a trusted root file, as --trusted-root reads it.
	trFile := filepath.Join(dir, "trusted_root.json")
	if err := os.WriteFile(trFile, attesttest.TrustedRootJSON(t, vs), 0o644); err != nil {
		t.Fatal(err)
	}
	trust := baseTrust{identity: `https://github\.example/debian-base/images/\.github/workflows/vex\.yaml@refs/heads/main`, issuer: issuer, trustedRoot: trFile}
	pol, err := trust.policy("")
	if err != nil {
		t.Fatal(err)
	}
	if pol == nil || pol.Identity == nil || pol.Identity.Issuer != issuer || pol.PublicKey != nil {
		t.Fatalf("--base-identity/--base-issuer policy: %+v", pol)
	}
	// The test authority's certificates embed no SCTs (public-good
	// Fulcio's do); everything else is checked as configured.
	pol.Identity.WithoutSCTUnsafe = true

	baseDigest := "sha256:" + strings.Repeat("ba", 32)
	basePURL := "pkg:oci/debian-base@" + baseDigest + "?repository_url=example.test/base/debian-base"
	statement := func(vuln, pkg string) []byte {
		ts := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		doc := vex.NewDocument("Debian base image maintainers", "", ts)
		doc.Statements = []openvex.Statement{{
			Vulnerability: openvex.Vulnerability{Name: openvex.VulnerabilityID(vuln)}, Timestamp: &ts,
			Products: []openvex.Product{{
				Component:     openvex.Component{ID: basePURL, Hashes: map[openvex.Algorithm]openvex.Hash{openvex.SHA256: openvex.Hash(strings.TrimPrefix(baseDigest, "sha256:"))}},
				Subcomponents: []openvex.Subcomponent{{Component: openvex.Component{ID: pkg}}},
			}},
			Status: openvex.StatusNotAffected, Justification: openvex.VulnerableCodeNotInExecutePath,
			ImpactStatement: "The vulnerable path is not used by anything in the image.",
		}}
		if err := vex.Finalize(doc); err != nil {
			t.Fatal(err)
		}
		stmt, err := attest.Statement(doc)
		if err != nil {
			t.Fatal(err)
		}
		return stmt
	}
	libc := "pkg:deb/debian/libc6@2.36-9+deb12u10?arch=amd64"
	zlib := "pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?arch=amd64"
	// The virtual authority's certificates start now and last minutes.
	logTime := time.Now().Add(time.Minute)
	otherAuthority, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"trusted.bundle":         attesttest.KeylessBundle(t, vs, publisher, issuer, statement("CVE-2024-1111", libc), logTime, true),
		"other-identity.bundle":  attesttest.KeylessBundle(t, vs, other, issuer, statement("CVE-2025-3333", zlib), logTime, true),
		"other-issuer.bundle":    attesttest.KeylessBundle(t, vs, publisher, "https://accounts.example", statement("CVE-2025-3333", zlib), logTime, true),
		"other-authority.bundle": attesttest.KeylessBundle(t, otherAuthority, publisher, issuer, statement("CVE-2025-3333", zlib), logTime, true),
	}
	derived := []openvex.Component{artifact.ImageProduct(artifact.Platform{Repository: "example.test/release/kube-proxy", Name: "kube-proxy", Digest: "sha256:" + strings.Repeat("de", 32)}).Component}
	for file, b := range files {
		path := filepath.Join(dir, file)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		base, skipped := imagevex.LoadBase(context.Background(), path, pol, &stderr)
		base.Digests = []string{baseDigest}
		inherited := imagevex.Inherit(base, derived)
		libcCovered := imagevex.Covering(inherited, imagevex.Finding{IDs: []string{"CVE-2024-1111"}, Package: "pkg:deb/debian/libc6@2.36-9+deb12u10?arch=amd64&distro=debian-12.7"})
		zlibCovered := imagevex.Covering(inherited, imagevex.Finding{IDs: []string{"CVE-2025-3333"}, Package: "pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?arch=amd64&distro=debian-12.7"})
		if file == "trusted.bundle" {
			if skipped != 0 || !strings.Contains(stderr.String(), "verified, signed by "+publisher+" ("+issuer+")") {
				t.Errorf("%s: skipped %d:\n%s", file, skipped, stderr.String())
			}
			if libcCovered == nil || libcCovered.Status != openvex.StatusNotAffected {
				t.Errorf("%s: the trusted identity's statement does not count: %+v", file, inherited)
			}
			continue
		}
		why := "not counted: signer identity does not match"
		if file == "other-authority.bundle" {
			why = "not counted: signature does not verify: the certificate is not issued by a trusted certificate authority"
		}
		if skipped != 1 || !strings.Contains(stderr.String(), why) {
			t.Errorf("%s: skipped %d, want 1 (%s):\n%s", file, skipped, why, stderr.String())
		}
		if len(base.Docs) != 0 || len(inherited) != 0 || zlibCovered != nil {
			t.Errorf("%s: an untrusted signer's statement counts: %+v", file, inherited)
		}
	}
}
