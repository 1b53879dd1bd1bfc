package artifact

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	openvex "github.com/openvex/go-vex/pkg/vex"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"

	"github.com/vexloom/vexloom/internal/purl"
)

// More sentinel errors.
var (
	// ErrUnsafePath: an image file names a path outside the image's root.
	ErrUnsafePath = errors.New("unsafe path in image")
	// ErrTooLarge: the image exceeds a limit on what is read or written.
	ErrTooLarge = errors.New("image too large")
)

// Default limits of GoBinaries. The largest Kubernetes binaries are a few
// hundred megabytes; a file above a gigabyte is not a binary worth
// writing to disk unasked.
const (
	DefaultMaxFileSize  int64 = 1 << 30
	DefaultMaxTotalSize int64 = 16 << 30
	DefaultMaxEntries         = 1 << 20
)

// Binary is a Go executable found in an image and written to disk.
type Binary struct {
	// Path is where the image holds it, e.g. "/usr/local/bin/kube-apiserver".
	Path string `json:"path"`
	// File is where it was written.
	File string `json:"file"`
	// Size in bytes.
	Size int64 `json:"size"`
	// SHA256 is the hex digest of its content.
	SHA256 string `json:"sha256"`
	// Package is the main package's import path.
	Package string `json:"package,omitempty"`
	// Module and Version are the main module as the build recorded it;
	// Version is empty when the build stamped none ("(devel)").
	Module  string `json:"module,omitempty"`
	Version string `json:"version,omitempty"`
	// GoVersion is the toolchain that built it ("go1.26.8").
	GoVersion string `json:"go_version"`
}

// Skip is an executable GoBinaries did not examine, and why.
type Skip struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	Reason string `json:"reason"`
}

// Extraction is what GoBinaries found in an image.
type Extraction struct {
	// Binaries are the Go executables, sorted by path.
	Binaries []Binary `json:"binaries"`
	// Skipped are executables left unexamined (too large), sorted by path.
	// A release document cannot speak for them.
	Skipped []Skip `json:"skipped,omitempty"`
}

// Option changes a limit of GoBinaries.
type Option func(*limits)

type limits struct {
	maxFile    int64
	maxTotal   int64
	maxEntries int
}

// MaxFileSize skips (with a note) executables larger than n bytes.
func MaxFileSize(n int64) Option { return func(l *limits) { l.maxFile = n } }

// MaxTotalSize fails the extraction once the Go binaries kept exceed n bytes.
func MaxTotalSize(n int64) Option { return func(l *limits) { l.maxTotal = n } }

// MaxEntries fails the extraction of a filesystem with more than n entries.
func MaxEntries(n int) Option { return func(l *limits) { l.maxEntries = n } }

