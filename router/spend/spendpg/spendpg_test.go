package spendpg_test

import (
	"sync"
	"testing"
	"time"

	"github.com/semroute/semroute/internal/postgres"
	"github.com/semroute/semroute/internal/postgres/pgtest"
	"github.com/semroute/semroute/router/spend"
	"github.com/semroute/semroute/router/spend/spendpg"
)

func TestSpendStore(t *testing.T) {
	l := spendpg.New(pgtest.Open(t, postgres.Options{}))
	day := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			team := []string{"a", "b"}[i%2]
			if err := l.Book(spend.Booking{At: day, Key: "k" + team, Team: team, Model: "fast", Intent: "x", Cost: 0.005}); err != nil {
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
	if days, err := l.Days(); err != nil || days["2026-11-29"]["intent"]["x"] < 0.999 {
		t.Errorf("days %v %v", days, err)
	}
}
