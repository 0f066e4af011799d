package rag

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/semroute/semroute/index"
	"github.com/semroute/semroute/index/flat"
)

// Coordinator keeps the replicas that share a collection's store in step:
// ragpg's, on PostgreSQL, with the pgvector backend. Writers hold its lock
// and bump the collection's version once they changed it; the other
// replicas hear of the bump (ragpg's Watch) and Sync.
type Coordinator interface {
	// Lock holds the collection's write lock, across replicas, until
	// unlock is called.
	Lock(ctx context.Context, collection string) (unlock func(), err error)
	// Bump records a change of the collection to documents docs (added,
	// replaced or deleted; nil when not known), tells the other replicas,
	// and returns the new version.
	Bump(ctx context.Context, collection string, docs []string) (int64, error)
	// Changed returns the documents the versions after since changed; ok
	// is false when it cannot tell (since is older than it remembers, or
	// unknown), and the caller reads the whole manifest.
	Changed(ctx context.Context, collection string, since int64) (docs []string, ok bool, err error)
	// Version is the collection's current version (0 before any change).
	Version(ctx context.Context, collection string) (int64, error)
}

// Sync catches the collection up with its store: the documents another
// replica added, replaced or deleted since this copy last looked. With a
// Coordinator it first compares versions (one small query) and stops
// there when nothing changed; then it asks the Coordinator which
// documents changed since and reads just their manifest entries (by ID,
// with an index.Getter), or, when the Coordinator cannot tell (this copy
// is further behind than its log keeps), the whole manifest; it fetches
// the chunks of just the documents whose hash differs from its own, and
// only then swaps them in under the write lock, which searches wait on
// for the swap alone. On a backend only this process writes (chromem) it
// finds nothing to do.
func (c *Collection) Sync(ctx context.Context) error {
	c.ingest.Lock()
	defer c.ingest.Unlock()
	return c.sync(ctx)
}

// sync is Sync; the caller holds c.ingest, so c.docs changes under no one
// else.
func (c *Collection) sync(ctx context.Context) error {
	v := int64(-1)
	var live map[string]docEntry
	var changed, gone []string
	if co := c.opt.Coordinator; co != nil {
		var err error
		if v, err = co.Version(ctx, c.name); err != nil {
			return fmt.Errorf("rag %s: read the version: %w", c.name, err)
		}
		if v == c.synced.Load() {
			return nil
		}
		if live, changed, gone, err = c.logged(ctx, co); err != nil {
			return err
		}
	}
	if live == nil {
		var err error
		if live, err = c.manifest(ctx); err != nil {
			return err
		}
		changed, gone = c.diff(live, nil)
	}
	loaded, err := c.load(ctx, live, changed)
	if err != nil {
		return err
	}
	if len(changed)+len(gone) > 0 {
		c.mu.Lock()
		for _, id := range gone {
			c.drop(id)
			delete(c.docs, id)
		}
		for _, id := range changed {
			cs, ok := loaded[id]
			if !ok {
				continue // replaced again meanwhile: the next sync takes it
			}
			c.drop(id)
			for _, l := range cs {
				c.chunks[l.id] = l.ch
				c.mem.add(l.id, indexedText(l.ch), l.unit)
			}
			c.docs[id] = live[id]
		}
		c.mem.compact()
		c.mu.Unlock()
	}
	if len(loaded) == len(changed) {
		c.synced.Store(v)
	}
	return nil
}

// logged asks co which documents changed since the copy's version and
// reads their manifest entries alone: live holds those still in the
// store. It returns a nil live when that cannot be done (no version yet,
// a log that does not reach back so far, a backend without Get), and the
// caller reads the whole manifest.
func (c *Collection) logged(ctx context.Context, co Coordinator) (live map[string]docEntry, changed, gone []string, err error) {
	since := c.synced.Load()
	g, isGetter := c.opt.Index.(index.Getter)
	if since < 0 || !isGetter {
		return nil, nil, nil, nil
	}
	docs, ok, err := co.Changed(ctx, c.name, since)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("rag %s: read the changed documents: %w", c.name, err)
	}
	if !ok {
		return nil, nil, nil, nil
	}
	if docs == nil {
		docs = []string{} // none changed; nil would make diff look at all
	}
	live = make(map[string]docEntry, len(docs))
	for lo := 0; lo < len(docs); lo += getBatch {
		recs, err := g.Get(ctx, c.docColl(), docs[lo:min(lo+getBatch, len(docs))]...)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("rag %s: read %d manifest entries: %w", c.name, len(docs), err)
		}
		for _, r := range recs {
			live[r.ID] = entryOf(r)
		}
	}
	changed, gone = c.diff(live, docs)
	return live, changed, gone, nil
}

