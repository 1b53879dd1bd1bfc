package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/vexloom/vexloom/internal/attest"
	"github.com/vexloom/vexloom/internal/infile"
)

// maxInputFile bounds a document or bundle read from a file.
const maxInputFile = attest.MaxBundleSize

// readInput reads a document or bundle from a file (a regular one: never
// a FIFO or a device), or stdin for "-", giving up when the command's
// context is cancelled.
func readInput(cmd *cobra.Command, path string) ([]byte, error) {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	if path != "-" {
		return infile.Read(ctx, path, maxInputFile)
	}
	return infile.ReadAll(ctx, cmd.InOrStdin(), "stdin", maxInputFile)
}

// keyPassword is the password of an encrypted (cosign-format) private key,
// from the environment.
func keyPassword(g *globals) func() ([]byte, error) {
	return func() ([]byte, error) {
		for _, v := range []string{"VEXLOOM_KEY_PASSWORD", "COSIGN_PASSWORD"} {
			if p := g.getenv(v); p != "" {
				return []byte(p), nil
			}
		}
		return nil, errors.New("the key is encrypted: set VEXLOOM_KEY_PASSWORD or COSIGN_PASSWORD")
	}
}

// signerFlags choose how a document is signed.
type signerFlags struct {
	key      string
	keyless  bool
	fulcio   string
	rekor    string
	tsa      string
	idToken  string
	password string
}

func (f *signerFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.key, "key", "", "private key `file` to sign with (PEM; cosign-format keys read their password from VEXLOOM_KEY_PASSWORD or COSIGN_PASSWORD)")
	cmd.Flags().BoolVar(&f.keyless, "keyless", false, "sign keyless with a Fulcio certificate and a Rekor entry (needs the network and an OIDC token)")
	cmd.Flags().StringVar(&f.fulcio, "fulcio-url", "https://fulcio.sigstore.dev", "Fulcio `URL` for --keyless")
	cmd.Flags().StringVar(&f.rekor, "rekor-url", "https://rekor.sigstore.dev", "Rekor `URL` for --keyless")
	cmd.Flags().StringVar(&f.tsa, "timestamp-url", "", "RFC 3161 timestamp authority `URL` for --keyless (optional)")
	cmd.Flags().StringVar(&f.idToken, "identity-token", "", "OIDC ID `token` for --keyless (default $SIGSTORE_ID_TOKEN)")
}

func (f *signerFlags) signer(g *globals) (attest.Signer, error) {
	switch {
	case f.key != "" && f.keyless:
		return nil, usageError("--key and --keyless exclude each other")
	case f.key != "":
		data, err := readBounded(f.key, attest.MaxKeySize)
		if err != nil {
			return nil, fmt.Errorf("reading the key: %w", err)
		}
		return attest.LoadPrivateKey(data, keyPassword(g))
	case f.keyless:
		tok := f.idToken
		if tok == "" {
			tok = g.getenv("SIGSTORE_ID_TOKEN")
		}
		if tok == "" {
			return nil, usageError("--keyless needs an OIDC token: --identity-token or SIGSTORE_ID_TOKEN")
		}
		return &attest.Keyless{FulcioURL: f.fulcio, RekorURL: f.rekor, TimestampAuthorityURL: f.tsa, IDToken: tok}, nil
	}
	return nil, usageError("say how to sign: --key FILE or --keyless")
}
