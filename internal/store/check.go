package store

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
)

// sqliteMagic opens every SQLite 3 database file.
const sqliteMagic = "SQLite format 3\x00"

// checkHeader reads the 100-byte SQLite header of the existing file at path
// and checks that the file is a whole SQLite database: a file that is
// empty, of another format or cut short is not a store, whatever SQLite
// would make of it (it takes an empty file for a new database).
func checkHeader(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		// A link to nothing, say: it exists, so it is not replaced.
		if target, lerr := os.Readlink(path); lerr == nil {
			return fmt.Errorf("opening the store %s: it links to %s: %w", path, target, err)
		}
		return fmt.Errorf("opening the store %s: %w", path, err)
	}
	if fi.IsDir() {
		return notStore(path, "it is a directory")
	}
	if !fi.Mode().IsRegular() {
		return notStore(path, "it is not a regular file")
	}
	if fi.Size() == 0 {
		return notStore(path, "the file is empty")
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("opening the store %s: %w", path, err)
	}
	defer f.Close()
	var h [100]byte
	if _, err := io.ReadFull(f, h[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return notStore(path, fmt.Sprintf("the file is %d bytes, shorter than an SQLite header", fi.Size()))
		}
		return fmt.Errorf("reading the store %s: %w", path, err)
	}
	if string(h[:len(sqliteMagic)]) != sqliteMagic {
		return notStore(path, "the file is not an SQLite database")
	}
	pageSize := int64(binary.BigEndian.Uint16(h[16:18]))
	if pageSize == 1 {
		pageSize = 65536
	}
	if pageSize < 512 || pageSize&(pageSize-1) != 0 {
		return notStore(path, fmt.Sprintf("the SQLite header gives an invalid page size %d", pageSize))
	}
	if fi.Size()%pageSize != 0 {
		return notStore(path, fmt.Sprintf("the file is %d bytes, not a whole number of %d-byte pages: it was cut short", fi.Size(), pageSize))
	}
	// The page count in the header is valid when the change counter
	// matches "version valid for" (SQLite ≥ 3.7.0). A write-ahead log not
	// yet copied back may hold pages the file does not have yet.
	pages := int64(binary.BigEndian.Uint32(h[28:32]))
	if pages > 0 && binary.BigEndian.Uint32(h[24:28]) == binary.BigEndian.Uint32(h[92:96]) && fi.Size() < pages*pageSize {
		if wal, err := os.Stat(path + "-wal"); err != nil || wal.Size() == 0 {
			return notStore(path, fmt.Sprintf("the file is %d bytes and its header says %d: it was cut short", fi.Size(), pages*pageSize))
		}
	}
	return nil
}

func notStore(path, why string) error {
	return fmt.Errorf("opening the store %s: %w: %s (move it aside to start a new store)", path, ErrNotStore, why)
}

// schemaObject is a table, index or trigger of the schema; for a table,
// cols lists its columns (name, type, not null, primary key).
type schemaObject struct {
	kind, name, table string
	cols              string
}

func (o schemaObject) String() string { return o.kind + " " + o.name }

// readSchema lists the schema objects of db, sorted, leaving out SQLite's
// own.
func readSchema(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}) ([]schemaObject, error) {
	rows, err := q.QueryContext(ctx, `SELECT type, name, tbl_name FROM sqlite_master WHERE name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY type, name`)
	if err != nil {
		return nil, err
	}
	var out []schemaObject
	for rows.Next() {
		var o schemaObject
		if err := rows.Scan(&o.kind, &o.name, &o.table); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i, o := range out {
		if o.kind != "table" {
			continue
		}
		cols, err := q.QueryContext(ctx, `SELECT name, type, "notnull", pk FROM pragma_table_info(?) ORDER BY cid`, o.name)
		if err != nil {
			return nil, err
		}
		var b strings.Builder
		for cols.Next() {
			var name, typ string
			var notNull, pk int
			if err := cols.Scan(&name, &typ, &notNull, &pk); err != nil {
				cols.Close()
				return nil, err
			}
			fmt.Fprintf(&b, "%s %s %d %d,", name, strings.ToUpper(typ), notNull, pk)
		}
		cols.Close()
		if err := cols.Err(); err != nil {
			return nil, err
		}
		out[i].cols = b.String()
	}
	return out, nil
}

// schemaMigrationsTable is created before any migration.
const schemaMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`

var (
	expectedMu     sync.Mutex
	expectedByVers = map[int][]schemaObject{}
)

// expectedSchema is the schema a store has after the first v migrations,
// computed by applying them to an in-memory database.
func expectedSchema(ctx context.Context, v int) ([]schemaObject, error) {
	expectedMu.Lock()
	defer expectedMu.Unlock()
	if s, ok := expectedByVers[v]; ok {
		return s, nil
	}
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // one connection: one in-memory database
	if _, err := db.ExecContext(ctx, schemaMigrationsTable); err != nil {
		return nil, err
	}
	for i, m := range migrations[:v] {
		if _, err := db.ExecContext(ctx, m); err != nil {
			return nil, fmt.Errorf("migration %d: %w", i+1, err)
		}
	}
	s, err := readSchema(ctx, db)
	if err != nil {
		return nil, err
	}
	expectedByVers[v] = s
	return s, nil
}

// checkSchema checks, without writing anything, that the open database at
// path is a vexloom store this vexloom can use: its schema is exactly what
// its recorded version says, or it was written by a newer vexloom
// (ErrNewer), which keeps every table this one knows.
func checkSchema(ctx context.Context, db *sql.DB, path string) error {
	have, err := readSchema(ctx, db)
	if err != nil {
		return fmt.Errorf("reading the store %s: %w", path, err)
	}
	if len(have) == 0 {
		return notStore(path, "it is an SQLite database with no tables")
	}
	base, err := expectedSchema(ctx, 0)
	if err != nil {
		return err
	}
	for _, o := range base {
		if !slices.Contains(have, o) {
			return notStore(path, "it has no vexloom schema_migrations table")
		}
	}
	var version int
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&version); err != nil {
		return fmt.Errorf("reading the store %s: %w", path, err)
	}
	if version < 0 {
		return notStore(path, fmt.Sprintf("its schema version is %d", version))
	}
	if version > len(migrations) {
		known, err := expectedSchema(ctx, len(migrations))
		if err != nil {
			return err
		}
		for _, o := range known {
			if !slices.Contains(have, o) {
				return notStore(path, fmt.Sprintf("it says schema version %d but has no vexloom %s", version, o))
			}
		}
		return fmt.Errorf("opening the store %s: %w (schema version %d, this vexloom knows %d)", path, ErrNewer, version, len(migrations))
	}
	want, err := expectedSchema(ctx, version)
	if err != nil {
		return err
	}
	for _, o := range have {
		if !slices.Contains(want, o) {
			return notStore(path, fmt.Sprintf("%s is not part of vexloom's schema version %d", o, version))
		}
	}
	for _, o := range want {
		if !slices.Contains(have, o) {
			return notStore(path, fmt.Sprintf("%s of vexloom's schema version %d is missing", o, version))
		}
	}
	return nil
}
