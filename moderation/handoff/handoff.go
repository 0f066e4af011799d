// Package handoff is the durable queue of tickets for people: a prompt
// routed to `target: {handoff: QUEUE}` (or the moderation action handoff)
// becomes a ticket that an agent claims, answers and resolves. It lives
// under moderation because moderation's handoff action is its other door;
// intents reach it too.
//
// Tickets are kept in an append-only log in the data directory: one event
// a line, each with a CRC-32C, written and fsynced before the caller is
// answered. Opening the log replays it; a torn last line (a crash in the
// middle of a write) is cut off, so a kill -9 at any moment loses no
// acknowledged ticket and leaves a log that opens.
package handoff

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/semroute/semroute/internal/jsonlog"
)

// States of a ticket.
const (
	StateOpen     = "open"
	StateClaimed  = "claimed"
	StateResolved = "resolved"
)

// Message is one turn of the conversation handed off.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Decision is why the prompt was handed off.
type Decision struct {
	Intent string  `json:"intent,omitempty"`
	Score  float64 `json:"score,omitempty"`
	Reason string  `json:"reason,omitempty"` // e.g. a moderation category
	// RequestID is the X-Request-Id of the request handed off.
	RequestID string `json:"request_id,omitempty"`
}

// Ticket is one handed-off conversation.
type Ticket struct {
	ID           string    `json:"id"`
	Queue        string    `json:"queue"`
	Conversation []Message `json:"conversation"`
	Decision     Decision  `json:"decision"`
	Created      time.Time `json:"created"`
	State        string    `json:"state"`
	Agent        string    `json:"agent,omitempty"`
	Reply        string    `json:"reply,omitempty"`
	Updated      time.Time `json:"updated"`
}

// event is one line of the log.
type event struct {
	Op     string    `json:"op"` // create, claim, reply, resolve
	Ticket *Ticket   `json:"ticket,omitempty"`
	ID     string    `json:"id,omitempty"`
	Agent  string    `json:"agent,omitempty"`
	Text   string    `json:"text,omitempty"`
	At     time.Time `json:"at"`
}

// Queue is where tickets are kept: the log in the data directory (Store),
// or PostgreSQL when replicas share one (handoffpg).
type Queue interface {
	// Create makes a ticket; when it returns nil the ticket is durable.
	Create(queue string, conv []Message, d Decision) (Ticket, error)
	Claim(id, agent string) (Ticket, error)
	Reply(id, agent, text string) (Ticket, error)
	Resolve(id string) (Ticket, error)
	Get(id string) (Ticket, error)
	List(queue, state string) ([]Ticket, error)
	OldestOpen(now time.Time) (map[string]time.Duration, error)
	// SetOnCreate sets a function called (in its own goroutine) with each
	// new ticket once it is durable.
	SetOnCreate(func(Ticket))
	Close() error
}

// NewID makes a ticket id: time-ordered, with 48 random bits.
func NewID() string { return newID() }

// Store is the ticket log and its in-memory view. It is safe for
// concurrent use.
type Store struct {
	mu       sync.Mutex
	log      *jsonlog.Log
	tickets  map[string]*Ticket
	order    []string
	onCreate func(Ticket)
}

// SetOnCreate sets the function called with each new ticket.
func (s *Store) SetOnCreate(f func(Ticket)) { s.onCreate = f }

