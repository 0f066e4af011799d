package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	pgxvec "github.com/pgvector/pgvector-go/pgx"
)

// DSNEnv names the variable the test helpers (pgtest) and the pgvector
// backend read when no DSN is given.
const DSNEnv = "SEMROUTE_PG_DSN"

// Options configure a DB.
type Options struct {
	// DSN is a PostgreSQL connection string (required).
	DSN string
	// Schema holds semroute's tables (default "semroute").
	Schema string
	// Timeout bounds every query (default 5 s): with the database gone,
	// calls fail within it instead of hanging.
	Timeout time.Duration
}

// DB is semroute's database: a connection pool on a schema brought up to
// date. It is safe for concurrent use.
type DB struct {
	pool *pgxpool.Pool
	opt  Options
}

// ErrUnavailable wraps errors from a database that cannot be reached.
var ErrUnavailable = errors.New("the PostgreSQL database is unavailable")

// Open connects, runs the migrations and returns the database. (Its
// errors say "pgvector", the backend a config names to get PostgreSQL.)
func Open(ctx context.Context, opt Options) (*DB, error) {
	if opt.DSN == "" {
		return nil, fmt.Errorf("pgvector: no DSN: set index.dsn in the config or %s", DSNEnv)
	}
	if opt.Schema == "" {
		opt.Schema = "semroute"
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 5 * time.Second
	}
	cfg, err := pgxpool.ParseConfig(opt.DSN)
	if err != nil {
		return nil, fmt.Errorf("pgvector: the DSN does not parse: %w", err)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 || cfg.ConnConfig.ConnectTimeout > opt.Timeout {
		cfg.ConnConfig.ConnectTimeout = opt.Timeout
	}
	db := &DB{opt: opt}
	// The vector types are registered once the extension exists, which the
	// first migration makes sure of; connections made before it get them
	// when they are next acquired.
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		_ = pgxvec.RegisterTypes(ctx, c) // fails until migrate has created the extension
		return nil
	}
	db.pool, err = pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgvector: %w", err)
	}
	if err := db.migrate(ctx); err != nil {
		db.pool.Close()
		return nil, err
	}
	// Connections opened before the extension existed lack the types.
	db.pool.Reset()
	return db, nil
}

// Pool is the connection pool.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// Schema is the quoted schema name.
func (db *DB) Schema() string { return pgx.Identifier{db.opt.Schema}.Sanitize() }

// SchemaName is the schema name as configured, unquoted.
func (db *DB) SchemaName() string { return db.opt.Schema }

// Timeout is the bound on every query.
func (db *DB) Timeout() time.Duration { return db.opt.Timeout }

// Ctx bounds ctx by the query timeout.
func (db *DB) Ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, db.opt.Timeout)
}

// Ping checks the database within the timeout.
func (db *DB) Ping(ctx context.Context) error {
	ctx, cancel := db.Ctx(ctx)
	defer cancel()
	if err := db.pool.Ping(ctx); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return nil
}

// Close closes the pool.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// Wrap names the operation, and marks connection failures and timeouts as
// ErrUnavailable; errors the database answered with (a *pgconn.PgError)
// are not. The stores wrap their errors with it.
func Wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return Named(op, err)
	}
	return fmt.Errorf("pgvector %s: %w: %v", op, ErrUnavailable, err)
}

// Named names the operation without marking err unavailable, for errors
// that are the caller's (a wrong dimension, an invalid record).
func Named(op string, err error) error { return fmt.Errorf("pgvector %s: %w", op, err) }
