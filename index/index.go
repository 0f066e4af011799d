package index

import (
	"context"
	"errors"
)

// Record is one stored vector with its text and metadata.
type Record struct {
	ID       string            `json:"id"`
	Text     string            `json:"text"`
	Metadata map[string]string `json:"metadata,omitempty"`
	Vector   []float32         `json:"-"`
}

// Hit is a record found by Search, with its cosine similarity to the query.
type Hit struct {
	Record
	Score float32 `json:"score"`
}

// Index is a store of records in named collections, searched by cosine
// similarity. Implementations are safe for concurrent use; a write that
// returned nil is durable.
type Index interface {
	// Upsert adds records, replacing those with the same ID.
	Upsert(ctx context.Context, collection string, recs []Record) error
	// Delete removes the records with these IDs; missing IDs are ignored.
	Delete(ctx context.Context, collection string, ids ...string) error
	// Search returns up to k records most similar to q, best first; an
	// empty or missing collection gives no hits and no error.
	Search(ctx context.Context, collection string, q []float32, k int) ([]Hit, error)
	// List returns every record of the collection, in no particular order.
	List(ctx context.Context, collection string) ([]Record, error)
	Close() error
}

// Getter is an Index that fetches records by ID. A replica catching up
// with another's ingest (rag's Collection.Sync) reads just the chunks of
// the documents that changed: with 100,000 chunks, a List would move every
// chunk's text and vector (some 200 MB at 256 dimensions) for a change of
// a few, where a Get of those is one lookup by primary key.
type Getter interface {
	// Get returns the records with these IDs, in no particular order;
	// missing IDs are left out.
	Get(ctx context.Context, collection string, ids ...string) ([]Record, error)
}

// ErrDimension is returned when a vector's length does not match the
// collection's.
var ErrDimension = errors.New("vector dimension does not match the collection")

// ErrInvalid is returned for records that cannot be stored (no ID, no
// vector, a zero vector).
var ErrInvalid = errors.New("invalid record")
