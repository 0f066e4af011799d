package rag

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/semroute/semroute/embed"
	"github.com/semroute/semroute/index"
	"github.com/semroute/semroute/index/flat"
)

// Retrieval modes.
const (
	ModeVector = "vector"
	ModeBM25   = "bm25"
	ModeHybrid = "hybrid" // BM25 and vector scores, each scaled to [0, 1], summed with VectorWeight
	ModeRRF    = "rrf"    // reciprocal rank fusion of the two lists
)

// Options configure a collection.
type Options struct {
	Index    index.Index
	Embedder embed.Embedder
	Chunk    ChunkOptions
	// Mode is the default retrieval mode (hybrid).
	Mode string
	// VectorWeight is the vector score's weight in hybrid (default 0.2,
	// chosen on PubMedQA; BM25's weight is 1).
	VectorWeight float64
	// Floor is the least cosine similarity between the query and the best
	// passage; below it retrieval reports that nothing relevant was found.
	Floor float64
	// Coordinator keeps the replicas sharing Index in step (ragpg, with
	// the pgvector backend): nil, the collection is this process's alone.
	Coordinator Coordinator
}

// Collection is one named set of documents.
type Collection struct {
	name   string
	opt    Options
	ingest sync.Mutex   // one ingest, delete or sync at a time
	synced atomic.Int64 // the Coordinator's version the copy is of; -1: none
	// unlogged are the documents this copy changed whose bump failed: the
	// next bump logs them (under c.ingest).
	unlogged []string
	mu       sync.RWMutex
	docs     map[string]docEntry
	chunks   map[string]Chunk // by chunk ID, current versions only
	mem      *corpus          // what Search reads: BM25 and, in process, the vectors
}

type docEntry struct {
	hash   string
	chunks int
	title  string
	source string
}

// Passage is a retrieved chunk.
type Passage struct {
	ChunkID string `json:"chunk_id"`
	Chunk
	// Score is the retrieval mode's score; Similarity is the cosine of the
	// query and the passage.
	Score      float64 `json:"score"`
	Similarity float64 `json:"similarity"`
}

func (c *Collection) chunkColl() string { return "rag." + c.name }
func (c *Collection) docColl() string   { return "rag." + c.name + ".docs" }

// one is the stand-in vector of manifest records, which are looked up by
// ID, never searched.
var one = []float32{1}

// Open loads a collection from the index: the manifest of documents, their
// current chunks, and the BM25 index over them. Chunks that no manifest
// entry points to (left by an ingest that stopped midway) are deleted.
func Open(ctx context.Context, name string, opt Options) (*Collection, error) {
	if opt.Index == nil || opt.Embedder == nil {
		return nil, errors.New("rag: a collection needs an index and an embedder")
	}
	if opt.Mode == "" {
		opt.Mode = ModeHybrid
	}
	if opt.VectorWeight == 0 {
		opt.VectorWeight = 0.2
	}
	c := &Collection{name: name, opt: opt, chunks: map[string]Chunk{}, mem: newCorpus(!searchesItself(opt.Index))}
	c.synced.Store(-1)
	if co := opt.Coordinator; co != nil { // read before the manifest: a change after it bumps it again
		v, err := co.Version(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("rag %s: read the version: %w", name, err)
		}
		c.synced.Store(v)
	}
	var err error
	if c.docs, err = c.manifest(ctx); err != nil {
		return nil, err
	}
	recs, err := opt.Index.List(ctx, c.chunkColl())
	if err != nil {
		return nil, fmt.Errorf("rag %s: %w", name, err)
	}
	var orphans, other []index.Record
	fp := opt.Embedder.Fingerprint().String()
	for _, r := range recs {
		ch := chunkOf(r)
		if !referenced(c.docs, r) {
			orphans = append(orphans, r)
			continue
		}
		if c.mem.vectors && len(r.Vector) == 0 { // a backend whose List leaves vectors out
			c.mem = newCorpus(false)
			for id, ch := range c.chunks {
				c.mem.add(id, indexedText(ch), nil)
			}
		}
		if r.Metadata["embedder"] != fp {
			other = append(other, r) // added by reembed
			continue
		}
		c.chunks[r.ID] = ch
		c.mem.add(r.ID, indexedText(ch), r.Vector)
	}
	if err := c.settle(ctx, orphans, other, fp); err != nil {
		return nil, err
	}
	return c, nil
}

