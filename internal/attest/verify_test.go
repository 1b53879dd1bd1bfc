package attest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"google.golang.org/protobuf/encoding/protojson"
)

// signer is a freshly generated key pair, loaded the way the CLI loads it.
type signer struct {
	key *PrivateKey
	pub []byte
}

func newSigner(t testing.TB) signer {
	t.Helper()
	priv, pub, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(priv), "BEGIN PRIVATE KEY") || !strings.Contains(string(pub), "BEGIN PUBLIC KEY") {
		t.Fatalf("unexpected PEM:\n%s\n%s", priv, pub)
	}
	key, err := LoadPrivateKey(priv, nil)
	if err != nil {
		t.Fatal(err)
	}
	return signer{key: key, pub: pub}
}

func (s signer) publicKey(t testing.TB) any {
	t.Helper()
	pub, err := LoadPublicKey(s.pub)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

func signedDemo(t testing.TB, s signer) (stmt, bundle []byte) {
	t.Helper()
	stmt, err := Statement(demoDocument(t))
	if err != nil {
		t.Fatal(err)
	}
	bundle, err = Sign(context.Background(), stmt, s.key)
	if err != nil {
		t.Fatal(err)
	}
	return stmt, bundle
}

func mustDigest(t testing.TB, s string) Digest {
	t.Helper()
	d, err := ParseDigest(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestSignVerifyWithKey(t *testing.T) {
	s := newSigner(t)
	stmt, b := signedDemo(t, s)

	// The bundle is what cosign's --new-bundle-format reads.
	var shape struct {
		MediaType            string `json:"mediaType"`
		VerificationMaterial struct {
			PublicKey struct {
				Hint string `json:"hint"`
			} `json:"publicKey"`
			TlogEntries []any `json:"tlogEntries"`
		} `json:"verificationMaterial"`
		DSSEEnvelope struct {
			Payload     []byte `json:"payload"`
			PayloadType string `json:"payloadType"`
			Signatures  []struct {
				Sig []byte `json:"sig"`
			} `json:"signatures"`
		} `json:"dsseEnvelope"`
	}
	if err := json.Unmarshal(b, &shape); err != nil {
		t.Fatal(err)
	}
	if shape.MediaType != "application/vnd.dev.sigstore.bundle.v0.3+json" {
		t.Errorf("mediaType %q", shape.MediaType)
	}
	if shape.VerificationMaterial.PublicKey.Hint != s.key.KeyID() || len(s.key.KeyID()) != 64 {
		t.Errorf("hint %q, key ID %q", shape.VerificationMaterial.PublicKey.Hint, s.key.KeyID())
	}
	if len(shape.VerificationMaterial.TlogEntries) != 0 {
		t.Error("a key-based bundle has log entries")
	}
	if shape.DSSEEnvelope.PayloadType != "application/vnd.in-toto+json" || string(shape.DSSEEnvelope.Payload) != string(stmt) || len(shape.DSSEEnvelope.Signatures) != 1 {
		t.Errorf("envelope: type %q, %d signatures, payload matches: %v", shape.DSSEEnvelope.PayloadType, len(shape.DSSEEnvelope.Signatures), string(shape.DSSEEnvelope.Payload) == string(stmt))
	}

	res, err := Verify(context.Background(), b, TrustPolicy{
		PublicKey:       s.publicKey(t),
		ArtifactDigests: []Digest{mustDigest(t, "sha256:"+imageSHA256), mustDigest(t, "sha512:"+binarySHA512)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Statement) != string(stmt) || res.SignedBy != s.key.KeyID() || len(res.Subjects) != 2 {
		t.Errorf("result: signed by %q, %d subjects", res.SignedBy, len(res.Subjects))
	}
	if res.VEX == nil || len(res.VEX.Statements) != 1 || res.VEX.Statements[0].Vulnerability.Name != "CVE-2025-22870" {
		t.Errorf("VEX = %+v", res.VEX)
	}
	if _, err := Verify(context.Background(), b, TrustPolicy{PublicKey: s.publicKey(t), WithoutArtifact: true}); err != nil {
		t.Errorf("WithoutArtifact: %v", err)
	}
}

// editBundle decodes a bundle, lets f change it, and encodes it again.
func editBundle(t testing.TB, b []byte, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func envelope(m map[string]any) map[string]any { return m["dsseEnvelope"].(map[string]any) }

func TestVerifyRejects(t *testing.T) {
	s := newSigner(t)
	stmt, b := signedDemo(t, s)
	image := []Digest{mustDigest(t, "sha256:"+imageSHA256)}
	keyPolicy := TrustPolicy{PublicKey: s.publicKey(t), ArtifactDigests: image}

	// A statement claiming another subject, under the original signature.
	forged := strings.Replace(string(stmt), imageSHA256, hexSum256("another image"), -1)
	tampered := editBundle(t, b, func(m map[string]any) {
		envelope(m)["payload"] = base64.StdEncoding.EncodeToString([]byte(forged))
	})
	flipped := editBundle(t, b, func(m map[string]any) {
		sigs := envelope(m)["signatures"].([]any)
		sig, _ := base64.StdEncoding.DecodeString(sigs[0].(map[string]any)["sig"].(string))
		sig[len(sig)-1] ^= 1
		sigs[0].(map[string]any)["sig"] = base64.StdEncoding.EncodeToString(sig)
	})

	// A signed message (not DSSE), and a signed statement that is not VEX.
	messageBundle := signRaw(t, s.key, &sign.PlainData{Data: []byte("hello")})
	spdx := strings.Replace(string(stmt), `"predicateType":"https://openvex.dev/ns/v0.2.0"`, `"predicateType":"https://spdx.dev/Document"`, 1)
	spdxBundle := signRaw(t, s.key, &sign.DSSEData{Data: []byte(spdx), PayloadType: PayloadType})
	otherType := signRaw(t, s.key, &sign.DSSEData{Data: stmt, PayloadType: "text/plain"})

	other := newSigner(t)
	cases := []struct {
		name   string
		bundle []byte
		policy TrustPolicy
		want   error
	}{
		{"tampered payload", tampered, keyPolicy, ErrSignature},
		{"tampered signature", flipped, keyPolicy, ErrSignature},
		{"wrong key", b, TrustPolicy{PublicKey: other.publicKey(t), ArtifactDigests: image}, ErrSignature},
		{"wrong subject", b, TrustPolicy{PublicKey: s.publicKey(t), ArtifactDigests: []Digest{mustDigest(t, "sha256:"+hexSum256("another image"))}}, ErrSubject},
		{"subcomponent is no subject", b, TrustPolicy{PublicKey: s.publicKey(t), ArtifactDigests: []Digest{mustDigest(t, "sha256:"+depSHA256)}}, ErrSubject},
		{"one of two digests wrong", b, TrustPolicy{PublicKey: s.publicKey(t), ArtifactDigests: []Digest{image[0], mustDigest(t, "sha512:"+hexSum512("x"))}}, ErrSubject},
		{"not OpenVEX", spdxBundle, keyPolicy, ErrPredicate},
		{"message signature", messageBundle, keyPolicy, ErrMalformed},
		{"payload type", otherType, keyPolicy, ErrMalformed},
		{"empty", nil, keyPolicy, ErrMalformed},
		{"not JSON", []byte("bundle"), keyPolicy, ErrMalformed},
		{"empty object", []byte("{}"), keyPolicy, ErrMalformed},
		{"wrong media type", editBundle(t, b, func(m map[string]any) { m["mediaType"] = "application/json" }), keyPolicy, ErrMalformed},
		{"future media type", editBundle(t, b, func(m map[string]any) { m["mediaType"] = "application/vnd.dev.sigstore.bundle.v0.9+json" }), keyPolicy, ErrMalformed},
		{"no verification material", editBundle(t, b, func(m map[string]any) { delete(m, "verificationMaterial") }), keyPolicy, ErrMalformed},
		{"two signatures", editBundle(t, b, func(m map[string]any) {
			e := envelope(m)
			e["signatures"] = append(e["signatures"].([]any), e["signatures"].([]any)[0])
		}), keyPolicy, ErrMalformed},
		{"payload not base64", editBundle(t, b, func(m map[string]any) { envelope(m)["payload"] = "%%%" }), keyPolicy, ErrMalformed},
		{"no key or identity", b, TrustPolicy{ArtifactDigests: image}, ErrPolicy},
		{"no artifact", b, TrustPolicy{PublicKey: s.publicKey(t)}, ErrPolicy},
		{"identity without trust", b, TrustPolicy{Identity: &Identity{Issuer: "https://issuer.example", SubjectRegexp: ".*"}, ArtifactDigests: image}, ErrPolicy},
	}
	for _, c := range cases {
		res, err := Verify(context.Background(), c.bundle, c.policy)
		t.Logf("%s: %v", c.name, err)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
		if res != nil {
			t.Errorf("%s: a result came back with the error", c.name)
		}
	}
}

// signRaw signs content with sigstore-go directly, to make bundles Sign
// refuses to make.
func signRaw(t testing.TB, k *PrivateKey, content sign.Content) []byte {
	t.Helper()
	pb, err := sign.Bundle(content, keypair{k}, sign.BundleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := protojson.Marshal(pb)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSignRefusesWhatIsNotOpenVEX(t *testing.T) {
	s := newSigner(t)
	if _, err := Sign(context.Background(), []byte(`{"_type":"https://in-toto.io/Statement/v1"}`), s.key); !errors.Is(err, ErrMalformed) {
		t.Errorf("err = %v", err)
	}
}

func TestEncryptedCosignKey(t *testing.T) {
	password := []byte("correct horse battery staple")
	pass := func(b []byte) func() ([]byte, error) { return func() ([]byte, error) { return b, nil } }
	// sigstore's cryptoutils writes the format cosign generate-key-pair
	// writes ("ENCRYPTED SIGSTORE PRIVATE KEY", scrypt + secretbox).
	privPEM, pubPEM, err := cryptoutils.GeneratePEMEncodedECDSAKeyPair(elliptic.P256(), func(bool) ([]byte, error) { return password, nil })
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(privPEM), "ENCRYPTED SIGSTORE PRIVATE KEY") {
		t.Fatalf("not the cosign format:\n%s", privPEM)
	}
	block, _ := pem.Decode(privPEM)
	legacy := pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED COSIGN PRIVATE KEY", Bytes: block.Bytes})

	for name, p := range map[string][]byte{"sigstore": privPEM, "cosign": legacy} {
		key, err := LoadPrivateKey(p, pass(password))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		stmt, err := Statement(demoDocument(t))
		if err != nil {
			t.Fatal(err)
		}
		b, err := Sign(context.Background(), stmt, key)
		if err != nil {
			t.Fatal(err)
		}
		pub, err := LoadPublicKey(pubPEM)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Verify(context.Background(), b, TrustPolicy{PublicKey: pub, ArtifactDigests: []Digest{mustDigest(t, "sha256:"+binarySHA256)}}); err != nil {
			t.Errorf("%s: %v", name, err)
		}

		if _, err := LoadPrivateKey(p, pass([]byte("wrong"))); !errors.Is(err, ErrPassword) {
			t.Errorf("%s, wrong password: err = %v", name, err)
		}
		if _, err := LoadPrivateKey(p, nil); !errors.Is(err, ErrPassword) {
			t.Errorf("%s, no password: err = %v", name, err)
		}
		if _, err := LoadPrivateKey(p, func() ([]byte, error) { return nil, errors.New("no terminal") }); err == nil || !strings.Contains(err.Error(), "no terminal") {
			t.Errorf("%s, password error: err = %v", name, err)
		}
	}
}

func TestLoadKeys(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sec1, _ := x509.MarshalECPrivateKey(ec)
	if _, err := LoadPrivateKey(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}), nil); err != nil {
		t.Errorf("EC PRIVATE KEY: %v", err)
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	der384, _ := x509.MarshalPKCS8PrivateKey(p384)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	derRSA, _ := x509.MarshalPKCS8PrivateKey(rsaKey)
	pubRSA, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	priv, pub, _ := GenerateKey()

	badPriv := map[string][]byte{
		"empty":      nil,
		"P-384":      pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der384}),
		"RSA":        pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: derRSA}),
		"public":     pub,
		"garbage":    pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("x")}),
		"too large":  append(priv, make([]byte, MaxKeySize)...),
		"other type": pem.EncodeToMemory(&pem.Block{Type: "OPENSSH PRIVATE KEY", Bytes: []byte("x")}),
	}
	for name, b := range badPriv {
		if _, err := LoadPrivateKey(b, nil); !errors.Is(err, ErrKey) {
			t.Errorf("private %s: err = %v", name, err)
		}
	}
	badPub := map[string][]byte{
		"empty":   nil,
		"RSA":     pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubRSA}),
		"private": priv,
		"garbage": pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte("x")}),
	}
	for name, b := range badPub {
		if _, err := LoadPublicKey(b); !errors.Is(err, ErrKey) {
			t.Errorf("public %s: err = %v", name, err)
		}
	}
}

