package pgvector

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	pgv "github.com/pgvector/pgvector-go"

	"github.com/semroute/semroute/index"
	"github.com/semroute/semroute/internal/postgres"
)

// DSNEnv names the variable the command (cmd/semroute) reads for the DSN
// when the config gives none; this package reads no variable.
const DSNEnv = postgres.DSNEnv

// Options configure a Store.
type Options struct {
	// DSN is a PostgreSQL connection string (required).
	DSN string
	// Schema holds semroute's tables (default "semroute").
	Schema string
	// HalfVec stores vectors as halfvec: half the memory, 16-bit floats.
	HalfVec bool
	// EfSearch is hnsw.ef_search for every query (default 100); M and
	// EfConstruction build the HNSW index (defaults 16 and 64).
	EfSearch, M, EfConstruction int
	// Timeout bounds every query (default 5 s): with the database gone,
	// calls fail within it instead of hanging.
	Timeout time.Duration
}

// Store is an index.Index on PostgreSQL. It is safe for concurrent use.
type Store struct {
	db     *postgres.DB
	opt    Options
	mu     sync.Mutex
	tables map[string]collection // by collection name
}

var (
	_ index.Index  = (*Store)(nil)
	_ index.Getter = (*Store)(nil)
)

type collection struct {
	table   string // quoted, schema-qualified
	index   string // the HNSW index, quoted, schema-qualified
	dim     int
	indexed bool // the HNSW index is known to exist
}

// ErrUnavailable wraps errors from a database that cannot be reached.
var ErrUnavailable = postgres.ErrUnavailable

// Open connects, runs the migrations (of the whole database: see
// internal/postgres) and returns the store.
func Open(ctx context.Context, opt Options) (*Store, error) {
	opt.EfSearch = cmpOr(opt.EfSearch, 100)
	opt.M = cmpOr(opt.M, 16)
	opt.EfConstruction = cmpOr(opt.EfConstruction, 64)
	db, err := postgres.Open(ctx, postgres.Options{DSN: opt.DSN, Schema: opt.Schema, Timeout: opt.Timeout})
	if err != nil {
		return nil, err
	}
	opt.Schema, opt.Timeout = db.SchemaName(), db.Timeout()
	return &Store{db: db, opt: opt, tables: map[string]collection{}}, nil
}

func cmpOr(v, d int) int {
	if v <= 0 {
		return d
	}
	return v
}

// DB is the store's database, for the stores other parts of semroute keep
// there (intents, tickets, spend, cache, suggestions). Closing the Store
// closes it.
func (s *Store) DB() *postgres.DB { return s.db }

// Schema is the quoted schema name.
func (s *Store) Schema() string { return s.db.Schema() }

// Ping checks the database within the store's timeout.
func (s *Store) Ping(ctx context.Context) error { return s.db.Ping(ctx) }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// wrap marks connection failures and timeouts as ErrUnavailable.
func wrap(op string, err error) error {
	if errors.Is(err, index.ErrDimension) || errors.Is(err, index.ErrInvalid) {
		return postgres.Named(op, err)
	}
	return postgres.Wrap(op, err)
}

func (s *Store) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	return s.db.Ctx(ctx)
}

// lookup finds a collection's table; with create, it makes one of dim.
func (s *Store) lookup(ctx context.Context, name string, dim int, create bool) (collection, bool, error) {
	s.mu.Lock()
	c, ok := s.tables[name]
	s.mu.Unlock()
	if ok {
		return c, true, nil
	}
	var table string
	err := s.db.Pool().QueryRow(ctx, "SELECT tbl, dim FROM "+s.Schema()+".semroute_collections WHERE name = $1", name).Scan(&table, &c.dim)
	switch {
	case err == nil:
		c = s.names(name, c.dim)
	case errors.Is(err, pgx.ErrNoRows):
		if !create {
			return c, false, nil
		}
		if c, err = s.createCollection(ctx, name, dim); err != nil {
			return c, false, err
		}
	default:
		return c, false, err
	}
	s.mu.Lock()
	s.tables[name] = c
	s.mu.Unlock()
	return c, true, nil
}

