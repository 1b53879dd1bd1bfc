package artifact

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/examples/demo"
	"github.com/vexloom/vexloom/internal/purl"
)

var linuxAMD64 = v1.Platform{OS: "linux", Architecture: "amd64"}

// nonGoELF is an ELF header with nothing Go in it.
var nonGoELF = append([]byte("\x7fELF\x02\x01\x01\x00"), make([]byte, 4096)...)

func TestGoBinaries(t *testing.T) {
	b := demoBinaries(t)
	mainBin, relBin := readFile(t, b.MainAMD64), readFile(t, b.Release)
	entries := []entry{
		{Name: "etc/", Type: '5'},
		{Name: "etc/passwd", Body: []byte("root:x:0:0:root:/root:/bin/sh\n"), Mode: 0o644},
		{Name: "usr/lib/libfake.so", Body: nonGoELF},
		{Name: "usr/local/bin/demo", Body: mainBin},
		{Name: "./opt/release/demo", Body: relBin},
		{Name: "usr/local/bin/stale", Body: relBin},
		// Links are not followed nor recreated; their targets are
		// found under their own names.
		{Name: "usr/bin/demo", Type: '2', Linkname: "/usr/local/bin/demo"},
		{Name: "usr/bin/demo-hard", Type: '1', Linkname: "usr/local/bin/demo"},
		{Name: "usr/bin/etc", Type: '2', Linkname: "/etc"},
		{Name: "dev/null", Type: '3'},
		{Name: "tmp/fifo", Type: '6'},
		{Name: "tiny", Body: []byte("MZ")},
	}
	// A real non-Go executable of the machine, where there is one.
	if p, err := exec.LookPath("true"); err == nil {
		if data, err := os.ReadFile(p); err == nil && bytes.HasPrefix(data, []byte("\x7fELF")) {
			if _, ok := readBuildInfo(bytes.NewReader(data)); !ok {
				entries = append(entries, entry{Name: "bin/true", Body: data})
			}
		}
	}
	img := imageOf(t, linuxAMD64,
		layerOf(t, tarBytes(t, entries...)),
		layerOf(t, tarBytes(t, entry{Name: "usr/local/bin/.wh.stale", Mode: 0o644})),
	)
	dir := filepath.Join(t.TempDir(), "out")
	ex, err := GoBinaries(context.Background(), img, dir)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, bin := range ex.Binaries {
		paths = append(paths, bin.Path)
	}
	if want := []string{"/opt/release/demo", "/usr/local/bin/demo"}; !slices.Equal(paths, want) {
		t.Fatalf("binaries %v, want %v", paths, want)
	}
	if len(ex.Skipped) != 0 {
		t.Errorf("skipped %+v", ex.Skipped)
	}
	rel, main := ex.Binaries[0], ex.Binaries[1]
	if main.SHA256 != sha256Hex(mainBin) || main.Size != int64(len(mainBin)) {
		t.Errorf("main: sha256 %s size %d", main.SHA256, main.Size)
	}
	if got := readFile(t, main.File); !bytes.Equal(got, mainBin) {
		t.Errorf("%s differs from the binary in the image", main.File)
	}
	if main.File != filepath.Join(dir, "usr", "local", "bin", "demo") {
		t.Errorf("main written to %s", main.File)
	}
	if main.Module != demo.Module || main.Package != demo.Module || main.Version != b.MainVersion || main.GoVersion != runtime.Version() {
		t.Errorf("main build info: %+v", main)
	}
	if rel.Version != demo.ReleaseTag || rel.SHA256 != sha256Hex(relBin) {
		t.Errorf("release: version %s sha256 %s", rel.Version, rel.SHA256)
	}
	// Only the Go binaries are left on disk, never executable.
	if got, want := filesUnder(t, dir), []string{"opt/release/demo", "usr/local/bin/demo"}; !slices.Equal(got, want) {
		t.Errorf("files on disk %v, want %v", got, want)
	}
	if fi, err := os.Stat(main.File); err != nil || fi.Mode().Perm()&0o111 != 0 {
		t.Errorf("extracted file mode %v, %v: want not executable", fi.Mode(), err)
	}

	// Extracting twice into the same directory is refused, not overwritten.
	if _, err := GoBinaries(context.Background(), img, dir); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("second extraction into the same directory: %v", err)
	}
}