// GoBinaries writes every Go executable of img's filesystem into dir, which
// it creates if needed and which must not already hold the same paths
// (extract each image into its own directory). The filesystem is the
// flattened one a container sees: later layers override earlier ones and
// whiteouts delete. A file is a Go executable when it starts like an ELF,
// Mach-O or PE file and debug/buildinfo reads its build information.
//
// Nothing is ever written outside dir: paths that climb out of the image
// root are refused (ErrUnsafePath), links are not followed nor recreated
// (a binary reached through a link is found at its real path), and files
// are created through an os.Root. On error dir may hold some of the files;
// the caller removes it.
func GoBinaries(ctx context.Context, img v1.Image, dir string, opts ...Option) (*Extraction, error) {
	lim := limits{maxFile: DefaultMaxFileSize, maxTotal: DefaultMaxTotalSize, maxEntries: DefaultMaxEntries}
	for _, o := range opts {
		o(&lim)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("extraction directory %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("extraction directory: %w", err)
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return nil, fmt.Errorf("extraction directory: %w", err)
	}
	defer root.Close()

	fsys := mutate.Extract(img)
	defer fsys.Close()
	ex, err := extractGoBinaries(ctx, fsys, root, abs, lim)
	if err != nil {
		return nil, err
	}
	return ex, nil
}

// extractGoBinaries walks a tar stream of a flattened filesystem. It is the
// part of GoBinaries that reads untrusted bytes, and is fuzzed on its own.
func extractGoBinaries(ctx context.Context, r io.Reader, root *os.Root, abs string, lim limits) (*Extraction, error) {
	ex := &Extraction{Binaries: []Binary{}}
	tr := tar.NewReader(r)
	seen := map[string]bool{}
	var kept int64
	for entries := 0; ; entries++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading image filesystem: %w", err)
		}
		if entries >= lim.maxEntries {
			return nil, fmt.Errorf("%w: more than %d files", ErrTooLarge, lim.maxEntries)
		}
		rel, err := localName(h.Name)
		if err != nil {
			return nil, err
		}
		if rel == "" || h.Typeflag != tar.TypeReg || seen[rel] {
			// Directories, links, devices: nothing to analyse. A link's
			// target is examined under its own name. A repeated name is
			// shadowed by the first (the flattened stream lists upper
			// layers first).
			continue
		}
		seen[rel] = true
		var magic [4]byte
		n, err := io.ReadFull(tr, magic[:])
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			continue // too short to be an executable
		}
		if err != nil {
			return nil, fmt.Errorf("reading /%s: %w", rel, err)
		}
		if !executableMagic(magic[:n]) {
			continue
		}
		if h.Size > lim.maxFile {
			ex.Skipped = append(ex.Skipped, Skip{
				Path:   "/" + rel,
				Size:   h.Size,
				Reason: fmt.Sprintf("executable of %d bytes is larger than the %d-byte limit", h.Size, lim.maxFile),
			})
			continue
		}
		b, err := writeCandidate(root, rel, io.MultiReader(bytes.NewReader(magic[:n]), tr), h.Size)
		if err != nil {
			return nil, err
		}
		if b == nil {
			continue
		}
		if kept+b.Size > lim.maxTotal {
			_ = root.Remove(filepath.FromSlash(rel))
			return nil, fmt.Errorf("%w: its Go binaries exceed %d bytes", ErrTooLarge, lim.maxTotal)
		}
		b.File = filepath.Join(abs, filepath.FromSlash(rel))
		kept += b.Size
		ex.Binaries = append(ex.Binaries, *b)
	}
	// The end of the tar stream is not the end of the reading:
	// mutate.Extract writes the archive's trailer even when a layer failed
	// (corrupt, truncated, an unsafe path) and reports the failure only on
	// the next read.
	if _, err := io.Copy(io.Discard, r); err != nil {
		return nil, fmt.Errorf("reading image filesystem: %w", err)
	}
	slices.SortFunc(ex.Binaries, func(a, b Binary) int { return strings.Compare(a.Path, b.Path) })
	slices.SortFunc(ex.Skipped, func(a, b Skip) int { return strings.Compare(a.Path, b.Path) })
	return ex, nil
}

// localName turns a tar entry name into a path relative to the image root
// ("" for the root itself). Absolute names are relative to the root, as in
// an image; names that climb out of it are refused.
func localName(name string) (string, error) {
	c := path.Clean(name)
	c = strings.TrimLeft(c, "/")
	if c == "" || c == "." {
		return "", nil
	}
	if !filepath.IsLocal(filepath.FromSlash(c)) || strings.Contains(c, "\\") || strings.ContainsRune(c, 0) {
		return "", fmt.Errorf("%w: %q", ErrUnsafePath, truncate(name))
	}
	return c, nil
}

// executableMagic reports whether a file starts like an executable that
// debug/buildinfo reads: ELF, Mach-O (32/64-bit, either byte order) or PE.
func executableMagic(b []byte) bool {
	if len(b) < 4 {
		return false
	}
	switch string(b[:4]) {
	case "\x7fELF",
		"\xfe\xed\xfa\xce", "\xce\xfa\xed\xfe",
		"\xfe\xed\xfa\xcf", "\xcf\xfa\xed\xfe":
		return true
	}
	return string(b[:2]) == "MZ"
}

