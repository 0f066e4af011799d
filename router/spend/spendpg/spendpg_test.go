package spendpg_test

import (
	"fmt"
	"math"
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

// TestSavings: what a cache hit or a cascade saved is kept with its
// booking and summed by day and month under dim saved, by source, and is
// not counted as spend.
func TestSavings(t *testing.T) {
	db := pgtest.Open(t, postgres.Options{})
	l := spendpg.New(db)
	day := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	for _, b := range []spend.Booking{
		{At: day, Key: "app", Model: "strong", Intent: "weather", RequestID: "s1", Cost: 0.002},
		{At: day, Key: "app", Model: "strong", Intent: "weather", RequestID: "s2", Saved: 0.002, Source: spend.SourceCache},
		{At: day, Key: "app", Model: "fast", RequestID: "s3", Cost: 0.0002},
		{At: day, Key: "app", Model: "fast", RequestID: "s3", Saved: 0.0018, Source: spend.SourceCascade},
		{At: day.Add(24 * time.Hour), Model: "strong", RequestID: "s4", Saved: -0.0002, Source: spend.SourceCascade},
	} {
		if err := l.Book(b); err != nil {
			t.Fatal(err)
		}
	}
	days, err := l.Days()
	if err != nil {
		t.Fatal(err)
	}
	d := days["2026-12-03"]
	if math.Abs(d[spend.Saved][spend.SourceCache]-0.002) > 1e-12 || math.Abs(d[spend.Saved][spend.SourceCascade]-0.0018) > 1e-12 {
		t.Errorf("saved on the 3rd: %v", d[spend.Saved])
	}
	if math.Abs(d[spend.Global]["total"]-0.0022) > 1e-12 {
		t.Errorf("a saving counted as spend: %v", d)
	}
	if got, _ := l.Spent(spend.Saved, spend.SourceCascade, "monthly", day); math.Abs(got-0.0016) > 1e-12 {
		t.Errorf("December's cascade savings %v, want 0.0016", got)
	}
	var saved float64
	var source string
	if err := db.Pool().QueryRow(t.Context(), "SELECT saved, source FROM "+db.Schema()+".semroute_spend WHERE request_id = 's2'").Scan(&saved, &source); err != nil || saved != 0.002 || source != "cache" {
		t.Errorf("the cache hit's row: saved %v source %q (%v)", saved, source, err)
	}
}
