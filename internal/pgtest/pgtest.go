// Package pgtest gives tests a PostgreSQL database of their own: created
// with a unique name on the test server, dropped when the test ends.
//
// The server is PARLEY_TEST_POSTGRES (a postgres:// URL of a database the
// tests may create databases from), by default the local one CI runs:
// postgres://postgres@127.0.0.1:5432/test. When no server answers, the
// test is skipped, unless PARLEY_TEST_REQUIRE_POSTGRES is set (CI sets it),
// which makes it fail.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
)

// DefaultURL is the test server when PARLEY_TEST_POSTGRES is not set.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// Database creates a new, empty database and returns its URL.
func Database(t testing.TB) string {
	t.Helper()
	return DatabaseFrom(t, "")
}

// baseURL is the test server's URL.
func baseURL() string {
	if base := os.Getenv("PARLEY_TEST_POSTGRES"); base != "" {
		return base
	}
	return DefaultURL
}

// newName is a unique name for a test database. The creation time in it
// lets a later run drop what a test binary that crashed could not.
func newName() string {
	var b [6]byte
	rand.Read(b[:])
	return fmt.Sprintf("parley_test_%d_%s", time.Now().Unix(), hex.EncodeToString(b[:]))
}

// urlOf is the URL of the database name on the test server.
func urlOf(name string) (string, error) {
	u, err := url.Parse(baseURL())
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

// Template creates a database for DatabaseFrom to copy: fill runs once on
// its URL (migrations, say), and every copy starts with what it left,
// faster than filling each one. drop removes it when the tests are done;
// a run that crashes leaves it to a later run's clean-up, as it does a
// test's database. With no server to reach it returns the error; a
// caller then falls back to Database, which skips the test or, where
// PostgreSQL is required, fails it.
func Template(fill func(url string) error) (name string, drop func(), err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	admin, err := sql.Open("pgx", baseURL())
	if err != nil {
		return "", nil, err
	}
	if err := admin.PingContext(ctx); err != nil {
		admin.Close()
		return "", nil, err
	}
	name = newName()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		return "", nil, err
	}
	drop = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		admin.Close()
	}
	u, err := urlOf(name)
	if err == nil {
		err = fill(u)
	}
	if err != nil {
		drop()
		return "", nil, err
	}
	return name, drop, nil
}

// DatabaseFrom creates a new database, a copy of template (from Template;
// "" for an empty one), and returns its URL. No connection to template
// may be open meanwhile.
func DatabaseFrom(t testing.TB, template string) string {
	t.Helper()
	base := baseURL()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		admin.Close()
		if os.Getenv("PARLEY_TEST_REQUIRE_POSTGRES") != "" {
			t.Fatalf("pgtest: no PostgreSQL at %s: %v", base, err)
		}
		t.Skipf("pgtest: no PostgreSQL at %s (%v); set PARLEY_TEST_POSTGRES to run this test", base, err)
	}
	dropStale(ctx, admin)
	name := newName()
	create := "CREATE DATABASE " + name
	if template != "" {
		create += " TEMPLATE " + template
	}
	if _, err := admin.ExecContext(ctx, create); err != nil {
		admin.Close()
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
		admin.Close()
	})
	u, err := urlOf(name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return u
}

// staleAfter is the age past which a test database is a crashed run's:
// no test run lasts that long (go test's timeout is 20 minutes).
const staleAfter = time.Hour

// dropStale drops the test databases of runs that crashed before their
// clean-up (best effort: another run may be dropping them too).
func dropStale(ctx context.Context, admin *sql.DB) {
	rows, err := admin.QueryContext(ctx, `SELECT datname FROM pg_database WHERE datname LIKE 'parley\_test\_%'`)
	if err != nil {
		return
	}
	var stale []string
	for rows.Next() {
		var name string
		if rows.Scan(&name) != nil {
			continue
		}
		var created int64
		if _, err := fmt.Sscanf(strings.TrimPrefix(name, "parley_test_"), "%d_", &created); err == nil && time.Since(time.Unix(created, 0)) > staleAfter {
			stale = append(stale, name)
		}
	}
	rows.Close()
	for _, name := range stale {
		admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	}
}