// reembed embeds again, with the configured embedder, the chunks stored
// with another one (or before chunks recorded theirs), so that a change
// of embedder (GloVe to the trained encoder, say, both 256-d) never
// searches one vector space with the other's queries.
func (c *Collection) reembed(ctx context.Context, recs []index.Record, fp string) error {
	const batch = 512
	for lo := 0; lo < len(recs); lo += batch {
		part := recs[lo:min(lo+batch, len(recs))]
		texts := make([]string, len(part))
		for i, r := range part {
			texts[i] = indexedText(chunkOf(r))
		}
		vecs, err := c.opt.Embedder.Embed(ctx, texts)
		if err != nil {
			return fmt.Errorf("rag %s: embed %d chunks again for embedder %s: %w", c.name, len(recs), fp, err)
		}
		for i := range part {
			if zero(vecs[i]) {
				vecs[i] = append([]float32(nil), vecs[i]...)
				vecs[i][0] = 1e-3
			}
			md := maps.Clone(part[i].Metadata)
			if md == nil {
				md = map[string]string{}
			}
			md["embedder"] = fp
			part[i].Vector, part[i].Metadata = vecs[i], md
		}
		if err := c.opt.Index.Upsert(ctx, c.chunkColl(), part); err != nil {
			return fmt.Errorf("rag %s: store %d chunks embedded again: %w", c.name, len(part), err)
		}
		for _, r := range part {
			ch := chunkOf(r)
			unit := slices.Clone(r.Vector)
			flat.Normalize(unit)
			c.chunks[r.ID] = ch
			c.mem.add(r.ID, indexedText(ch), unit)
		}
	}
	return nil
}

func chunkOf(r index.Record) Chunk {
	pos, _ := strconv.Atoi(r.Metadata["position"])
	return Chunk{Doc: r.Metadata["doc"], Title: r.Metadata["title"], Source: r.Metadata["source"], Heading: r.Metadata["heading"], Position: pos, Text: r.Text}
}

// indexedText is what a chunk is embedded and BM25-indexed as: its title
// and heading lead, as a reader would see them.
func indexedText(ch Chunk) string {
	var b strings.Builder
	for _, s := range []string{ch.Title, ch.Heading} {
		if s != "" {
			b.WriteString(s)
			b.WriteString(". ")
		}
	}
	b.WriteString(ch.Text)
	return b.String()
}

func docHash(d Document) string {
	h := sha256.Sum256([]byte(d.Title + "\x00" + d.Source + "\x00" + d.Text))
	return hex.EncodeToString(h[:8])
}

// Name is the collection's name.
func (c *Collection) Name() string { return c.name }

// Stats counts what an ingest did.
type Stats struct {
	Documents int `json:"documents"` // added or replaced
	Unchanged int `json:"unchanged"` // skipped: same content as stored
	Chunks    int `json:"chunks"`    // written
}

