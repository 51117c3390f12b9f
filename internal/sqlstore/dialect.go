package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5/pgconn"
)

// The store's SQL is written once, in the subset SQLite and PostgreSQL
// share, with ? placeholders. What differs is here: PostgreSQL numbers its
// placeholders ($1, $2 …) and does not turn a Go bool into an integer
// column, and a few statements (dialect.go's callers say which) have a
// PostgreSQL twin.

// pool is a connection pool that speaks the store's SQL: its queries are
// rewritten for PostgreSQL when the pool is one.
type pool struct {
	*sql.DB
	postgres bool
}

func (p pool) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return p.DB.ExecContext(ctx, p.sql(query), p.args(args)...)
}

func (p pool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return p.DB.QueryContext(ctx, p.sql(query), p.args(args)...)
}

func (p pool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return p.DB.QueryRowContext(ctx, p.sql(query), p.args(args)...)
}

func (p pool) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return p.DB.PrepareContext(ctx, p.sql(query))
}

func (p pool) sql(query string) string {
	if !p.postgres {
		return query
	}
	if q, ok := numbered.Load(query); ok {
		return q.(string)
	}
	q := numberPlaceholders(query)
	if len(query) <= maxRemembered {
		numbered.Store(query, q)
	}
	return q
}

// numbered remembers each query's PostgreSQL form, so that the busiest (a
// message, a receipt) are not rewritten for every write. The store's
// queries are constant texts, but for their IN lists of one placeholder
// per value: a query over maxRemembered bytes (a long list) is rewritten
// each time instead, which bounds what is kept (a few MB at worst).
var numbered sync.Map

const maxRemembered = 2048

func (p pool) args(args []any) []any {
	if !p.postgres {
		return args
	}
	return intBools(args)
}

// The same for a write transaction: these shadow sql.Tx's own methods.

func (tx *writeTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return tx.Tx.ExecContext(ctx, tx.db.write.sql(query), tx.db.write.args(args)...)
}

func (tx *writeTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return tx.Tx.QueryContext(ctx, tx.db.write.sql(query), tx.db.write.args(args)...)
}

func (tx *writeTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return tx.Tx.QueryRowContext(ctx, tx.db.write.sql(query), tx.db.write.args(args)...)
}

// forUpdate ends a SELECT whose rows the transaction goes on to change:
// on PostgreSQL it locks them until commit, so that another node's writer
// cannot change them between the read and the write (READ COMMITTED). A
// SQLite database has one writer, whose transactions never interleave.
func (tx *writeTx) forUpdate() string {
	if tx.db.postgres {
		return " FOR UPDATE"
	}
	return ""
}

// numberPlaceholders rewrites each ? outside quoted text as $1, $2 …
func numberPlaceholders(query string) string {
	if !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n, quoted := 0, false
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'':
			quoted = !quoted
		case c == '?' && !quoted:
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// intBools stores Go bools as the 0 or 1 SQLite keeps in the same
// INTEGER columns (PostgreSQL will not convert them).
func intBools(args []any) []any {
	var out []any // a copy, made at the first bool
	for i, a := range args {
		if v, ok := a.(bool); ok {
			if out == nil {
				out = append([]any(nil), args...)
			}
			out[i] = boolInt(v)
		}
	}
	if out == nil {
		return args
	}
	return out
}

// isUniqueViolation reports whether err is a unique constraint failure.
func isUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23505"
	}
	return strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// isRetryable reports whether PostgreSQL gave up a transaction that may
// simply be run again: a deadlock with another node's writer, or a
// serialization failure.
func isRetryable(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && (pg.Code == "40P01" || pg.Code == "40001")
}

// lostConnection reports an error that says the connection is gone before
// anything was done on it: database/sql's bad connection, or PostgreSQL
// ending the session (a shutdown, a restart, an administrator, class 08's
// connection failures). Beginning again on a new connection is safe.
func lostConnection(err error) bool {
	if errors.Is(err, driver.ErrBadConn) {
		return true
	}
	var pg *pgconn.PgError
	return errors.As(err, &pg) && (strings.HasPrefix(pg.Code, "57P") || strings.HasPrefix(pg.Code, "08"))
}
