package handoffpg

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/semroute/semroute/internal/postgres"
	"github.com/semroute/semroute/moderation/handoff"
)

// Queue keeps handoff tickets in PostgreSQL, so that every replica
// serves the same queue. A ticket is durable once its INSERT commits.
type Queue struct {
	db       *postgres.DB
	onCreate func(handoff.Ticket)
}

// New returns the ticket queue of db.
func New(db *postgres.DB) *Queue { return &Queue{db: db} }

var _ handoff.Queue = (*Queue)(nil)

// SetOnCreate sets the function called with each new ticket.
func (q *Queue) SetOnCreate(f func(handoff.Ticket)) { q.onCreate = f }

// Close does nothing: the database is closed by its owner.
func (q *Queue) Close() error { return nil }

const ticketCols = "id, queue, state, agent, reply, conversation, decision, created, updated"

func scanTicket(row pgx.Row) (handoff.Ticket, error) {
	var t handoff.Ticket
	var conv, dec []byte
	if err := row.Scan(&t.ID, &t.Queue, &t.State, &t.Agent, &t.Reply, &conv, &dec, &t.Created, &t.Updated); err != nil {
		return t, err
	}
	json.Unmarshal(conv, &t.Conversation)
	json.Unmarshal(dec, &t.Decision)
	t.Created, t.Updated = t.Created.UTC(), t.Updated.UTC()
	return t, nil
}

// Create inserts a ticket.
func (q *Queue) Create(queue string, conv []handoff.Message, d handoff.Decision) (handoff.Ticket, error) {
	ctx, cancel := q.db.Ctx(context.Background())
	defer cancel()
	now := time.Now().UTC().Truncate(time.Microsecond)
	t := handoff.Ticket{ID: handoff.NewID(), Queue: queue, Conversation: conv, Decision: d, Created: now, Updated: now, State: handoff.StateOpen}
	cj, _ := json.Marshal(conv)
	dj, _ := json.Marshal(d)
	_, err := q.db.Pool().Exec(ctx, "INSERT INTO "+q.db.Schema()+".semroute_tickets ("+ticketCols+") VALUES ($1, $2, $3, '', '', $4, $5, $6, $6)",
		t.ID, t.Queue, t.State, cj, dj, now)
	if err != nil {
		return handoff.Ticket{}, postgres.Wrap("create ticket", err)
	}
	if q.onCreate != nil {
		go q.onCreate(t)
	}
	return t, nil
}

// change updates a ticket whose state is one of from, in one statement.
func (q *Queue) change(id, set string, args []any, from ...string) (handoff.Ticket, error) {
	ctx, cancel := q.db.Ctx(context.Background())
	defer cancel()
	args = append([]any{id, from}, args...)
	t, err := scanTicket(q.db.Pool().QueryRow(ctx, "UPDATE "+q.db.Schema()+".semroute_tickets SET "+set+", updated = now() WHERE id = $1 AND state = ANY($2) RETURNING "+ticketCols, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		if _, gerr := q.Get(id); gerr != nil {
			return handoff.Ticket{}, gerr
		}
		return handoff.Ticket{}, fmt.Errorf("%w: ticket %s", handoff.ErrState, id)
	}
	return t, postgres.Wrap("update ticket", err)
}

func (q *Queue) Claim(id, agent string) (handoff.Ticket, error) {
	return q.change(id, "state = 'claimed', agent = $3", []any{agent}, handoff.StateOpen)
}

func (q *Queue) Reply(id, agent, text string) (handoff.Ticket, error) {
	return q.change(id, "reply = $3, agent = CASE WHEN $4 = '' THEN agent ELSE $4 END", []any{text, agent}, handoff.StateOpen, handoff.StateClaimed)
}

func (q *Queue) Resolve(id string) (handoff.Ticket, error) {
	return q.change(id, "state = 'resolved'", nil, handoff.StateOpen, handoff.StateClaimed)
}

// Get returns a ticket, or handoff.ErrNotFound.
func (q *Queue) Get(id string) (handoff.Ticket, error) {
	ctx, cancel := q.db.Ctx(context.Background())
	defer cancel()
	t, err := scanTicket(q.db.Pool().QueryRow(ctx, "SELECT "+ticketCols+" FROM "+q.db.Schema()+".semroute_tickets WHERE id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return t, fmt.Errorf("%w: %s", handoff.ErrNotFound, id)
	}
	return t, postgres.Wrap("get ticket", err)
}

// List returns tickets, oldest first, by queue and state (empty: any).
func (q *Queue) List(queue, state string) ([]handoff.Ticket, error) {
	ctx, cancel := q.db.Ctx(context.Background())
	defer cancel()
	rows, err := q.db.Pool().Query(ctx, "SELECT "+ticketCols+" FROM "+q.db.Schema()+".semroute_tickets WHERE ($1 = '' OR queue = $1) AND ($2 = '' OR state = $2) ORDER BY created, id", queue, state)
	if err != nil {
		return nil, postgres.Wrap("list tickets", err)
	}
	defer rows.Close()
	out := []handoff.Ticket{}
	for rows.Next() {
		t, err := scanTicket(rows)
		if err != nil {
			return nil, postgres.Wrap("list tickets", err)
		}
		out = append(out, t)
	}
	return out, postgres.Wrap("list tickets", rows.Err())
}

// OldestOpen is the age of each queue's oldest open ticket.
func (q *Queue) OldestOpen(now time.Time) (map[string]time.Duration, error) {
	ctx, cancel := q.db.Ctx(context.Background())
	defer cancel()
	rows, err := q.db.Pool().Query(ctx, "SELECT queue, min(created) FROM "+q.db.Schema()+".semroute_tickets WHERE state = 'open' GROUP BY queue")
	if err != nil {
		return nil, postgres.Wrap("oldest open", err)
	}
	defer rows.Close()
	out := map[string]time.Duration{}
	for rows.Next() {
		var queue string
		var t time.Time
		if err := rows.Scan(&queue, &t); err != nil {
			return nil, err
		}
		out[queue] = now.Sub(t)
	}
	return out, rows.Err()
}