// Ingest adds documents, replacing stored ones with the same ID whose
// content changed and skipping unchanged ones. Each document switches from
// its old chunks to its new ones at once: the new chunks are written first,
// then the manifest entry that points to them, and only then are the old
// ones deleted, so a crash at any point leaves the old or the new version.
// With a Coordinator it runs under the replicas' write lock, from the
// store's manifest as it is (write).
func (c *Collection) Ingest(ctx context.Context, docs []Document) (Stats, error) {
	c.ingest.Lock()
	defer c.ingest.Unlock()
	var st Stats
	err := c.write(ctx, func() (touched []string, err error) {
		for _, d := range docs {
			if strings.TrimSpace(d.ID) == "" {
				return touched, fmt.Errorf("rag %s: a document has no id", c.name)
			}
			hash := docHash(d)
			if old, had := c.docs[d.ID]; had && old.hash == hash {
				st.Unchanged++
				continue
			}
			touched = append(touched, d.ID)
			n, err := c.ingestOne(ctx, d, hash)
			if err != nil {
				return touched, err
			}
			st.Documents++
			st.Chunks += n
		}
		return touched, nil
	})
	c.mu.Lock()
	c.mem.compact()
	c.mu.Unlock()
	return st, err
}

// ingestOne stores a document's new version and retires its old one,
// returning its number of chunks; the caller holds c.ingest.
func (c *Collection) ingestOne(ctx context.Context, d Document, hash string) (int, error) {
	chunks := Split(d, c.opt.Chunk)
	if len(chunks) == 0 {
		return 0, fmt.Errorf("rag %s: document %q has no text", c.name, d.ID)
	}
	texts := make([]string, len(chunks))
	for i, ch := range chunks {
		texts[i] = indexedText(ch)
	}
	vecs, err := c.opt.Embedder.Embed(ctx, texts)
	if err != nil {
		return 0, fmt.Errorf("rag %s: embed %q: %w", c.name, d.ID, err)
	}
	recs := make([]index.Record, 0, len(chunks))
	units := make([][]float32, len(chunks)) // as the store keeps them
	ids := make([]string, len(chunks))
	for i, ch := range chunks {
		ids[i] = chunkID(d.ID, hash, ch.Position)
		if zero(vecs[i]) {
			vecs[i] = append([]float32(nil), vecs[i]...)
			vecs[i][0] = 1e-3 // a chunk with no known word still needs a direction
		}
		units[i] = slices.Clone(vecs[i])
		flat.Normalize(units[i])
		recs = append(recs, index.Record{ID: ids[i], Text: ch.Text, Vector: vecs[i], Metadata: map[string]string{
			"doc": d.ID, "hash": hash, "title": ch.Title, "source": ch.Source, "heading": ch.Heading, "position": strconv.Itoa(ch.Position),
			"embedder": c.opt.Embedder.Fingerprint().String()}})
	}
	if err := c.opt.Index.Upsert(ctx, c.chunkColl(), recs); err != nil {
		return 0, fmt.Errorf("rag %s: store the chunks of %q: %w", c.name, d.ID, err)
	}
	entry := index.Record{ID: d.ID, Vector: one, Metadata: map[string]string{"hash": hash, "chunks": strconv.Itoa(len(chunks)), "title": d.Title, "source": d.Source}}
	if err := c.opt.Index.Upsert(ctx, c.docColl(), []index.Record{entry}); err != nil {
		return 0, fmt.Errorf("rag %s: store the manifest of %q: %w", c.name, d.ID, err)
	}
	// The new version is live; retire the old one.
	c.mu.Lock()
	stale := c.drop(d.ID)
	c.docs[d.ID] = docEntry{hash: hash, chunks: len(chunks), title: d.Title, source: d.Source}
	for i, ch := range chunks {
		c.chunks[ids[i]] = ch
		c.mem.add(ids[i], texts[i], units[i])
	}
	c.mu.Unlock()
	if len(stale) > 0 {
		if err := c.opt.Index.Delete(ctx, c.chunkColl(), stale...); err != nil {
			return 0, fmt.Errorf("rag %s: remove the old chunks of %q: %w", c.name, d.ID, err)
		}
	}
	return len(chunks), nil
}

func zero(v []float32) bool {
	for _, x := range v {
		if x != 0 {
			return false
		}
	}
	return true
}

func chunkID(doc, hash string, pos int) string { return doc + "@" + hash + "#" + strconv.Itoa(pos) }

