// Package pgtest opens semroute's PostgreSQL database for tests in other
// packages, each in a schema of its own on the database of $SEMROUTE_PG_DSN
// (`make test` starts one with .ci/postgres). Without it tests skip, saying
// so, or fail when $SEMROUTE_REQUIRE_PG is set (CI sets it).
package pgtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/semroute/semroute/internal/postgres"
)

// DSN returns the test database's DSN, or skips the test.
func DSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(postgres.DSNEnv)
	if dsn == "" {
		if os.Getenv("SEMROUTE_REQUIRE_PG") != "" {
			t.Fatalf("%s is not set, and SEMROUTE_REQUIRE_PG says PostgreSQL must be here", postgres.DSNEnv)
		}
		t.Skipf("skipping: no PostgreSQL with pgvector (set %s; `make test` starts one with .ci/postgres)", postgres.DSNEnv)
	}
	return dsn
}

// Schema is a fresh schema name.
func Schema() string { return fmt.Sprintf("t_%x", rand.Uint64()) }

// Open opens the database (in a fresh schema unless opt names one) and
// drops the schema when the test ends.
func Open(t testing.TB, opt postgres.Options) *postgres.DB {
	t.Helper()
	if dsn := DSN(t); opt.DSN == "" {
		opt.DSN = dsn
	}
	if opt.Schema == "" {
		opt.Schema = Schema()
	}
	db, err := postgres.Open(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	Cleanup(t, db)
	return db
}

// Cleanup drops db's schema and closes it when the test ends.
func Cleanup(t testing.TB, db *postgres.DB) {
	t.Cleanup(func() {
		db.Pool().Exec(context.Background(), "DROP SCHEMA IF EXISTS "+db.Schema()+" CASCADE")
		db.Close()
	})
}
