package suggestpg

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/semroute/semroute/internal/postgres"
	"github.com/semroute/semroute/router/judge/suggest"
)

// Store keeps the routing judge's suggested utterances in PostgreSQL,
// shared by replicas. A sighting is durable once its transaction commits.
type Store struct{ db *postgres.DB }

// New returns db's suggestions.
func New(db *postgres.DB) *Store { return &Store{db: db} }

var _ suggest.Store = (*Store)(nil)

const suggestionCols = "id, intent, text, count, first_seen, last_seen"

// Add inserts a suggestion or counts one more sighting, then drops the
// least recently seen past limit, in one transaction.
func (ss *Store) Add(intent, text string, at time.Time, limit int) error {
	ctx, cancel := ss.db.Ctx(context.Background())
	defer cancel()
	t := ss.db.Schema() + ".semroute_suggestions"
	err := pgx.BeginFunc(ctx, ss.db.Pool(), func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO "+t+" ("+suggestionCols+") VALUES ($1, $2, $3, 1, $4, $4) "+
			"ON CONFLICT (id) DO UPDATE SET count = "+t+".count + 1, last_seen = greatest("+t+".last_seen, EXCLUDED.last_seen)",
			suggest.ID(intent, text), intent, text, at.UTC()); err != nil {
			return err
		}
		if limit <= 0 {
			return nil
		}
		_, err := tx.Exec(ctx, "DELETE FROM "+t+" WHERE id IN (SELECT id FROM "+t+" ORDER BY last_seen DESC, id OFFSET $1)", limit)
		return err
	})
	return postgres.Wrap("add suggestion", err)
}

func scanSuggestion(row pgx.Row) (suggest.Suggestion, error) {
	var s suggest.Suggestion
	err := row.Scan(&s.ID, &s.Intent, &s.Text, &s.Count, &s.FirstSeen, &s.LastSeen)
	s.FirstSeen, s.LastSeen = s.FirstSeen.UTC(), s.LastSeen.UTC()
	return s, err
}

// List returns the suggestions, most often seen first.
func (ss *Store) List() ([]suggest.Suggestion, error) {
	ctx, cancel := ss.db.Ctx(context.Background())
	defer cancel()
	rows, err := ss.db.Pool().Query(ctx, "SELECT "+suggestionCols+" FROM "+ss.db.Schema()+".semroute_suggestions ORDER BY count DESC, last_seen DESC, id")
	if err != nil {
		return nil, postgres.Wrap("list suggestions", err)
	}
	defer rows.Close()
	out := []suggest.Suggestion{}
	for rows.Next() {
		s, err := scanSuggestion(rows)
		if err != nil {
			return nil, postgres.Wrap("list suggestions", err)
		}
		out = append(out, s)
	}
	return out, postgres.Wrap("list suggestions", rows.Err())
}

// Get returns a suggestion, or suggest.ErrNotFound.
func (ss *Store) Get(id string) (suggest.Suggestion, error) {
	ctx, cancel := ss.db.Ctx(context.Background())
	defer cancel()
	s, err := scanSuggestion(ss.db.Pool().QueryRow(ctx, "SELECT "+suggestionCols+" FROM "+ss.db.Schema()+".semroute_suggestions WHERE id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return s, fmt.Errorf("%w: %s", suggest.ErrNotFound, id)
	}
	return s, postgres.Wrap("get suggestion", err)
}

// Remove drops a suggestion.
func (ss *Store) Remove(id string) error {
	ctx, cancel := ss.db.Ctx(context.Background())
	defer cancel()
	tag, err := ss.db.Pool().Exec(ctx, "DELETE FROM "+ss.db.Schema()+".semroute_suggestions WHERE id = $1", id)
	if err != nil {
		return postgres.Wrap("remove suggestion", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%w: %s", suggest.ErrNotFound, id)
	}
	return nil
}

// Close does nothing: the database is closed by its owner.
func (ss *Store) Close() error { return nil }