// ErrNotFound is returned for a document that is not in the collection.
var ErrNotFound = errors.New("no such document")

// Delete removes a document: its manifest entry first (it is gone at once),
// then its chunks. With a Coordinator it runs under the replicas' write
// lock, so a document another replica ingested is found, and one it
// deleted is not.
func (c *Collection) Delete(ctx context.Context, id string) error {
	c.ingest.Lock()
	defer c.ingest.Unlock()
	return c.write(ctx, func() ([]string, error) {
		if _, ok := c.docs[id]; !ok {
			return nil, fmt.Errorf("rag %s: %w %q", c.name, ErrNotFound, id)
		}
		touched := []string{id}
		if err := c.opt.Index.Delete(ctx, c.docColl(), id); err != nil {
			return touched, err
		}
		c.mu.Lock()
		ids := c.drop(id)
		delete(c.docs, id)
		c.mem.compact()
		c.mu.Unlock()
		return touched, c.opt.Index.Delete(ctx, c.chunkColl(), ids...)
	})
}

// Documents is the number of documents; Chunks the number of chunks.
func (c *Collection) Documents() int { c.mu.RLock(); defer c.mu.RUnlock(); return len(c.docs) }
func (c *Collection) Chunks() int    { c.mu.RLock(); defer c.mu.RUnlock(); return len(c.chunks) }

// Query is a retrieval request.
type Query struct {
	Text string
	K    int    // default 5
	Mode string // default the collection's
	// Filter keeps chunks whose metadata has these values (doc, source,
	// title, heading).
	Filter map[string]string
}

// candidates is how many each retriever contributes to a fusion.
func candidates(k int) int { return max(50, 4*k) }