// writeCandidate writes an executable to rel under root and keeps it if it
// is a Go binary; it returns nil (and removes the file) if it is not.
func writeCandidate(root *os.Root, rel string, r io.Reader, size int64) (*Binary, error) {
	if d := path.Dir(rel); d != "." {
		if err := root.MkdirAll(filepath.FromSlash(d), 0o755); err != nil {
			return nil, fmt.Errorf("writing /%s: %w", rel, err)
		}
	}
	// Never executable on disk: these files are analysed, not run.
	f, err := root.OpenFile(filepath.FromSlash(rel), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("writing /%s: already exists in the extraction directory (extract each image into its own directory): %w", rel, err)
	}
	if err != nil {
		return nil, fmt.Errorf("writing /%s: %w", rel, err)
	}
	keep := false
	defer func() {
		f.Close()
		if !keep {
			_ = root.Remove(filepath.FromSlash(rel))
		}
	}()
	sum := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, sum), io.LimitReader(r, size))
	if err != nil {
		return nil, fmt.Errorf("writing /%s: %w", rel, err)
	}
	if n != size {
		return nil, fmt.Errorf("reading /%s: %w", rel, io.ErrUnexpectedEOF)
	}
	info, ok := readBuildInfo(f)
	if !ok {
		return nil, nil
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("writing /%s: %w", rel, err)
	}
	keep = true
	b := &Binary{
		Path:      "/" + rel,
		Size:      n,
		SHA256:    hexSum(sum),
		Package:   info.Path,
		Module:    info.Main.Path,
		GoVersion: info.GoVersion,
	}
	if v := info.Main.Version; v != "(devel)" {
		b.Version = v
	}
	return b, nil
}

// readBuildInfo reads Go build information. debug/buildinfo parses
// untrusted executables here; a panic in it means "not a Go binary".
func readBuildInfo(r io.ReaderAt) (info *buildinfo.BuildInfo, ok bool) {
	defer func() {
		if recover() != nil {
			info, ok = nil, false
		}
	}()
	bi, err := buildinfo.Read(r)
	if err != nil || bi.GoVersion == "" {
		return nil, false
	}
	return bi, true
}

func hexSum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

// BinaryProduct is the OpenVEX product of a Go binary, identified by its
// content: the sha-256 under hashes, and a package URL as @id and purl
// identifier that names what it was built from and pins the content with a
// checksum qualifier:
//
//	pkg:golang/<module>@<version>?checksum=sha256:<hex>#<main package within the module>
//
// The plain pkg:golang/<module>@<version> is the project module's product
// (DESIGN.md): every binary of a project shares it, so it cannot be the IRI
// of one binary (OpenVEX forbids an IRI naming two pieces of software), and
// binary-mode statements under it would compete with the source-mode ones.
// go-vex matches a purl only when the query carries each of its qualifiers,
// so the checksum keeps these statements to this exact binary. A build with
// no main module (go build file.go) or a module path that is not a valid
// purl name gets pkg:generic/<file name>?checksum=sha256:<hex>.
func BinaryProduct(b Binary) openvex.Product {
	id := BinaryPURL(b)
	return openvex.Product{Component: openvex.Component{
		ID:          id,
		Identifiers: map[openvex.IdentifierType]string{openvex.PURL: id},
		Hashes:      map[openvex.Algorithm]openvex.Hash{openvex.SHA256: openvex.Hash(b.SHA256)},
	}}
}

// BinaryPURL is the package URL of a Go binary (see BinaryProduct). The
// build information is the binary's own say, so it is checked: an invalid
// module path gives the generic form, an invalid version or main package
// path is left out.
func BinaryPURL(b Binary) string {
	checksum := "sha256:" + b.SHA256
	if b.Module != "" && module.CheckPath(b.Module) == nil {
		version, sub := "", ""
		if b.Version != "" && semver.IsValid(b.Version) {
			version = b.Version
		}
		if s, ok := strings.CutPrefix(b.Package, b.Module+"/"); ok && module.CheckImportPath(b.Package) == nil {
			sub = s
		}
		if p, ok := purl.GoBinary(b.Module, version, sub, checksum); ok {
			return p
		}
	}
	name := path.Base(b.Path)
	if name == "/" || name == "." {
		name = "binary"
	}
	return purl.Generic(name, checksum)
}

func truncate(s string) string {
	if len(s) > 120 {
		return s[:120] + "…"
	}
	return s
}
