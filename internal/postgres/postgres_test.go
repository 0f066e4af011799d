package postgres_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/semroute/semroute/internal/postgres"
	"github.com/semroute/semroute/internal/postgres/pgtest"
)

// TestMigrationsUnchanged: a database records the migrations it applied by
// number and never runs them again, so a migration's text must not change
// once released. These are the SHA-256 of migrations 1–4 as they were
// when they lived in index/pgvector (commit dffd5d0); append new ones.
func TestMigrationsUnchanged(t *testing.T) {
	want := []string{
		"dc4e69030d2c2864aa1943255908f1a69ef38fc976921436fb3cbaa2fbda238d",
		"29d3f2abb50da3d8e80c1d856ea0c3326b649fceb53880aaf9e91b2b136db0f2",
		"2cd30654893b4f58ead338eee3f9aff561dcc033b98eb25df8b9e4bb9816c15b",
		"e1dc6c709eb859c314d0938b576fc3423ce56f5b91de59f73a89fc3562322bf6",
	}
	got := postgres.Migrations()
	if len(got) < len(want) {
		t.Fatalf("%d migrations, want at least %d", len(got), len(want))
	}
	for i, w := range want {
		h := sha256.Sum256([]byte(got[i]))
		if hex.EncodeToString(h[:]) != w {
			t.Errorf("migration %d changed: a database that applied it would not get the change; append a new migration instead", i+1)
		}
	}
	if postgres.SchemaVersion != len(got) {
		t.Errorf("SchemaVersion %d, %d migrations", postgres.SchemaVersion, len(got))
	}
}

// TestMigratesOn: a database that applied the first migrations gets only
// the rest, in order, and keeps the versions it had; one newer than the
// build is refused, naming both versions.
func TestMigratesOn(t *testing.T) {
	db := pgtest.Open(t, postgres.Options{})
	ctx := context.Background()
	pool, schema := db.Pool(), db.Schema()
	// Roll back to version 2: what a database migrated by an older build
	// looks like (migration 3 made these three tables, 4 the last one).
	for _, q := range []string{
		"DROP TABLE " + schema + ".semroute_suggestions",
		"DROP TABLE " + schema + ".semroute_routes, " + schema + ".semroute_feedback", // migration 7
		"DROP TABLE " + schema + ".semroute_rag_versions",                             // migration 8
		"DROP TABLE " + schema + ".semroute_rag_changes",                              // migration 9
		"DROP TABLE " + schema + ".semroute_spend, " + schema + ".semroute_spend_totals, " + schema + ".semroute_cache",
		"DELETE FROM " + schema + ".semroute_migrations WHERE version > 2",
		"UPDATE " + schema + ".semroute_migrations SET applied_at = '2020-01-01T00:00:00Z'",
		"INSERT INTO " + schema + ".semroute_tickets (id, queue, state, conversation, decision, created, updated) VALUES ('kept', 'q', 'open', '[]', '{}', now(), now())",
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	again, err := postgres.Open(ctx, postgres.Options{DSN: pgtest.DSN(t), Schema: db.SchemaName()})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	rows, err := pool.Query(ctx, "SELECT version, applied_at < '2021-01-01' FROM "+schema+".semroute_migrations ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	var versions []int
	var old []bool
	for rows.Next() {
		var v int
		var o bool
		if err := rows.Scan(&v, &o); err != nil {
			t.Fatal(err)
		}
		versions, old = append(versions, v), append(old, o)
	}
	if len(versions) != postgres.SchemaVersion || versions[0] != 1 || versions[len(versions)-1] != postgres.SchemaVersion {
		t.Errorf("versions %v, want 1..%d", versions, postgres.SchemaVersion)
	}
	for i, o := range old {
		if o != (i < 2) {
			t.Errorf("version %d re-applied or not applied now: old=%v", versions[i], o)
		}
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM "+schema+".semroute_tickets").Scan(&n); err != nil || n != 1 {
		t.Errorf("the ticket stored before migrating on: %d, %v", n, err)
	}
	for _, tbl := range []string{"semroute_spend", "semroute_spend_totals", "semroute_cache", "semroute_suggestions", "semroute_routes", "semroute_feedback", "semroute_rag_versions", "semroute_rag_changes"} {
		if _, err := pool.Exec(ctx, "SELECT 1 FROM "+schema+"."+tbl+" LIMIT 1"); err != nil {
			t.Errorf("%s after migrating on: %v", tbl, err)
		}
	}

	if _, err := pool.Exec(ctx, "INSERT INTO "+schema+".semroute_migrations (version) VALUES ($1)", postgres.SchemaVersion+1); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err = postgres.Open(ctx, postgres.Options{DSN: pgtest.DSN(t), Schema: db.SchemaName()})
	if err == nil || !strings.Contains(err.Error(), "newer than this build knows") {
		t.Errorf("opening a database newer than the build: %v", err)
	}
}