// Search retrieves passages. Their Similarity is the cosine of the query and
// the passage as the embedder sees them.
//
// Each retriever returns its exact top k (or top candidates(k) for a
// fusion): BM25 by MaxScore over the inverted index, vectors by the
// quantized slab's bounded scan (or by the backend itself, pgvector's
// HNSW), neither scoring every chunk. A fusion of two exact top lists is
// the fusion of the full score lists cut to those lengths, which is what
// it always was (TestSearchMatchesExhaustive).
func (c *Collection) Search(ctx context.Context, q Query) ([]Passage, error) {
	if strings.TrimSpace(q.Text) == "" {
		return nil, errors.New("rag: empty query")
	}
	k := cmp.Or(q.K, 5)
	mode := cmp.Or(q.Mode, c.opt.Mode)
	n := k
	switch mode {
	case ModeBM25, ModeVector:
	case ModeHybrid, ModeRRF:
		n = candidates(k)
	default:
		return nil, fmt.Errorf("rag: unknown mode %q; want vector, bm25, hybrid or rrf", mode)
	}
	qv, err := c.embedOne(ctx, q.Text)
	if err != nil {
		return nil, err
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	// A fusion runs pgvector's search beside BM25, to overlap the round
	// trip. The slab's scan runs first, on this goroutine (it splits
	// across the workers itself when the collection is large): a
	// goroutine of its own cost more to wake than it overlapped (NQ-Open's
	// hybrid 215–293 µs this way, 387–462 µs beside BM25; 10,000
	// synthetic chunks 538–590 against 720–891 µs; BenchmarkSearch and
	// BenchmarkSearchSynthetic, alternating).
	var bm, vec []scored
	var wg sync.WaitGroup
	vectors := func() {
		defer wg.Done()
		vec, err = c.vectorSearch(ctx, qv, n, q.Filter)
	}
	switch mode {
	case ModeVector:
		wg.Add(1)
		vectors()
	case ModeHybrid, ModeRRF:
		wg.Add(1)
		if c.mem.vectors {
			vectors()
		} else {
			go vectors()
		}
	}
	if mode != ModeVector {
		var keep func(int32) bool
		if len(q.Filter) > 0 {
			keep = func(s int32) bool { return matches(c.chunks[c.mem.ids[s]], q.Filter) }
		}
		bm = c.scoredOf(c.mem.lexical(q.Text, n, keep))
	}
	wg.Wait()
	if err != nil {
		return nil, err
	}
	var ranked []scored
	switch mode {
	case ModeBM25:
		ranked = bm
	case ModeVector:
		ranked = vec
	case ModeHybrid:
		ranked = fuseScores(bm, vec, c.opt.VectorWeight)
	case ModeRRF:
		ranked = fuseRanks(bm, vec, 60)
	}
	return c.passages(ctx, qv, ranked[:min(k, len(ranked))]), nil
}

// passages are the ranked chunks with their similarity to the query: from
// the vectors in process, or, with a backend that searches itself, by
// embedding each passage again.
func (c *Collection) passages(ctx context.Context, qv []float32, ranked []scored) []Passage {
	out := make([]Passage, len(ranked))
	for i, r := range ranked {
		ch := c.chunks[r.id]
		out[i] = Passage{ChunkID: r.id, Chunk: ch, Score: r.score}
		v := c.mem.vector(r.id)
		if v == nil {
			var err error
			if v, err = c.embedOne(ctx, indexedText(ch)); err != nil {
				continue
			}
		}
		out[i].Similarity = float64(flat.Dot(qv, v))
	}
	return out
}

func (c *Collection) embedOne(ctx context.Context, text string) ([]float32, error) {
	vs, err := c.opt.Embedder.Embed(ctx, []string{text})
	if err != nil {
		return nil, fmt.Errorf("rag: embed: %w", err)
	}
	v := vs[0]
	flat.Normalize(v)
	return v, nil
}

// scoredOf names the slots of hits by chunk ID.
func (c *Collection) scoredOf(hs []hit) []scored {
	out := make([]scored, len(hs))
	for i, h := range hs {
		out[i] = scored{c.mem.ids[h.slot], h.score}
	}
	return out
}

// vectorSearch finds the k chunks nearest qv that pass the filter: in the
// corpus's slab, or, with a backend that searches itself, by asking the
// index for more than k when a filter or stale chunks may take some away.
func (c *Collection) vectorSearch(ctx context.Context, qv []float32, k int, filter map[string]string) ([]scored, error) {
	if zero(qv) {
		return nil, nil
	}
	if c.mem.vectors {
		var keep func(int32) bool
		if len(filter) > 0 {
			keep = func(s int32) bool { return matches(c.chunks[c.mem.ids[s]], filter) }
		}
		return c.scoredOf(c.mem.nearest(qv, k, keep)), nil
	}
	want := k
	for {
		hits, err := c.opt.Index.Search(ctx, c.chunkColl(), qv, want)
		if err != nil {
			return nil, fmt.Errorf("rag: vector search: %w", err)
		}
		var out []scored
		for _, h := range hits {
			if ch, ok := c.chunks[h.ID]; ok && matches(ch, filter) {
				out = append(out, scored{h.ID, float64(h.Score)})
			}
		}
		if len(out) >= k || len(hits) < want || want >= 8*k+1000 {
			return out[:min(k, len(out))], nil
		}
		want *= 4
	}
}

// searchesItself reports whether an index backend answers vector searches
// itself rather than through a copy in this process: pgvector's store is
// shared by replicas, and another's ingest would not reach a copy here.
func searchesItself(idx index.Index) bool {
	s, ok := idx.(interface{ Shared() bool })
	return ok && s.Shared()
}

func matches(ch Chunk, f map[string]string) bool {
	for k, v := range f {
		var have string
		switch k {
		case "doc":
			have = ch.Doc
		case "source":
			have = ch.Source
		case "title":
			have = ch.Title
		case "heading":
			have = ch.Heading
		default:
			return false
		}
		if have != v {
			return false
		}
	}
	return true
}
