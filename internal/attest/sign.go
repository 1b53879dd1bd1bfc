package attest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/vexloom/vexloom/internal/jsonx"
)

// Signer is what Sign signs with: a *PrivateKey (offline, key-based) or a
// *Keyless (a short-lived Fulcio certificate, logged in Rekor).
type Signer interface {
	signing(ctx context.Context) (sign.Keypair, sign.BundleOptions, error)
}

// Sign signs an in-toto statement (as Statement writes them; anything whose
// predicate is not OpenVEX is refused) into a Sigstore bundle (media type
// application/vnd.dev.sigstore.bundle.v0.3+json) holding a DSSE envelope of
// type application/vnd.in-toto+json. A key-based bundle carries the key's ID
// as its public key hint and no transparency-log entry; a keyless one
// carries the Fulcio certificate and the Rekor entry.
func Sign(ctx context.Context, statement []byte, signer Signer) ([]byte, error) {
	if _, _, err := ReadStatement(statement); err != nil {
		return nil, fmt.Errorf("refusing to sign: %w", err)
	}
	return SignStatement(ctx, statement, signer)
}

// SignStatement signs an in-toto v1 statement with any predicate (a gate
// result, for instance) the way Sign signs VEX: a DSSE envelope of type
// application/vnd.in-toto+json in a Sigstore bundle. The statement must
// have a predicate type and at least one subject with a digest.
func SignStatement(ctx context.Context, statement []byte, signer Signer) ([]byte, error) {
	if signer == nil {
		return nil, errors.New("no signer")
	}
	if len(statement) > MaxStatementSize {
		return nil, fmt.Errorf("%w: statement of %d bytes is more than the %d allowed", ErrMalformed, len(statement), MaxStatementSize)
	}
	var st struct {
		Type          string    `json:"_type"`
		PredicateType string    `json:"predicateType"`
		Subject       []Subject `json:"subject"`
	}
	if err := json.Unmarshal(statement, &st); err != nil {
		return nil, fmt.Errorf("%w: refusing to sign: not an in-toto statement: %v", ErrMalformed, err)
	}
	if st.Type != "https://in-toto.io/Statement/v1" || st.PredicateType == "" || len(st.Subject) == 0 {
		return nil, fmt.Errorf("%w: refusing to sign: an in-toto v1 statement needs _type, predicateType and subjects", ErrMalformed)
	}
	for _, sub := range st.Subject {
		if len(sub.Digest) == 0 {
			return nil, fmt.Errorf("%w: refusing to sign: subject %q has no digest", ErrMalformed, truncate(sub.Name))
		}
	}
	kp, opts, err := signer.signing(ctx)
	if err != nil {
		return nil, err
	}
	opts.Context = ctx
	pb, err := sign.Bundle(&sign.DSSEData{Data: statement, PayloadType: PayloadType}, kp, opts)
	if err != nil {
		return nil, fmt.Errorf("signing the statement: %w", err)
	}
	raw, err := protojson.Marshal(pb)
	if err != nil {
		return nil, fmt.Errorf("encoding the bundle: %w", err)
	}
	// protojson varies its whitespace on purpose; re-encode for stable,
	// sorted output.
	var generic any
	if err := jsonx.Unmarshal(raw, &generic); err != nil {
		return nil, fmt.Errorf("re-reading the bundle: %w", err)
	}
	return jsonx.Marshal(generic)
}

// Keyless signs with a short-lived key certified by Fulcio for the identity
// in an OIDC token, and records the signature in Rekor. It needs the
// network, so it is not exercised offline.
//
// Configuration, for the public-good Sigstore instance:
//
//	FulcioURL: https://fulcio.sigstore.dev
//	RekorURL:  https://rekor.sigstore.dev
//	IDToken:   an OIDC ID token with audience "sigstore" — in GitHub Actions
//	           the workflow's token (permissions: id-token: write), fetched
//	           from ACTIONS_ID_TOKEN_REQUEST_URL with audience=sigstore;
//	           elsewhere from an interactive OIDC login (cosign's
//	           oauth2.sigstore.dev flow) or SIGSTORE_ID_TOKEN.
//
// A private deployment sets its own URLs. TimestampAuthorityURL (optional)
// adds an RFC 3161 timestamp (…/api/v1/timestamp). TrustedMaterial
// (optional; root.FetchTrustedRoot() for public-good) makes Sign verify the
// bundle it made before returning it. Verifying keyless bundles takes the
// same trusted material and an Identity: the token's issuer and a pattern
// for its subject (the workflow URL or e-mail address).
type Keyless struct {
	FulcioURL             string
	RekorURL              string
	TimestampAuthorityURL string
	IDToken               string
	TrustedMaterial       root.TrustedMaterial
	// Transport carries the Fulcio and timestamp requests (nil: the
	// default); Rekor uses sigstore-go's own client.
	Transport http.RoundTripper
	// Timeout of each request (0: 30 s).
	Timeout time.Duration
	// Retries on server errors (0: none).
	Retries uint
}

func (k *Keyless) signing(context.Context) (sign.Keypair, sign.BundleOptions, error) {
	if k.IDToken == "" {
		return nil, sign.BundleOptions{}, errors.New("keyless signing needs an OIDC ID token")
	}
	if err := checkServiceURL("Fulcio", k.FulcioURL); err != nil {
		return nil, sign.BundleOptions{}, err
	}
	if err := checkServiceURL("Rekor", k.RekorURL); err != nil {
		return nil, sign.BundleOptions{}, err
	}
	timeout := k.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	kp, err := sign.NewEphemeralKeypair(nil)
	if err != nil {
		return nil, sign.BundleOptions{}, fmt.Errorf("generating the ephemeral key: %w", err)
	}
	opts := sign.BundleOptions{
		CertificateProvider: sign.NewFulcio(&sign.FulcioOptions{
			BaseURL: k.FulcioURL, Timeout: timeout, Retries: k.Retries, Transport: k.Transport,
		}),
		CertificateProviderOptions: &sign.CertificateProviderOptions{IDToken: k.IDToken},
		TransparencyLogs: []sign.Transparency{sign.NewRekor(&sign.RekorOptions{
			BaseURL: k.RekorURL, Timeout: timeout, Retries: k.Retries,
		})},
		TrustedRoot: k.TrustedMaterial,
	}
	if k.TimestampAuthorityURL != "" {
		if err := checkServiceURL("timestamp authority", k.TimestampAuthorityURL); err != nil {
			return nil, sign.BundleOptions{}, err
		}
		opts.TimestampAuthorities = []*sign.TimestampAuthority{sign.NewTimestampAuthority(&sign.TimestampAuthorityOptions{
			URL: k.TimestampAuthorityURL, Timeout: timeout, Retries: k.Retries, Transport: k.Transport,
		})}
	}
	return kp, opts, nil
}

func checkServiceURL(what, s string) error {
	if s == "" {
		return fmt.Errorf("keyless signing needs a %s URL", what)
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%s URL %q is not an http(s) URL", what, truncate(s))
	}
	return nil
}
