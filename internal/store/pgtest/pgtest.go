// Package pgtest gives tests a real PostgreSQL server: the one named by
// the environment variable VEXLOOM_TEST_POSTGRES (a connection URL), which
// .ci/run starts (.ci/postgres.sh, also usable by hand). Every test gets a
// database of its own, dropped when it ends.
//
// Without the variable, tests that need the server are skipped with a
// message saying how to run them — except in CI (CI=true), where a missing
// server is a failure, so that the PostgreSQL half of the suite can never
// silently stop running.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the database/sql driver "pgx"
)

// EnvVar names the server tests use.
const EnvVar = "VEXLOOM_TEST_POSTGRES"

// ServerURL returns the server's URL, skipping (or, in CI, failing) the
// test when there is none.
func ServerURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvVar)
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set: CI must run the PostgreSQL tests (.ci/run starts a server)", EnvVar)
		}
		t.Skipf("no PostgreSQL server: set %s to a connection URL, or run `source .ci/postgres.sh` first", EnvVar)
	}
	return u
}

// Database creates an empty database on the server for the test and
// returns its URL; it is dropped when the test ends.
func Database(t testing.TB) string {
	t.Helper()
	base := ServerURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	defer admin.Close()
	b := make([]byte, 6)
	rand.Read(b)
	name := "vxt_" + hex.EncodeToString(b)
	// FILE_COPY copies the (small) template's files instead of writing
	// them all to the WAL, PostgreSQL 15's default: half the time for an
	// empty database. Servers before 15 know no strategy.
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE `+name+` STRATEGY FILE_COPY`); err != nil {
		if _, err2 := admin.ExecContext(ctx, `CREATE DATABASE `+name); err2 != nil {
			t.Fatalf("pgtest: creating a database: %v", err)
		}
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer admin.Close()
		if _, err := admin.ExecContext(ctx, `DROP DATABASE `+name+` WITH (FORCE)`); err != nil {
			t.Logf("pgtest: dropping %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("pgtest: %s: %v", EnvVar, err)
	}
	u.Path = "/" + name
	return u.String()
}
