package cli

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-openapi/runtime"
	"github.com/sigstore/rekor/pkg/generated/models"
	"github.com/sigstore/rekor/pkg/types"
	_ "github.com/sigstore/rekor/pkg/types/dsse/v0.0.1" // the entry kind keyless bundles are logged as
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore-go/pkg/tlog"
)

// This file is a loopback Sigstore for keyless signing in update: a Fulcio
// that certifies the key of whoever holds the OIDC token, and a Rekor (v1
// API) that logs DSSE entries with sigstore-go's test authority's log key
// (signed entry timestamp and inclusion proof). Verification trusts the
// Fulcio CA and the test authority's log.
//
// internal/attest/attesttest has bundles signed ahead by the test authority
// and its trusted root file; signing in update needs the services
// themselves, which are here (a candidate for attesttest).

const (
	keylessIssuer  = "https://token.actions.githubusercontent.example"
	keylessSubject = "release-bot@vexloom.example"
)

// loopbackSigstore is a Fulcio and a Rekor on loopback.
type loopbackSigstore struct {
	vs       *ca.VirtualSigstore
	root     *x509.Certificate
	inter    *x509.Certificate
	interKey *ecdsa.PrivateKey
	token    string
	fulcio   *httptest.Server
	rekor    *httptest.Server
	issued   atomic.Int32
	logged   atomic.Int32
	// refuse makes Rekor answer 503.
	refuse atomic.Bool
}

func newLoopbackSigstore(t *testing.T) *loopbackSigstore {
	t.Helper()
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	rootCert, rootKey, err := ca.GenerateRootCa()
	if err != nil {
		t.Fatal(err)
	}
	inter, interKey, err := ca.GenerateFulcioIntermediate(rootCert, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	claims, _ := json.Marshal(map[string]any{"iss": keylessIssuer, "sub": keylessSubject, "email": keylessSubject, "email_verified": true, "aud": "sigstore"})
	s := &loopbackSigstore{vs: vs, root: rootCert, inter: inter, interKey: interKey,
		token: "eyJhbGciOiJub25lIn0." + base64.RawURLEncoding.EncodeToString(claims) + ".c2ln"}
	s.fulcio = httptest.NewServer(http.HandlerFunc(s.serveFulcio))
	t.Cleanup(s.fulcio.Close)
	s.rekor = httptest.NewServer(http.HandlerFunc(s.serveRekor))
	t.Cleanup(s.rekor.Close)
	return s
}

// trust is what verifies the bundles this Sigstore signs: its Fulcio CA
// and the test authority's log.
func (s *loopbackSigstore) trust() root.TrustedMaterial {
	return loopbackTrust{VirtualSigstore: s.vs, ca: &root.FulcioCertificateAuthority{
		Root: s.root, Intermediates: []*x509.Certificate{s.inter},
		ValidityPeriodStart: time.Now().Add(-time.Hour), ValidityPeriodEnd: time.Now().Add(24 * time.Hour),
	}}
}

type loopbackTrust struct {
	*ca.VirtualSigstore
	ca root.CertificateAuthority
}

func (t loopbackTrust) FulcioCertificateAuthorities() []root.CertificateAuthority {
	return []root.CertificateAuthority{t.ca}
}

// serveFulcio answers Fulcio's v2 signingCert: the bearer token must be
// the one issued, the proof of possession must sign the token's subject,
// and the certificate names the subject and the issuer.
func (s *loopbackSigstore) serveFulcio(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/api/v2/signingCert" {
		http.NotFound(w, r)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+s.token {
		http.Error(w, "bad token", http.StatusUnauthorized)
		return
	}
	var req struct {
		PublicKeyRequest struct {
			PublicKey struct {
				Content string `json:"content"`
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
	sum := sha256.Sum256([]byte(keylessSubject))
	if !ecdsa.VerifyASN1(ecPub, sum[:], pop) {
		http.Error(w, "bad proof of possession", http.StatusBadRequest)
		return
	}
	issuerExt, _ := asn1.Marshal(keylessIssuer)
	der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber:   big.NewInt(int64(s.issued.Add(1)) + 1),
		EmailAddresses: []string{keylessSubject},
		NotBefore:      time.Now().Add(-time.Minute),
		NotAfter:       time.Now().Add(10 * time.Minute),
		KeyUsage:       x509.KeyUsageDigitalSignature,
		ExtKeyUsage:    []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		ExtraExtensions: []pkix.Extension{
			{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 8}, Value: issuerExt},
		},
	}, s.inter, ecPub, s.interKey)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	var chain []string
	for _, c := range [][]byte{der, s.inter.Raw, s.root.Raw} {
		chain = append(chain, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c})))
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"signedCertificateEmbeddedSct": map[string]any{"chain": map[string]any{"certificates": chain}},
	})
}

// serveRekor answers Rekor's POST /api/v1/log/entries: the proposed entry
// is validated and canonicalised as Rekor does, and logged at index 0 of a
// one-entry tree with a signed entry timestamp and an inclusion proof.
func (s *loopbackSigstore) serveRekor(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/api/v1/log/entries" {
		http.NotFound(w, r)
		return
	}
	if s.refuse.Load() {
		http.Error(w, `{"code":503,"message":"log is read-only"}`, http.StatusServiceUnavailable)
		return
	}
	pe, err := models.UnmarshalProposedEntry(r.Body, runtime.JSONConsumer())
	if err != nil {
		http.Error(w, `{"code":400,"message":"bad entry"}`, http.StatusBadRequest)
		return
	}
	impl, err := types.CreateVersionedEntry(pe)
	if err != nil {
		http.Error(w, `{"code":400,"message":"invalid entry"}`, http.StatusBadRequest)
		return
	}
	body, err := types.CanonicalizeEntry(r.Context(), impl)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	logID, err := s.vs.RekorLogID()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	now, index := time.Now().Unix(), int64(0)
	b64 := base64.StdEncoding.EncodeToString(body)
	set, err := s.vs.RekorSignPayload(tlog.RekorPayload{Body: b64, IntegratedTime: now, LogIndex: index, LogID: logID})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	proof, err := s.vs.GetInclusionProof(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	leaf := sha256.Sum256(append([]byte{0}, body...))
	uuid := hex.EncodeToString(leaf[:])
	s.logged.Add(1)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("ETag", uuid)
	w.Header().Set("Location", "/api/v1/log/entries/"+uuid)
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]models.LogEntryAnon{uuid: {
		Body: b64, IntegratedTime: &now, LogID: &logID, LogIndex: &index,
		Verification: &models.LogEntryAnonVerification{SignedEntryTimestamp: set, InclusionProof: proof},
	}})
}
