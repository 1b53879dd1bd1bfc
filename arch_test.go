package vexloom_test

// The layout rules of ARCHITECTURE.md, checked: which package may import
// which, and which third-party engines each concept's owner alone uses.

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/vexloom/vexloom/"

type goPackage struct {
	ImportPath string
	Imports    []string
}

func listPackages(t *testing.T) []goPackage {
	t.Helper()
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []goPackage
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p goPackage
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		p.ImportPath = strings.TrimPrefix(p.ImportPath, module)
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 20 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

// Leaves own one small concept each and import none of vexloom's packages.
var leaves = []string{
	"internal/atomicfile", "internal/branch", "internal/buildinfo", "internal/digest",
	"internal/infile", "internal/jsonx", "internal/osv", "internal/owners",
	"internal/progress", "internal/redact", "internal/termtext", "internal/ghfake",
}

// Each of these libraries is used by the one package that owns its concept
// (and by the command line only where it parses flags or wires a client).
var owners = map[string][]string{
	"github.com/spf13/cobra":               {"internal/cli"},
	"modernc.org/sqlite":                   {"internal/store"},
	"github.com/jackc/pgx/v5/stdlib":       {"internal/store", "internal/store/pgtest", "bench/storebench", "bench/runnersbench"},
	"github.com/package-url/packageurl-go": {"internal/purl"},
	"golang.org/x/vuln/scan":               {"internal/scan"},
	// Sigstore bundles are read, signed and verified by attest alone
	// (attesttest signs with its own test authority).
	"github.com/sigstore/sigstore-go/pkg/bundle": {"internal/attest", "internal/attest/attesttest"},
	"github.com/sigstore/sigstore-go/pkg/sign":   {"internal/attest"},
	"github.com/sigstore/sigstore-go/pkg/verify": {"internal/attest"},
	// In-toto statements: attest's of VEX, and the gate's of its own
	// result (which attest signs).
	"github.com/in-toto/attestation/go/v1": {"internal/attest", "internal/gate"},
}

func TestLayout(t *testing.T) {
	for _, p := range listPackages(t) {
		for _, imp := range p.Imports {
			local := strings.TrimPrefix(imp, module)
			if local == "internal/cli" && p.ImportPath != "cmd/vexloom" {
				t.Errorf("%s imports internal/cli: only cmd/vexloom may; domain code lives in the stage packages", p.ImportPath)
			}
			if local != imp && contains(leaves, p.ImportPath) {
				t.Errorf("%s is a leaf package and imports %s", p.ImportPath, local)
			}
			if allowed, ok := owners[imp]; ok && !contains(allowed, p.ImportPath) {
				t.Errorf("%s imports %s, which only %s may use", p.ImportPath, imp, strings.Join(allowed, ", "))
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