func (s *Store) vectorType(dim int) (typ, ops string) {
	if s.opt.HalfVec {
		return fmt.Sprintf("halfvec(%d)", dim), "halfvec_cosine_ops"
	}
	return fmt.Sprintf("vector(%d)", dim), "vector_cosine_ops"
}

// names are a collection's table and index names.
func (s *Store) names(name string, dim int) collection {
	h := sha256.Sum256([]byte(name))
	short := "semroute_vec_" + hex.EncodeToString(h[:8])
	return collection{table: s.Schema() + "." + pgx.Identifier{short}.Sanitize(),
		index: s.Schema() + "." + pgx.Identifier{short + "_hnsw"}.Sanitize(), dim: dim}
}

// createCollection makes a collection's table, under the migration lock so
// that two replicas cannot race. Its HNSW index comes after the first load
// (ensureIndex): building it over loaded rows is several times faster than
// inserting them one by one into the graph.
func (s *Store) createCollection(ctx context.Context, name string, dim int) (collection, error) {
	c := s.names(name, dim)
	typ, _ := s.vectorType(dim)
	err := s.db.Locked(ctx, func(tx pgx.Tx) error {
		var have int
		err := tx.QueryRow(ctx, "SELECT dim FROM "+s.Schema()+".semroute_collections WHERE name = $1", name).Scan(&have)
		if err == nil { // another replica made it first
			c.dim = have
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		q := fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s (id text PRIMARY KEY, text text NOT NULL, metadata jsonb NOT NULL DEFAULT '{}', embedding %s NOT NULL)", c.table, typ)
		if _, err := tx.Exec(ctx, q); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, "INSERT INTO "+s.Schema()+".semroute_collections (name, dim, tbl, halfvec) VALUES ($1, $2, $3, $4)", name, dim, c.table, s.opt.HalfVec)
		return err
	})
	return c, err
}

// ensureIndex builds the collection's HNSW index if it is not there yet.
func (s *Store) ensureIndex(ctx context.Context, name string, c collection) error {
	if c.indexed {
		return nil
	}
	_, ops := s.vectorType(c.dim)
	idx := c.index[strings.LastIndex(c.index, ".")+1:]
	q := fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s ON %s USING hnsw (embedding %s) WITH (m = %d, ef_construction = %d)",
		idx, c.table, ops, s.opt.M, s.opt.EfConstruction)
	// IF NOT EXISTS is not safe against a replica creating the same index
	// at the same moment; the schema lock is.
	if err := s.db.Locked(ctx, func(tx pgx.Tx) error { _, err := tx.Exec(ctx, q); return err }); err != nil {
		return err
	}
	c.indexed = true
	s.mu.Lock()
	s.tables[name] = c
	s.mu.Unlock()
	return nil
}

func (s *Store) vec(v []float32) any {
	if s.opt.HalfVec {
		return pgv.NewHalfVector(v)
	}
	return pgv.NewVector(v)
}

func checkRecord(r index.Record) error {
	if r.ID == "" {
		return fmt.Errorf("%w: a record has no ID", index.ErrInvalid)
	}
	var n float64
	for _, x := range r.Vector {
		n += float64(x) * float64(x)
	}
	if n == 0 || math.IsNaN(n) || math.IsInf(n, 0) {
		return fmt.Errorf("%w: record %q has a zero or non-finite vector", index.ErrInvalid, r.ID)
	}
	return nil
}

// copyThreshold is the batch size above which Upsert loads with COPY.
const copyThreshold = 64

