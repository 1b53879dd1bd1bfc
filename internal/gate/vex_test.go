package gate

import (
	"context"
	"testing"

	"github.com/vexloom/vexloom/internal/attest"
	"github.com/vexloom/vexloom/internal/vexsource"
	"github.com/vexloom/vexloom/internal/vexsource/vexsourcetest"
)

// documents is a source holding documents already read.
type documents []vexsource.Document

func (d documents) String() string                                          { return "test" }
func (d documents) Kind() vexsource.Kind                                    { return vexsource.KindFile }
func (d documents) Documents(context.Context) ([]vexsource.Document, error) { return d, nil }
func (d documents) About(context.Context, attest.Digest) ([]vexsource.Document, error) {
	return d, nil
}

// FuzzVerifierWithoutKey feeds hostile bytes, read as a --vex file would
// be, to a verifier without a key: errors, never panics, and nothing
// unverified is marked verified.
//
// The seeds are vexsourcetest's, which vexsource's fuzzing adds too.
func FuzzVerifierWithoutKey(f *testing.F) {
	vexsourcetest.AddSeeds(f)
	v := &Verifier{}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := vexsource.Read(data, "fuzz")
		if err != nil {
			return
		}
		sts, _, err := v.Read(context.Background(), documents{d})
		if err == nil {
			for _, s := range sts {
				if s.Verified {
					t.Fatal("a statement read without a key is verified")
				}
			}
		}
	})
}
