// Package pgtest opens pgvector stores for tests in other packages, each in
// a schema of its own on the database of $SEMROUTE_PG_DSN (`make test`
// starts one with .ci/postgres). Without it tests skip, saying so, or fail
// when $SEMROUTE_REQUIRE_PG is set (CI sets it). It is the index's side of
// internal/postgres/pgtest, which the other PostgreSQL stores' tests use.
package pgtest

import (
	"context"
	"testing"

	"github.com/semroute/semroute/index/pgvector"
	"github.com/semroute/semroute/internal/postgres/pgtest"
)

// DSN returns the test database's DSN, or skips the test.
func DSN(t testing.TB) string {
	t.Helper()
	return pgtest.DSN(t)
}

// Schema is a fresh schema name.
func Schema() string { return pgtest.Schema() }

// Open opens a store (in a fresh schema unless opt names one) whose schema
// is dropped when the test ends.
func Open(t testing.TB, opt pgvector.Options) *pgvector.Store {
	t.Helper()
	if dsn := DSN(t); opt.DSN == "" {
		opt.DSN = dsn
	}
	if opt.Schema == "" {
		opt.Schema = Schema()
	}
	s, err := pgvector.Open(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	pgtest.Cleanup(t, s.DB())
	return s
}
