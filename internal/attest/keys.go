package attest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/secure-systems-lab/go-securesystemslib/encrypted"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"github.com/sigstore/sigstore-go/pkg/sign"
)

// MaxKeySize bounds the key files read.
const MaxKeySize = 64 << 10

// PEM block types of the keys vexloom reads and writes.
const (
	pemPrivateKey   = "PRIVATE KEY"    // PKCS#8
	pemECPrivateKey = "EC PRIVATE KEY" // SEC 1
	pemPublicKey    = "PUBLIC KEY"     // PKIX
	// cosign's encrypted keys: the PKCS#8 DER in a scrypt + NaCl secretbox
	// JSON envelope (go-securesystemslib's encrypted format). cosign writes
	// the first; older versions wrote the second.
	pemSigstoreEncrypted = "ENCRYPTED SIGSTORE PRIVATE KEY"
	pemCosignEncrypted   = "ENCRYPTED COSIGN PRIVATE KEY"
)

var (
	// ErrKey: a key file that is not a usable ECDSA P-256 key.
	ErrKey = errors.New("unusable key")
	// ErrPassword: an encrypted key with a missing or wrong password.
	ErrPassword = errors.New("wrong or missing password for encrypted key")
)

// GenerateKey returns a new ECDSA P-256 key pair: the private key as PKCS#8
// PEM ("PRIVATE KEY", unencrypted: protect the file) and the public key as
// PKIX PEM ("PUBLIC KEY"), the form cosign's --key reads.
func GenerateKey() (priv, pub []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generating key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding private key: %w", err)
	}
	pubPEM, err := encodePublicKey(&key.PublicKey)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPrivateKey, Bytes: der}), pubPEM, nil
}

func encodePublicKey(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encoding public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPublicKey, Bytes: der}), nil
}

// PrivateKey is a loaded ECDSA P-256 signing key. It is a Signer for Sign.
type PrivateKey struct {
	key *ecdsa.PrivateKey
	id  string
}

// LoadPrivateKey reads a PEM private key: PKCS#8 ("PRIVATE KEY"), SEC 1
// ("EC PRIVATE KEY"), or a cosign-format encrypted key ("ENCRYPTED SIGSTORE
// PRIVATE KEY", "ENCRYPTED COSIGN PRIVATE KEY"), for which password is
// called. Only ECDSA P-256 keys are accepted.
func LoadPrivateKey(pemBytes []byte, password func() ([]byte, error)) (*PrivateKey, error) {
	if len(pemBytes) > MaxKeySize {
		return nil, fmt.Errorf("%w: key file of %d bytes is more than the %d allowed", ErrKey, len(pemBytes), MaxKeySize)
	}
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, fmt.Errorf("%w: no PEM block", ErrKey)
	}
	var (
		parsed any
		err    error
	)
	switch block.Type {
	case pemPrivateKey:
		parsed, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case pemECPrivateKey:
		parsed, err = x509.ParseECPrivateKey(block.Bytes)
	case pemSigstoreEncrypted, pemCosignEncrypted:
		if password == nil {
			return nil, fmt.Errorf("%w: the key is encrypted and no password was given", ErrPassword)
		}
		pw, perr := password()
		if perr != nil {
			return nil, fmt.Errorf("reading password: %w", perr)
		}
		der, derr := encrypted.Decrypt(block.Bytes, pw)
		if derr != nil {
			// The secretbox cannot tell a wrong password from a damaged
			// file; both fail authentication.
			return nil, fmt.Errorf("%w: %v", ErrPassword, derr)
		}
		parsed, err = x509.ParsePKCS8PrivateKey(der)
	default:
		return nil, fmt.Errorf("%w: PEM block %q is not a private key vexloom reads (PRIVATE KEY, EC PRIVATE KEY, %s)", ErrKey, truncate(block.Type), pemSigstoreEncrypted)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKey, err)
	}
	key, ok := parsed.(*ecdsa.PrivateKey)
	if !ok || key.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%w: %T is not an ECDSA P-256 key", ErrKey, parsed)
	}
	id, err := KeyID(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	return &PrivateKey{key: key, id: id}, nil
}

// LoadPublicKey reads a PKIX PEM public key ("PUBLIC KEY"), ECDSA P-256.
func LoadPublicKey(pemBytes []byte) (crypto.PublicKey, error) {
	if len(pemBytes) > MaxKeySize {
		return nil, fmt.Errorf("%w: key file of %d bytes is more than the %d allowed", ErrKey, len(pemBytes), MaxKeySize)
	}
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, fmt.Errorf("%w: no PEM block", ErrKey)
	}
	if block.Type != pemPublicKey {
		return nil, fmt.Errorf("%w: PEM block %q is not a PUBLIC KEY", ErrKey, truncate(block.Type))
	}
	parsed, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKey, err)
	}
	key, ok := parsed.(*ecdsa.PublicKey)
	if !ok || key.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%w: %T is not an ECDSA P-256 key", ErrKey, parsed)
	}
	return key, nil
}

// KeyID returns a stable ID of a public key: the hex SHA-256 of its PKIX
// DER encoding. Bundles signed with the key carry it as their key hint.
func KeyID(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrKey, err)
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:]), nil
}

// Public returns the public key.
func (k *PrivateKey) Public() crypto.PublicKey { return &k.key.PublicKey }

// KeyID returns the key's ID (see KeyID).
func (k *PrivateKey) KeyID() string { return k.id }

// PublicKeyPEM returns the public key as PKIX PEM.
func (k *PrivateKey) PublicKeyPEM() ([]byte, error) { return encodePublicKey(&k.key.PublicKey) }

func (k *PrivateKey) signing(context.Context) (sign.Keypair, sign.BundleOptions, error) {
	tm, err := keyMaterial(&k.key.PublicKey)
	if err != nil {
		return nil, sign.BundleOptions{}, err
	}
	// sign.Bundle verifies what it made against this material.
	return keypair{k}, sign.BundleOptions{TrustedRoot: tm}, nil
}

// keypair is sign.Keypair for a long-lived key (sigstore-go only ships an
// ephemeral one).
type keypair struct{ k *PrivateKey }

func (p keypair) GetHashAlgorithm() protocommon.HashAlgorithm {
	return protocommon.HashAlgorithm_SHA2_256
}

func (p keypair) GetSigningAlgorithm() protocommon.PublicKeyDetails {
	return protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256
}

func (p keypair) GetHint() []byte { return []byte(p.k.id) }

func (p keypair) GetKeyAlgorithm() string { return "ECDSA" }

func (p keypair) GetPublicKey() crypto.PublicKey { return &p.k.key.PublicKey }

func (p keypair) GetPublicKeyPem() (string, error) {
	b, err := encodePublicKey(&p.k.key.PublicKey)
	return string(b), err
}

// SignData signs the SHA-256 of data (ASN.1 ECDSA signature) and returns
// the signature and the digest.
func (p keypair) SignData(_ context.Context, data []byte) ([]byte, []byte, error) {
	digest := sha256.Sum256(data)
	sig, err := ecdsa.SignASN1(rand.Reader, p.k.key, digest[:])
	if err != nil {
		return nil, nil, fmt.Errorf("signing: %w", err)
	}
	return sig, digest[:], nil
}
