package spend

import "time"

// Start is when the daily or monthly window holding t began (UTC).
func Start(window string, t time.Time) time.Time {
	t = t.UTC()
	if window == "monthly" {
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// ProjectionRule says how Project extrapolates, in the words /v1/spend
// and the dashboard show.
const ProjectionRule = "linear: the spend so far, at the rate it came in since the window began " +
	"(over at least one hour), continued to the window's end"

// minElapsed is the least time the rate is taken over: a few cents booked
// in the first minute of a month say little about the month.
const minElapsed = time.Hour

// Projection is a budget's window extrapolated from its spend so far.
type Projection struct {
	Start, End time.Time
	Spent      float64
	Limit      float64
	// Projected is the spend expected at End.
	Projected float64
	// Reaches is when the spend is expected to reach Limit: now when it
	// has, zero when not before End.
	Reaches time.Time
}

// Project extrapolates the window holding now linearly: the spend so far
// came in at spent ÷ elapsed (elapsed at least an hour) and keeps coming
// in at that rate until the window ends.
func Project(spent, limit float64, window string, now time.Time) Projection {
	now = now.UTC()
	p := Projection{Start: Start(window, now), End: Reset(window, now), Spent: spent, Limit: limit, Projected: spent}
	elapsed := max(now.Sub(p.Start), minElapsed)
	rate := spent / elapsed.Seconds() // USD a second
	if rate > 0 {
		p.Projected = spent + rate*p.End.Sub(now).Seconds()
	}
	switch {
	case limit <= 0:
	case spent >= limit:
		p.Reaches = now
	case rate > 0:
		// To the second: the float division leaves 09:59:59.999 for 10:00.
		at := now.Add(time.Duration((limit - spent) / rate * float64(time.Second))).Round(time.Second)
		if at.Before(p.End) {
			p.Reaches = at
		}
	}
	return p
}