func FuzzVerify(f *testing.F) {
	s := newSigner(f)
	_, b := signedDemo(f, s)
	f.Add(b)
	f.Add(editBundle(f, b, func(m map[string]any) { m["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=0.1" }))
	f.Add(editBundle(f, b, func(m map[string]any) { delete(m, "dsseEnvelope") }))
	f.Add(editBundle(f, b, func(m map[string]any) {
		m["verificationMaterial"] = map[string]any{"certificate": map[string]any{"rawBytes": "MIIB"}}
	}))
	f.Add(editBundle(f, b, func(m map[string]any) {
		m["verificationMaterial"].(map[string]any)["tlogEntries"] = []any{map[string]any{"logIndex": "1", "canonicalizedBody": "e30="}}
	}))
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`))
	f.Add([]byte(`{`))
	policy := TrustPolicy{PublicKey: s.publicKey(f), ArtifactDigests: []Digest{mustDigest(f, "sha256:"+imageSHA256)}}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := Verify(context.Background(), data, policy)
		if err == nil {
			if res == nil || res.VEX == nil {
				t.Fatal("verified without a result")
			}
			return
		}
		for _, want := range []error{ErrMalformed, ErrSignature, ErrSubject, ErrPredicate} {
			if errors.Is(err, want) {
				return
			}
		}
		t.Fatalf("error wraps no sentinel: %v", err)
	})
}

func FuzzLoadPrivateKey(f *testing.F) {
	priv, pub, _ := GenerateKey()
	enc, _, _ := cryptoutils.GeneratePEMEncodedECDSAKeyPair(elliptic.P256(), func(bool) ([]byte, error) { return []byte("pw"), nil })
	for _, seed := range [][]byte{priv, pub, enc, []byte("-----BEGIN PRIVATE KEY-----\nMA==\n-----END PRIVATE KEY-----\n")} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := LoadPrivateKey(data, func() ([]byte, error) { return []byte("pw"), nil })
		if err == nil && k.KeyID() == "" {
			t.Fatal("key without ID")
		}
		if _, err := LoadPublicKey(data); err != nil && !errors.Is(err, ErrKey) {
			t.Fatalf("public key error wraps no sentinel: %v", err)
		}
	})
}
