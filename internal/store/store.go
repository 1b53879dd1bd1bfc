// Package store is vexloom's embedded store: an SQLite database (pure Go,
// modernc.org/sqlite) holding the scans of every branch, the findings of
// each scan, the triages and, for each triage, the append-only history of
// events — observations, assessments with who made them and the exact
// comment, withdrawals, lifecycle transitions, publications. Nothing is
// ever updated in place or deleted (triggers refuse it); the current state
// is derived from the history.
//
// Writes that belong together (a triage and its first event, a comment and
// the events it produced) are one transaction, so killing vexloom at any
// moment loses nothing acknowledged and leaves nothing half-made.
package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the database/sql driver "sqlite"
)

// FileName is the database file inside the store directory.
const FileName = "vexloom.db"

// Sentinel errors.
var (
	ErrNotFound  = errors.New("not found")
	ErrAmbiguous = errors.New("ambiguous")
	ErrNewer     = errors.New("the store was written by a newer vexloom")
	// ErrNoStore is returned by OpenExisting when the directory holds no
	// store yet.
	ErrNoStore = errors.New("no store")
	// ErrNotStore is returned when the store's database file exists but is
	// not a vexloom store: empty, not SQLite, cut short, or another
	// schema. The file is left as it was.
	ErrNotStore = errors.New("not a vexloom store")
)

// Store is an open store.
type Store struct {
	db   *conn
	dir  string
	now  func() time.Time
	lock *fileLock

	// PostgreSQL: the server's redacted address, the project's schema,
	// and the session holding the update lock.
	location    string
	schema      string
	projectName string
	pgLock      *advisoryLock
}

// Open opens the store in dir, creating it if its database file does not
// exist, and brings its schema up to date. A file that exists is never
// taken for a new store: if it is not a vexloom store (ErrNotStore) or was
// written by a newer vexloom (ErrNewer), Open returns an error naming it
// and leaves it unchanged.
func Open(ctx context.Context, dir string, now func() time.Time) (*Store, error) {
	return openStore(ctx, dir, now, true)
}

// OpenExisting opens the store in dir like Open, but returns ErrNoStore
// rather than create one: for commands that only read.
func OpenExisting(ctx context.Context, dir string, now func() time.Time) (*Store, error) {
	return openStore(ctx, dir, now, false)
}

func openStore(ctx context.Context, dir string, now func() time.Time, create bool) (*Store, error) {
	if now == nil {
		now = time.Now
	}
	path := filepath.Join(dir, FileName)
	if create {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("creating the store directory: %w", err)
		}
	} else if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w in %s", ErrNoStore, dir)
	}
	// Creating, checking and migrating need the database to themselves;
	// SQLite's busy handler does not cover the journal-mode switch, so
	// processes opening the store at the same moment take turns here.
	ol, err := lockFile(ctx, filepath.Join(dir, "open.lock"))
	if err != nil {
		return nil, err
	}
	defer ol.unlock()
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		if !create {
			return nil, fmt.Errorf("%w in %s", ErrNoStore, dir)
		}
		if err := createDB(ctx, path, now); err != nil {
			return nil, fmt.Errorf("creating the store %s: %w", path, err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("opening the store %s: %w", path, err)
	}
	if err := checkHeader(path); err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		return nil, fmt.Errorf("opening the store %s: %w", path, err)
	}
	// Nothing is written before the file is known to be a vexloom store:
	// the journal mode is switched only then.
	if err := checkSchema(ctx, db, path); err != nil {
		db.Close()
		return nil, err
	}
	s := &Store{db: &conn{DB: db}, dir: dir, now: now, location: dir}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening the store %s: %w", path, err)
	}
	return s, nil
}

// dsn is how the store's database is opened. The journal mode is not in
// it: it is switched once (and kept by the file) after the file has been
// checked.
func dsn(path string) string {
	return "file:" + path + "?_txlock=immediate" +
		"&_pragma=busy_timeout(30000)" +
		"&_pragma=synchronous(FULL)" +
		"&_pragma=foreign_keys(1)"
}

