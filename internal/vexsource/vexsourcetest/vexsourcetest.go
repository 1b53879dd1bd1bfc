// Package vexsourcetest holds the seeds of the fuzzers of what reads VEX
// (vexsource's reader, gate's verifier): an OpenVEX document, its in-toto
// statement, a bundle signing it, and near-misses. Only tests import it.
package vexsourcetest

import (
	"embed"
	"testing"
)

//go:embed seeds
var seeds embed.FS

// AddSeeds adds every seed to f.
func AddSeeds(f *testing.F) {
	f.Helper()
	entries, err := seeds.ReadDir("seeds")
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		f.Add(Seed(f, e.Name()))
	}
}

// Seed is the seed named name (document.openvex.json,
// statement.intoto.json, signed.sigstore.json…).
func Seed(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := seeds.ReadFile("seeds/" + name)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
