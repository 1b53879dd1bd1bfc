package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	openvex "github.com/openvex/go-vex/pkg/vex"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/vexloom/vexloom/internal/artifact"
	"github.com/vexloom/vexloom/internal/attest"
	"github.com/vexloom/vexloom/internal/imagevex"
	"github.com/vexloom/vexloom/internal/vex"
)

// keylessBaseBundle has sigstore-go's test authority (a generated Fulcio
// CA, Rekor log and timestamp authority) attest an in-toto statement for
// an identity and packs it into a v0.3 bundle as sign.Bundle does, the way
// internal/attest's keyless tests do.
func keylessBaseBundle(t *testing.T, vs *ca.VirtualSigstore, subject, issuer string, stmt []byte, logTime time.Time) []byte {
	t.Helper()
	ent, err := vs.AttestAtTime(subject, issuer, stmt, logTime, true)
	if err != nil {
		t.Fatal(err)
	}
	vc, err := ent.VerificationContent()
	if err != nil {
		t.Fatal(err)
	}
	sc, err := ent.SignatureContent()
	if err != nil {
		t.Fatal(err)
	}
	raw := sc.(*bundle.Envelope).RawEnvelope()
	payload, err := base64.StdEncoding.DecodeString(raw.Payload)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := base64.StdEncoding.DecodeString(raw.Signatures[0].Sig)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := ent.TlogEntries()
	if err != nil {
		t.Fatal(err)
	}
	tle := entries[0].TransparencyLogEntry()
	tle.KindVersion = &protorekor.KindVersion{Kind: "dsse", Version: "0.0.1"}
	tsrs, err := ent.Timestamps()
	if err != nil {
		t.Fatal(err)
	}
	tvd := &protobundle.TimestampVerificationData{}
	for _, tsr := range tsrs {
		tvd.Rfc3161Timestamps = append(tvd.Rfc3161Timestamps, &protocommon.RFC3161SignedTimestamp{SignedTimestamp: tsr})
	}
	b, err := protojson.Marshal(&protobundle.Bundle{
		MediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content:                   &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: vc.Certificate().Raw}},
			TlogEntries:               []*protorekor.TransparencyLogEntry{tle},
			TimestampVerificationData: tvd,
		},
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload: payload, PayloadType: raw.PayloadType, Signatures: []*protodsse.Signature{{Sig: sig}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rawLogIDs gives the test authority's logs their IDs as bytes: it keeps
// them hex-encoded, which a trusted root file would encode a second time.
func rawLogIDs(t *testing.T, logs map[string]*root.TransparencyLog) map[string]*root.TransparencyLog {
	t.Helper()
	out := map[string]*root.TransparencyLog{}
	for id, l := range logs {
		raw, err := hex.DecodeString(id)
		if err != nil {
			t.Fatal(err)
		}
		c := *l
		c.ID = raw
		out[id] = &c
	}
	return out
}

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
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, vs.FulcioCertificateAuthorities(), rawLogIDs(t, vs.CTLogs()), vs.TimestampingAuthorities(), rawLogIDs(t, vs.RekorLogs()))
	if err != nil {
		t.Fatal(err)
	}
	trJSON, err := tr.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	trFile := filepath.Join(dir, "trusted_root.json")
	if err := os.WriteFile(trFile, trJSON, 0o644); err != nil {
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
		"trusted.bundle":         keylessBaseBundle(t, vs, publisher, issuer, statement("CVE-2024-1111", libc), logTime),
		"other-identity.bundle":  keylessBaseBundle(t, vs, other, issuer, statement("CVE-2025-3333", zlib), logTime),
		"other-issuer.bundle":    keylessBaseBundle(t, vs, publisher, "https://accounts.example", statement("CVE-2025-3333", zlib), logTime),
		"other-authority.bundle": keylessBaseBundle(t, otherAuthority, publisher, issuer, statement("CVE-2025-3333", zlib), logTime),
	}
	derived := []openvex.Component{artifact.ImageProduct(artifact.Platform{Repository: "example.test/release/kube-proxy", Name: "kube-proxy", Digest: "sha256:" + strings.Repeat("de", 32)}).Component}
	for file, b := range files {
		path := filepath.Join(dir, file)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		base, skipped := imagevex.LoadBase(context.Background(), imagevex.BaseSource{VEX: path}, pol, &stderr)
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
