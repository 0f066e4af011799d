package cachepg

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	pgv "github.com/pgvector/pgvector-go"

	"github.com/semroute/semroute/internal/postgres"
	"github.com/semroute/semroute/router/cache"
)

// Cache is the response cache in PostgreSQL, shared by replicas;
// entries expire by TTL (there is no byte bound: the database holds them).
type Cache struct {
	db  *postgres.DB
	ttl time.Duration
}

// New returns db's response cache with entries living ttl.
func New(db *postgres.DB, ttl time.Duration) *Cache { return &Cache{db: db, ttl: ttl} }

// Get finds an exact hit, else the nearest live entry of the context above
// the threshold.
func (cs *Cache) Get(k cache.Key, threshold float64) (cache.Entry, string, bool) {
	ctx, cancel := cs.db.Ctx(context.Background())
	defer cancel()
	var e cache.Entry
	q := "SELECT body, model, cost FROM " + cs.db.Schema() + ".semroute_cache WHERE exact = $1 AND expires > now()"
	if err := cs.db.Pool().QueryRow(ctx, q, k.Exact).Scan(&e.Body, &e.Model, &e.Cost); err == nil {
		return e, "exact", true
	}
	if threshold <= 0 || k.Vec == nil {
		return e, "", false
	}
	var dist float64
	q = "SELECT body, model, cost, vec <=> $2 FROM " + cs.db.Schema() + ".semroute_cache WHERE context = $1 AND vec IS NOT NULL AND expires > now() ORDER BY vec <=> $2 LIMIT 1"
	if err := cs.db.Pool().QueryRow(ctx, q, k.Context, pgv.NewVector(k.Vec)).Scan(&e.Body, &e.Model, &e.Cost, &dist); err != nil || 1-dist < threshold {
		return cache.Entry{}, "", false
	}
	return e, "semantic", true
}

// Put stores an entry; now and then it sweeps expired ones.
func (cs *Cache) Put(k cache.Key, e cache.Entry) {
	ctx, cancel := cs.db.Ctx(context.Background())
	defer cancel()
	var vec any
	if k.Vec != nil {
		vec = pgv.NewVector(k.Vec)
	}
	cs.db.Pool().Exec(ctx, "INSERT INTO "+cs.db.Schema()+".semroute_cache (exact, context, vec, body, model, cost, expires) VALUES ($1, $2, $3, $4, $5, $6, now() + $7::interval) "+
		"ON CONFLICT (exact) DO UPDATE SET context = EXCLUDED.context, vec = EXCLUDED.vec, body = EXCLUDED.body, model = EXCLUDED.model, cost = EXCLUDED.cost, expires = EXCLUDED.expires",
		k.Exact, k.Context, vec, e.Body, e.Model, e.Cost, fmt.Sprintf("%d milliseconds", cs.ttl.Milliseconds()))
	if rand.IntN(100) == 0 {
		cs.db.Pool().Exec(ctx, "DELETE FROM "+cs.db.Schema()+".semroute_cache WHERE expires < now()")
	}
}
