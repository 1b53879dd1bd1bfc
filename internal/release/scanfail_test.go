package release

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vexloom/vexloom/examples/demo"
	"github.com/vexloom/vexloom/internal/fixture"
	"github.com/vexloom/vexloom/internal/progress"
	"github.com/vexloom/vexloom/internal/scan"
	"github.com/vexloom/vexloom/internal/source"
	"github.com/vexloom/vexloom/internal/store"
)

// releaseWithFiles is the demo with release-1.0 changed by files (none
// when nil), tagged v1.0.1, and Options to assemble v1.0.1 with an
// uncached scanner reporting to prog.
func releaseWithFiles(t *testing.T, files map[string][]byte, prog *progress.Reporter) Options {
	t.Helper()
	ctx := context.Background()
	cache := t.TempDir()
	db := fixture.Database(t, cache)
	r, err := demo.Create(ctx, filepath.Join(t.TempDir(), "repo"))
	if err != nil {
		t.Fatal(err)
	}
	if files == nil {
		files = map[string][]byte{"NOTES": []byte("1.0.1\n")}
	}
	c, err := r.Commit(ctx, demo.ReleaseBranch, fixture.Now, "Release 1.0.1", files)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Tag(ctx, "v1.0.1", c); err != nil {
		t.Fatal(err)
	}
	repo, err := source.OpenRepository(ctx, r.Dir, cache, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, t.TempDir(), func() time.Time { return fixture.Now })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sdb := scan.Database{URL: db.URL(), Source: db.Meta.Source, Version: db.Meta.Version, Digest: db.Meta.Digest, Modified: db.Meta.Modified}
	return Options{
		Store: st, Repo: repo, DB: sdb, Ref: "v1.0.1", Maintained: []string{demo.MainBranch, demo.ReleaseBranch},
		Scanner: scan.NewScanner(scan.Options{DB: sdb, Progress: prog}),
		Author:  "Demo Security", Now: fixture.Now, WorkDir: t.TempDir(), Progress: prog,
	}
}

// assemble refuses a release at which a module could not be scanned,
// whatever the cause, rather than emit a document without that module.
func TestAssembleRefusesAFailedModule(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		files map[string][]byte
	}{
		{"go.mod does not parse", map[string][]byte{"go.mod": []byte("this is not a go.mod\n")}},
		{"go.mod has no module line", map[string][]byte{"go.mod": []byte("go 1.24.0\n")}},
		// A main package importing nothing, with a syntax error: the
		// engine fails in its load without type-checking the demo's
		// dependencies first.
		{"packages do not load", map[string][]byte{"main.go": []byte("// Command demo greets.\npackage main\n\nfunc main() {}\n\nfunc broken( {\n")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := releaseWithFiles(t, tc.files, nil)
			res, err := Assemble(context.Background(), o)
			if !errors.Is(err, scan.ErrIncomplete) || res != nil {
				t.Fatalf("Assemble = %+v, %v; want ErrIncomplete", res, err)
			}
			if !strings.Contains(err.Error(), "v1.0.1") || !strings.Contains(err.Error(), "module") {
				t.Errorf("the error does not name the release and the module: %v", err)
			}
		})
	}
}

// cancelOnEngine cancels a context when govulncheck reports progress: in
// the middle of a module's scan.
type cancelOnEngine struct {
	once   sync.Once
	cancel context.CancelFunc
}

func (c *cancelOnEngine) Write(p []byte) (int, error) {
	if strings.HasPrefix(string(p), "    ") {
		c.once.Do(c.cancel)
	}
	return len(p), nil
}

// An assemble whose scan is interrupted is an error, never a document of
// what was scanned before the interruption.
func TestAssembleInterruptedScanIsAnError(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("interrupts govulncheck's engine over the demo, which finishes in the background; run without -short")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o := releaseWithFiles(t, nil, progress.New(&cancelOnEngine{cancel: cancel}))
	res, err := Assemble(ctx, o)
	if !errors.Is(err, context.Canceled) || res != nil {
		t.Fatalf("Assemble = %+v, %v; want context.Canceled", res, err)
	}
}
