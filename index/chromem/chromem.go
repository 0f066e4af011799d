// Package chromem is the default index backend: chromem-go, in-process. It
// is the store of record for a single semroute; the router scans a compiled
// copy of the vectors (package flat) on its hot path.
//
// The records are kept in an append-only log in the data directory
// (index.log, package internal/jsonlog), replayed into an in-memory
// chromem-go database at start. chromem-go's own persistence is not used:
// it names each record's file by 32 bits of a hash of its ID, so two IDs
// that share those bits overwrite each other's file and one record is gone
// after a restart (likely past about 77,000 records in a collection); it
// writes without fsync; and a file cut short by a crash makes the whole
// database refuse to open. An index it wrote is moved into the log on
// first open.
package chromem

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	chromem "github.com/philippgille/chromem-go"

	"github.com/semroute/semroute/index"
	"github.com/semroute/semroute/internal/durable"
	"github.com/semroute/semroute/internal/jsonlog"
)

// Index is an index.Index on a chromem-go database.
type Index struct {
	db *chromem.DB
	mu sync.Mutex // serialises writes, so the log's order is the database's

	// The log, nil when the index is in memory only; written counts the
	// records in it, live or not. After a failed rewrite the next waits
	// until written reaches retry, not the next write.
	log     *jsonlog.Log
	written int
	retry   int
}

var (
	_ index.Index  = (*Index)(nil)
	_ index.Getter = (*Index)(nil)
)

// LogName is the index's log in its directory.
const LogName = "index.log"

// legacyDir is where the files of an index chromem-go persisted itself are
// moved once they are in the log.
const legacyDir = "chromem-v0.7.0"

// change is one record of the log: records upserted into a collection, or
// IDs deleted from it.
type change struct {
	Collection string   `json:"collection"`
	Dim        int      `json:"dim"`
	Upsert     []stored `json:"upsert,omitempty"`
	Delete     []string `json:"delete,omitempty"`
}

// stored is a record as the log has it.
type stored struct {
	ID       string            `json:"id"`
	Text     string            `json:"text,omitempty"`
	Metadata map[string]string `json:"metadata,omitempty"`
	Vector   []byte            `json:"vector"` // unit length, float32 little-endian
}

// batch bounds the records in one change: each is one line and one fsync.
const batch = 1000

// Open opens (creating if needed) the index kept in dir; an empty dir keeps
// everything in memory only.
func Open(dir string) (*Index, error) {
	x := &Index{db: chromem.NewDB()}
	if dir == "" {
		return x, nil
	}
	if err := x.open(dir); err != nil {
		return nil, fmt.Errorf("open chromem index in %q: %w", dir, err)
	}
	return x, nil
}

func (x *Index) open(dir string) error {
	path := filepath.Join(dir, LogName)
	if err := durable.RemoveTemps(path); err != nil { // a rewrite a crash cut short
		return err
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		if err := migrate(dir, path); err != nil {
			return err
		}
	}
	l, err := jsonlog.Open(path, func(body []byte) error {
		var ch change
		if err := json.Unmarshal(body, &ch); err != nil {
			return err
		}
		x.written += len(ch.Upsert) + len(ch.Delete)
		return x.apply(ch)
	})
	if err != nil {
		return err
	}
	x.log = l
	return x.compactIfStale()
}

// compactIfStale rewrites the log with the live records alone once the
// replaced and deleted ones are most of it: at open, and after a write,
// so a service that re-ingests a corpus every day keeps a log its size.
func (x *Index) compactIfStale() error {
	if x.log == nil || x.written <= 2*x.count()+batch || x.written < x.retry {
		return nil
	}
	if err := x.log.Replace(x.each); err != nil {
		x.retry = x.written + batch
		return err
	}
	x.written = x.count()
	return nil
}

// migrate moves an index that chromem-go persisted itself (a directory of
// gob files per collection) into a new log at path, and its files aside.
func migrate(dir, path string) error {
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	var legacy []string
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(dir, e.Name(), "00000000.gob")); e.IsDir() && err == nil {
			legacy = append(legacy, e.Name())
		}
	}
	if len(legacy) == 0 {
		return nil
	}
	db, err := chromem.NewPersistentDB(dir, false)
	if err != nil {
		return fmt.Errorf("the index chromem-go wrote: %w", err)
	}
	if err := jsonlog.Rewrite(path, (&Index{db: db}).each); err != nil {
		return err
	}
	for _, name := range legacy {
		if err := os.MkdirAll(filepath.Join(dir, legacyDir), 0o755); err != nil {
			return err
		}
		if err := os.Rename(filepath.Join(dir, name), filepath.Join(dir, legacyDir, name)); err != nil {
			return err
		}
	}
	return nil
}

// each adds every live record, as changes of up to batch records.
func (x *Index) each(add func(any) error) error {
	for full, c := range x.db.ListCollections() {
		name, dim, ok := splitName(full)
		if !ok {
			continue
		}
		recs, err := listAll(c, dim)
		if err != nil {
			return err
		}
		for i := 0; i < len(recs); i += batch {
			if err := add(newChange(name, dim, recs[i:min(i+batch, len(recs))])); err != nil {
				return err
			}
		}
	}
	return nil
}

// newChange is recs upserted into collection, as the log has them.
func newChange(collection string, dim int, recs []index.Record) change {
	ch := change{Collection: collection, Dim: dim}
	for _, r := range recs {
		v := make([]byte, 4*len(r.Vector))
		for i, f := range r.Vector {
			binary.LittleEndian.PutUint32(v[4*i:], math.Float32bits(f))
		}
		ch.Upsert = append(ch.Upsert, stored{ID: r.ID, Text: r.Text, Metadata: r.Metadata, Vector: v})
	}
	return ch
}