func TestGoBinariesLimits(t *testing.T) {
	ctx := context.Background()
	mainBin := readFile(t, demoBinaries(t).MainAMD64)
	img := imageOf(t, linuxAMD64, layerOf(t, tarBytes(t,
		entry{Name: "usr/local/bin/demo", Body: mainBin},
		entry{Name: "var/big.dat", Body: make([]byte, 3<<20)},
	)))

	t.Run("file", func(t *testing.T) {
		dir := t.TempDir()
		ex, err := GoBinaries(ctx, img, dir, MaxFileSize(1<<20))
		if err != nil {
			t.Fatal(err)
		}
		if len(ex.Binaries) != 0 {
			t.Errorf("binaries %+v, want none", ex.Binaries)
		}
		// The executable is noted; a large data file is not an executable.
		if len(ex.Skipped) != 1 || ex.Skipped[0].Path != "/usr/local/bin/demo" || ex.Skipped[0].Size != int64(len(mainBin)) ||
			!strings.Contains(ex.Skipped[0].Reason, "limit") {
			t.Errorf("skipped %+v", ex.Skipped)
		}
		if files := filesUnder(t, dir); len(files) != 0 {
			t.Errorf("files on disk: %v", files)
		}
	})
	t.Run("total", func(t *testing.T) {
		_, err := GoBinaries(ctx, img, t.TempDir(), MaxTotalSize(1<<20))
		if !errors.Is(err, ErrTooLarge) {
			t.Errorf("error %v, want ErrTooLarge", err)
		}
	})
	t.Run("entries", func(t *testing.T) {
		_, err := GoBinaries(ctx, img, t.TempDir(), MaxEntries(1))
		if !errors.Is(err, ErrTooLarge) {
			t.Errorf("error %v, want ErrTooLarge", err)
		}
	})
	t.Run("canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := GoBinaries(ctx, img, t.TempDir()); !errors.Is(err, context.Canceled) {
			t.Errorf("error %v, want context.Canceled", err)
		}
	})
}

// TestGoBinariesHostile feeds layers that try to write outside the
// extraction directory or to break the walk. Each must end in a clear error
// or a skip, and nothing may appear outside the directory.
func TestGoBinariesHostile(t *testing.T) {
	mainBin := readFile(t, demoBinaries(t).MainAMD64)
	valid := tarBytes(t, entry{Name: "usr/local/bin/demo", Body: mainBin})

	tests := []struct {
		name    string
		tar     func(outside string) []byte
		wantErr string   // substring of the error; "" for success
		want    []string // binaries found on success
	}{
		{
			name:    "parent path",
			tar:     func(string) []byte { return tarBytes(t, entry{Name: "../../evil", Body: mainBin}) },
			wantErr: "unsafe",
		},
		{
			name:    "parent path in the middle",
			tar:     func(string) []byte { return tarBytes(t, entry{Name: "usr/../../../evil", Body: mainBin}) },
			wantErr: "unsafe",
		},
		{
			name: "absolute path stays in the root",
			tar:  func(string) []byte { return tarBytes(t, entry{Name: "/../../usr/bin/demo", Body: mainBin}) },
			want: []string{"/usr/bin/demo"},
		},
		{
			name: "symlinked directory to outside",
			tar: func(outside string) []byte {
				return tarBytes(t,
					entry{Name: "opt", Type: '2', Linkname: outside},
					entry{Name: "opt/evil", Body: mainBin},
					entry{Name: "up", Type: '2', Linkname: "../../../../../../../.." + outside},
					entry{Name: "up/evil", Body: mainBin},
					entry{Name: "etc", Type: '2', Linkname: "/etc"},
					entry{Name: "etc/vexloom-must-not-exist", Body: []byte("x")},
				)
			},
			// go-containerregistry hides what lies under a link (opt, etc)
			// and drops a relative link that climbs out (up), so up/evil
			// becomes a plain directory and file inside dir.
			want: []string{"/up/evil"},
		},
		{
			name: "hard link to outside",
			tar: func(outside string) []byte {
				return tarBytes(t,
					entry{Name: "passwd", Type: '1', Linkname: "/etc/passwd"},
					entry{Name: "escape", Type: '1', Linkname: "../../../" + outside + "/x"},
				)
			},
		},
		{
			name:    "corrupt tar",
			tar:     func(string) []byte { return bytes.Repeat([]byte("not a tar file "), 100) },
			wantErr: "reading image filesystem",
		},
		{
			name:    "truncated tar",
			tar:     func(string) []byte { return valid[:len(valid)/2] },
			wantErr: "unexpected EOF",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := t.TempDir()
			outside := filepath.Join(base, "outside")
			dir := filepath.Join(base, "in", "out")
			if err := os.MkdirAll(outside, 0o755); err != nil {
				t.Fatal(err)
			}
			img := imageOf(t, linuxAMD64, layerOf(t, tt.tar(outside)))
			ex, err := GoBinaries(context.Background(), img, dir)
			switch {
			case tt.wantErr != "" && err == nil:
				t.Errorf("no error, want one saying %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Errorf("error %q does not say %q", err, tt.wantErr)
			case tt.wantErr == "" && err != nil:
				t.Errorf("error %v", err)
			case err == nil:
				var got []string
				for _, b := range ex.Binaries {
					got = append(got, b.Path)
					if !strings.HasPrefix(b.File, dir+string(filepath.Separator)) {
						t.Errorf("binary written to %s, outside %s", b.File, dir)
					}
				}
				if !slices.Equal(got, tt.want) {
					t.Errorf("binaries %v, want %v", got, tt.want)
				}
			}
			assertNothingOutside(t, base, outside, dir)
			if _, err := os.Lstat("/etc/vexloom-must-not-exist"); err == nil {
				t.Fatalf("/etc/vexloom-must-not-exist was written")
			}
			filesUnder(t, dir) // no links, devices or fifos inside either
		})
	}
}

