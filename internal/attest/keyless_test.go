package attest

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"google.golang.org/protobuf/encoding/protojson"
)

const (
	testIssuer  = "https://token.actions.githubusercontent.example"
	testSubject = "release-bot@vexloom.example"
)

// keylessBundle has sigstore-go's test authority (a Fulcio CA, a Rekor log
// and a timestamp authority, all generated) attest stmt for an identity,
// logged at logTime, and packs the result into a v0.3 bundle the way
// sign.Bundle does for Fulcio + Rekor + TSA.
func keylessBundle(t testing.TB, vs *ca.VirtualSigstore, subject, issuer string, stmt []byte, logTime time.Time, withTimestamp bool) []byte {
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
	pb := &protobundle.Bundle{
		MediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content: &protobundle.VerificationMaterial_Certificate{
				Certificate: &protocommon.X509Certificate{RawBytes: vc.Certificate().Raw},
			},
			TlogEntries: []*protorekor.TransparencyLogEntry{tle},
		},
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload:     payload,
			PayloadType: raw.PayloadType,
			Signatures:  []*protodsse.Signature{{Sig: sig}},
		}},
	}
	if withTimestamp {
		tsrs, err := ent.Timestamps()
		if err != nil {
			t.Fatal(err)
		}
		pb.VerificationMaterial.TimestampVerificationData = &protobundle.TimestampVerificationData{}
		for _, tsr := range tsrs {
			pb.VerificationMaterial.TimestampVerificationData.Rfc3161Timestamps = append(
				pb.VerificationMaterial.TimestampVerificationData.Rfc3161Timestamps,
				&protocommon.RFC3161SignedTimestamp{SignedTimestamp: tsr})
		}
	}
	b, err := protojson.Marshal(pb)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVerifyIdentity(t *testing.T) {
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	stmt, err := Statement(demoDocument(t))
	if err != nil {
		t.Fatal(err)
	}
	// The virtual authority's certificates start now and last 10 minutes;
	// its log time is set within that window.
	now := time.Now()
	good := keylessBundle(t, vs, testSubject, testIssuer, stmt, now.Add(2*time.Minute), true)
	image := []Digest{mustDigest(t, "sha256:"+imageSHA256)}
	policy := func(issuer, subject string) TrustPolicy {
		return TrustPolicy{
			Identity:        &Identity{Issuer: issuer, SubjectRegexp: subject, WithoutSCTUnsafe: true},
			TrustedMaterial: vs,
			ArtifactDigests: image,
			Now:             now.Add(15 * time.Minute),
		}
	}

	res, err := Verify(context.Background(), good, policy(testIssuer, `^release-bot@vexloom\.example$`))
	if err != nil {
		t.Fatal(err)
	}
	if res.SignedBy != testSubject+" ("+testIssuer+")" || len(res.SignedAt) == 0 || res.VEX == nil {
		t.Errorf("signed by %q at %v", res.SignedBy, res.SignedAt)
	}

	otherAuthority, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	untrusted := policy(testIssuer, ".*")
	untrusted.TrustedMaterial = otherAuthority
	noSCT := policy(testIssuer, ".*")
	noSCT.Identity.WithoutSCTUnsafe = false
	clockBehind := policy(testIssuer, ".*")
	clockBehind.Now = now.Add(-time.Hour)

	forged := strings.Replace(string(good), base64.StdEncoding.EncodeToString(stmt), base64.StdEncoding.EncodeToString([]byte(strings.Replace(string(stmt), imageSHA256, hexSum256("x"), -1))), 1)
	if forged == string(good) {
		t.Fatal("could not forge the payload")
	}
	s := newSigner(t)
	_, keyBundle := signedDemo(t, s)

	cases := []struct {
		name   string
		bundle []byte
		policy TrustPolicy
		want   error
	}{
		{"wrong issuer", good, policy("https://accounts.google.example", ".*"), ErrIdentity},
		{"wrong subject", good, policy(testIssuer, `^someone-else@vexloom\.example$`), ErrIdentity},
		{"subject pattern matches in full only", good, policy(testIssuer, `release-bot`), ErrIdentity},
		{"key-signed bundle", keyBundle, policy(testIssuer, ".*"), ErrIdentity},
		{"expired certificate", keylessBundle(t, vs, testSubject, testIssuer, stmt, now.Add(30*time.Minute), true), policy(testIssuer, ".*"), ErrExpired},
		{"no trusted time", keylessBundle(t, vs, testSubject, testIssuer, stmt, now.Add(2*time.Minute), false), policy(testIssuer, ".*"), ErrExpired},
		{"signed after now", good, clockBehind, ErrExpired},
		{"tampered payload", []byte(forged), policy(testIssuer, ".*"), ErrSignature},
		{"untrusted authority", good, untrusted, ErrSignature},
		{"certificate without SCT", good, noSCT, ErrSignature},
		{"certificate against a key", good, TrustPolicy{PublicKey: s.publicKey(t), ArtifactDigests: image}, ErrSignature},
		{"wrong subject digest", good, func() TrustPolicy {
			p := policy(testIssuer, ".*")
			p.ArtifactDigests = []Digest{mustDigest(t, "sha256:"+hexSum256("x"))}
			return p
		}(), ErrSubject},
	}
	for _, c := range cases {
		_, err := Verify(context.Background(), c.bundle, c.policy)
		t.Logf("%s: %v", c.name, err)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
}

func TestKeylessConfiguration(t *testing.T) {
	stmt, err := Statement(demoDocument(t))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]*Keyless{
		"no token":      {FulcioURL: "https://fulcio.example", RekorURL: "https://rekor.example"},
		"no Fulcio":     {RekorURL: "https://rekor.example", IDToken: "a.b.c"},
		"no Rekor":      {FulcioURL: "https://fulcio.example", IDToken: "a.b.c"},
		"relative URL":  {FulcioURL: "fulcio.example", RekorURL: "https://rekor.example", IDToken: "a.b.c"},
		"bad TSA":       {FulcioURL: "https://fulcio.example", RekorURL: "https://rekor.example", TimestampAuthorityURL: "ftp://tsa", IDToken: "a.b.c"},
		"unknown proto": {FulcioURL: "file:///etc", RekorURL: "https://rekor.example", IDToken: "a.b.c"},
	}
	for name, k := range cases {
		if _, err := Sign(context.Background(), stmt, k); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// fakeFulcio serves Fulcio's v2 signingCert endpoint with a CA generated by
// sigstore-go's test authority: it checks the bearer token and the proof of
// possession, and certifies the requested key for the token's subject.
type fakeFulcio struct {
	token    string
	subject  string
	root     *x509.Certificate
	inter    *x509.Certificate
	interKey *ecdsa.PrivateKey
	issued   atomic.Int32
}

func newFakeFulcio(t *testing.T, token, subject string) *fakeFulcio {
	rootCert, rootKey, err := ca.GenerateRootCa()
	if err != nil {
		t.Fatal(err)
	}
	inter, interKey, err := ca.GenerateFulcioIntermediate(rootCert, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	return &fakeFulcio{token: token, subject: subject, root: rootCert, inter: inter, interKey: interKey}
}

func (f *fakeFulcio) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/api/v2/signingCert" {
		http.NotFound(w, r)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+f.token {
		http.Error(w, "bad token", http.StatusUnauthorized)
		return
	}
	var req struct {
		PublicKeyRequest struct {
			PublicKey struct {
				Algorithm string `json:"algorithm"`
				Content   string `json:"content"`
			} `json:"publicKey"`
			ProofOfPossession string `json:"proofOfPossession"`
		} `json:"publicKeyRequest"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	block, _ := pem.Decode([]byte(req.PublicKeyRequest.PublicKey.Content))
	if block == nil {
		http.Error(w, "no key", http.StatusBadRequest)
		return
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	ecPub, ok := pub.(*ecdsa.PublicKey)
	if err != nil || !ok {
		http.Error(w, "bad key", http.StatusBadRequest)
		return
	}
	pop, _ := base64.StdEncoding.DecodeString(req.PublicKeyRequest.ProofOfPossession)
	sum := sha256.Sum256([]byte(f.subject))
	if !ecdsa.VerifyASN1(ecPub, sum[:], pop) {
		http.Error(w, "bad proof of possession", http.StatusBadRequest)
		return
	}
	issuerExt, _ := asn1.Marshal(testIssuer)
	tmpl := &x509.Certificate{
		SerialNumber:   big.NewInt(2),
		Subject:        pkix.Name{},
		EmailAddresses: []string{f.subject},
		NotBefore:      time.Now().Add(-time.Minute),
		NotAfter:       time.Now().Add(10 * time.Minute),
		KeyUsage:       x509.KeyUsageDigitalSignature,
		ExtKeyUsage:    []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		ExtraExtensions: []pkix.Extension{
			{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 8}, Value: issuerExt},
		},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, f.inter, ecPub, f.interKey)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	f.issued.Add(1)
	chain := []string{}
	for _, c := range [][]byte{der, f.inter.Raw, f.root.Raw} {
		chain = append(chain, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c})))
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"signedCertificateEmbeddedSct": map[string]any{"chain": map[string]any{"certificates": chain}},
	})
}

// TestKeylessSigningPath runs the keyless path against a Fulcio that
// certifies the key and a Rekor that is down: the certificate request is
// made with the token and a valid proof of possession, the log is asked,
// and its failure is an error, not an unlogged bundle.
func TestKeylessSigningPath(t *testing.T) {
	claims, _ := json.Marshal(map[string]any{"iss": testIssuer, "sub": testSubject, "email": testSubject, "email_verified": true, "aud": "sigstore"})
	token := "eyJhbGciOiJub25lIn0." + base64.RawURLEncoding.EncodeToString(claims) + ".c2ln"
	fulcio := newFakeFulcio(t, token, testSubject)
	fulcioSrv := httptest.NewServer(fulcio)
	t.Cleanup(fulcioSrv.Close)
	var rekorCalls atomic.Int32
	rekorSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rekorCalls.Add(1)
		http.Error(w, `{"code":503,"message":"log is read-only"}`, http.StatusServiceUnavailable)
	}))
	t.Cleanup(rekorSrv.Close)

	stmt, err := Statement(demoDocument(t))
	if err != nil {
		t.Fatal(err)
	}
	k := &Keyless{FulcioURL: fulcioSrv.URL, RekorURL: rekorSrv.URL, IDToken: token, Timeout: 10 * time.Second}
	b, err := Sign(context.Background(), stmt, k)
	if err == nil {
		t.Fatalf("signed without a log entry:\n%s", b)
	}
	if fulcio.issued.Load() != 1 {
		t.Errorf("Fulcio issued %d certificates, want 1", fulcio.issued.Load())
	}
	if rekorCalls.Load() == 0 {
		t.Error("Rekor was never asked")
	}

	// With a token Fulcio does not accept, nothing reaches Rekor.
	rekorCalls.Store(0)
	k.IDToken = "eyJhbGciOiJub25lIn0." + base64.RawURLEncoding.EncodeToString(claims) + ".b3RoZXI"
	if _, err := Sign(context.Background(), stmt, k); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("bad token: err = %v", err)
	}
	if rekorCalls.Load() != 0 {
		t.Error("Rekor was asked after Fulcio refused")
	}
}