// diff returns the documents of live whose hash differs from the copy's,
// and those the copy has that live lacks: of the documents among alone
// when among is not nil (live then holds the entries of just those), else
// of all of them.
func (c *Collection) diff(live map[string]docEntry, among []string) (changed, gone []string) {
	for id, e := range live {
		if have, ok := c.docs[id]; !ok || have.hash != e.hash {
			changed = append(changed, id)
		}
	}
	if among != nil {
		for _, id := range among {
			if _, ok := live[id]; !ok {
				if _, have := c.docs[id]; have {
					gone = append(gone, id)
				}
			}
		}
		return changed, gone
	}
	for id := range c.docs {
		if _, ok := live[id]; !ok {
			gone = append(gone, id)
		}
	}
	return changed, gone
}

// loaded is a chunk read from the store, with its unit vector when the
// corpus keeps vectors.
type loaded struct {
	id   string
	ch   Chunk
	unit []float32
}

// getBatch bounds the IDs of one Get.
const getBatch = 1000

// load reads the chunks of docs as live has them, by document. A document
// some of whose chunks are missing (another replica replaced it between
// the manifest's read and this one) is left out.
func (c *Collection) load(ctx context.Context, live map[string]docEntry, docs []string) (map[string][]loaded, error) {
	if len(docs) == 0 {
		return nil, nil
	}
	want := map[string]bool{}
	var ids []string
	for _, d := range docs {
		e := live[d]
		for p := range e.chunks {
			id := chunkID(d, e.hash, p)
			ids = append(ids, id)
			want[id] = true
		}
	}
	var recs []index.Record
	if g, ok := c.opt.Index.(index.Getter); ok {
		for lo := 0; lo < len(ids); lo += getBatch {
			part, err := g.Get(ctx, c.chunkColl(), ids[lo:min(lo+getBatch, len(ids))]...)
			if err != nil {
				return nil, fmt.Errorf("rag %s: read %d chunks: %w", c.name, len(ids), err)
			}
			recs = append(recs, part...)
		}
	} else { // a backend without Get: the whole collection, to keep those wanted
		all, err := c.opt.Index.List(ctx, c.chunkColl())
		if err != nil {
			return nil, fmt.Errorf("rag %s: %w", c.name, err)
		}
		recs = all
	}
	out := map[string][]loaded{}
	for _, r := range recs {
		if !want[r.ID] {
			continue
		}
		l := loaded{id: r.ID, ch: chunkOf(r)}
		if c.mem.vectors {
			if len(r.Vector) == 0 || (c.mem.vec != nil && len(r.Vector) != c.mem.vec.Dim()) {
				continue
			}
			l.unit = slices.Clone(r.Vector)
			flat.Normalize(l.unit)
		}
		out[l.ch.Doc] = append(out[l.ch.Doc], l)
	}
	for d, cs := range out {
		if len(cs) != live[d].chunks {
			delete(out, d)
		}
	}
	return out, nil
}

// manifest reads the store's manifest.
func (c *Collection) manifest(ctx context.Context) (map[string]docEntry, error) {
	recs, err := c.opt.Index.List(ctx, c.docColl())
	if err != nil {
		return nil, fmt.Errorf("rag %s: %w", c.name, err)
	}
	out := make(map[string]docEntry, len(recs))
	for _, r := range recs {
		out[r.ID] = entryOf(r)
	}
	return out, nil
}

// entryOf reads a manifest record.
func entryOf(r index.Record) docEntry {
	n, _ := strconv.Atoi(r.Metadata["chunks"])
	return docEntry{hash: r.Metadata["hash"], chunks: n, title: r.Metadata["title"], source: r.Metadata["source"]}
}

// referenced reports whether the manifest points to a stored chunk.
func referenced(docs map[string]docEntry, r index.Record) bool {
	d, ok := docs[r.Metadata["doc"]]
	return ok && d.hash == r.Metadata["hash"]
}

// drop takes a document's chunks out of the copy and returns their IDs;
// the caller holds c.ingest and c.mu.
func (c *Collection) drop(doc string) []string {
	d, ok := c.docs[doc]
	if !ok {
		return nil
	}
	ids := make([]string, 0, d.chunks)
	for p := range d.chunks {
		id := chunkID(doc, d.hash, p)
		ids = append(ids, id)
		if ch, ok := c.chunks[id]; ok {
			c.mem.remove(id, indexedText(ch))
			delete(c.chunks, id)
		}
	}
	return ids
}

