package feedbackpg

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/semroute/semroute/internal/postgres"
	"github.com/semroute/semroute/router/feedback"
)

// Store keeps route records (semroute_routes) and feedback
// (semroute_feedback). A batch of records is one statement: durable once
// it commits.
type Store struct{ db *postgres.DB }

// New returns db's feedback store.
func New(db *postgres.DB) *Store { return &Store{db: db} }

var _ feedback.Store = (*Store)(nil)

const routeCols = "id, at, key, intent, score, decided_by, target, model, prompt"

// Record upserts routes in one statement; within a batch the last record
// of an id wins, as it would one after the other.
func (s *Store) Record(ctx context.Context, routes []feedback.Route) error {
	last := map[string]int{}
	for i, r := range routes {
		last[r.ID] = i
	}
	n := len(last)
	ids, keys, intents, by, targets, models := make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n)
	ats, scores, prompts := make([]time.Time, 0, n), make([]float64, 0, n), make([]*string, 0, n)
	for i, r := range routes {
		if last[r.ID] != i {
			continue
		}
		ids, ats, keys, intents, scores = append(ids, r.ID), append(ats, r.At.UTC()), append(keys, r.Key), append(intents, r.Intent), append(scores, r.Score)
		by, targets, models = append(by, r.DecidedBy), append(targets, r.Target), append(models, r.Model)
		var p *string
		if r.Prompt != "" {
			p = &r.Prompt
		}
		prompts = append(prompts, p)
	}
	ctx, cancel := s.db.Ctx(ctx)
	defer cancel()
	t := s.db.Schema() + ".semroute_routes"
	_, err := s.db.Pool().Exec(ctx, "INSERT INTO "+t+" ("+routeCols+") "+
		"SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::float8[], $6::text[], $7::text[], $8::text[], $9::text[]) "+
		"ON CONFLICT (id) DO UPDATE SET at = EXCLUDED.at, key = EXCLUDED.key, intent = EXCLUDED.intent, score = EXCLUDED.score, "+
		"decided_by = EXCLUDED.decided_by, target = EXCLUDED.target, model = EXCLUDED.model, prompt = EXCLUDED.prompt",
		ids, ats, keys, intents, scores, by, targets, models, prompts)
	return postgres.Wrap("record routes", err)
}

// Answered sets the models of the requests still kept.
func (s *Store) Answered(ctx context.Context, models map[string]string) error {
	ids, ms := make([]string, 0, len(models)), make([]string, 0, len(models))
	for id, m := range models {
		ids, ms = append(ids, id), append(ms, m)
	}
	ctx, cancel := s.db.Ctx(ctx)
	defer cancel()
	t := s.db.Schema() + ".semroute_routes"
	_, err := s.db.Pool().Exec(ctx, "UPDATE "+t+" SET model = u.model FROM unnest($1::text[], $2::text[]) AS u(id, model) WHERE "+t+".id = u.id", ids, ms)
	return postgres.Wrap("record answering models", err)
}

// Route returns a request's record, or feedback.ErrUnknown.
func (s *Store) Route(ctx context.Context, id string) (feedback.Route, error) {
	ctx, cancel := s.db.Ctx(ctx)
	defer cancel()
	var r feedback.Route
	var prompt *string
	err := s.db.Pool().QueryRow(ctx, "SELECT "+routeCols+" FROM "+s.db.Schema()+".semroute_routes WHERE id = $1", id).
		Scan(&r.ID, &r.At, &r.Key, &r.Intent, &r.Score, &r.DecidedBy, &r.Target, &r.Model, &prompt)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, fmt.Errorf("%w: %s", feedback.ErrUnknown, id)
	}
	if prompt != nil {
		r.Prompt = *prompt
	}
	r.At = r.At.UTC()
	return r, postgres.Wrap("read route", err)
}

// Add inserts fb.
func (s *Store) Add(ctx context.Context, fb feedback.Feedback) error {
	route, err := json.Marshal(fb.Route)
	if err != nil {
		return err
	}
	ctx, cancel := s.db.Ctx(ctx)
	defer cancel()
	_, err = s.db.Pool().Exec(ctx, "INSERT INTO "+s.db.Schema()+".semroute_feedback (request_id, at, key, intent, rating, comment, route) VALUES ($1, $2, $3, $4, $5, $6, $7)",
		fb.RequestID, fb.At.UTC(), fb.Key, fb.Intent, fb.Rating, fb.Comment, route)
	return postgres.Wrap("add feedback", err)
}

// List returns the feedback f selects, newest first.
func (s *Store) List(ctx context.Context, f feedback.Filter) ([]feedback.Feedback, error) {
	ctx, cancel := s.db.Ctx(ctx)
	defer cancel()
	q := "SELECT request_id, at, key, intent, rating, comment, route FROM " + s.db.Schema() + ".semroute_feedback " +
		"WHERE ($1 = '' OR intent = $1 OR route->>'intent' = $1) AND ($2::timestamptz IS NULL OR at >= $2) AND ($3 = '' OR request_id = $3) " +
		"ORDER BY at DESC, n DESC"
	args := []any{f.Intent, nullTime(f.Since), f.RequestID}
	if f.Limit > 0 {
		q += " LIMIT $4"
		args = append(args, f.Limit)
	}
	rows, err := s.db.Pool().Query(ctx, q, args...)
	if err != nil {
		return nil, postgres.Wrap("list feedback", err)
	}
	defer rows.Close()
	out := []feedback.Feedback{}
	for rows.Next() {
		var fb feedback.Feedback
		var route []byte
		if err := rows.Scan(&fb.RequestID, &fb.At, &fb.Key, &fb.Intent, &fb.Rating, &fb.Comment, &route); err != nil {
			return nil, postgres.Wrap("list feedback", err)
		}
		if err := json.Unmarshal(route, &fb.Route); err != nil {
			return nil, fmt.Errorf("list feedback: the route of %s: %w", fb.RequestID, err)
		}
		fb.At, fb.Route.At = fb.At.UTC(), fb.Route.At.UTC()
		out = append(out, fb)
	}
	return out, postgres.Wrap("list feedback", rows.Err())
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// Prune deletes route records from before routes and feedback from before
// feedback; a zero time deletes nothing.
func (s *Store) Prune(ctx context.Context, routes, feedback time.Time) error {
	ctx, cancel := s.db.Ctx(ctx)
	defer cancel()
	if !routes.IsZero() {
		if _, err := s.db.Pool().Exec(ctx, "DELETE FROM "+s.db.Schema()+".semroute_routes WHERE at < $1", routes); err != nil {
			return postgres.Wrap("prune routes", err)
		}
	}
	if !feedback.IsZero() {
		if _, err := s.db.Pool().Exec(ctx, "DELETE FROM "+s.db.Schema()+".semroute_feedback WHERE at < $1", feedback); err != nil {
			return postgres.Wrap("prune feedback", err)
		}
	}
	return nil
}

// Close does nothing: the database is closed by its owner.
func (s *Store) Close() error { return nil }
