package suggest

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/semroute/semroute/internal/jsonlog"
)

// Log keeps suggestions in an append-only log (internal/jsonlog): one
// record a sighting or removal, fsynced before Add or Remove returns. It
// is rewritten with one record a live suggestion once it holds many more
// records than those. It is safe for concurrent use.
type Log struct {
	mu      sync.Mutex
	log     *jsonlog.Log
	byID    map[string]*Suggestion
	records int // in the log
}

var _ Store = (*Log)(nil)

// event is one record of the log: a sighting (add, with its time) or a
// removal; put, written by a rewrite, is a whole suggestion.
type event struct {
	Op     string      `json:"op"` // add, remove, put
	ID     string      `json:"id,omitempty"`
	Intent string      `json:"intent,omitempty"`
	Text   string      `json:"text,omitempty"`
	At     time.Time   `json:"at,omitzero"`
	Put    *Suggestion `json:"put,omitempty"`
}

// Open opens (or creates) the log at path and replays it.
func Open(path string) (*Log, error) {
	l := &Log{byID: map[string]*Suggestion{}}
	lg, err := jsonlog.Open(path, func(body []byte) error {
		var ev event
		if err := json.Unmarshal(body, &ev); err != nil {
			return err
		}
		l.apply(ev)
		l.records++
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("open suggestions: %w", err)
	}
	l.log = lg
	return l, nil
}

func (l *Log) apply(ev event) {
	switch ev.Op {
	case "add":
		id := ID(ev.Intent, ev.Text)
		if s := l.byID[id]; s != nil {
			s.Count++
			if ev.At.After(s.LastSeen) {
				s.LastSeen = ev.At
			}
			return
		}
		l.byID[id] = &Suggestion{ID: id, Intent: ev.Intent, Text: ev.Text, Count: 1, FirstSeen: ev.At, LastSeen: ev.At}
	case "put":
		if ev.Put != nil {
			s := *ev.Put
			l.byID[s.ID] = &s
		}
	case "remove":
		delete(l.byID, ev.ID)
	}
}

// write appends ev durably and applies it; the caller holds mu.
func (l *Log) write(ev event) error {
	if err := l.log.Append(ev); err != nil {
		return fmt.Errorf("write suggestion: %w", err)
	}
	l.records++
	l.apply(ev)
	return nil
}

// Add records a sighting, then drops the least recently seen past limit.
func (l *Log) Add(intent, text string, at time.Time, limit int) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.write(event{Op: "add", Intent: intent, Text: text, At: at.UTC()}); err != nil {
		return err
	}
	for limit > 0 && len(l.byID) > limit {
		var oldest *Suggestion
		for _, s := range l.byID {
			if oldest == nil || s.LastSeen.Before(oldest.LastSeen) {
				oldest = s
			}
		}
		if err := l.write(event{Op: "remove", ID: oldest.ID}); err != nil {
			return err
		}
	}
	return l.compact()
}

// compact rewrites the log with one record a suggestion once it holds
// more than four times as many records and 1,024 more: a prompt judged
// again and again adds a record each time.
func (l *Log) compact() error {
	if l.records <= 4*len(l.byID)+1024 {
		return nil
	}
	live := make([]Suggestion, 0, len(l.byID))
	for _, s := range l.byID {
		live = append(live, *s)
	}
	err := l.log.Replace(func(add func(v any) error) error {
		for i := range live {
			if err := add(event{Op: "put", Put: &live[i]}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("rewrite suggestions: %w", err)
	}
	l.records = len(live)
	return nil
}

// List returns the suggestions, most often seen first.
func (l *Log) List() ([]Suggestion, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Suggestion, 0, len(l.byID))
	for _, s := range l.byID {
		out = append(out, *s)
	}
	slices.SortFunc(out, less)
	return out, nil
}

// Get returns a suggestion, or ErrNotFound.
func (l *Log) Get(id string) (Suggestion, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ok := l.byID[id]
	if !ok {
		return Suggestion{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return *s, nil
}

// Remove drops a suggestion, durably.
func (l *Log) Remove(id string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.byID[id]; !ok {
		return fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return l.write(event{Op: "remove", ID: id})
}

// Close closes the log.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.log.Close()
}
