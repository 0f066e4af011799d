package intentspg

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/semroute/semroute/intents"
	"github.com/semroute/semroute/internal/postgres"
)

// Store keeps the intents as changed through the service's intents API in
// the database, so that every replica serves the same ones. Each change
// bumps a version and NOTIFYs the other replicas.
type Store struct {
	db *postgres.DB
}

// New returns db's intent store.
func New(db *postgres.DB) *Store { return &Store{db: db} }

// channel is the NOTIFY channel of this schema's intents.
func (is *Store) channel() string { return "semroute_intents." + is.db.SchemaName() }

// Load returns the stored intents and their version; ok is false when the
// intents API never stored any (the config's intents apply).
func (is *Store) Load(ctx context.Context) (list []intents.Intent, version int64, ok bool, err error) {
	ctx, cancel := is.db.Ctx(ctx)
	defer cancel()
	err = pgx.BeginFunc(ctx, is.db.Pool(), func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, "SELECT version, stored FROM "+is.db.Schema()+".semroute_intents_version").Scan(&version, &ok); err != nil {
			return err
		}
		if !ok {
			return nil
		}
		rows, err := tx.Query(ctx, "SELECT intent FROM "+is.db.Schema()+".semroute_intents ORDER BY position")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var raw []byte
			if err := rows.Scan(&raw); err != nil {
				return err
			}
			var in intents.Intent
			if err := json.Unmarshal(raw, &in); err != nil {
				return fmt.Errorf("a stored intent does not decode: %w", err)
			}
			list = append(list, in)
		}
		return rows.Err()
	})
	return list, version, ok, postgres.Wrap("load intents", err)
}

// Version is the intents' current version.
func (is *Store) Version(ctx context.Context) (int64, error) {
	ctx, cancel := is.db.Ctx(ctx)
	defer cancel()
	var v int64
	err := is.db.Pool().QueryRow(ctx, "SELECT version FROM "+is.db.Schema()+".semroute_intents_version").Scan(&v)
	return v, postgres.Wrap("intents version", err)
}

// Save replaces the stored intents in one transaction, bumps the version
// and notifies the other replicas (on commit). It returns the new version.
func (is *Store) Save(ctx context.Context, list []intents.Intent) (int64, error) {
	ctx, cancel := is.db.Ctx(ctx)
	defer cancel()
	var version int64
	err := pgx.BeginFunc(ctx, is.db.Pool(), func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "DELETE FROM "+is.db.Schema()+".semroute_intents"); err != nil {
			return err
		}
		for i, in := range list {
			raw, err := json.Marshal(in)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "INSERT INTO "+is.db.Schema()+".semroute_intents (position, name, intent) VALUES ($1, $2, $3)", i, in.Name, raw); err != nil {
				return err
			}
		}
		if err := tx.QueryRow(ctx, "UPDATE "+is.db.Schema()+".semroute_intents_version SET version = version + 1, stored = true RETURNING version").Scan(&version); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "SELECT pg_notify($1, $2)", is.channel(), fmt.Sprint(version))
		return err
	})
	return version, postgres.Wrap("save intents", err)
}

// Watch calls changed whenever another replica may have changed the
// intents: on each notification, and when changes may have gone unheard
// (once it listens, after each reconnect and every resync interval:
// postgres.DB.Listen). It returns when ctx ends.
func (is *Store) Watch(ctx context.Context, resync time.Duration, log *slog.Logger, changed func()) {
	is.db.Listen(ctx, is.channel(), resync, log, "intents", func(string) { changed() })
}
