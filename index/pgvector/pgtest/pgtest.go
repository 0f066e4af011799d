// Package pgtest opens pgvector stores for tests in other packages, each in
// a schema of its own on the database of $SEMROUTE_PG_DSN (`make test`
// starts one with .ci/postgres). Without it tests skip, saying so, or fail
// when $SEMROUTE_REQUIRE_PG is set (CI sets it).
package pgtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/semroute/semroute/index/pgvector"
)

// DSN returns the test database's DSN, or skips the test.
func DSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(pgvector.DSNEnv)
	if dsn == "" {
		if os.Getenv("SEMROUTE_REQUIRE_PG") != "" {
			t.Fatalf("%s is not set, and SEMROUTE_REQUIRE_PG says PostgreSQL must be here", pgvector.DSNEnv)
		}
		t.Skipf("skipping: no PostgreSQL with pgvector (set %s; `make test` starts one with .ci/postgres)", pgvector.DSNEnv)
	}
	return dsn
}

// Schema is a fresh schema name.
func Schema() string { return fmt.Sprintf("t_%x", rand.Uint64()) }

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
	t.Cleanup(func() {
		s.Pool().Exec(context.Background(), "DROP SCHEMA IF EXISTS "+s.Schema()+" CASCADE")
		s.Close()
	})
	return s
}