// write runs f, which changes the store, as the collection's one writer:
// with a Coordinator under its lock across replicas and after catching up
// with the store, so that f never acts on a manifest another replica
// changed (replacing a document whose chunks it no longer knows, leaving
// them orphaned); and once f touched the store (returned the documents it
// changed), whether or not it then failed, the version is bumped with
// those documents, which tells the others. A bump that fails leaves its
// documents to the next one. Without one, on a shared store, it still
// catches up first. The caller holds c.ingest.
func (c *Collection) write(ctx context.Context, f func() (touched []string, err error)) error {
	co := c.opt.Coordinator
	if co == nil {
		if searchesItself(c.opt.Index) {
			if err := c.sync(ctx); err != nil {
				return err
			}
		}
		_, err := f()
		return err
	}
	unlock, err := co.Lock(ctx, c.name)
	if err != nil {
		return fmt.Errorf("rag %s: take the write lock: %w", c.name, err)
	}
	defer unlock()
	if err := c.sync(ctx); err != nil {
		return err
	}
	touched, err := f()
	if len(touched) == 0 {
		return err
	}
	docs := append(slices.Clone(c.unlogged), touched...)
	v, berr := co.Bump(context.WithoutCancel(ctx), c.name, docs)
	switch {
	case berr == nil:
		c.unlogged = nil
		if c.synced.Load() == v-1 { // no one else writes under the lock
			c.synced.Store(v)
		}
	default:
		c.unlogged = docs
		if err == nil {
			err = fmt.Errorf("rag %s: stored, but telling the other replicas failed (they catch up after this replica's next change): %w", c.name, berr)
		}
	}
	return err
}

// settle deletes the chunks Open found orphaned and embeds again those
// stored with another embedder. With a Coordinator it does so under the
// write lock, after reading the manifest again: another replica's ingest
// may have been between its chunks and its manifest entry when Open read
// them, and what looked orphaned then is live now (deleting it would
// leave that replica's manifest pointing to nothing).
func (c *Collection) settle(ctx context.Context, orphans, other []index.Record, fp string) error {
	if len(orphans)+len(other) == 0 {
		return nil
	}
	if co := c.opt.Coordinator; co != nil {
		unlock, err := co.Lock(ctx, c.name)
		if err != nil {
			return fmt.Errorf("rag %s: take the write lock: %w", c.name, err)
		}
		defer unlock()
		live, err := c.manifest(ctx)
		if err != nil {
			return err
		}
		orphans = slices.DeleteFunc(orphans, func(r index.Record) bool { return referenced(live, r) })
		var keep []index.Record
		for _, r := range other {
			if referenced(live, r) {
				keep = append(keep, r)
			} else {
				orphans = append(orphans, r)
			}
		}
		other = keep
	}
	if len(orphans) > 0 {
		ids := make([]string, len(orphans))
		for i, r := range orphans {
			ids[i] = r.ID
		}
		if err := c.opt.Index.Delete(ctx, c.chunkColl(), ids...); err != nil {
			return fmt.Errorf("rag %s: removing %d chunks of unfinished ingests: %w", c.name, len(ids), err)
		}
	}
	return c.reembed(ctx, other, fp)
}

// StoreCheck is what Verify found in a collection's store.
type StoreCheck struct {
	Documents int             // manifest entries
	Live      map[string]bool // the chunk IDs the manifest points to
	Orphans   []string        // stored chunks no manifest entry points to
	Missing   []string        // chunks the manifest points to that are not stored
}

// Verify reads collection name's manifest and chunks from idx and reports
// whether they fit together: a writer that stopped midway leaves orphans
// (Open removes them); two writers interleaving without the Coordinator's
// lock can leave a manifest pointing to chunks another deleted.
func Verify(ctx context.Context, idx index.Index, name string) (StoreCheck, error) {
	c := &Collection{name: name}
	manifest, err := idx.List(ctx, c.docColl())
	if err != nil {
		return StoreCheck{}, fmt.Errorf("rag %s: %w", name, err)
	}
	chunks, err := idx.List(ctx, c.chunkColl())
	if err != nil {
		return StoreCheck{}, fmt.Errorf("rag %s: %w", name, err)
	}
	st := StoreCheck{Documents: len(manifest), Live: map[string]bool{}}
	for _, m := range manifest {
		n, _ := strconv.Atoi(m.Metadata["chunks"])
		for p := range n {
			st.Live[chunkID(m.ID, m.Metadata["hash"], p)] = true
		}
	}
	stored := map[string]bool{}
	for _, r := range chunks {
		stored[r.ID] = true
		if !st.Live[r.ID] {
			st.Orphans = append(st.Orphans, r.ID)
		}
	}
	for id := range st.Live {
		if !stored[id] {
			st.Missing = append(st.Missing, id)
		}
	}
	slices.Sort(st.Orphans)
	slices.Sort(st.Missing)
	return st, nil
}
