package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// Options are how a store at a location is opened.
type Options struct {
	// Project is the project's module path. On PostgreSQL each project has
	// a schema of its own, named after it.
	Project string
	// Dir is where the files kept beside a PostgreSQL database go (the
	// published store, lock files). With SQLite it is the store itself.
	Dir string
	// MustExist refuses to create a store that does not exist yet.
	MustExist bool
	Now       func() time.Time
}

// IsURL reports whether a store location names a database server rather
// than a directory.
func IsURL(loc string) bool {
	return strings.HasPrefix(loc, "postgres://") || strings.HasPrefix(loc, "postgresql://")
}

// OpenLocation opens the store at loc: a PostgreSQL URL
// (postgres://…), `sqlite:DIR`, or a directory.
func OpenLocation(ctx context.Context, loc string, o Options) (*Store, error) {
	if IsURL(loc) {
		return OpenPostgres(ctx, loc, o)
	}
	return Open(ctx, strings.TrimPrefix(loc, "sqlite:"), o.Now)
}

// OpenPostgres opens the project's store in a PostgreSQL database and
// brings its schema up to date. Credentials come from the URL's
// environment as libpq takes them (PGPASSWORD, a password file, a service
// file) or from the URL; they never appear in an error.
func OpenPostgres(ctx context.Context, rawURL string, o Options) (*Store, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	where := RedactURL(rawURL)
	schema, err := SchemaName(o.Project)
	if err != nil {
		return nil, err
	}
	cfg, err := pgx.ParseConfig(rawURL)
	if err != nil {
		return nil, fmt.Errorf("opening the store %s: %s", where, redactText(err.Error(), rawURL))
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	cfg.RuntimeParams["search_path"] = quoteIdent(schema)
	cfg.RuntimeParams["application_name"] = "vexloom"
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(4)
	s := &Store{db: &conn{DB: db, d: postgresDialect}, dir: o.Dir, now: o.Now, location: where + "#" + schema, schema: schema, projectName: o.Project}
	fail := func(err error) (*Store, error) {
		db.Close()
		return nil, fmt.Errorf("opening the store %s: %w", where, redactErr(err, rawURL))
	}
	if err := db.PingContext(ctx); err != nil {
		return fail(connectError(err))
	}
	// A store at this vexloom's schema version (migrations record their
	// version in the transaction that applies them) needs neither the
	// migrate lock nor a look at its tables: one query on every open of
	// every command. Anything else (no store yet, an older or newer one,
	// an error) takes the way below, which says what is wrong.
	var current int
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err == nil && current == len(migrations) {
		return s, nil
	}
	if o.MustExist {
		ok, _, err := s.isStore(ctx)
		if err != nil {
			return fail(err)
		}
		if !ok {
			db.Close()
			return nil, fmt.Errorf("%w for %s in %s yet: run `vexloom update` or `vexloom store migrate` first", ErrNoStore, o.Project, where)
		}
	}
	// Runners opening the store at the same moment take turns checking and
	// migrating it: a runner never sees another's schema half-made.
	l, err := s.advisoryLock(ctx, "migrate", true)
	if err != nil {
		return fail(err)
	}
	err = s.checkAndMigrate(ctx)
	l.release()
	if err != nil {
		return fail(err)
	}
	return s, nil
}

// isStore reports whether the project's schema holds a vexloom store, and
// how many tables it holds.
func (s *Store) isStore(ctx context.Context) (bool, int, error) {
	var ok bool
	var tables int
	err := s.db.DB.QueryRowContext(ctx, `SELECT
	EXISTS (SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'schema_migrations'),
	(SELECT count(*) FROM information_schema.tables WHERE table_schema = $1)`, s.schema).Scan(&ok, &tables)
	return ok, tables, err
}

// checkAndMigrate refuses a schema that holds tables but is not a vexloom
// store, then migrates. It runs under the migrate lock.
func (s *Store) checkAndMigrate(ctx context.Context) error {
	ok, tables, err := s.isStore(ctx)
	if err != nil {
		return err
	}
	if !ok && tables > 0 {
		return fmt.Errorf("the schema %s holds %d tables but is not a vexloom store", s.schema, tables)
	}
	return s.migratePostgres(ctx)
}

func (s *Store) migratePostgres(ctx context.Context) error {
	// Refuse a newer store before writing anything, even the schema.
	var current int
	err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current)
	if err == nil && current > len(migrations) {
		return fmt.Errorf("%w (schema version %d, this vexloom knows %d)", ErrNewer, current, len(migrations))
	}
	if err == nil && current == len(migrations) {
		// Up to date (its schema, project and function were made on the
		// way there): nothing to write, on every open of every command.
		return nil
	}
	if _, err := s.db.DB.ExecContext(ctx, `CREATE SCHEMA IF NOT EXISTS `+quoteIdent(s.schema)); err != nil {
		return fmt.Errorf("creating the schema %s: %w", s.schema, err)
	}
	if _, err := s.db.DB.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS public.vexloom_projects (schema TEXT COLLATE "C" PRIMARY KEY, project TEXT NOT NULL, created_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("recording the project: %w", err)
	}
	if _, err := s.db.DB.ExecContext(ctx, `INSERT INTO public.vexloom_projects (schema, project, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, s.schema, s.projectName, stamp(s.now())); err != nil {
		return fmt.Errorf("recording the project: %w", err)
	}
	return s.migrate(ctx)
}

var schemaUnsafe = regexp.MustCompile(`[^a-z0-9]+`)

// SchemaName is the PostgreSQL schema of a project: "vx_", the module path
// folded to lower-case letters, digits and underscores (at most 40), and 8
// hex digits of its hash, so that two module paths never share a schema.
func SchemaName(project string) (string, error) {
	if strings.TrimSpace(project) == "" {
		return "", errors.New("a PostgreSQL store needs the project's module path (project.module in vexloom.yaml)")
	}
	folded := strings.Trim(schemaUnsafe.ReplaceAllString(strings.ToLower(project), "_"), "_")
	if len(folded) > 40 {
		folded = folded[:40]
	}
	sum := sha256.Sum256([]byte(project))
	return "vx_" + folded + "_" + hex.EncodeToString(sum[:4]), nil
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// lockKey is the advisory lock key of a named lock of a project.
func lockKey(schema, name string) int64 {
	sum := sha256.Sum256([]byte("vexloom\x00" + schema + "\x00" + name))
	return int64(binary.BigEndian.Uint64(sum[:8]))
}

// advisoryLock is a session-level PostgreSQL advisory lock held on a
// connection of its own. The server releases it when the session ends, so
// a runner that dies (killed, or its machine gone once TCP keepalive gives
// up) never leaves it held.
type advisoryLock struct {
	c   *sql.Conn
	key int64
}

func (l *advisoryLock) release() {
	if l == nil || l.c == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := l.c.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, l.key); err != nil {
		// The session may be broken: end it, which releases the lock.
		discard(l.c)
	} else {
		l.c.Close()
	}
	l.c = nil
}

// discard closes a connection's session instead of returning it to the
// pool.
func discard(c *sql.Conn) {
	c.Raw(func(any) error { return driver.ErrBadConn })
	c.Close()
}

// advisoryLock takes the named lock, waiting (polling, so ctx is honoured)
// when wait is set; without wait it returns nil, nil when another session
// holds it.
func (s *Store) advisoryLock(ctx context.Context, name string, wait bool) (*advisoryLock, error) {
	c, err := s.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	key := lockKey(s.schema, name)
	for {
		var ok bool
		if err := c.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&ok); err != nil {
			// The server may have granted the lock before the error: end
			// the session rather than pool it with the lock held.
			discard(c)
			if ctx.Err() != nil {
				return nil, fmt.Errorf("%w: %w", ErrLocked, ctx.Err())
			}
			return nil, fmt.Errorf("taking the lock %s: %w", name, err)
		}
		if ok {
			return &advisoryLock{c: c, key: key}, nil
		}
		if !wait {
			c.Close()
			return nil, nil
		}
		select {
		case <-ctx.Done():
			c.Close()
			return nil, fmt.Errorf("%w: %w", ErrLocked, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// connectError says in words what a failed connection means.
func connectError(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "28P01", "28000":
			return fmt.Errorf("the server refused the credentials (%s): %w", pe.Message, ErrCredentials)
		case "3D000":
			return fmt.Errorf("the database does not exist (%s)", pe.Message)
		}
	}
	return fmt.Errorf("connecting: %w", err)
}

// ErrCredentials is returned when the server refuses the credentials.
var ErrCredentials = errors.New("wrong credentials")

// RedactURL returns a store URL without its password and without query
// parameters that may carry secrets; only the scheme, user, host, port and
// database remain.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "postgres://(unparseable URL)"
	}
	out := u.Scheme + "://"
	if u.User != nil && u.User.Username() != "" {
		out += u.User.Username() + "@"
	}
	return out + u.Host + u.Path
}

// redactErr removes the URL's password from an error's text.
func redactErr(err error, raw string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	red := redactText(msg, raw)
	if red == msg {
		return err
	}
	return errors.New(red)
}

func redactText(msg, raw string) string {
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			msg = strings.ReplaceAll(msg, p, "xxxxx")
			msg = strings.ReplaceAll(msg, url.QueryEscape(p), "xxxxx")
		}
	}
	if q := strings.Index(raw, "password="); q >= 0 {
		v := raw[q+len("password="):]
		if i := strings.IndexAny(v, "& "); i >= 0 {
			v = v[:i]
		}
		if v != "" {
			msg = strings.ReplaceAll(msg, v, "xxxxx")
		}
	}
	return strings.ReplaceAll(msg, raw, RedactURL(raw))
}

// lockShared takes the update lock of a PostgreSQL store: an advisory lock
// held until Close, or until the runner's session ends.
func (s *Store) lockShared(ctx context.Context) error {
	if s.pgLock != nil {
		return nil
	}
	l, err := s.advisoryLock(ctx, "update", true)
	if err != nil {
		return err
	}
	s.pgLock = l
	return nil
}

// Project is a project whose store is in a PostgreSQL database.
type Project struct {
	Module  string
	Schema  string
	Created time.Time
}

// Projects lists the projects whose stores a PostgreSQL database holds, by
// module path.
func Projects(ctx context.Context, rawURL string) ([]Project, error) {
	where := RedactURL(rawURL)
	cfg, err := pgx.ParseConfig(rawURL)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %s", where, redactText(err.Error(), rawURL))
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	if err := db.PingContext(ctx); err != nil {
		return nil, fmt.Errorf("opening %s: %w", where, redactErr(connectError(err), rawURL))
	}
	var exists bool
	if err := db.QueryRowContext(ctx, `SELECT to_regclass('public.vexloom_projects') IS NOT NULL`).Scan(&exists); err != nil || !exists {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, `SELECT project, schema, created_at FROM public.vexloom_projects ORDER BY project COLLATE "C"`)
	if err != nil {
		return nil, fmt.Errorf("listing the projects in %s: %w", where, err)
	}
	defer rows.Close()
	var out []Project
	for rows.Next() {
		var p Project
		var at string
		if err := rows.Scan(&p.Module, &p.Schema, &at); err != nil {
			return nil, err
		}
		p.Created = parseStamp(at)
		out = append(out, p)
	}
	return out, rows.Err()
}

// EventCount is the number of events in the history.
func (s *Store) EventCount(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM events`).Scan(&n)
	return n, err
}
