package feedback

import (
	"context"
	"errors"
	"time"
)

// OOS is the intent of a request routed out of scope, and the intent a
// feedback names when the right answer was "none of them".
const OOS = "oos"

// Route is what one routed request was routed to. Prompt is the text it
// was routed on, kept only with feedback.keep_prompts.
type Route struct {
	ID        string    `json:"request_id"`
	At        time.Time `json:"at"`
	Key       string    `json:"key,omitempty"` // the API key's name, never the key
	Intent    string    `json:"intent"`        // OOS when out of scope
	Score     float64   `json:"score"`
	DecidedBy string    `json:"decided_by"`
	Target    string    `json:"target"`
	Model     string    `json:"model,omitempty"` // the model that answered, once known
	Prompt    string    `json:"prompt,omitempty"`
}

// Feedback is what a client said about a routed request. Route is the
// request's record as it was when the feedback came, so that the feedback
// outlives the record's retention.
type Feedback struct {
	RequestID string    `json:"request_id"`
	At        time.Time `json:"at"`
	Key       string    `json:"key,omitempty"`    // who gave it (the key's name)
	Intent    string    `json:"intent,omitempty"` // the right intent, or OOS
	Rating    int       `json:"rating,omitempty"` // -1 or 1; 0 for none
	Comment   string    `json:"comment,omitempty"`
	Route     Route     `json:"route"`
}

// Filter selects feedback to list: Intent matches the routed intent or the
// one the feedback names; zero fields select everything.
type Filter struct {
	Intent    string
	Since     time.Time
	RequestID string
	Limit     int // 0: no limit
}

// Match reports whether f selects fb (the limit aside).
func (f Filter) Match(fb Feedback) bool {
	return (f.Intent == "" || fb.Intent == f.Intent || fb.Route.Intent == f.Intent) &&
		(f.Since.IsZero() || !fb.At.Before(f.Since)) &&
		(f.RequestID == "" || fb.RequestID == f.RequestID)
}

// Store keeps route records and feedback durably: what a method returned
// nil for survives a crash.
type Store interface {
	// Record stores routes (a batch: one fsync or one transaction). A
	// request id recorded again replaces its record.
	Record(ctx context.Context, routes []Route) error
	// Answered sets the model of recorded requests (id → model); ids no
	// longer kept are skipped.
	Answered(ctx context.Context, models map[string]string) error
	// Route returns a request's record, or ErrUnknown.
	Route(ctx context.Context, id string) (Route, error)
	Add(ctx context.Context, fb Feedback) error
	// List returns the feedback f selects, newest first.
	List(ctx context.Context, f Filter) ([]Feedback, error)
	// Prune drops the route records from before routes and the feedback
	// from before feedback.
	Prune(ctx context.Context, routes, feedback time.Time) error
	Close() error
}

// ErrUnknown is returned for a request id with no record: never routed,
// routed by a named model, or older than the retention.
var ErrUnknown = errors.New("no routed request with this id")