// apply makes a change to the database.
func (x *Index) apply(ch change) error {
	c, dim := x.find(ch.Collection)
	if c == nil {
		if len(ch.Upsert) == 0 {
			return nil
		}
		var err error
		dim = ch.Dim
		if c, err = x.db.GetOrCreateCollection(chromemName(ch.Collection, dim), nil, noEmbed); err != nil {
			return err
		}
	}
	if len(ch.Upsert) > 0 {
		docs := make([]chromem.Document, len(ch.Upsert))
		for i, r := range ch.Upsert {
			if len(r.Vector) != 4*dim {
				return fmt.Errorf("record %q: %d bytes of vector, the collection %q has %d dimensions", r.ID, len(r.Vector), ch.Collection, dim)
			}
			v := make([]float32, dim)
			for j := range v {
				v[j] = math.Float32frombits(binary.LittleEndian.Uint32(r.Vector[4*j:]))
			}
			docs[i] = chromem.Document{ID: r.ID, Content: r.Text, Metadata: r.Metadata, Embedding: v}
		}
		if err := c.AddDocuments(context.Background(), docs, 1); err != nil {
			return err
		}
	}
	if len(ch.Delete) > 0 { // chromem-go deletes everything when given no IDs
		return c.Delete(context.Background(), nil, nil, ch.Delete...)
	}
	return nil
}

// write logs a change, then makes it; the caller holds mu.
func (x *Index) write(ch change) error {
	if x.log != nil {
		if err := x.log.Append(ch); err != nil {
			return err
		}
		x.written += len(ch.Upsert) + len(ch.Delete)
	}
	if err := x.apply(ch); err != nil {
		return err
	}
	// The change is durable and made; a rewrite that fails leaves the old
	// log, which holds it, in use.
	x.compactIfStale()
	return nil
}

func (x *Index) count() int {
	n := 0
	for _, c := range x.db.ListCollections() {
		n += c.Count()
	}
	return n
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

// splitName is chromemName's inverse.
func splitName(full string) (name string, dim int, ok bool) {
	at := strings.LastIndex(full, "@d")
	if at < 0 {
		return "", 0, false
	}
	d, err := strconv.Atoi(full[at+2:])
	return full[:at], d, err == nil
}

// find returns the stored collection called name and its dimension, or nil.
func (x *Index) find(name string) (*chromem.Collection, int) {
	for full, c := range x.db.ListCollections() {
		if n, d, ok := splitName(full); ok && n == name {
			return c, d
		}
	}
	return nil, 0
}

// Upsert stores recs; a record with the ID of a stored one replaces it.
func (x *Index) Upsert(ctx context.Context, collection string, recs []index.Record) error {
	if len(recs) == 0 {
		return nil
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	_, dim := x.find(collection)
	if dim == 0 {
		dim = len(recs[0].Vector)
	}
	units := make([]index.Record, len(recs))
	for i, r := range recs {
		if err := check(r, dim); err != nil {
			return fmt.Errorf("upsert into %q: %w", collection, err)
		}
		r.Vector = unit(r.Vector)
		units[i] = r
	}
	for i := 0; i < len(units); i += batch {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := x.write(newChange(collection, dim, units[i:min(i+batch, len(units))])); err != nil {
			return fmt.Errorf("upsert into %q: %w", collection, err)
		}
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
	x.mu.Lock()
	defer x.mu.Unlock()
	c, dim := x.find(collection)
	if c == nil || len(ids) == 0 {
		return nil
	}
	for i := 0; i < len(ids); i += batch {
		if err := x.write(change{Collection: collection, Dim: dim, Delete: ids[i:min(i+batch, len(ids))]}); err != nil {
			return fmt.Errorf("delete from %q: %w", collection, err)
		}
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

// List returns every record.
func (x *Index) List(ctx context.Context, collection string) ([]index.Record, error) {
	c, dim := x.find(collection)
	if c == nil {
		return nil, nil
	}
	recs, err := listAll(c, dim)
	if err != nil {
		return nil, fmt.Errorf("list %q: %w", collection, err)
	}
	return recs, nil
}

// Get returns the records with these IDs.
func (x *Index) Get(ctx context.Context, collection string, ids ...string) ([]index.Record, error) {
	c, _ := x.find(collection)
	if c == nil {
		return nil, nil
	}
	var out []index.Record
	for _, id := range ids {
		d, err := c.GetByID(ctx, id)
		if err != nil { // chromem-go's only error: no such ID
			continue
		}
		out = append(out, index.Record{ID: d.ID, Text: d.Content, Metadata: d.Metadata, Vector: d.Embedding})
	}
	return out, nil
}

// listAll returns every record of c: chromem-go v0.7.0 has no listing call,
// so it asks for all of them by similarity to an arbitrary unit vector.
func listAll(c *chromem.Collection, dim int) ([]index.Record, error) {
	n := c.Count()
	if n == 0 {
		return nil, nil
	}
	probe := make([]float32, dim)
	probe[0] = 1
	res, err := c.QueryEmbedding(context.Background(), probe, n, nil, nil)
	if err != nil {
		return nil, err
	}
	recs := make([]index.Record, len(res))
	for i, r := range res {
		recs[i] = index.Record{ID: r.ID, Text: r.Content, Metadata: r.Metadata, Vector: r.Embedding}
	}
	return recs, nil
}

// Close closes the log: every write was in it, fsynced, when it returned.
func (x *Index) Close() error {
	if x.log == nil {
		return nil
	}
	return x.log.Close()
}
