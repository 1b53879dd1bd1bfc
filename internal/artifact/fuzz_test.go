package artifact

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzExtractStream walks arbitrary bytes as the flattened filesystem of an
// image. Whatever the input, the walk ends (an error is fine), and nothing
// but regular files and directories appear, all inside the directory.
func FuzzExtractStream(f *testing.F) {
	elf := append([]byte("\x7fELF\x02\x01\x01\x00"), make([]byte, 512)...)
	f.Add([]byte{})
	f.Add(tarBytes(f, entry{Name: "usr/bin/a", Body: elf}, entry{Name: "etc/passwd", Body: []byte("root:x:0:0\n")}))
	f.Add(tarBytes(f, entry{Name: "../../evil", Body: elf}))
	f.Add(tarBytes(f, entry{Name: "/abs/../../x", Body: elf}))
	f.Add(tarBytes(f, entry{Name: "opt", Type: '2', Linkname: "/etc"}, entry{Name: "opt/x", Body: elf}))
	f.Add(tarBytes(f, entry{Name: "l", Type: '1', Linkname: "../../etc/passwd"}, entry{Name: "d/", Type: '5'}))
	f.Add(tarBytes(f, entry{Name: "a", Body: elf}, entry{Name: "a/b", Body: elf}, entry{Name: "a", Body: []byte("MZ..")}))
	f.Add(tarBytes(f, entry{Name: strings.Repeat("long/", 60) + "x", Body: []byte("\xcf\xfa\xed\xfe")}))
	valid := tarBytes(f, entry{Name: "x", Body: elf})
	f.Add(valid[:len(valid)/2])
	f.Fuzz(func(t *testing.T, data []byte) {
		base := t.TempDir()
		dir := filepath.Join(base, "out")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		root, err := os.OpenRoot(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer root.Close()
		lim := limits{maxFile: 1 << 20, maxTotal: 4 << 20, maxEntries: 1000}
		ex, err := extractGoBinaries(context.Background(), bytes.NewReader(data), root, dir, lim)
		if err == nil {
			for _, b := range ex.Binaries {
				if !strings.HasPrefix(b.File, dir+string(filepath.Separator)) || !strings.HasPrefix(b.Path, "/") {
					t.Fatalf("binary %+v outside %s", b, dir)
				}
				if data, err := os.ReadFile(b.File); err != nil || sha256Hex(data) != b.SHA256 {
					t.Fatalf("binary %s on disk does not match: %v", b.File, err)
				}
			}
		}
		if entries, err := os.ReadDir(base); err != nil || len(entries) != 1 {
			t.Fatalf("%s holds %d entries: something was written beside the directory", base, len(entries))
		}
		err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && !d.Type().IsRegular() {
				t.Fatalf("%s is a %s", p, d.Type())
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
