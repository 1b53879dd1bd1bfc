package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// sqliteFile makes an SQLite database at path with the given statements,
// closed (so checkpointed) when it returns.
func sqliteFile(t *testing.T, path string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// vexloomFile makes a real store in dir and then runs stmts on its database
// behind the store's back.
func vexloomFile(t *testing.T, dir string, stmts ...string) {
	t.Helper()
	s, err := Open(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.EnsureTriage(context.Background(), "GO-2024-3333", "golang.org/x/net", []Event{{Kind: KindObserved, Author: "vexloom", Branches: []string{"main"}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	sqliteFile(t, filepath.Join(dir, FileName), stmts...)
}

// snapshot is every file of dir with its content; directories end in "/".
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			out[rel+"/"] = ""
			return nil
		}
		if d.Type()&os.ModeSymlink != 0 {
			target, err := os.Readlink(p)
			out[rel] = "link to " + target
			return err
		}
		b, err := os.ReadFile(p)
		out[rel] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestOpenRefusesWhatIsNotAStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	random := make([]byte, 8192)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range random {
		random[i] = byte(r.Uint32())
	}
	cases := []struct {
		name string
		make func(t *testing.T, dir string)
		want error
		why  string
	}{
		{"empty file", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, FileName), nil, 0o644)
		}, ErrNotStore, "empty"},
		{"random bytes", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, FileName), random, 0o644)
		}, ErrNotStore, "not an SQLite database"},
		{"a few bytes", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, FileName), []byte("SQLite"), 0o644)
		}, ErrNotStore, "shorter than an SQLite header"},
		{"text", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, FileName), []byte(strings.Repeat("triage GO-2024-3333 not_affected\n", 10)), 0o644)
		}, ErrNotStore, "not an SQLite database"},
		{"directory in place of the file", func(t *testing.T, dir string) {
			os.Mkdir(filepath.Join(dir, FileName), 0o755)
		}, ErrNotStore, "directory"},
		{"a link to nothing", func(t *testing.T, dir string) {
			os.Symlink(filepath.Join(dir, "elsewhere.db"), filepath.Join(dir, FileName))
		}, os.ErrNotExist, "elsewhere.db"},
		{"SQLite with no tables", func(t *testing.T, dir string) {
			sqliteFile(t, filepath.Join(dir, FileName), `PRAGMA user_version = 7`)
		}, ErrNotStore, "no tables"},
		{"another application's database", func(t *testing.T, dir string) {
			sqliteFile(t, filepath.Join(dir, FileName),
				`CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)`,
				`INSERT INTO users (name) VALUES ('alice'), ('bob')`)
		}, ErrNotStore, "schema_migrations"},
		{"another application's database in WAL mode", func(t *testing.T, dir string) {
			sqliteFile(t, filepath.Join(dir, FileName),
				`PRAGMA journal_mode=WAL`,
				`CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)`,
				`INSERT INTO users (name) VALUES ('alice')`)
		}, ErrNotStore, "schema_migrations"},
		{"another tool's schema_migrations", func(t *testing.T, dir string) {
			// golang-migrate's table, with a date as its version.
			sqliteFile(t, filepath.Join(dir, FileName),
				`CREATE TABLE schema_migrations (version uint64, dirty bool)`,
				`CREATE UNIQUE INDEX version_unique ON schema_migrations (version)`,
				`INSERT INTO schema_migrations VALUES (20240101120000, 0)`,
				`CREATE TABLE accounts (id INTEGER PRIMARY KEY)`)
		}, ErrNotStore, "schema_migrations"},
		{"vexloom's tables beside another application's", func(t *testing.T, dir string) {
			vexloomFile(t, dir, `CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)`)
		}, ErrNotStore, "table users"},
		{"a vexloom table missing", func(t *testing.T, dir string) {
			vexloomFile(t, dir, `DROP TABLE cursors`)
		}, ErrNotStore, "cursors"},
		{"a vexloom table of another shape", func(t *testing.T, dir string) {
			vexloomFile(t, dir, `DROP TABLE cursors`, `CREATE TABLE cursors (seq INTEGER PRIMARY KEY, key TEXT)`)
		}, ErrNotStore, "table cursors"},
		{"append-only triggers dropped", func(t *testing.T, dir string) {
			vexloomFile(t, dir, `DROP TRIGGER events_no_delete`)
		}, ErrNotStore, "trigger events_no_delete"},
		{"a newer schema version", func(t *testing.T, dir string) {
			vexloomFile(t, dir, `INSERT INTO schema_migrations (version, applied_at) VALUES (999, 'x')`)
		}, ErrNewer, "schema version 999"},
		{"a newer version without vexloom's tables", func(t *testing.T, dir string) {
			sqliteFile(t, filepath.Join(dir, FileName),
				schemaMigrationsTable,
				`INSERT INTO schema_migrations (version, applied_at) VALUES (999, 'x')`)
		}, ErrNotStore, "schema version 999"},
		{"cut inside a page", func(t *testing.T, dir string) {
			vexloomFile(t, dir)
			p := filepath.Join(dir, FileName)
			fi, _ := os.Stat(p)
			os.Truncate(p, fi.Size()-100)
		}, ErrNotStore, "cut short"},
		{"cut at a page boundary", func(t *testing.T, dir string) {
			vexloomFile(t, dir)
			p := filepath.Join(dir, FileName)
			os.Truncate(p, 4096)
		}, ErrNotStore, "cut short"},
		{"only the header", func(t *testing.T, dir string) {
			vexloomFile(t, dir)
			p := filepath.Join(dir, FileName)
			os.Truncate(p, 100)
		}, ErrNotStore, "cut short"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, create := range []bool{true, false} {
				dir := t.TempDir()
				tc.make(t, dir)
				// The lock file is the one thing opening may leave.
				os.WriteFile(filepath.Join(dir, "open.lock"), nil, 0o644)
				before := snapshot(t, dir)
				s, err := openStore(ctx, dir, nil, create)
				if err == nil {
					s.Close()
					t.Fatalf("create=%v: opened", create)
				}
				if !errors.Is(err, tc.want) {
					t.Errorf("create=%v: %v, want %v", create, err, tc.want)
				}
				path := filepath.Join(dir, FileName)
				if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, tc.why) {
					t.Errorf("create=%v: %q does not name %s and say %q", create, msg, path, tc.why)
				}
				after := snapshot(t, dir)
				for name, content := range before {
					if after[name] != content {
						t.Errorf("create=%v: %s changed", create, name)
					}
				}
				for name := range after {
					if _, ok := before[name]; !ok {
						t.Errorf("create=%v: %s was left behind", create, name)
					}
				}
			}
		})
	}
}