// createDB makes a new store at path, which does not exist: the database
// is built whole beside it and linked into place, so the path never holds a
// half-made store, and an existing file is never replaced.
func createDB(ctx context.Context, path string, now func() time.Time) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+FileName+".new-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	f.Close()
	defer func() {
		for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
			os.Remove(tmp + suffix)
		}
	}()
	db, err := sql.Open("sqlite", dsn(tmp))
	if err != nil {
		return err
	}
	s := &Store{db: &conn{DB: db}, now: now}
	err = s.migrate(ctx)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Link(tmp, path); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	syncDir(filepath.Dir(path))
	return nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // best effort: not every file system syncs directories
		d.Close()
	}
}

// Dir is the store's directory: the database itself with SQLite, the
// files kept beside the database (the published store) with PostgreSQL.
func (s *Store) Dir() string { return s.dir }

// Location names the store for people: its directory, or the PostgreSQL
// server, database and schema without credentials.
func (s *Store) Location() string { return s.location }

// Shared reports whether the store is a database server that runners on
// other machines may share (PostgreSQL).
func (s *Store) Shared() bool { return s.db.d == postgresDialect }

// Close closes the store.
func (s *Store) Close() error {
	if s.lock != nil {
		s.lock.unlock()
	}
	if s.pgLock != nil {
		s.pgLock.release()
	}
	return s.db.Close()
}

func (s *Store) migrate(ctx context.Context) error {
	// A store written by a newer vexloom is refused before anything is
	// written to it.
	var current int
	err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current)
	if err == nil && current > len(migrations) {
		return fmt.Errorf("%w (schema version %d, this vexloom knows %d)", ErrNewer, current, len(migrations))
	}
	if s.db.d == sqliteDialect {
		var mode string
		if err := s.db.QueryRowContext(ctx, `PRAGMA journal_mode=WAL`).Scan(&mode); err != nil {
			return fmt.Errorf("switching to write-ahead logging: %w", err)
		}
	}
	if _, err := s.db.ExecContext(ctx, schemaMigrationsTable); err != nil {
		return err
	}
	if s.db.d == postgresDialect {
		if _, err := s.db.ExecContext(ctx, appendOnlyFunction); err != nil {
			return err
		}
	}
	for {
		var current int
		if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
			return err
		}
		if current > len(migrations) {
			return fmt.Errorf("%w (schema version %d, this vexloom knows %d)", ErrNewer, current, len(migrations))
		}
		if current == len(migrations) {
			return nil
		}
		m, err := s.db.d.migration(migrations[current])
		if err != nil {
			return fmt.Errorf("migration %d on %s: %w", current+1, s.db.d, err)
		}
		err = s.tx(ctx, func(tx *Tx) error {
			// Another process may have applied it meanwhile.
			var again int
			if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&again); err != nil {
				return err
			}
			if again != current {
				return nil
			}
			if _, err := tx.Tx.ExecContext(ctx, m); err != nil {
				return fmt.Errorf("migration %d: %w", current+1, err)
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, current+1, stamp(s.now()))
			return err
		})
		if err != nil {
			return err
		}
	}
}

// SchemaVersion returns the applied schema version.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

// tx runs fn in a write transaction. Write transactions of a store are
// serialised — SQLite's BEGIN IMMEDIATE; on PostgreSQL a transaction-scoped
// advisory lock of the project's schema — so that a transaction that reads
// before it writes (a triage created once, a transition recorded once)
// sees every write committed before it, on both backends.
func (s *Store) tx(ctx context.Context, fn func(*Tx) error) error {
	stx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	tx := &Tx{Tx: stx, d: s.db.d}
	if s.db.d == postgresDialect {
		if _, err := stx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey(s.schema, "write")); err != nil {
			stx.Rollback()
			return err
		}
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func parseStamp(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

func mustJSON(v any) string {
	if v == nil {
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	if string(b) == "null" {
		return ""
	}
	return string(b)
}

func likeEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}