// Open opens (or creates) the log at path and replays it.
func Open(path string) (*Store, error) {
	s := &Store{tickets: map[string]*Ticket{}}
	l, err := jsonlog.Open(path, func(body []byte) error {
		var ev event
		if err := json.Unmarshal(body, &ev); err != nil {
			return err
		}
		s.apply(ev)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("handoff log: %w", err)
	}
	s.log = l
	return s, nil
}

func (s *Store) apply(ev event) {
	if ev.Op == "create" && ev.Ticket != nil {
		t := *ev.Ticket
		if _, dup := s.tickets[t.ID]; !dup {
			s.order = append(s.order, t.ID)
		}
		s.tickets[t.ID] = &t
		return
	}
	t := s.tickets[ev.ID]
	if t == nil {
		return
	}
	t.Updated = ev.At
	switch ev.Op {
	case "claim":
		t.State, t.Agent = StateClaimed, ev.Agent
	case "reply":
		t.Reply = ev.Text
		if ev.Agent != "" {
			t.Agent = ev.Agent
		}
	case "resolve":
		t.State = StateResolved
	}
}

// append writes one event durably, then applies it; the caller holds mu.
func (s *Store) append(ev event) error {
	if err := s.log.Append(ev); err != nil {
		return fmt.Errorf("handoff: %w", err)
	}
	s.apply(ev)
	return nil
}

func newID() string {
	var b [6]byte
	rand.Read(b[:])
	return fmt.Sprintf("T%s-%s", strconv.FormatInt(time.Now().UnixMilli(), 36), hex.EncodeToString(b[:]))
}

// Create makes a ticket; when it returns nil the ticket is on disk.
func (s *Store) Create(queue string, conv []Message, d Decision) (Ticket, error) {
	now := time.Now().UTC()
	t := Ticket{ID: newID(), Queue: queue, Conversation: conv, Decision: d, Created: now, Updated: now, State: StateOpen}
	s.mu.Lock()
	err := s.append(event{Op: "create", Ticket: &t, At: now})
	s.mu.Unlock()
	if err != nil {
		return Ticket{}, err
	}
	if s.onCreate != nil {
		go s.onCreate(t)
	}
	return t, nil
}

// ErrNotFound is returned for an unknown ticket id; ErrState for a change
// the ticket's state does not allow.
var (
	ErrNotFound = errors.New("no such ticket")
	ErrState    = errors.New("the ticket's state does not allow this")
)

func (s *Store) change(id string, ev event, allowed ...string) (Ticket, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tickets[id]
	if t == nil {
		return Ticket{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if !slices.Contains(allowed, t.State) {
		return Ticket{}, fmt.Errorf("%w: ticket %s is %s", ErrState, id, t.State)
	}
	ev.ID, ev.At = id, time.Now().UTC()
	if err := s.append(ev); err != nil {
		return Ticket{}, err
	}
	return *t, nil
}

// Claim assigns an open ticket to an agent.
func (s *Store) Claim(id, agent string) (Ticket, error) {
	return s.change(id, event{Op: "claim", Agent: agent}, StateOpen)
}

// Reply stores the agent's answer, which the client can fetch.
func (s *Store) Reply(id, agent, text string) (Ticket, error) {
	return s.change(id, event{Op: "reply", Agent: agent, Text: text}, StateOpen, StateClaimed)
}

// Resolve closes a ticket.
func (s *Store) Resolve(id string) (Ticket, error) {
	return s.change(id, event{Op: "resolve"}, StateOpen, StateClaimed)
}

// Get returns a ticket, or ErrNotFound.
func (s *Store) Get(id string) (Ticket, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tickets[id]
	if !ok {
		return Ticket{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return *t, nil
}

// List returns tickets, oldest first, filtered by queue and state (empty:
// any).
func (s *Store) List(queue, state string) ([]Ticket, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []Ticket{}
	for _, id := range s.order {
		t := s.tickets[id]
		if (queue == "" || t.Queue == queue) && (state == "" || t.State == state) {
			out = append(out, *t)
		}
	}
	return out, nil
}

// OldestOpen is the age of the oldest open ticket of each queue.
func (s *Store) OldestOpen(now time.Time) (map[string]time.Duration, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]time.Duration{}
	for _, t := range s.tickets {
		if t.State == StateOpen {
			if age := now.Sub(t.Created); age > out[t.Queue] {
				out[t.Queue] = age
			}
		}
	}
	return out, nil
}

// Close closes the log.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.Close()
}
