package artifact

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/vexloom/vexloom/examples/demo"
	"github.com/vexloom/vexloom/internal/scan"
)

// TestReleaseImageEndToEnd is the artifact half of assemble on the demo:
// a multi-arch image in a registry is resolved per platform, the Go
// binaries inside are extracted and analysed in binary mode against the
// fixture database, and each platform and binary gets its product.
func TestReleaseImageEndToEnd(t *testing.T) {
	ctx := context.Background()
	b := demoBinaries(t)
	host := newRegistry(t)
	ri := demoIndex(t, b)
	ref, _ := name.ParseReference(host + "/vexloom/demo:v1.0.0")
	if err := remote.WriteIndex(ref, ri.Index); err != nil {
		t.Fatal(err)
	}
	url, digest := fixtureDB(t)
	db := scan.Database{URL: url, Digest: digest, Source: "fixture"}

	ps, err := ResolveImage(ctx, ref.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 {
		t.Fatalf("got %d platforms, want 2", len(ps))
	}
	built := map[string]string{"linux/amd64": b.MainAMD64, "linux/arm64/v8": b.MainARM64}
	for _, p := range ps {
		t.Run(p.String(), func(t *testing.T) {
			ex, err := GoBinaries(ctx, p.Image, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			// old-demo was deleted by the whiteout layer.
			if len(ex.Binaries) != 1 || ex.Binaries[0].Path != "/usr/local/bin/demo" {
				t.Fatalf("binaries = %+v, want only /usr/local/bin/demo", ex.Binaries)
			}
			bin := ex.Binaries[0]
			if want := sha256Hex(readFile(t, built[p.String()])); bin.SHA256 != want {
				t.Errorf("sha256 = %s, want %s (the built binary)", bin.SHA256, want)
			}
			if bin.Module != demo.Module || bin.Version != b.MainVersion {
				t.Errorf("main module = %s@%s, want %s@%s", bin.Module, bin.Version, demo.Module, b.MainVersion)
			}

			res, err := ScanBinary(ctx, bin.File, db, nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.Database.Digest != digest || res.GoVersion != bin.GoVersion {
				t.Errorf("result database %s go %s, want %s %s", res.Database.Digest, res.GoVersion, digest, bin.GoVersion)
			}
			f := findingFor(t, res, "GO-2024-3333", "golang.org/x/net")
			if f.Level != scan.LevelSymbol || !slices.Contains(f.Symbols, "golang.org/x/net/html.Parse") {
				t.Errorf("x/net finding = %s %v, want symbol level with html.Parse", f.Level, f.Symbols)
			}
			if f.Name() != "CVE-2024-45338" || f.FixedVersion != "v0.33.0" {
				t.Errorf("x/net finding name %s fixed %s", f.Name(), f.FixedVersion)
			}
			if j := findingFor(t, res, "GO-2020-0017", "github.com/dgrijalva/jwt-go"); j.Level != scan.LevelPackage {
				t.Errorf("jwt-go finding at %s, want package (VerifyAudience is not linked in)", j.Level)
			}
			// main has moved to x/crypto v0.31.0, which fixes GO-2024-3321.
			if hasFinding(res, "GO-2024-3321") {
				t.Errorf("GO-2024-3321 reported on x/crypto v0.31.0")
			}
			if !slices.Contains(res.Modules, scan.ModuleVersion{Path: "golang.org/x/net", Version: "v0.32.0"}) {
				t.Errorf("modules %v do not list golang.org/x/net v0.32.0", res.Modules)
			}

			prod := ImageProduct(p)
			if prod.ID != "pkg:oci/demo@"+p.Digest+"?repository_url="+host+"/vexloom/demo" {
				t.Errorf("image product %s", prod.ID)
			}
			if bp := BinaryProduct(bin); string(bp.Hashes["sha-256"]) != bin.SHA256 {
				t.Errorf("binary product %+v", bp)
			}
		})
	}
}

// TestScanBinaryLevels scans the release build, which only escapes HTML:
// binary mode sees the vulnerable package linked in but not Parse.
func TestScanBinaryLevels(t *testing.T) {
	b := demoBinaries(t)
	url, digest := fixtureDB(t)
	res, err := ScanBinary(context.Background(), b.Release, scan.Database{URL: url, Digest: digest}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if f := findingFor(t, res, "GO-2024-3333", "golang.org/x/net"); f.Level != scan.LevelPackage || len(f.Symbols) != 0 {
		t.Errorf("x/net finding = %s %v, want package level, no symbols", f.Level, f.Symbols)
	}
	if f := findingFor(t, res, "GO-2024-3321", "golang.org/x/crypto"); f.Level != scan.LevelModule || f.Version != "v0.30.0" {
		t.Errorf("x/crypto finding = %s at %s, want module level at v0.30.0", f.Level, f.Version)
	}
	for i := 1; i < len(res.Findings); i++ {
		if res.Findings[i-1].Level < res.Findings[i].Level {
			t.Errorf("findings not strongest first: %s before %s", res.Findings[i-1].Level, res.Findings[i].Level)
		}
	}
}

func TestScanBinaryErrors(t *testing.T) {
	ctx := context.Background()
	url, _ := fixtureDB(t)
	dir := t.TempDir()
	notGo := filepath.Join(dir, "not-go")
	if err := os.WriteFile(notGo, append([]byte("\x7fELF\x02\x01\x01"), make([]byte, 128)...), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ScanBinary(ctx, notGo, scan.Database{URL: url}, nil); !errors.Is(err, scan.ErrEngine) {
		t.Errorf("scanning a non-Go ELF: %v, want scan.ErrEngine", err)
	}
	if _, err := ScanBinary(ctx, filepath.Join(dir, "missing"), scan.Database{URL: url}, nil); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("scanning a missing file: %v, want fs.ErrNotExist", err)
	}
	if _, err := ScanBinary(ctx, dir, scan.Database{URL: url}, nil); err == nil {
		t.Errorf("scanning a directory: no error")
	}
	if _, err := ScanBinary(ctx, notGo, scan.Database{}, nil); err == nil {
		t.Errorf("scanning without a database: no error")
	}
}

func findingFor(t *testing.T, res *BinaryResult, id, module string) scan.Finding {
	t.Helper()
	for _, f := range res.Findings {
		if f.ID == id && f.Module == module {
			return f
		}
	}
	t.Fatalf("no finding %s in %s among %d findings", id, module, len(res.Findings))
	return scan.Finding{}
}

func hasFinding(res *BinaryResult, id string) bool {
	return slices.ContainsFunc(res.Findings, func(f scan.Finding) bool { return f.ID == id })
}
