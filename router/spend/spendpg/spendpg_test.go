package spendpg_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/semroute/semroute/internal/postgres"
	"github.com/semroute/semroute/internal/postgres/pgtest"
	"github.com/semroute/semroute/router/spend"
	"github.com/semroute/semroute/router/spend/spendpg"
)

func TestSpendStore(t *testing.T) {
	db := pgtest.Open(t, postgres.Options{})
	l := spendpg.New(db)
	day := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			team := []string{"a", "b"}[i%2]
			if err := l.Book(spend.Booking{At: day, Key: "k" + team, Team: team, Model: "fast", Intent: "x", RequestID: fmt.Sprint("r", i), Cost: 0.005}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got, err := l.Spent(spend.Global, "", "monthly", day); err != nil || got < 0.999999 || got > 1.000001 {
		t.Errorf("200 concurrent bookings of 0.005: %v %v", got, err)
	}
	if got, _ := l.Spent(spend.Team, "b", "daily", day); got < 0.499999 || got > 0.500001 {
		t.Errorf("team b: %v", got)
	}
	if got, _ := l.Spent(spend.Model, "fast", "daily", day.Add(24*time.Hour)); got != 0 {
		t.Errorf("the next day: %v", got)
	}
	var ids int
	if err := db.Pool().QueryRow(t.Context(), "SELECT count(DISTINCT request_id) FROM "+db.Schema()+".semroute_spend WHERE request_id LIKE 'r%'").Scan(&ids); err != nil || ids != 200 {
		t.Errorf("%d distinct request ids booked (%v), want 200", ids, err)
	}
	if days, err := l.Days(); err != nil || days["2026-11-29"]["intent"]["x"] < 0.999 {
		t.Errorf("days %v %v", days, err)
	}
}
