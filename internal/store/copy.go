package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"slices"
	"strconv"
	"strings"
)

// ErrNotEmpty is returned when a copy's destination already holds history.
var ErrNotEmpty = errors.New("the destination store is not empty")

// ErrVerify is returned when a copy does not match its source.
var ErrVerify = errors.New("the copy does not match its source")

// Digest summarises a store's whole history: the number of rows of every
// table and a SHA-256 over every row of every table in the order it was
// recorded (the tables by name, each row's columns by name). Two stores
// with the same digest hold the same history, whichever backend holds it.
type Digest struct {
	SchemaVersion int            `json:"schema_version"`
	Rows          map[string]int `json:"rows"`
	Hash          string         `json:"hash"`
}

// Events is the number of events in the history.
func (d Digest) Events() int { return d.Rows["events"] }

// Equal reports whether two digests are the same.
func (d Digest) Equal(o Digest) bool {
	if d.Hash != o.Hash || d.SchemaVersion != o.SchemaVersion || len(d.Rows) != len(o.Rows) {
		return false
	}
	for k, v := range d.Rows {
		if o.Rows[k] != v {
			return false
		}
	}
	return true
}

// Digest computes the store's digest.
func (s *Store) Digest(ctx context.Context) (Digest, error) {
	return s.digest(ctx, s.db)
}

type reader interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) digest(ctx context.Context, q reader) (Digest, error) {
	d := Digest{Rows: map[string]int{}}
	if err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&d.SchemaVersion); err != nil {
		return d, err
	}
	tables, err := s.tables(ctx, q)
	if err != nil {
		return d, err
	}
	h := sha256.New()
	for _, t := range tables {
		fmt.Fprintf(h, "table %s\n", t.name)
		n, err := s.eachRow(ctx, q, t, func(vals []any) error {
			for _, v := range vals {
				hashValue(h, v)
			}
			return nil
		})
		if err != nil {
			return d, fmt.Errorf("reading %s: %w", t.name, err)
		}
		d.Rows[t.name] = n
	}
	d.Hash = "sha256:" + hex.EncodeToString(h.Sum(nil))
	return d, nil
}

// hashValue writes a value with its kind and length, so that no two
// sequences of values hash alike. Text and bytes hash alike: SQLite and
// PostgreSQL may return either for the same stored bytes.
func hashValue(h hash.Hash, v any) {
	var b []byte
	switch x := v.(type) {
	case nil:
		h.Write([]byte{'n'})
		return
	case int64:
		b = append([]byte{'i'}, strconv.FormatInt(x, 10)...)
	case int32:
		b = append([]byte{'i'}, strconv.FormatInt(int64(x), 10)...)
	case float64:
		b = append([]byte{'f'}, strconv.FormatFloat(x, 'g', -1, 64)...)
	case bool:
		b = []byte{'i', '0'}
		if x {
			b[1] = '1'
		}
	case string:
		b = append([]byte{'s'}, x...)
	case []byte:
		b = append([]byte{'s'}, x...)
	default:
		b = append([]byte{'?'}, fmt.Sprint(x)...)
	}
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(b)))
	h.Write(n[:])
	h.Write(b)
}

// table is a table of the history: its columns (by name, without
// PostgreSQL's synthetic rowid), the column its rows are ordered by, and
// the columns the destination assigns itself unless told.
type table struct {
	name     string
	columns  []string
	order    string
	identity []string
}