// TestGoBinariesCorruptLayer pulls an image whose gzip layer is garbage
// from a registry: the extraction fails and says so.
func TestGoBinariesCorruptLayer(t *testing.T) {
	ctx := context.Background()
	host := newRegistry(t)
	bad := static.NewLayer(append([]byte{0x1f, 0x8b, 0x08, 0x00}, bytes.Repeat([]byte{0xff}, 64)...), types.OCILayer)
	img := imageOf(t, linuxAMD64, bad)
	ref, _ := name.ParseReference(host + "/broken/layer:v1")
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	ps, err := ResolveImage(ctx, ref.String())
	if err != nil {
		t.Fatal(err)
	}
	_, err = GoBinaries(ctx, ps[0].Image, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "reading image filesystem") {
		t.Errorf("error %v, want one saying reading image filesystem", err)
	}
}

// TestExtractStreamHostile runs the walker on raw tar streams, without
// go-containerregistry's flattening in front, which rejects or drops some
// of these entries itself: the walker must hold on its own.
func TestExtractStreamHostile(t *testing.T) {
	mainBin := readFile(t, demoBinaries(t).MainAMD64)
	dirs := func(t *testing.T) (base, outside string) {
		base = t.TempDir()
		outside = filepath.Join(base, "outside")
		if err := os.MkdirAll(outside, 0o755); err != nil {
			t.Fatal(err)
		}
		return base, outside
	}

	t.Run("links are not followed", func(t *testing.T) {
		base, outside := dirs(t)
		dir := filepath.Join(base, "links")
		raw := tarBytes(t,
			entry{Name: "opt", Type: '2', Linkname: outside},
			entry{Name: "opt/evil", Body: mainBin},
			entry{Name: "up", Type: '2', Linkname: "../../../.." + outside},
			entry{Name: "up/evil", Body: mainBin},
			entry{Name: "twice", Body: mainBin},
			entry{Name: "twice", Body: nonGoELF},
		)
		ex, err := extractStream(t, raw, dir)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, b := range ex.Binaries {
			got = append(got, b.Path)
		}
		// The first of two entries with one name wins, as in a flattened
		// filesystem; the names under links are plain directories here.
		if want := []string{"/opt/evil", "/twice", "/up/evil"}; !slices.Equal(got, want) {
			t.Errorf("binaries %v, want %v", got, want)
		}
		assertNothingOutside(t, base, outside, dir)
	})
	t.Run("parent path", func(t *testing.T) {
		base, outside := dirs(t)
		_, err := extractStream(t, tarBytes(t, entry{Name: "a/../../evil", Body: mainBin}), filepath.Join(base, "parent"))
		if !errors.Is(err, ErrUnsafePath) {
			t.Errorf("error %v, want ErrUnsafePath", err)
		}
		assertNothingOutside(t, base, outside, filepath.Join(base, "parent"))
	})
	t.Run("file where a directory is needed", func(t *testing.T) {
		base, outside := dirs(t)
		_, err := extractStream(t, tarBytes(t,
			entry{Name: "a", Body: mainBin},
			entry{Name: "a/b", Body: mainBin},
		), filepath.Join(base, "conflict"))
		if err == nil || !strings.Contains(err.Error(), "/a/b") {
			t.Errorf("error %v, want one naming /a/b", err)
		}
		assertNothingOutside(t, base, outside, filepath.Join(base, "conflict"))
	})
	t.Run("planted link in the directory", func(t *testing.T) {
		base, outside := dirs(t)
		dir := filepath.Join(base, "planted")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(outside, filepath.Join(dir, "usr")); err != nil {
			t.Skip("no symlinks here:", err)
		}
		_, err := extractStream(t, tarBytes(t, entry{Name: "usr/bin/demo", Body: mainBin}), dir)
		if err == nil {
			t.Errorf("writing through a link out of the directory: no error")
		}
		assertNothingOutside(t, base, outside, dir)
	})
}

