package spend

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/semroute/semroute/internal/durable"
	"github.com/semroute/semroute/internal/jsonlog"
)

// Booking is one request's cost.
type Booking struct {
	At     time.Time `json:"at"`
	Key    string    `json:"key,omitempty"`
	Team   string    `json:"team,omitempty"`
	Model  string    `json:"model,omitempty"`
	Intent string    `json:"intent,omitempty"`
	// RequestID is the X-Request-Id of the request that made the call.
	RequestID string  `json:"request_id,omitempty"`
	Cost      float64 `json:"cost_usd"`
	// Saved is what the request did not spend thanks to Source: the cost
	// of the answer a cache hit replayed, or what a cascade saved against
	// its strongest model (negative when an escalation paid for two
	// stages). It is summed by day and month under the dimension Saved,
	// with Source as the id.
	Saved  float64 `json:"saved_usd,omitempty"`
	Source string  `json:"source,omitempty"`
}

// Sources of a saving.
const (
	SourceCache   = "cache"
	SourceCascade = "cascade"
)

// Dimensions spend is summed over.
const (
	Global = "global"
	Key    = "key"
	Team   = "team"
	Model  = "model"
	Intent = "intent"
	// Saved sums Booking.Saved by Booking.Source; it is no budget's scope.
	Saved = "saved"
)

// Period names the daily or monthly window t falls in (UTC).
func Period(window string, t time.Time) string {
	t = t.UTC()
	if window == "monthly" {
		return t.Format("2006-01")
	}
	return t.Format("2006-01-02")
}

// Reset is when the window holding t ends.
func Reset(window string, t time.Time) time.Time {
	t = t.UTC()
	if window == "monthly" {
		return time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, time.UTC)
	}
	return time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, time.UTC)
}

// Store is where bookings are kept: the log in the data directory
// (Ledger), or PostgreSQL when replicas share one (spendpg).
type Store interface {
	// Book records a cost durably.
	Book(Booking) error
	// Spent is what dim/id spent in the window holding now.
	Spent(dim, id, window string, now time.Time) (float64, error)
	// Days reports spend by day and dimension.
	Days() (map[string]Day, error)
	Close() error
}

// Dims are a booking's ids by dimension (global's id is "").
func (b Booking) Dims() map[string]string {
	out := map[string]string{Global: ""}
	for dim, id := range map[string]string{Key: b.Key, Team: b.Team, Model: b.Model, Intent: b.Intent} {
		if id != "" {
			out[dim] = id
		}
	}
	return out
}

type bucket struct{ dim, id, period string }

// amounts are the summed cost and saving of bookings with the same day
// and ids.
type amounts struct{ cost, saved float64 }

// Ledger is safe for concurrent use.
type Ledger struct {
	mu     sync.Mutex
	log    *jsonlog.Log
	totals map[bucket]float64
	// sums is the spend by day and booking's ids, what a rewritten log
	// holds; lines counts the bookings in the log.
	sums  map[Booking]amounts
	lines int
	retry int // after a failed rewrite, the lines the next waits for
}

// compactSlack is how many bookings past twice its sums the log may hold
// before it is rewritten as the sums.
const compactSlack = 10000

// Open opens (or creates) the ledger at path and replays it; a torn last
// line is cut.
func Open(path string) (*Ledger, error) {
	l := &Ledger{totals: map[bucket]float64{}, sums: map[Booking]amounts{}}
	if err := durable.RemoveTemps(path); err != nil { // a rewrite a crash cut short
		return nil, fmt.Errorf("spend ledger: %w", err)
	}
	log, err := jsonlog.Open(path, func(body []byte) error {
		var b Booking
		if err := json.Unmarshal(body, &b); err != nil {
			return err
		}
		l.add(b)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("spend ledger: %w", err)
	}
	l.log = log
	if err := l.compactIfStale(); err != nil {
		return nil, fmt.Errorf("spend ledger: %w", err)
	}
	return l, nil
}

func (l *Ledger) add(b Booking) {
	for _, window := range []string{"daily", "monthly"} {
		p := Period(window, b.At)
		for dim, id := range b.Dims() {
			l.totals[bucket{dim, id, p}] += b.Cost
		}
		if b.Source != "" {
			l.totals[bucket{Saved, b.Source, p}] += b.Saved
		}
	}
	// The sums key on the day and the ids a total is kept for: not on
	// the request id, which is every booking's own.
	day, _ := time.Parse("2006-01-02", Period("daily", b.At))
	k := Booking{At: day, Key: b.Key, Team: b.Team, Model: b.Model, Intent: b.Intent, Source: b.Source}
	sum := l.sums[k]
	sum.cost += b.Cost
	sum.saved += b.Saved
	l.sums[k] = sum
	l.lines++
}

// compactIfStale rewrites the log as one booking per day and ids (key,
// team, model, intent, saving's source), the sum of that day's, once the
// log holds many
// more bookings than that: one a request, it would otherwise grow by the
// traffic and take longer to replay at every start. Every total the
// ledger reports stays the same (up to the order floats are added in).
func (l *Ledger) compactIfStale() error {
	if l.lines <= 2*len(l.sums)+compactSlack || l.lines < l.retry {
		return nil
	}
	err := l.log.Replace(func(add func(any) error) error {
		for b, sum := range l.sums {
			b.Cost, b.Saved = sum.cost, sum.saved
			if err := add(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		l.retry = l.lines + compactSlack
		return err
	}
	l.lines = len(l.sums)
	return nil
}

// Book records a cost durably; when it returns nil the spend survives a
// crash.
func (l *Ledger) Book(b Booking) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.log.Append(b); err != nil {
		return fmt.Errorf("spend: %w", err)
	}
	l.add(b)
	// The booking is durable and counted; a rewrite that fails leaves the
	// old log, which holds it, in use.
	l.compactIfStale()
	return nil
}

// Spent is what dim/id spent in the window holding now.
func (l *Ledger) Spent(dim, id, window string, now time.Time) (float64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.totals[bucket{dim, id, Period(window, now)}], nil
}

// Day is one day's spend by dimension and id.
type Day map[string]map[string]float64

// Days reports spend by day (YYYY-MM-DD) from the daily totals.
func (l *Ledger) Days() (map[string]Day, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]Day{}
	for b, v := range l.totals {
		if len(b.period) != len("2006-01-02") {
			continue
		}
		d := out[b.period]
		if d == nil {
			d = Day{}
			out[b.period] = d
		}
		if d[b.dim] == nil {
			d[b.dim] = map[string]float64{}
		}
		id := b.id
		if b.dim == Global {
			id = "total"
		}
		d[b.dim][id] = v
	}
	return out, nil
}

// Close closes the log.
func (l *Ledger) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.log.Close()
}
