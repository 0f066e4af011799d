package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// migrations upgrade the schema in order; each runs once, in a
// transaction, and its number is recorded. Append, never edit: a database
// that applied a migration never runs it again.
var migrations = []string{
	// 1: collections (index/pgvector), and the intents as the service's
	// intents API keeps them (intents/intentspg; replicas watch
	// semroute_intents_version through NOTIFY).
	`CREATE TABLE {schema}.semroute_collections (
		name text PRIMARY KEY,
		dim int NOT NULL CHECK (dim > 0),
		tbl text NOT NULL,
		halfvec bool NOT NULL DEFAULT false
	);
	CREATE TABLE {schema}.semroute_intents (
		position int NOT NULL,
		name text PRIMARY KEY,
		intent jsonb NOT NULL
	);
	CREATE TABLE {schema}.semroute_intents_version (
		id int PRIMARY KEY DEFAULT 1 CHECK (id = 1),
		version bigint NOT NULL,
		stored bool NOT NULL DEFAULT false
	);
	INSERT INTO {schema}.semroute_intents_version (version) VALUES (0);`,
	// 2: handoff tickets (moderation/handoff/handoffpg).
	`CREATE TABLE {schema}.semroute_tickets (
		id text PRIMARY KEY,
		queue text NOT NULL,
		state text NOT NULL CHECK (state IN ('open', 'claimed', 'resolved')),
		agent text NOT NULL DEFAULT '',
		reply text NOT NULL DEFAULT '',
		conversation jsonb NOT NULL,
		decision jsonb NOT NULL,
		created timestamptz NOT NULL,
		updated timestamptz NOT NULL
	);
	CREATE INDEX ON {schema}.semroute_tickets (queue, state, created);`,
	// 3: the spend ledger with its running totals (router/spend/spendpg),
	// and the response cache (router/cache/cachepg).
	`CREATE TABLE {schema}.semroute_spend (
		n bigserial PRIMARY KEY,
		at timestamptz NOT NULL,
		key text NOT NULL DEFAULT '',
		team text NOT NULL DEFAULT '',
		model text NOT NULL DEFAULT '',
		intent text NOT NULL DEFAULT '',
		cost double precision NOT NULL
	);
	CREATE TABLE {schema}.semroute_spend_totals (
		dim text NOT NULL,
		id text NOT NULL,
		period text NOT NULL,
		cost double precision NOT NULL,
		PRIMARY KEY (dim, id, period)
	);
	CREATE TABLE {schema}.semroute_cache (
		exact text PRIMARY KEY,
		context text NOT NULL,
		vec vector,
		body bytea NOT NULL,
		model text NOT NULL,
		cost double precision NOT NULL,
		expires timestamptz NOT NULL
	);
	CREATE INDEX ON {schema}.semroute_cache (context);`,
	// 4: the routing judge's suggested utterances
	// (router/judge/suggest/suggestpg).
	`CREATE TABLE {schema}.semroute_suggestions (
		id text PRIMARY KEY,
		intent text NOT NULL,
		text text NOT NULL,
		count bigint NOT NULL,
		first_seen timestamptz NOT NULL,
		last_seen timestamptz NOT NULL
	);
	CREATE INDEX ON {schema}.semroute_suggestions (last_seen);`,
	// 5: the request id of each booking (X-Request-Id).
	`ALTER TABLE {schema}.semroute_spend ADD COLUMN request_id text NOT NULL DEFAULT '';`,
	// 6: what a cache hit or a cascade saved (router/spend Booking.Saved,
	// Source); the running totals keep it under dim 'saved'.
	`ALTER TABLE {schema}.semroute_spend ADD COLUMN saved double precision NOT NULL DEFAULT 0,
		ADD COLUMN source text NOT NULL DEFAULT '';`,
	// 7: what each routed request was routed to, and the feedback on it
	// (router/feedback/feedbackpg).
	`CREATE TABLE {schema}.semroute_routes (
		id text PRIMARY KEY,
		at timestamptz NOT NULL,
		key text NOT NULL DEFAULT '',
		intent text NOT NULL,
		score double precision NOT NULL,
		decided_by text NOT NULL DEFAULT '',
		target text NOT NULL DEFAULT '',
		model text NOT NULL DEFAULT '',
		prompt text
	);
	CREATE INDEX ON {schema}.semroute_routes (at);
	CREATE TABLE {schema}.semroute_feedback (
		n bigserial PRIMARY KEY,
		request_id text NOT NULL,
		at timestamptz NOT NULL,
		key text NOT NULL DEFAULT '',
		intent text NOT NULL DEFAULT '',
		rating int NOT NULL DEFAULT 0 CHECK (rating IN (-1, 0, 1)),
		comment text NOT NULL DEFAULT '',
		route jsonb NOT NULL
	);
	CREATE INDEX ON {schema}.semroute_feedback (at);
	CREATE INDEX ON {schema}.semroute_feedback (request_id);`,
	// 8: each rag collection's version (rag/ragpg): every ingest or delete
	// bumps it and NOTIFYs the other replicas, which catch up
	// (rag.Collection.Sync).
	`CREATE TABLE {schema}.semroute_rag_versions (
		collection text PRIMARY KEY,
		version bigint NOT NULL
	);`,
	// 9: the log of which documents each version of a rag collection
	// changed (rag/ragpg), written with the bump, so that a replica
	// catching up reads just those; logged_from is the oldest version
	// since which the log knows every change (a bump prunes older ones,
	// and collections older than the log start at their version); dirty
	// marks a write lock held and not yet followed by its bump.
	`CREATE TABLE {schema}.semroute_rag_changes (
		collection text NOT NULL,
		version bigint NOT NULL,
		doc text NOT NULL,
		PRIMARY KEY (collection, version, doc)
	);
	ALTER TABLE {schema}.semroute_rag_versions ADD COLUMN logged_from bigint NOT NULL DEFAULT 0,
		ADD COLUMN dirty bool NOT NULL DEFAULT false;
	UPDATE {schema}.semroute_rag_versions SET logged_from = version;`,
}

