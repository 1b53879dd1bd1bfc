package cli

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vexloom/vexloom/examples/demo"
	"github.com/vexloom/vexloom/internal/store"
	"github.com/vexloom/vexloom/internal/store/pgtest"
)

// oneLineError checks that a command failed with exit 1 and one line on
// stderr containing want, and nothing on stdout.
func oneLineError(t *testing.T, what, stdout, stderr string, code int, want ...string) {
	t.Helper()
	if code != 1 || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "vexloom: ") {
		t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit 1 and one line", what, code, stdout, stderr)
	}
	for _, w := range want {
		if !strings.Contains(stderr, w) {
			t.Errorf("%s: %q does not say %q", what, stderr, w)
		}
	}
}

// An unreachable server, wrong credentials and a store written by a newer
// vexloom: one clear line, exit 1, nothing written, no password shown.
func TestPostgresStoreBadInputs(t *testing.T) {
	dbURL := pgtest.Database(t)
	p := newTestProject(t)
	ctx := context.Background()

	// Unreachable: nothing listens on port 1.
	out, stderr, code := p.cmd("status", "--store", "postgres://vexloom@127.0.0.1:1/vexloom?sslmode=disable&connect_timeout=5")
	oneLineError(t, "unreachable", out, stderr, code, "postgres://vexloom@127.0.0.1:1/vexloom", "connect")

	// Wrong credentials, in the environment and in the URL.
	admin, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	role := "vx_pw_" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "_"))
	if _, err := admin.ExecContext(ctx, fmt.Sprintf(`DROP ROLE IF EXISTS %s; CREATE ROLE %s LOGIN PASSWORD 'Right-horse-battery'`, role, role)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.ExecContext(context.Background(), `DROP OWNED BY `+role+`; DROP ROLE IF EXISTS `+role) })
	if _, err := admin.ExecContext(ctx, `GRANT ALL ON DATABASE `+strings.TrimPrefix(mustURL(t, dbURL).Path, "/")+` TO `+role+`; GRANT ALL ON SCHEMA public TO `+role); err != nil {
		t.Fatal(err)
	}
	u := mustURL(t, dbURL)
	u.User = url.User(role)
	asRole := u.String()
	t.Setenv("PGPASSWORD", "Wrong-staple-s3cret")
	out, stderr, code = p.cmd("store", "migrate", "--store", asRole)
	oneLineError(t, "wrong PGPASSWORD", out, stderr, code, "refused the credentials")
	u.User = url.UserPassword(role, "Wrong-staple-s3cret")
	out, stderr, code = p.cmd("update", "--store", u.String())
	oneLineError(t, "wrong password in the URL", out, stderr, code, "refused the credentials")
	if strings.Contains(stderr, "s3cret") {
		t.Errorf("the password is shown: %q", stderr)
	}
	var projects int
	admin.QueryRowContext(ctx, `SELECT count(*) FROM information_schema.schemata WHERE schema_name LIKE 'vx\_%'`).Scan(&projects)
	if projects != 0 {
		t.Errorf("refused connections created %d schemas", projects)
	}

	// The right password, from the environment: the store is created and
	// its location is shown without it.
	t.Setenv("PGPASSWORD", "Right-horse-battery")
	out = p.ok("store", "migrate", "--config", p.cfg, "--store", asRole)
	if !strings.Contains(out, "schema version") || strings.Contains(out, "battery") {
		t.Errorf("migrate: %q", out)
	}

	// A store written by a newer vexloom.
	st, err := store.OpenPostgres(ctx, dbURL, store.Options{Project: demo.Module})
	if err != nil {
		t.Fatal(err)
	}
	schema, _ := store.SchemaName(demo.Module)
	counts := func() string {
		var migs, tables int
		admin.QueryRowContext(ctx, `SELECT count(*) FROM `+schema+`.schema_migrations`).Scan(&migs)
		admin.QueryRowContext(ctx, `SELECT count(*) FROM information_schema.tables WHERE table_schema = $1`, schema).Scan(&tables)
		return fmt.Sprintf("%d migrations, %d tables", migs, tables)
	}
	if _, err := admin.ExecContext(ctx, `INSERT INTO `+schema+`.schema_migrations (version, applied_at) VALUES (999, 'later')`); err != nil {
		t.Fatal(err)
	}
	before := counts()
	st.Close()
	for _, args := range [][]string{{"update"}, {"status"}, {"store", "migrate"}} {
		out, stderr, code = p.cmd(append(args, "--store", dbURL)...)
		oneLineError(t, "newer: "+strings.Join(args, " "), out, stderr, code, "newer vexloom", "schema version 999")
	}
	if after := counts(); after != before {
		t.Errorf("refusing a newer store changed it: %s, then %s", before, after)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// store copy moves a project's history from SQLite to PostgreSQL and back,
// and the project reads the same from either.
func TestStoreCopyCommand(t *testing.T) {
	dbURL := pgtest.Database(t)
	p := newTestProject(t)
	p.update()
	statusSQLite := p.ok("status", "--config", p.cfg, "--format", "json")
	storeDir := filepath.Join(p.dir, ".vexloom")

	out := p.ok("store", "copy", "--config", p.cfg, "--from", "sqlite:"+storeDir, "--to", dbURL)
	if !strings.Contains(out, "verified: sha256:") || !strings.Contains(out, "copied ") {
		t.Errorf("copy: %q", out)
	}
	// Copying again into the same store is refused: it is not empty.
	_, stderr, code := p.cmd("store", "copy", "--from", "sqlite:"+storeDir, "--to", dbURL)
	oneLineError(t, "copy into a full store", "", stderr, code, "not empty")

	statusPG := p.ok("status", "--config", p.cfg, "--format", "json", "--store", dbURL)
	if mask(statusPG, dbURL) != mask(statusSQLite, storeDir) {
		t.Errorf("status differs after the copy\nsqlite:   %s\npostgres: %s", statusSQLite, statusPG)
	}
	back := t.TempDir()
	out = p.ok("store", "copy", "--config", p.cfg, "--from", dbURL, "--to", "sqlite:"+back)
	if !strings.Contains(out, "verified: sha256:") {
		t.Errorf("copy back: %q", out)
	}
	statusBack := p.ok("status", "--config", p.cfg, "--format", "json", "--store", back)
	if mask(statusBack, back) != mask(statusSQLite, storeDir) {
		t.Errorf("status differs after the copy back\n%s\n%s", statusSQLite, statusBack)
	}
}

// mask removes the store's name from a status document.
func mask(s, loc string) string {
	s = strings.ReplaceAll(s, loc, "STORE")
	i := strings.Index(s, `"store": "`)
	if i < 0 {
		return s
	}
	j := strings.Index(s[i+10:], `"`)
	return s[:i] + s[i+10+j+1:]
}

// status --all-projects summarises every project of a PostgreSQL database
// from the stores alone.
func TestStatusAllProjects(t *testing.T) {
	dbURL := pgtest.Database(t)
	ctx := context.Background()
	for i, module := range []string{"k8s.io/kubernetes", "example.com/operator"} {
		st, err := store.OpenPostgres(ctx, dbURL, store.Options{Project: module})
		if err != nil {
			t.Fatal(err)
		}
		for j := 0; j <= i; j++ {
			if _, _, err := st.EnsureTriage(ctx, fmt.Sprintf("GO-2026-%04d", j), "golang.org/x/net", []store.Event{{Kind: store.KindObserved, Author: "vexloom", Branches: []string{"main"}}}); err != nil {
				t.Fatal(err)
			}
		}
		st.Close()
	}
	e := newEnv(t)
	out, stderr, code := e.run("status", "--all-projects", "--store", dbURL, "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{`"schema": "https://github.com/vexloom/vexloom/schema/projects/v1"`, `"project": "example.com/operator"`, `"project": "k8s.io/kubernetes"`, `"events": 2`, `"events": 1`} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s in\n%s", want, out)
		}
	}
	if strings.Index(out, "example.com/operator") > strings.Index(out, "k8s.io/kubernetes") {
		t.Errorf("projects not in order:\n%s", out)
	}
	out, _, code = e.run("status", "--all-projects", "--store", dbURL)
	if code != 0 || !strings.Contains(out, "2 projects in") || !strings.Contains(out, "PROJECT") {
		t.Errorf("table: exit %d\n%s", code, out)
	}
	_, stderr, code = e.run("status", "--all-projects", "--store", t.TempDir())
	if code != 2 || !strings.Contains(stderr, "needs a PostgreSQL store") {
		t.Errorf("a directory: exit %d %s", code, stderr)
	}
}