// tables lists the history's tables, by name.
func (s *Store) tables(ctx context.Context, q reader) ([]table, error) {
	var names []string
	listQ := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' AND name <> 'schema_migrations' ORDER BY name`
	if s.Shared() {
		listQ = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> 'schema_migrations' ORDER BY table_name COLLATE "C"`
	}
	rows, err := q.QueryContext(ctx, listQ)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, err
		}
		names = append(names, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []table
	for _, n := range names {
		t := table{name: n, order: "rowid"}
		colQ := `SELECT name, pk, (SELECT count(*) FROM pragma_table_info(?) WHERE pk > 0) FROM pragma_table_info(?)`
		args := []any{n, n}
		if s.Shared() {
			colQ = `SELECT column_name, CASE WHEN is_identity = 'YES' THEN 1 ELSE 0 END, 1 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ?`
			args = []any{n}
		}
		rows, err := q.QueryContext(ctx, colQ, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var c string
			var key, keys int
			if err := rows.Scan(&c, &key, &keys); err != nil {
				rows.Close()
				return nil, err
			}
			if s.Shared() && key == 1 {
				t.order = c
				if c == "rowid" {
					continue
				}
				t.identity = append(t.identity, c)
			}
			if c == "rowid" {
				continue
			}
			t.columns = append(t.columns, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		slices.Sort(t.columns)
		out = append(out, t)
	}
	return out, nil
}

// eachRow calls fn with every row of t in recorded order, its columns by
// name, and returns how many there were.
func (s *Store) eachRow(ctx context.Context, q reader, t table, fn func([]any) error) (int, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+strings.Join(t.columns, ", ")+` FROM `+t.name+` ORDER BY `+t.order)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	vals := make([]any, len(t.columns))
	ptrs := make([]any, len(t.columns))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, err
		}
		if err := fn(vals); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

// Copy copies the whole history of from into to, verbatim — every row of
// every table, in the order it was recorded, with its sequence numbers —
// and verifies the copy against the source's digest before committing it:
// a copy that does not match writes nothing. The destination must be an
// empty store at the same schema version. Both stores are locked for the
// copy, so no run changes the source meanwhile.
func Copy(ctx context.Context, from, to *Store) (Digest, error) {
	if err := from.Lock(ctx); err != nil {
		return Digest{}, fmt.Errorf("locking the source: %w", err)
	}
	if err := to.Lock(ctx); err != nil {
		return Digest{}, fmt.Errorf("locking the destination: %w", err)
	}
	src, err := from.Digest(ctx)
	if err != nil {
		return src, fmt.Errorf("reading the source: %w", err)
	}
	dst, err := to.Digest(ctx)
	if err != nil {
		return src, fmt.Errorf("reading the destination: %w", err)
	}
	if src.SchemaVersion != dst.SchemaVersion {
		return src, fmt.Errorf("the source is at schema version %d, the destination at %d", src.SchemaVersion, dst.SchemaVersion)
	}
	for t, n := range dst.Rows {
		if n > 0 {
			return src, fmt.Errorf("%w: %s holds %d rows", ErrNotEmpty, t, n)
		}
	}
	srcTables, err := from.tables(ctx, from.db)
	if err != nil {
		return src, err
	}
	dstTables, err := to.tables(ctx, to.db)
	if err != nil {
		return src, err
	}
	if len(srcTables) != len(dstTables) {
		return src, fmt.Errorf("the stores have different tables (%d and %d)", len(srcTables), len(dstTables))
	}
	// Rows that reference others (findings → scans, events → triages)
	// come after them: copy the referenced tables first.
	order := []string{"scans", "triages"}
	slices.SortStableFunc(dstTables, func(a, b table) int {
		return boolInt(!slices.Contains(order, a.name)) - boolInt(!slices.Contains(order, b.name))
	})
	err = to.tx(ctx, func(tx *Tx) error {
		for _, t := range dstTables {
			st := srcTables[slices.IndexFunc(srcTables, func(x table) bool { return x.name == t.name })]
			if !slices.Equal(st.columns, t.columns) {
				return fmt.Errorf("%s has columns %v in the source and %v in the destination", t.name, st.columns, t.columns)
			}
			marks := strings.TrimSuffix(strings.Repeat("?,", len(t.columns)), ",")
			override := ""
			if to.Shared() && len(t.identity) > 0 {
				override = " OVERRIDING SYSTEM VALUE"
			}
			ins := `INSERT INTO ` + t.name + ` (` + strings.Join(t.columns, ", ") + `)` + override + ` VALUES (` + marks + `)`
			if _, err := from.eachRow(ctx, from.db, st, func(vals []any) error {
				_, err := tx.ExecContext(ctx, ins, vals...)
				return err
			}); err != nil {
				return fmt.Errorf("copying %s: %w", t.name, err)
			}
			if to.Shared() {
				for _, c := range t.identity {
					if _, err := tx.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence('`+t.name+`', '`+c+`'), COALESCE(MAX(`+c+`), 0) + 1, false) FROM `+t.name); err != nil {
						return fmt.Errorf("advancing the sequence of %s: %w", t.name, err)
					}
				}
			}
		}
		got, err := to.digest(ctx, tx)
		if err != nil {
			return fmt.Errorf("verifying the copy: %w", err)
		}
		if !got.Equal(src) {
			return fmt.Errorf("%w: source %d events, %s; copy %d events, %s", ErrVerify, src.Events(), src.Hash, got.Events(), got.Hash)
		}
		return nil
	})
	return src, err
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
