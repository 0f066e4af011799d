package spendpg

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/semroute/semroute/internal/postgres"
	"github.com/semroute/semroute/router/spend"
)

// Store keeps the spend ledger in PostgreSQL: each booking and its
// running totals in one transaction, so replicas share one exact ledger.
type Store struct{ db *postgres.DB }

// New returns the spend ledger of db.
func New(db *postgres.DB) *Store { return &Store{db: db} }

var _ spend.Store = (*Store)(nil)

// Book inserts the booking and adds it to every total it counts in.
func (l *Store) Book(b spend.Booking) error {
	ctx, cancel := l.db.Ctx(context.Background())
	defer cancel()
	err := pgx.BeginFunc(ctx, l.db.Pool(), func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO "+l.db.Schema()+".semroute_spend (at, key, team, model, intent, request_id, cost, saved, source) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
			b.At, b.Key, b.Team, b.Model, b.Intent, b.RequestID, b.Cost, b.Saved, b.Source); err != nil {
			return err
		}
		// Rows in one fixed order, so that concurrent bookings take their
		// row locks in the same order and never deadlock.
		type row struct {
			dim, id, period string
			v               float64
		}
		var rows []row
		for _, window := range []string{"daily", "monthly"} {
			p := spend.Period(window, b.At)
			for dim, id := range b.Dims() {
				rows = append(rows, row{dim, id, p, b.Cost})
			}
			if b.Source != "" {
				rows = append(rows, row{spend.Saved, b.Source, p, b.Saved})
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
			args = append(args, r.dim, r.id, r.period, r.v)
		}
		_, err := tx.Exec(ctx, "INSERT INTO "+l.db.Schema()+".semroute_spend_totals (dim, id, period, cost) VALUES "+strings.Join(vals, ", ")+
			" ON CONFLICT (dim, id, period) DO UPDATE SET cost = semroute_spend_totals.cost + EXCLUDED.cost", args...)
		return err
	})
	return postgres.Wrap("book spend", err)
}

// Spent reads a running total.
func (l *Store) Spent(dim, id, window string, now time.Time) (float64, error) {
	ctx, cancel := l.db.Ctx(context.Background())
	defer cancel()
	var v float64
	err := l.db.Pool().QueryRow(ctx, "SELECT cost FROM "+l.db.Schema()+".semroute_spend_totals WHERE dim = $1 AND id = $2 AND period = $3",
		dim, id, spend.Period(window, now)).Scan(&v)
	if err == pgx.ErrNoRows {
		return 0, nil
	}
	return v, postgres.Wrap("spent", err)
}

// Days reports the daily totals.
func (l *Store) Days() (map[string]spend.Day, error) {
	ctx, cancel := l.db.Ctx(context.Background())
	defer cancel()
	rows, err := l.db.Pool().Query(ctx, "SELECT dim, id, period, cost FROM "+l.db.Schema()+".semroute_spend_totals WHERE length(period) = 10")
	if err != nil {
		return nil, postgres.Wrap("spend days", err)
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

// Close does nothing: the database is closed by its owner.
func (l *Store) Close() error { return nil }
