package spend

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func TestConcurrentBookingsAreExactAndDurable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spend.log")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	for i := range 1000 {
		wg.Go(func() {
			team := "a"
			if i%2 == 1 {
				team = "b"
			}
			if err := l.Book(Booking{At: day, Key: "k" + team, Team: team, Model: "fast", Cost: 0.001}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	check := func(l *Ledger) {
		t.Helper()
		if got, _ := l.Spent(Global, "", "daily", day); got < 0.999999 || got > 1.000001 {
			t.Errorf("1,000 bookings of 0.001 add up to %v", got)
		}
		if got, _ := l.Spent(Team, "a", "monthly", day); got < 0.4999999 || got > 0.5000001 {
			t.Errorf("team a: %v", got)
		}
		if got, _ := l.Spent(Model, "fast", "daily", day.Add(24*time.Hour)); got != 0 {
			t.Errorf("the next day starts from %v, want 0 (stale spend)", got)
		}
	}
	check(l)
	l.Close()
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`0badcafe {"at":"2026`) // torn by a crash
	f.Close()
	again, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	check(again) // a restart loses no booked spend
	if days, _ := again.Days(); days["2026-11-29"]["key"]["ka"] < 0.4999 {
		t.Errorf("days %v", days)
	}
}

func TestWindows(t *testing.T) {
	at := time.Date(2026, 12, 31, 23, 30, 0, 0, time.UTC)
	if Period("daily", at) != "2026-12-31" || Period("monthly", at) != "2026-12" {
		t.Error("period")
	}
	if !Reset("daily", at).Equal(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)) || !Reset("monthly", at).Equal(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Error("reset")
	}
}

// TestLogIsRewrittenAsDailySums: a ledger of many bookings over a few days
// and ids is rewritten as one booking per day and ids, while it is written
// and when it is opened, and reports the same spend before and after.
func TestLogIsRewrittenAsDailySums(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spend.log")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 28, 22, 0, 0, 0, time.UTC)
	n := compactSlack + 500
	for i := range n {
		b := Booking{At: start.Add(time.Duration(i) * 20 * time.Second), Key: []string{"k1", "k2"}[i%2], Team: "t", Model: []string{"fast", "strong", "x"}[i%3],
			RequestID: fmt.Sprint("req-", i), Cost: 0.001}
		if i%5 == 0 { // a cache hit: nothing spent, its answer's cost saved
			b.Cost, b.Saved, b.Source = 0, 0.002, SourceCache
		}
		if err := l.Book(b); err != nil {
			t.Fatal(err)
		}
	}
	before, _ := l.Days()
	nov, _ := l.Spent(Global, "", "monthly", start)
	// Without the rewrite: about 1 MB, a line of about 95 bytes a booking.
	// With it: the sums, then the bookings since the rewrite.
	if st, _ := os.Stat(path); st.Size() > 100_000 {
		t.Errorf("after %d bookings on 4 days and 6 id combinations the log has %d bytes", n, st.Size())
	}
	l.Book(Booking{At: start, Key: "k3", Cost: 1}) // after the rewrite, in the new log
	l.Close()
	again, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := again.Days()
	if got := after["2026-11-28"]["key"]["k3"]; got != 1 {
		t.Errorf("the booking after the rewrite: %v", got)
	}
	delete(after["2026-11-28"]["key"], "k3")
	after["2026-11-28"]["global"]["total"] -= 1
	for day, dims := range before {
		for dim, ids := range dims {
			for id, v := range ids {
				if w := after[day][dim][id]; math.Abs(w-v) > 1e-9 {
					t.Errorf("%s %s %s: %v before the rewrite, %v after", day, dim, id, v, w)
				}
			}
		}
	}
	if got, _ := again.Spent(Global, "", "monthly", start); math.Abs(got-1-nov) > 1e-9 {
		t.Errorf("November: %v after the rewrite, %v before", got-1, nov)
	}
}

// TestSavings: what cache hits and cascades saved is summed by day and
// month under the dimension saved, by source, beside the spend, and
// survives a restart.
func TestSavings(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spend.log")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	for _, b := range []Booking{
		{At: day, Key: "app", Model: "strong", Intent: "weather", RequestID: "r1", Cost: 0.002},
		{At: day, Key: "app", Model: "strong", Intent: "weather", RequestID: "r2", Saved: 0.002, Source: SourceCache},
		{At: day, Key: "app", Model: "fast", Intent: "billing", RequestID: "r3", Cost: 0.0002},
		{At: day, Key: "app", Model: "fast", Intent: "billing", RequestID: "r3", Saved: 0.0018, Source: SourceCascade},
		{At: day.Add(24 * time.Hour), Key: "app", Model: "strong", RequestID: "r4", Saved: -0.0002, Source: SourceCascade},
	} {
		if err := l.Book(b); err != nil {
			t.Fatal(err)
		}
	}
	check := func(l *Ledger) {
		t.Helper()
		days, _ := l.Days()
		d := days["2026-12-03"]
		if math.Abs(d[Saved][SourceCache]-0.002) > 1e-12 || math.Abs(d[Saved][SourceCascade]-0.0018) > 1e-12 {
			t.Errorf("saved on the 3rd: %v", d[Saved])
		}
		if math.Abs(d[Global]["total"]-0.0022) > 1e-12 || math.Abs(d[Key]["app"]-0.0022) > 1e-12 {
			t.Errorf("a saving counted as spend: %v", d)
		}
		if got := days["2026-12-04"][Saved][SourceCascade]; math.Abs(got+0.0002) > 1e-12 {
			t.Errorf("a cascade that paid for two stages: saved %v, want -0.0002", got)
		}
		if got, _ := l.Spent(Saved, SourceCascade, "monthly", day); math.Abs(got-0.0016) > 1e-12 {
			t.Errorf("December's cascade savings %v, want 0.0016", got)
		}
	}
	check(l)
	l.Close()
	again, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	check(again)
}
