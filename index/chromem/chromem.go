// Package chromem is the default index backend: chromem-go, in-process,
// persisted as one file per record under a directory and loaded back at
// start. It is the store of record for a single semroute; the router scans a
// compiled copy of the vectors (package flat) on its hot path.
package chromem

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"

	chromem "github.com/philippgille/chromem-go"

	"github.com/semroute/semroute/index"
)

// Index is an index.Index on a chromem-go database.
type Index struct {
	db *chromem.DB
	mu sync.Mutex // serialises finding and creating collections
}

var _ index.Index = (*Index)(nil)

// Open opens (creating if needed) a persistent database in dir; an empty dir
// keeps everything in memory only.
func Open(dir string) (*Index, error) {
	if dir == "" {
		return &Index{db: chromem.NewDB()}, nil
	}
	db, err := chromem.NewPersistentDB(dir, false)
	if err != nil {
		return nil, fmt.Errorf("open chromem index in %q: %w", dir, err)
	}
	return &Index{db: db}, nil
}

// noEmbed guards against chromem-go embedding text itself: semroute always
// passes vectors.
func noEmbed(context.Context, string) ([]float32, error) {
	return nil, errors.New("chromem index: records must carry their vectors")
}

// Each collection is stored as the chromem-go collection "NAME@dDIM": the
// dimension must be known to list a collection (chromem-go v0.7.0 lists only
// by query) and to refuse vectors of another length.
func chromemName(name string, dim int) string { return fmt.Sprintf("%s@d%d", name, dim) }

// find returns the stored collection called name and its dimension, or nil.
func (x *Index) find(name string) (*chromem.Collection, int) {
	for full, c := range x.db.ListCollections() {
		at := strings.LastIndex(full, "@d")
		if at < 0 || full[:at] != name {
			continue
		}
		if d, err := strconv.Atoi(full[at+2:]); err == nil {
			return c, d
		}
	}
	return nil, 0
}

// Upsert stores recs; chromem-go replaces a document with the same ID.
func (x *Index) Upsert(ctx context.Context, collection string, recs []index.Record) error {
	if len(recs) == 0 {
		return nil
	}
	x.mu.Lock()
	c, dim := x.find(collection)
	if c == nil {
		dim = len(recs[0].Vector)
		var err error
		if c, err = x.db.GetOrCreateCollection(chromemName(collection, dim), nil, noEmbed); err != nil {
			x.mu.Unlock()
			return fmt.Errorf("upsert into %q: %w", collection, err)
		}
	}
	x.mu.Unlock()
	docs := make([]chromem.Document, len(recs))
	for i, r := range recs {
		if err := check(r, dim); err != nil {
			return fmt.Errorf("upsert into %q: %w", collection, err)
		}
		docs[i] = chromem.Document{ID: r.ID, Content: r.Text, Metadata: r.Metadata, Embedding: unit(r.Vector)}
	}
	if err := c.AddDocuments(ctx, docs, 4); err != nil {
		return fmt.Errorf("upsert into %q: %w", collection, err)
	}
	return nil
}

func check(r index.Record, dim int) error {
	if r.ID == "" {
		return fmt.Errorf("%w: empty ID", index.ErrInvalid)
	}
	if len(r.Vector) != dim {
		return fmt.Errorf("%w: record %q has %d, the collection %d", index.ErrDimension, r.ID, len(r.Vector), dim)
	}
	for _, x := range r.Vector {
		if x != 0 {
			return nil
		}
	}
	return fmt.Errorf("%w: record %q has a zero vector, which has no direction to compare", index.ErrInvalid, r.ID)
}

// unit returns v scaled to unit length (chromem-go requires it); a copy, so
// the caller's vector is left alone.
func unit(v []float32) []float32 {
	var ss float64
	for _, x := range v {
		ss += float64(x) * float64(x)
	}
	out := make([]float32, len(v))
	if ss == 0 {
		return out // a zero query matches nothing better than anything else
	}
	k := float32(1 / math.Sqrt(ss))
	for i, x := range v {
		out[i] = x * k
	}
	return out
}

// Delete removes the records with these IDs.
func (x *Index) Delete(ctx context.Context, collection string, ids ...string) error {
	c, _ := x.find(collection)
	if c == nil || len(ids) == 0 { // chromem-go deletes everything when given no IDs
		return nil
	}
	if err := c.Delete(ctx, nil, nil, ids...); err != nil {
		return fmt.Errorf("delete from %q: %w", collection, err)
	}
	return nil
}

// Search is chromem-go's exhaustive cosine search.
func (x *Index) Search(ctx context.Context, collection string, q []float32, k int) ([]index.Hit, error) {
	c, dim := x.find(collection)
	if c == nil || c.Count() == 0 || k <= 0 {
		return nil, nil
	}
	if len(q) != dim {
		return nil, fmt.Errorf("search %q: %w: query has %d, the collection %d", collection, index.ErrDimension, len(q), dim)
	}
	res, err := c.QueryEmbedding(ctx, unit(q), min(k, c.Count()), nil, nil)
	if err != nil {
		return nil, fmt.Errorf("search %q: %w", collection, err)
	}
	hits := make([]index.Hit, len(res))
	for i, r := range res {
		hits[i] = index.Hit{Record: index.Record{ID: r.ID, Text: r.Content, Metadata: r.Metadata, Vector: r.Embedding}, Score: r.Similarity}
	}
	return hits, nil
}

// List returns every record: chromem-go v0.7.0 has no listing call, so it
// asks for all of them by similarity to an arbitrary unit vector.
func (x *Index) List(ctx context.Context, collection string) ([]index.Record, error) {
	c, dim := x.find(collection)
	if c == nil || c.Count() == 0 {
		return nil, nil
	}
	probe := make([]float32, dim)
	probe[0] = 1
	hits, err := x.Search(ctx, collection, probe, c.Count())
	if err != nil {
		return nil, fmt.Errorf("list %q: %w", collection, err)
	}
	recs := make([]index.Record, len(hits))
	for i, h := range hits {
		recs[i] = h.Record
	}
	return recs, nil
}

// Close is a no-op: every write was persisted when it returned.
func (x *Index) Close() error { return nil }
