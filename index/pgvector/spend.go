package pgvector

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	pgv "github.com/pgvector/pgvector-go"

	"github.com/semroute/semroute/router/cache"
	"github.com/semroute/semroute/router/spend"
)

// SpendStore keeps the spend ledger in PostgreSQL: each booking and its
// running totals in one transaction, so replicas share one exact ledger.
type SpendStore struct{ s *Store }

// Spend returns the store's spend ledger.
func (s *Store) Spend() *SpendStore { return &SpendStore{s: s} }

var _ spend.Store = (*SpendStore)(nil)

// Book inserts the booking and adds it to every total it counts in.
func (l *SpendStore) Book(b spend.Booking) error {
	ctx, cancel := l.s.ctx(context.Background())
	defer cancel()
	err := pgx.BeginFunc(ctx, l.s.db.Pool(), func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO "+l.s.Schema()+".semroute_spend (at, key, team, model, intent, cost) VALUES ($1, $2, $3, $4, $5, $6)",
			b.At, b.Key, b.Team, b.Model, b.Intent, b.Cost); err != nil {
			return err
		}
		// Rows in one fixed order, so that concurrent bookings take their
		// row locks in the same order and never deadlock.
		type row struct{ dim, id, period string }
		var rows []row
		for _, window := range []string{"daily", "monthly"} {
			p := spend.Period(window, b.At)
			for dim, id := range b.Dims() {
				rows = append(rows, row{dim, id, p})
			}
		}
		slices.SortFunc(rows, func(x, y row) int {
			return cmp.Or(cmp.Compare(x.dim, y.dim), cmp.Compare(x.id, y.id), cmp.Compare(x.period, y.period))
		})
		var vals []string
		var args []any
		for _, r := range rows {
			n := len(args)
			vals = append(vals, fmt.Sprintf("($%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4))
			args = append(args, r.dim, r.id, r.period, b.Cost)
		}
		_, err := tx.Exec(ctx, "INSERT INTO "+l.s.Schema()+".semroute_spend_totals (dim, id, period, cost) VALUES "+strings.Join(vals, ", ")+
			" ON CONFLICT (dim, id, period) DO UPDATE SET cost = semroute_spend_totals.cost + EXCLUDED.cost", args...)
		return err
	})
	return wrap("book spend", err)
}

// Spent reads a running total.
func (l *SpendStore) Spent(dim, id, window string, now time.Time) (float64, error) {
	ctx, cancel := l.s.ctx(context.Background())
	defer cancel()
	var v float64
	err := l.s.db.Pool().QueryRow(ctx, "SELECT cost FROM "+l.s.Schema()+".semroute_spend_totals WHERE dim = $1 AND id = $2 AND period = $3",
		dim, id, spend.Period(window, now)).Scan(&v)
	if err == pgx.ErrNoRows {
		return 0, nil
	}
	return v, wrap("spent", err)
}

// Days reports the daily totals.
func (l *SpendStore) Days() (map[string]spend.Day, error) {
	ctx, cancel := l.s.ctx(context.Background())
	defer cancel()
	rows, err := l.s.db.Pool().Query(ctx, "SELECT dim, id, period, cost FROM "+l.s.Schema()+".semroute_spend_totals WHERE length(period) = 10")
	if err != nil {
		return nil, wrap("spend days", err)
	}
	defer rows.Close()
	out := map[string]spend.Day{}
	for rows.Next() {
		var dim, id, period string
		var v float64
		if err := rows.Scan(&dim, &id, &period, &v); err != nil {
			return nil, err
		}
		if out[period] == nil {
			out[period] = spend.Day{}
		}
		if out[period][dim] == nil {
			out[period][dim] = map[string]float64{}
		}
		if dim == spend.Global {
			id = "total"
		}
		out[period][dim][id] = v
	}
	return out, rows.Err()
}

// Close does nothing: the store owns the pool.
func (l *SpendStore) Close() error { return nil }

// CacheStore is the response cache in PostgreSQL, shared by replicas;
// entries expire by TTL (there is no byte bound: the database holds them).
type CacheStore struct {
	s   *Store
	ttl time.Duration
}

// Cache returns the store's response cache with entries living ttl.
func (s *Store) Cache(ttl time.Duration) *CacheStore { return &CacheStore{s: s, ttl: ttl} }

// Get finds an exact hit, else the nearest live entry of the context above
// the threshold.
func (cs *CacheStore) Get(k cache.Key, threshold float64) (cache.Entry, string, bool) {
	ctx, cancel := cs.s.ctx(context.Background())
	defer cancel()
	var e cache.Entry
	q := "SELECT body, model, cost FROM " + cs.s.Schema() + ".semroute_cache WHERE exact = $1 AND expires > now()"
	if err := cs.s.db.Pool().QueryRow(ctx, q, k.Exact).Scan(&e.Body, &e.Model, &e.Cost); err == nil {
		return e, "exact", true
	}
	if threshold <= 0 || k.Vec == nil {
		return e, "", false
	}
	var dist float64
	q = "SELECT body, model, cost, vec <=> $2 FROM " + cs.s.Schema() + ".semroute_cache WHERE context = $1 AND vec IS NOT NULL AND expires > now() ORDER BY vec <=> $2 LIMIT 1"
	if err := cs.s.db.Pool().QueryRow(ctx, q, k.Context, pgv.NewVector(k.Vec)).Scan(&e.Body, &e.Model, &e.Cost, &dist); err != nil || 1-dist < threshold {
		return cache.Entry{}, "", false
	}
	return e, "semantic", true
}

// Put stores an entry; now and then it sweeps expired ones.
func (cs *CacheStore) Put(k cache.Key, e cache.Entry) {
	ctx, cancel := cs.s.ctx(context.Background())
	defer cancel()
	var vec any
	if k.Vec != nil {
		vec = pgv.NewVector(k.Vec)
	}
	cs.s.db.Pool().Exec(ctx, "INSERT INTO "+cs.s.Schema()+".semroute_cache (exact, context, vec, body, model, cost, expires) VALUES ($1, $2, $3, $4, $5, $6, now() + $7::interval) "+
		"ON CONFLICT (exact) DO UPDATE SET context = EXCLUDED.context, vec = EXCLUDED.vec, body = EXCLUDED.body, model = EXCLUDED.model, cost = EXCLUDED.cost, expires = EXCLUDED.expires",
		k.Exact, k.Context, vec, e.Body, e.Model, e.Cost, fmt.Sprintf("%d milliseconds", cs.ttl.Milliseconds()))
	if rand.IntN(100) == 0 {
		cs.s.db.Pool().Exec(ctx, "DELETE FROM "+cs.s.Schema()+".semroute_cache WHERE expires < now()")
	}
}
