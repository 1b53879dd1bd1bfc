package artifact

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/vexloom/vexloom/examples/demo"
	"github.com/vexloom/vexloom/internal/fixture"
)

// demoBuilds are real Go binaries built from the demo repository.
type demoBuilds struct {
	// Main is the main branch (calls html.Parse) for linux/amd64 and
	// linux/arm64; Release is the v1.0.0 tag (only html.EscapeString) for
	// linux/amd64.
	MainAMD64, MainARM64, Release string
	// MainVersion is the pseudo-version the build stamped on main.
	MainVersion string
}

var (
	buildsOnce sync.Once
	builds     demoBuilds
	buildsErr  string
	buildsDir  string
)

// TestMain removes the binaries the tests share.
func TestMain(m *testing.M) {
	code := m.Run()
	if buildsDir != "" {
		os.RemoveAll(buildsDir)
	}
	os.Exit(code)
}

// demoBinaries builds the demo's binaries once per test binary: go build is
// the slow part, and the binaries are read-only inputs of every test.
func demoBinaries(t testing.TB) demoBuilds {
	t.Helper()
	buildsOnce.Do(func() {
		dir, err := os.MkdirTemp("", "vexloom-artifact-")
		if err != nil {
			buildsErr = err.Error()
			return
		}
		buildsDir = dir
		repo, err := demo.Create(context.Background(), filepath.Join(dir, "repo"))
		if err != nil {
			buildsErr = err.Error()
			return
		}
		b := demoBuilds{
			MainAMD64: filepath.Join(dir, "demo-main-amd64"),
			MainARM64: filepath.Join(dir, "demo-main-arm64"),
			Release:   filepath.Join(dir, "demo-v1.0.0-amd64"),
		}
		steps := []struct {
			args []string
			env  []string
		}{
			{args: []string{"go", "build", "-buildvcs=true", "-o", b.MainAMD64, "."}, env: []string{"GOOS=linux", "GOARCH=amd64"}},
			{args: []string{"go", "build", "-buildvcs=true", "-o", b.MainARM64, "."}, env: []string{"GOOS=linux", "GOARCH=arm64"}},
			{args: []string{"git", "checkout", "--quiet", demo.ReleaseTag}},
			{args: []string{"go", "build", "-buildvcs=true", "-o", b.Release, "."}, env: []string{"GOOS=linux", "GOARCH=amd64"}},
		}
		for _, s := range steps {
			cmd := exec.Command(s.args[0], s.args[1:]...)
			cmd.Dir = repo.Dir
			cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local", "GOWORK=off", "CGO_ENABLED=0",
				"GIT_CONFIG_GLOBAL="+os.DevNull, "GIT_CONFIG_NOSYSTEM=1")
			cmd.Env = append(cmd.Env, s.env...)
			if out, err := cmd.CombinedOutput(); err != nil {
				buildsErr = strings.Join(s.args, " ") + ": " + err.Error() + ": " + string(out)
				return
			}
		}
		b.MainVersion = "v1.0.1-0." + demo.Epoch.Add(24*time.Hour).Format("20060102150405") + "-" + repo.Commits[demo.MainBranch][:12]
		builds = b
	})
	if buildsErr != "" {
		t.Fatalf("building the demo binaries: %s", buildsErr)
	}
	return builds
}

func readFile(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// entry is one file of a test layer.
type entry struct {
	Name     string
	Type     byte // tar.TypeReg when zero
	Body     []byte
	Linkname string
	Mode     int64
}

func tarBytes(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.Name, Typeflag: e.Type, Linkname: e.Linkname, Mode: e.Mode, Format: tar.FormatPAX}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Mode == 0 {
			h.Mode = 0o755
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.Body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(e.Body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// layerOf makes a gzipped layer of raw tar bytes (which may be corrupt).
func layerOf(t testing.TB, raw []byte) v1.Layer {
	t.Helper()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(raw)), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// imageOf makes an image for a platform from layers (lowest first).
func imageOf(t testing.TB, plat v1.Platform, layers ...v1.Layer) v1.Image {
	t.Helper()
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err := mutate.AppendLayers(img, layers...)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = plat.OS, plat.Architecture, plat.Variant
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// newRegistry starts go-containerregistry's registry on loopback and
// returns its host:port.
func newRegistry(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// filesUnder lists the regular files under dir (slash paths) and fails on
// anything that is neither a file nor a directory.
func filesUnder(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case d.Type().IsRegular():
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		case d.IsDir():
		default:
			t.Errorf("%s is a %s, not a regular file", p, d.Type())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// fixtureDB is the fixture vulnerability database as scans see it.
func fixtureDB(t testing.TB) (url, digest string) {
	t.Helper()
	db := fixture.Database(t, t.TempDir())
	return db.URL(), db.Meta.Digest
}
