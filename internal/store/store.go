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

// Open opens (creating if needed) the store in dir and brings its schema up
// to date.
func Open(ctx context.Context, dir string, now func() time.Time) (*Store, error) {
	if now == nil {
		now = time.Now
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating the store directory: %w", err)
	}
	path := filepath.Join(dir, FileName)
	dsn := "file:" + path + "?_txlock=immediate" +
		"&_pragma=busy_timeout(30000)" +
		"&_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(FULL)" +
		"&_pragma=foreign_keys(1)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("opening the store %s: %w", path, err)
	}
	s := &Store{db: &conn{DB: db}, dir: dir, now: now, location: dir}
	// Switching to WAL and migrating need the database to themselves;
	// SQLite's busy handler does not cover the journal-mode switch, so
	// processes opening the store at the same moment take turns here.
	ol, err := lockFile(ctx, filepath.Join(dir, "open.lock"))
	if err != nil {
		db.Close()
		return nil, err
	}
	err = s.migrate(ctx)
	ol.unlock()
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("opening the store %s: %w", path, err)
	}
	return s, nil
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
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
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
