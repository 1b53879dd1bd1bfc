package store

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// dialect is the SQL spoken by the database behind a Store. The store's
// queries and migrations are written once, in SQLite's SQL restricted to
// what PostgreSQL also understands; the few differences are translated
// here, in one place, so that a query or a migration added later works on
// both without a hand-made twin:
//
//   - `?` placeholders become `$1, $2…`;
//   - `INSERT OR IGNORE INTO …` becomes `INSERT INTO … ON CONFLICT DO NOTHING`
//     (new code writes the latter, which SQLite understands too);
//   - in migrations: `INTEGER PRIMARY KEY AUTOINCREMENT` becomes an identity
//     column, INTEGER BIGINT, BLOB BYTEA, TEXT compares bytewise as in
//     SQLite (COLLATE "C"), a table without an integer key gets the
//     `rowid` column SQLite gives it implicitly (queries may order by it),
//     and the append-only triggers of appendOnly become a PL/pgSQL trigger
//     function refusing UPDATE, DELETE and TRUNCATE.
//
// LastInsertId is not available on PostgreSQL: inserts that need the new
// key use `RETURNING`, which both understand.
type dialect int

const (
	sqliteDialect dialect = iota
	postgresDialect
)

func (d dialect) String() string {
	if d == postgresDialect {
		return "postgres"
	}
	return "sqlite"
}

var queryCache sync.Map // string → string, PostgreSQL translations

// query translates a statement for the dialect.
func (d dialect) query(q string) string {
	if d != postgresDialect {
		return q
	}
	if t, ok := queryCache.Load(q); ok {
		return t.(string)
	}
	t := rebind(q)
	if strings.Contains(t, "INSERT OR IGNORE INTO") {
		t = strings.Replace(t, "INSERT OR IGNORE INTO", "INSERT INTO", 1)
		t = strings.TrimRight(strings.TrimSpace(t), ";")
		if i := strings.Index(t, " RETURNING "); i >= 0 {
			t = t[:i] + " ON CONFLICT DO NOTHING" + t[i:]
		} else {
			t += " ON CONFLICT DO NOTHING"
		}
	}
	queryCache.Store(q, t)
	return t
}

// rebind numbers the `?` placeholders outside string literals and quoted
// identifiers.
func rebind(q string) string {
	var b strings.Builder
	n := 0
	var quote byte
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// ddl holds the patterns translating migrations, compiled when the first
// migration is translated: only for PostgreSQL, and only while migrating.
var ddl = sync.OnceValue(func() *ddlPatterns {
	return &ddlPatterns{
		autoincrement: regexp.MustCompile(`\bINTEGER\s+PRIMARY\s+KEY\s+AUTOINCREMENT\b`),
		integer:       regexp.MustCompile(`\bINTEGER\b`),
		blob:          regexp.MustCompile(`\bBLOB\b`),
		text:          regexp.MustCompile(`\bTEXT\b`),
		createTable:   regexp.MustCompile(`(?s)CREATE TABLE (?:IF NOT EXISTS )?(\w+)\s*\((.*?)\n\);`),
		appendOnly:    regexp.MustCompile(`CREATE TRIGGER (\w+)_no_(update|delete) BEFORE (?:UPDATE|DELETE) ON (\w+) BEGIN SELECT RAISE\(ABORT, '[^']*'\); END;`),
		trigger:       regexp.MustCompile(`(?i)\bCREATE\s+TRIGGER\b`),
		sqliteOnly:    regexp.MustCompile(`(?i)\b(PRAGMA|WITHOUT\s+ROWID|STRICT\s*;|AUTOINCREMENT)\b`),
	}
})

type ddlPatterns struct {
	autoincrement, integer, blob, text, createTable, appendOnly, trigger, sqliteOnly *regexp.Regexp
}

// identity is the PostgreSQL type of an integer key SQLite assigns.
const identity = "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"

// appendOnlyFunction is created in every PostgreSQL schema before the
// migrations run; the translated append-only triggers call it.
const appendOnlyFunction = `CREATE OR REPLACE FUNCTION append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END
$$`

// migration translates a migration for the dialect.
func (d dialect) migration(m string) (string, error) {
	if d != postgresDialect {
		return m, nil
	}
	p := ddl()
	m = p.appendOnly.ReplaceAllStringFunc(m, func(s string) string {
		g := p.appendOnly.FindStringSubmatch(s)
		table, op := g[3], strings.ToUpper(g[2])
		out := `CREATE TRIGGER ` + g[1] + `_no_` + g[2] + ` BEFORE ` + op + ` ON ` + table + ` FOR EACH ROW EXECUTE FUNCTION append_only();`
		if op == "DELETE" {
			out += ` CREATE TRIGGER ` + table + `_no_truncate BEFORE TRUNCATE ON ` + table + ` FOR EACH STATEMENT EXECUTE FUNCTION append_only();`
		}
		return out
	})
	// Any other trigger is SQLite's syntax: refuse rather than guess.
	if n := len(p.trigger.FindAllStringIndex(m, -1)); n != strings.Count(m, "EXECUTE FUNCTION append_only()") {
		return "", fmt.Errorf("a trigger other than appendOnly's has no PostgreSQL translation")
	}
	m = p.autoincrement.ReplaceAllString(m, "\x00IDENTITY\x00")
	if loc := p.sqliteOnly.FindString(m); loc != "" {
		return "", fmt.Errorf("%q has no PostgreSQL translation", loc)
	}
	m = p.integer.ReplaceAllString(m, "BIGINT")
	m = p.blob.ReplaceAllString(m, "BYTEA")
	m = p.text.ReplaceAllString(m, `TEXT COLLATE "C"`)
	m = p.createTable.ReplaceAllStringFunc(m, func(s string) string {
		if strings.Contains(s, "\x00IDENTITY\x00") {
			return s
		}
		i := strings.Index(s, "(")
		return s[:i+1] + "\n\trowid BIGINT GENERATED ALWAYS AS IDENTITY," + s[i+1:]
	})
	m = strings.ReplaceAll(m, "\x00IDENTITY\x00", identity)
	return m, nil
}

// conn is the store's database handle: database/sql with every statement
// translated for the dialect.
type conn struct {
	*sql.DB
	d dialect
}

func (c *conn) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return c.DB.ExecContext(ctx, c.d.query(q), args...)
}

func (c *conn) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return c.DB.QueryContext(ctx, c.d.query(q), args...)
}

func (c *conn) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return c.DB.QueryRowContext(ctx, c.d.query(q), args...)
}

// Tx is a write transaction of the store, with statements translated for
// its dialect.
type Tx struct {
	*sql.Tx
	d dialect
}

func (t *Tx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return t.Tx.ExecContext(ctx, t.d.query(q), args...)
}

func (t *Tx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return t.Tx.QueryContext(ctx, t.d.query(q), args...)
}

func (t *Tx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return t.Tx.QueryRowContext(ctx, t.d.query(q), args...)
}
