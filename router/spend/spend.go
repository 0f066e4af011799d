// Package spend is the ledger of what requests cost: each booking (time,
// key, team, model, intent, USD) is appended to a log with a CRC-32C and
// fsynced before the answer goes out, and summed in memory by day and
// month for every key, team, model, intent and overall. Bookings hold a
// mutex, so concurrent requests book exactly their summed cost.
package spend

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// Booking is one request's cost.
type Booking struct {
	At     time.Time `json:"at"`
	Key    string    `json:"key,omitempty"`
	Team   string    `json:"team,omitempty"`
	Model  string    `json:"model,omitempty"`
	Intent string    `json:"intent,omitempty"`
	Cost   float64   `json:"cost_usd"`
}

// Dimensions spend is summed over.
const (
	Global = "global"
	Key    = "key"
	Team   = "team"
	Model  = "model"
	Intent = "intent"
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
// (Ledger), or PostgreSQL when replicas share one (index/pgvector).
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

// Ledger is safe for concurrent use.
type Ledger struct {
	mu     sync.Mutex
	f      *os.File
	totals map[bucket]float64
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Open opens (or creates) the ledger at path and replays it; a torn last
// line is cut.
func Open(path string) (*Ledger, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	l := &Ledger{f: f, totals: map[bucket]float64{}}
	br := bufio.NewReader(f)
	var off, good int64
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if len(b) == 0 && errors.Is(err, io.EOF) {
			break
		}
		off += int64(len(b))
		if err != nil {
			break // torn
		}
		sum, body, ok := bytes.Cut(bytes.TrimSuffix(b, []byte("\n")), []byte(" "))
		want, perr := strconv.ParseUint(string(sum), 16, 32)
		var bk Booking
		if !ok || perr != nil || uint32(want) != crc32.Checksum(body, castagnoli) || json.Unmarshal(body, &bk) != nil {
			if _, rest := br.Peek(1); rest == nil {
				f.Close()
				return nil, fmt.Errorf("spend ledger %s: line %d is damaged and more follow it", path, line)
			}
			break
		}
		l.add(bk)
		good = off
	}
	if err := f.Truncate(good); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return l, nil
}

func (l *Ledger) add(b Booking) {
	for _, window := range []string{"daily", "monthly"} {
		p := Period(window, b.At)
		for dim, id := range b.Dims() {
			l.totals[bucket{dim, id, p}] += b.Cost
		}
	}
}

// Book records a cost durably; when it returns nil the spend survives a
// crash.
func (l *Ledger) Book(b Booking) error {
	body, err := json.Marshal(b)
	if err != nil {
		return err
	}
	line := fmt.Sprintf("%08x %s\n", crc32.Checksum(body, castagnoli), body)
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.f.WriteString(line); err != nil {
		return fmt.Errorf("spend: write: %w", err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("spend: fsync: %w", err)
	}
	l.add(b)
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
	return l.f.Close()
}