func extractStream(t *testing.T, raw []byte, dir string) (*Extraction, error) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	lim := limits{maxFile: DefaultMaxFileSize, maxTotal: DefaultMaxTotalSize, maxEntries: DefaultMaxEntries}
	return extractGoBinaries(context.Background(), bytes.NewReader(raw), root, dir, lim)
}

// assertNothingOutside checks that base holds nothing but dir's tree and
// the empty outside directory.
func assertNothingOutside(t *testing.T, base, outside, dir string) {
	t.Helper()
	if entries, err := os.ReadDir(outside); err != nil || len(entries) != 0 {
		t.Errorf("%s holds %d entries (%v), want none", outside, len(entries), err)
	}
	err := filepath.WalkDir(base, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == base || p == outside || p == dir || strings.HasPrefix(dir, p+string(filepath.Separator)) ||
			strings.HasPrefix(p, dir+string(filepath.Separator)) {
			return nil
		}
		if strings.HasPrefix(p, outside+string(filepath.Separator)) {
			return nil // reported above
		}
		t.Errorf("%s written outside %s", p, dir)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestBinaryProduct(t *testing.T) {
	hex := strings.Repeat("0f", 32)
	tests := []struct {
		b    Binary
		want string
	}{
		{
			b:    Binary{Path: "/usr/local/bin/kube-apiserver", SHA256: hex, Module: "k8s.io/kubernetes", Package: "k8s.io/kubernetes/cmd/kube-apiserver", Version: "v1.34.2"},
			want: "pkg:golang/k8s.io/kubernetes@v1.34.2?checksum=sha256:" + hex + "#cmd/kube-apiserver",
		},
		{
			b:    Binary{Path: "/demo", SHA256: hex, Module: demo.Module, Package: demo.Module},
			want: "pkg:golang/example.com/vexloom-demo?checksum=sha256:" + hex,
		},
		{
			b:    Binary{Path: "/usr/bin/hello", SHA256: hex, Package: "command-line-arguments"},
			want: "pkg:generic/hello?checksum=sha256:" + hex,
		},
		{
			// A module path a hostile build wrote cannot make a bad purl.
			b:    Binary{Path: "/x", SHA256: hex, Module: "evil.com/a?b#c@d", Version: "v1.0.0"},
			want: "pkg:generic/x?checksum=sha256:" + hex,
		},
		{
			b:    Binary{Path: "/x", SHA256: hex, Module: "example.com/m", Package: "example.com/m/cmd/a b", Version: "v1.0.0?x=y#z"},
			want: "pkg:golang/example.com/m?checksum=sha256:" + hex,
		},
		{
			// Builds from a modified checkout carry +dirty.
			b:    Binary{Path: "/x", SHA256: hex, Module: "example.com/m", Package: "example.com/m/cmd/x", Version: "v1.0.1-0.20260115090000-0123456789ab+dirty"},
			want: "pkg:golang/example.com/m@v1.0.1-0.20260115090000-0123456789ab+dirty?checksum=sha256:" + hex + "#cmd/x",
		},
	}
	for _, tt := range tests {
		p := BinaryProduct(tt.b)
		if p.ID != tt.want || p.Identifiers[openvex.PURL] != tt.want {
			t.Errorf("product of %+v = %s, want %s", tt.b, p.ID, tt.want)
		}
		if string(p.Hashes[openvex.SHA256]) != hex {
			t.Errorf("hashes %v", p.Hashes)
		}
		if n, err := purl.Normalize(p.ID); err != nil {
			t.Errorf("product id %s does not parse: %v", p.ID, err)
		} else if !p.Matches(n, "") {
			t.Errorf("product %s does not match its normal form %s", p.ID, n)
		}
	}
	// A scanner that found the main module in some binary does not get the
	// statements of this exact binary; the hash does.
	p := BinaryProduct(tests[0].b)
	if p.Matches("pkg:golang/k8s.io/kubernetes@v1.34.2", "") {
		t.Errorf("binary product matches the bare module purl")
	}
	if !p.Matches(hex, "") {
		t.Errorf("binary product does not match its hash")
	}
}