func TestOpenCreatesOnlyWhereNothingIs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	parent := t.TempDir()
	dir := filepath.Join(parent, ".vexloom")

	// A read-only open neither creates the directory nor a store in it.
	if _, err := OpenExisting(ctx, dir, nil); !errors.Is(err, ErrNoStore) {
		t.Fatalf("no directory: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the directory was created: %v", err)
	}
	os.Mkdir(dir, 0o755)
	if _, err := OpenExisting(ctx, dir, nil); !errors.Is(err, ErrNoStore) {
		t.Fatalf("empty directory: %v", err)
	}
	if files := snapshot(t, dir); len(files) != 1 {
		t.Fatalf("a read-only open wrote %v", files)
	}

	// Open creates a whole store, and nothing else than it and its lock.
	s, err := Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s.SchemaVersion(ctx); err != nil || v != len(migrations) {
		t.Fatalf("schema version %d, %v", v, err)
	}
	if _, _, err := s.EnsureTriage(ctx, "GO-2024-3333", "golang.org/x/net", []Event{{Kind: KindObserved, Author: "vexloom", Branches: []string{"main"}}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	var names []string
	for n := range snapshot(t, dir) {
		names = append(names, n)
	}
	slices.Sort(names)
	if want := []string{"./", "open.lock", FileName}; !slices.Equal(names, want) {
		t.Errorf("store directory holds %v, want %v", names, want)
	}
	before, _ := os.ReadFile(filepath.Join(dir, FileName))
	if !bytes.HasPrefix(before, []byte(sqliteMagic)) {
		t.Fatal("not an SQLite file")
	}

	// Both opens read it back with its triage.
	for _, create := range []bool{true, false} {
		s, err := openStore(ctx, dir, nil, create)
		if err != nil {
			t.Fatalf("create=%v: %v", create, err)
		}
		trs, err := s.Triages(ctx)
		s.Close()
		if err != nil || len(trs) != 1 {
			t.Errorf("create=%v: triages %v, %v", create, trs, err)
		}
	}
}
