package store

import (
	"strings"
	"testing"
)

func TestQueryTranslation(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{`SELECT a FROM t WHERE b = ? AND c = ?`, `SELECT a FROM t WHERE b = $1 AND c = $2`},
		{`SELECT '?', "x?" FROM t WHERE b = ?`, `SELECT '?', "x?" FROM t WHERE b = $1`},
		{`INSERT OR IGNORE INTO acks (ref) VALUES (?)`, `INSERT INTO acks (ref) VALUES ($1) ON CONFLICT DO NOTHING`},
		{`INSERT OR IGNORE INTO t (a) VALUES (?) RETURNING id`, `INSERT INTO t (a) VALUES ($1) ON CONFLICT DO NOTHING RETURNING id`},
		{`INSERT INTO t (a) VALUES (?) ON CONFLICT DO NOTHING`, `INSERT INTO t (a) VALUES ($1) ON CONFLICT DO NOTHING`},
	} {
		if got := postgresDialect.query(c.in); got != c.want {
			t.Errorf("%s\n got %s\nwant %s", c.in, got, c.want)
		}
		if got := sqliteDialect.query(c.in); got != c.in {
			t.Errorf("sqlite changed %s into %s", c.in, got)
		}
	}
}

// A migration written the way the existing ones are translates without a
// PostgreSQL twin; one that only SQLite understands is refused, not
// guessed at.
func TestMigrationTranslation(t *testing.T) {
	t.Parallel()
	later := `
CREATE TABLE releases (
	id      INTEGER PRIMARY KEY AUTOINCREMENT,
	tag     TEXT NOT NULL,
	body    BLOB NOT NULL,
	size    INTEGER NOT NULL
);
CREATE TABLE release_images (
	release_id INTEGER NOT NULL REFERENCES releases(id),
	digest     TEXT NOT NULL
);
ALTER TABLE scans ADD COLUMN note TEXT NOT NULL DEFAULT '';
` + appendOnly("releases", "release_images")
	got, err := postgresDialect.migration(later)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY`,
		`body    BYTEA NOT NULL`,
		`size    BIGINT NOT NULL`,
		`tag     TEXT COLLATE "C" NOT NULL`,
		"CREATE TABLE release_images (\n\trowid BIGINT GENERATED ALWAYS AS IDENTITY,",
		`ADD COLUMN note TEXT COLLATE "C" NOT NULL DEFAULT ''`,
		`CREATE TRIGGER releases_no_update BEFORE UPDATE ON releases FOR EACH ROW EXECUTE FUNCTION append_only();`,
		`CREATE TRIGGER release_images_no_truncate BEFORE TRUNCATE ON release_images FOR EACH STATEMENT EXECUTE FUNCTION append_only();`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
	if strings.Contains(got, "RAISE(ABORT") || strings.Contains(got, "AUTOINCREMENT") {
		t.Errorf("SQLite syntax left in\n%s", got)
	}
	for _, m := range []string{
		`CREATE TRIGGER x AFTER INSERT ON t BEGIN UPDATE u SET n = n + 1; END;`,
		`PRAGMA foreign_keys = OFF;`,
		`CREATE TABLE t (a TEXT) WITHOUT ROWID;`,
	} {
		if _, err := postgresDialect.migration(m); err == nil {
			t.Errorf("translated SQLite-only %q", m)
		}
	}
	// Every released migration translates.
	for i, m := range migrations {
		if _, err := postgresDialect.migration(m); err != nil {
			t.Errorf("migration %d: %v", i+1, err)
		}
	}
}
