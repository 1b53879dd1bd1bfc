package cli

import (
	"context"
	"fmt"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/vexloom/vexloom/internal/attest"
	"github.com/vexloom/vexloom/internal/infile"
)

// loadResultSigner loads the key that signs the gate's result.
func loadResultSigner(path string, g *globals) (*attest.PrivateKey, error) {
	data, err := readBounded(path, attest.MaxKeySize)
	if err != nil {
		return nil, fmt.Errorf("reading --signing-key: %w", err)
	}
	k, err := attest.LoadPrivateKey(data, keyPassword(g))
	if err != nil {
		return nil, fmt.Errorf("--signing-key %s: %w", path, err)
	}
	return k, nil
}

// readBounded reads a regular file of at most limit bytes, for callers
// without a context (keys, read before any work): infile.Read, which
// refuses FIFOs and devices rather than wait on them.
func readBounded(path string, limit int64) ([]byte, error) {
	return infile.Read(context.Background(), path, limit)
}

// maxTrustedRoot bounds a Sigstore trusted root file.
const maxTrustedRoot = 8 << 20

// readTrustedRoot reads a Sigstore trusted_root.json through the bounded
// reader (sigstore-go's own reader reads any file whole).
func readTrustedRoot(path string) (*root.TrustedRoot, error) {
	data, err := readBounded(path, maxTrustedRoot)
	if err != nil {
		return nil, err
	}
	return root.NewTrustedRootFromJSON(data)
}