// Upsert adds records, replacing those with the same ID. Large batches go
// through COPY (binary) into a temporary table, then one INSERT … ON
// CONFLICT.
func (s *Store) Upsert(ctx context.Context, name string, recs []index.Record) error {
	if len(recs) == 0 {
		return nil
	}
	for _, r := range recs {
		if err := checkRecord(r); err != nil {
			return err
		}
		if len(r.Vector) != len(recs[0].Vector) {
			return fmt.Errorf("%w: records of %d and %d dimensions in one batch", index.ErrDimension, len(recs[0].Vector), len(r.Vector))
		}
	}
	// Inserting into the HNSW graph takes time: a bulk load gets the
	// timeout once for every 200 records.
	ctx, cancel := context.WithTimeout(ctx, s.opt.Timeout*time.Duration(1+len(recs)/200))
	defer cancel()
	c, _, err := s.lookup(ctx, name, len(recs[0].Vector), true)
	if err != nil {
		return wrap("upsert", err)
	}
	if c.dim != len(recs[0].Vector) {
		return fmt.Errorf("pgvector upsert into %q: %w: %d-d vectors, the collection is %d-d", name, index.ErrDimension, len(recs[0].Vector), c.dim)
	}
	meta := make([][]byte, len(recs))
	for i, r := range recs {
		if meta[i], err = json.Marshal(r.Metadata); err != nil {
			return err
		}
		if r.Metadata == nil {
			meta[i] = []byte("{}")
		}
	}
	upsert := "INSERT INTO " + c.table + " (id, text, metadata, embedding) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET text = EXCLUDED.text, metadata = EXCLUDED.metadata, embedding = EXCLUDED.embedding"
	if len(recs) < copyThreshold {
		b := &pgx.Batch{}
		for i, r := range recs {
			b.Queue(upsert, r.ID, r.Text, meta[i], s.vec(r.Vector))
		}
		if err := s.db.Pool().SendBatch(ctx, b).Close(); err != nil {
			return wrap("upsert", err)
		}
		return wrap("upsert", s.ensureIndex(ctx, name, c))
	}
	err = pgx.BeginFunc(ctx, s.db.Pool(), func(tx pgx.Tx) error {
		typ, _ := s.vectorType(c.dim)
		if _, err := tx.Exec(ctx, "CREATE TEMP TABLE semroute_load (id text, text text, metadata jsonb, embedding "+typ+") ON COMMIT DROP"); err != nil {
			return err
		}
		rows := make([][]any, len(recs))
		for i, r := range recs {
			rows[i] = []any{r.ID, r.Text, meta[i], s.vec(r.Vector)}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"semroute_load"}, []string{"id", "text", "metadata", "embedding"}, pgx.CopyFromRows(rows)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "INSERT INTO "+c.table+" (id, text, metadata, embedding) SELECT DISTINCT ON (id) id, text, metadata, embedding FROM semroute_load ORDER BY id ON CONFLICT (id) DO UPDATE SET text = EXCLUDED.text, metadata = EXCLUDED.metadata, embedding = EXCLUDED.embedding")
		return err
	})
	if err != nil {
		return wrap("upsert", err)
	}
	return wrap("upsert", s.ensureIndex(ctx, name, c))
}

// Delete removes the records with these IDs.
func (s *Store) Delete(ctx context.Context, name string, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	c, ok, err := s.lookup(ctx, name, 0, false)
	if err != nil || !ok {
		return wrap("delete", err)
	}
	_, err = s.db.Pool().Exec(ctx, "DELETE FROM "+c.table+" WHERE id = ANY($1)", ids)
	return wrap("delete", err)
}

// Search returns the k records nearest q by cosine, in one round trip: the
// transaction, its SET LOCAL hnsw.ef_search and the query go as one batch.
func (s *Store) Search(ctx context.Context, name string, q []float32, k int) ([]index.Hit, error) {
	return s.SearchEf(ctx, name, q, k, s.opt.EfSearch)
}

// SearchEf is Search with this query's hnsw.ef_search.
func (s *Store) SearchEf(ctx context.Context, name string, q []float32, k, ef int) ([]index.Hit, error) {
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	c, ok, err := s.lookup(ctx, name, 0, false)
	if err != nil {
		return nil, wrap("search", err)
	}
	if !ok || k <= 0 {
		return nil, nil
	}
	if len(q) != c.dim {
		return nil, fmt.Errorf("pgvector search in %q: %w: a %d-d query, the collection is %d-d", name, index.ErrDimension, len(q), c.dim)
	}
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue(fmt.Sprintf("SET LOCAL hnsw.ef_search = %d", max(ef, k)))
	b.Queue("SELECT id, text, metadata, embedding::real[], 1 - (embedding <=> $1) FROM "+c.table+" ORDER BY embedding <=> $1 LIMIT $2", s.vec(q), k)
	b.Queue("COMMIT")
	br := s.db.Pool().SendBatch(ctx, b)
	defer br.Close()
	for range 2 {
		if _, err := br.Exec(); err != nil {
			return nil, wrap("search", err)
		}
	}
	rows, err := br.Query()
	if err != nil {
		return nil, wrap("search", err)
	}
	var hits []index.Hit
	for rows.Next() {
		var h index.Hit
		var meta []byte
		var score float64
		if err := rows.Scan(&h.ID, &h.Text, &meta, &h.Vector, &score); err != nil {
			rows.Close()
			return nil, wrap("search", err)
		}
		json.Unmarshal(meta, &h.Metadata)
		h.Score = float32(score)
		hits = append(hits, h)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrap("search", err)
	}
	if _, err := br.Exec(); err != nil {
		return nil, wrap("search", err)
	}
	return hits, nil
}

