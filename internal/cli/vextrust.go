package cli

import (
	"fmt"
	"io"
	"regexp"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/spf13/pflag"

	"github.com/vexloom/vexloom/internal/attest"
	"github.com/vexloom/vexloom/internal/gate"
)

// vexTrustHelp is the help of the vexTrustFlags.
const vexTrustHelp = `Only statements whose signature verifies count:
  --key FILE      the PEM public key the VEX must be signed with
  --certificate-identity REGEX --certificate-oidc-issuer URL
                  keyless: the signer's certificate identity (a Go regular
                  expression matched in full) and OIDC issuer; the trusted
                  root is --trusted-root FILE, else Sigstore's public-good
                  root (fetched through TUF)
  --allow-unsigned
                  count unsigned and unverified statements too
Unsigned statements, and bundles whose signature does not verify, are
reported (with the reason) and ignored unless --allow-unsigned is given. One
of the three must be given.
`

// vexTrustFlags say which VEX statements the gate counts: those signed
// with a key, those signed by a keyless identity, or any (--allow-unsigned).
type vexTrustFlags struct {
	key           string
	identity      string
	issuer        string
	trustedRoot   string
	allowUnsigned bool
}

func (f *vexTrustFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&f.key, "key", "", "PEM public key `file` that VEX bundles must be signed with")
	fl.StringVar(&f.identity, "certificate-identity", "", "keyless: `regex` the signing certificate's identity must match in full")
	fl.StringVar(&f.issuer, "certificate-oidc-issuer", "", "keyless: the OIDC issuer `URL` of the signing certificate")
	fl.StringVar(&f.trustedRoot, "trusted-root", "", "keyless: Sigstore trusted root `file` (default: the public-good root, fetched)")
	fl.BoolVar(&f.allowUnsigned, "allow-unsigned", false, "count unsigned and unverified statements too")
}

// check validates the flags' combinations (exit 2).
func (f *vexTrustFlags) check() error {
	switch {
	case f.key != "" && (f.identity != "" || f.issuer != ""):
		return usageError("give --key or --certificate-identity with --certificate-oidc-issuer, not both")
	case (f.identity == "") != (f.issuer == ""):
		return usageError("--certificate-identity and --certificate-oidc-issuer go together")
	case f.key == "" && f.identity == "" && !f.allowUnsigned:
		return usageError("say which VEX counts: --key FILE, --certificate-identity REGEX with --certificate-oidc-issuer URL, or --allow-unsigned")
	case f.trustedRoot != "" && f.identity == "":
		return usageError("--trusted-root is for keyless verification (--certificate-identity)")
	}
	if f.identity != "" {
		if _, err := regexp.Compile(f.identity); err != nil {
			return usageError("--certificate-identity: %v", err)
		}
	}
	return nil
}

// verifier is what makes a statement count.
func (f *vexTrustFlags) verifier(notes io.Writer) (*gate.Verifier, error) {
	v := &gate.Verifier{AllowUnsigned: f.allowUnsigned, Notes: notes}
	switch {
	case f.key != "":
		data, err := readBounded(f.key, attest.MaxKeySize)
		if err != nil {
			return nil, fmt.Errorf("reading --key: %w", err)
		}
		pub, err := attest.LoadPublicKey(data)
		if err != nil {
			return nil, fmt.Errorf("--key %s: %w (it is the public key that verifies VEX; the result is signed with --signing-key)", f.key, err)
		}
		v.Policy = &attest.TrustPolicy{PublicKey: pub, WithoutArtifact: true}
	case f.identity != "":
		var (
			tm  root.TrustedMaterial
			err error
		)
		if f.trustedRoot != "" {
			tm, err = readTrustedRoot(f.trustedRoot)
			if err != nil {
				return nil, fmt.Errorf("reading --trusted-root: %w", err)
			}
		} else {
			tm, err = root.FetchTrustedRoot()
			if err != nil {
				return nil, fmt.Errorf("fetching Sigstore's public-good trusted root (give --trusted-root FILE offline): %w", err)
			}
		}
		v.Policy = &attest.TrustPolicy{
			Identity:        &attest.Identity{Issuer: f.issuer, SubjectRegexp: f.identity},
			TrustedMaterial: tm,
			WithoutArtifact: true,
		}
	}
	return v, nil
}