// SchemaVersion is the schema version this build migrates to.
var SchemaVersion = len(migrations)

// lockKey is the advisory lock semroute's schema changes take.
const lockKey = 0x5e3d0a7e

// Locked runs f in a transaction holding the schema lock: migrations, and
// the index's tables created at run time, change the schema under it.
func (db *DB) Locked(ctx context.Context, f func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(lockKey)); err != nil {
			return err
		}
		return f(tx)
	})
}

// migrate brings the schema up to date. Replicas starting together wait on
// the lock, and then find nothing left to do.
func (db *DB) migrate(ctx context.Context) error {
	err := db.Locked(ctx, func(tx pgx.Tx) error {
		for _, q := range []string{
			"CREATE EXTENSION IF NOT EXISTS vector",
			"CREATE SCHEMA IF NOT EXISTS " + db.Schema(),
			"CREATE TABLE IF NOT EXISTS " + db.Schema() + ".semroute_migrations (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
		} {
			if _, err := tx.Exec(ctx, q); err != nil {
				return err
			}
		}
		var have int
		if err := tx.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM "+db.Schema()+".semroute_migrations").Scan(&have); err != nil {
			return err
		}
		if have > len(migrations) {
			return fmt.Errorf("the database schema is at version %d, newer than this build knows (%d): upgrade semroute", have, len(migrations))
		}
		for v := have + 1; v <= len(migrations); v++ {
			if _, err := tx.Exec(ctx, expand(migrations[v-1], db.Schema())); err != nil {
				return fmt.Errorf("migration %d: %w", v, err)
			}
			if _, err := tx.Exec(ctx, "INSERT INTO "+db.Schema()+".semroute_migrations (version) VALUES ($1)", v); err != nil {
				return err
			}
		}
		return nil
	})
	return Wrap("migrate", err)
}

func expand(q, schema string) string { return strings.ReplaceAll(q, "{schema}", schema) }

// Version is the schema version the database is at.
func (db *DB) Version(ctx context.Context) (int, error) {
	var v int
	err := db.pool.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM "+db.Schema()+".semroute_migrations").Scan(&v)
	return v, Wrap("version", err)
}
