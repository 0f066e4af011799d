package spend

import (
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
