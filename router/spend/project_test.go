package spend

import (
	"math"
	"testing"
	"time"
)

func TestProject(t *testing.T) {
	dec := func(day, hour, min int) time.Time { return time.Date(2026, 12, day, hour, min, 0, 0, time.UTC) }
	for _, tc := range []struct {
		name          string
		spent, limit  float64
		window        string
		now           time.Time
		wantProjected float64
		wantReaches   time.Time // zero: not before the window ends
	}{
		// December has 31 days: 10 USD in the first 10 is 1 USD a day.
		{"a month on course to stay under", 10, 50, "monthly", dec(11, 0, 0), 31, time.Time{}},
		{"a month on course to pass its limit", 10, 20, "monthly", dec(11, 0, 0), 31, dec(21, 0, 0)},
		{"a month past its limit", 60, 50, "monthly", dec(11, 0, 0), 186, dec(11, 0, 0)},
		{"a day at 0.5 USD an hour", 3, 10, "daily", dec(6, 6, 0), 12, dec(6, 20, 0)},
		// Six minutes into the month the rate is taken over an hour.
		{"the first minutes of a month", 1, 1000, "monthly", dec(1, 0, 6), 1 + 31*24 - 0.1, time.Time{}},
		{"nothing spent", 0, 10, "monthly", dec(20, 0, 0), 0, time.Time{}},
		{"no limit", 5, 0, "daily", dec(6, 12, 0), 10, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := Project(tc.spent, tc.limit, tc.window, tc.now)
			if math.Abs(p.Projected-tc.wantProjected) > 1e-6 {
				t.Errorf("projected %v, want %v", p.Projected, tc.wantProjected)
			}
			if d := p.Reaches.Sub(tc.wantReaches); d > time.Second || d < -time.Second || p.Reaches.IsZero() != tc.wantReaches.IsZero() {
				t.Errorf("reaches the limit at %v, want %v", p.Reaches, tc.wantReaches)
			}
			if !p.Start.Equal(Start(tc.window, tc.now)) || !p.End.Equal(Reset(tc.window, tc.now)) || p.Spent != tc.spent || p.Limit != tc.limit {
				t.Errorf("window %v – %v, spent %v of %v", p.Start, p.End, p.Spent, p.Limit)
			}
		})
	}
	if got := Start("monthly", dec(31, 23, 59)); !got.Equal(dec(1, 0, 0)) {
		t.Errorf("the month's start: %v", got)
	}
	if got := Start("daily", dec(31, 23, 59)); !got.Equal(dec(31, 0, 0)) {
		t.Errorf("the day's start: %v", got)
	}
}