// List returns every record of the collection.
func (s *Store) List(ctx context.Context, name string) ([]index.Record, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*s.opt.Timeout) // a large collection takes a while
	defer cancel()
	c, ok, err := s.lookup(ctx, name, 0, false)
	if err != nil || !ok {
		return nil, wrap("list", err)
	}
	rows, err := s.db.Pool().Query(ctx, "SELECT id, text, metadata, embedding::real[] FROM "+c.table)
	if err != nil {
		return nil, wrap("list", err)
	}
	out, err := scanRecords(rows)
	return out, wrap("list", err)
}

// Get returns the records with these IDs: one lookup by primary key.
func (s *Store) Get(ctx context.Context, name string, ids ...string) ([]index.Record, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	c, ok, err := s.lookup(ctx, name, 0, false)
	if err != nil || !ok {
		return nil, wrap("get", err)
	}
	rows, err := s.db.Pool().Query(ctx, "SELECT id, text, metadata, embedding::real[] FROM "+c.table+" WHERE id = ANY($1)", ids)
	if err != nil {
		return nil, wrap("get", err)
	}
	out, err := scanRecords(rows)
	return out, wrap("get", err)
}

// scanRecords reads rows of id, text, metadata and embedding.
func scanRecords(rows pgx.Rows) ([]index.Record, error) {
	defer rows.Close()
	var out []index.Record
	for rows.Next() {
		var r index.Record
		var meta []byte
		if err := rows.Scan(&r.ID, &r.Text, &meta, &r.Vector); err != nil {
			return nil, err
		}
		json.Unmarshal(meta, &r.Metadata)
		out = append(out, r)
	}
	return out, rows.Err()
}

// Reindex rebuilds a collection's HNSW index (for benchmarks of the build).
func (s *Store) Reindex(ctx context.Context, name string) error {
	c, ok, err := s.lookup(ctx, name, 0, false)
	if err != nil || !ok {
		return wrap("reindex", err)
	}
	_, err = s.db.Pool().Exec(ctx, "REINDEX TABLE "+c.table)
	return wrap("reindex", err)
}

// Drop removes a collection and its table.
func (s *Store) Drop(ctx context.Context, name string) error {
	c, ok, err := s.lookup(ctx, name, 0, false)
	if err != nil || !ok {
		return wrap("drop", err)
	}
	err = s.db.Locked(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "DROP TABLE IF EXISTS "+c.table); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "DELETE FROM "+s.Schema()+".semroute_collections WHERE name = $1", name)
		return err
	})
	s.mu.Lock()
	delete(s.tables, name)
	s.mu.Unlock()
	return wrap("drop", err)
}

// Size reports a collection's bytes on disk: the table (with its TOAST)
// and its indexes.
func (s *Store) Size(ctx context.Context, name string) (table, indexes int64, err error) {
	c, ok, err := s.lookup(ctx, name, 0, false)
	if err != nil || !ok {
		return 0, 0, wrap("size", err)
	}
	err = s.db.Pool().QueryRow(ctx, "SELECT pg_table_size($1::regclass), pg_indexes_size($1::regclass)", c.table).Scan(&table, &indexes)
	return table, indexes, wrap("size", err)
}

// Shared reports that the store is shared by every replica: a collection
// searches it where it is (HNSW in PostgreSQL), not through a copy in one
// process, which another replica's ingest would not reach.
func (s *Store) Shared() bool { return true }
