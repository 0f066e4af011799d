package rag

import (
	"sync"

	"github.com/semroute/semroute/index/flat"
)

// corpus is what a collection searches in process: its live chunks
// numbered by slot, the BM25 index over them and, unless the index backend
// searches by itself (pgvector), their vectors in a quantized flat.Slab,
// the routing core's slab and kernels. The store of record stays the
// index: the corpus is built from it at Open and changed with it by
// Ingest and Delete, and never holds a chunk the manifest does not point
// to.
//
// Slots are appended in the order chunks arrive and a removed one is only
// marked, so a search never sees the numbering change under it; compact
// renumbers once a quarter of the slots are dead. Not safe for concurrent
// use: the collection's lock guards it (searches read under RLock).
type corpus struct {
	ids     []string // slot → chunk ID; "" once removed
	slotOf  map[string]int32
	live    int
	bm      *bm25
	vec     *flat.Slab // nil without vectors or before the first one
	vectors bool
	scratch sync.Pool // *flat.Scratch, one per concurrent search
}

func newCorpus(vectors bool) *corpus {
	return &corpus{slotOf: map[string]int32{}, bm: newBM25(), vectors: vectors,
		scratch: sync.Pool{New: func() any { return new(flat.Scratch) }}}
}

// add appends a chunk: its ID, the text BM25 indexes and, when the corpus
// keeps vectors, its unit vector (kept bit for bit as the store has it).
// The ID must not be live already.
func (c *corpus) add(id, text string, unit []float32) {
	slot := int32(len(c.ids))
	c.ids = append(c.ids, id)
	c.slotOf[id] = slot
	c.live++
	c.bm.add(slot, text)
	if !c.vectors {
		return
	}
	if c.vec == nil {
		c.vec = flat.New(len(unit), nil)
		c.vec.Quantize()
	}
	c.vec.Append(unit)
}

// remove marks a chunk's slot dead; text is what it was indexed from.
func (c *corpus) remove(id, text string) {
	slot, ok := c.slotOf[id]
	if !ok {
		return
	}
	delete(c.slotOf, id)
	c.ids[slot] = ""
	c.live--
	c.bm.remove(slot, text)
}

// compact drops dead slots once they are a quarter of all, renumbering
// the live ones in their order.
func (c *corpus) compact() {
	dead := len(c.ids) - c.live
	if dead == 0 || dead < len(c.ids)/4 {
		return
	}
	remap := make([]int32, len(c.ids))
	ids := make([]string, 0, c.live)
	for s, id := range c.ids {
		remap[s] = -1
		if id != "" {
			remap[s] = int32(len(ids))
			c.slotOf[id] = remap[s]
			ids = append(ids, id)
		}
	}
	c.bm.compact(remap)
	if c.vec != nil {
		c.vec.Retain(func(i int) bool { return remap[i] >= 0 })
	}
	c.ids = ids
}

// before orders tied chunks: by ID, as they were before there were slots.
func (c *corpus) before(a, b int32) bool { return c.ids[a] < c.ids[b] }

// vector returns a live chunk's unit vector, or nil.
func (c *corpus) vector(id string) []float32 {
	slot, ok := c.slotOf[id]
	if !ok || c.vec == nil {
		return nil
	}
	return c.vec.Vector(int(slot))
}

// nearest returns the k live chunks (among those keep accepts, nil: all)
// most similar to the unit vector q, best first, ties by ID: exactly what
// scoring every chunk's stored vector with flat.Dot gives.
func (c *corpus) nearest(q []float32, k int, keep func(int32) bool) []hit {
	if c.vec == nil || c.live == 0 || len(q) != c.vec.Dim() {
		return nil
	}
	sc := c.scratch.Get().(*flat.Scratch)
	defer c.scratch.Put(sc)
	f := flat.Filter{Before: c.before}
	if keep != nil || c.live < len(c.ids) { // every slot live and no filter: nothing to ask
		f.Keep = func(s int32) bool { return c.ids[s] != "" && (keep == nil || keep(s)) }
	}
	res := c.vec.TopK(q, k, f, nil, sc)
	out := make([]hit, len(res))
	for i, r := range res {
		out[i] = hit{r.Index, float64(r.Score)}
	}
	return out
}

// lexical returns the k best live chunks by BM25 among those keep accepts.
func (c *corpus) lexical(query string, k int, keep func(int32) bool) []hit {
	return c.bm.search(query, k, keep, c.before)
}
