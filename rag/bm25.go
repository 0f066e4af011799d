package rag

import (
	"cmp"
	"math"
	"slices"
	"sync"

	"github.com/semroute/semroute/embed"
)

// bm25 is an in-memory inverted index over the chunks' words, scored with
// Okapi BM25 (k1 = 1.2, b = 0.75). Removed chunks leave holes that the next
// rebuild closes.
type bm25 struct {
	mu       sync.RWMutex
	postings map[string][]posting
	length   []int32  // words per slot; -1 when removed
	ids      []string // slot → chunk ID
	slot     map[string]int32
	total    int64 // words over live slots
	live     int
}

type posting struct {
	slot int32
	tf   int32
}

type scored struct {
	id    string
	score float64
}

const bm25K1, bm25B = 1.2, 0.75

func newBM25() *bm25 { return &bm25{postings: map[string][]posting{}, slot: map[string]int32{}} }

// terms are a text's lowercase words, as the embedder's tokenizer cuts them.
func terms(text string) []string {
	var t embed.Tokens
	t.Reset(text)
	out := make([]string, t.Len())
	for i := range out {
		out[i] = string(t.Word(i))
	}
	return out
}

func (b *bm25) add(id, text string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.slot[id]; ok {
		b.removeLocked(id)
	}
	ws := terms(text)
	s := int32(len(b.ids))
	b.ids = append(b.ids, id)
	b.length = append(b.length, int32(len(ws)))
	b.slot[id] = s
	b.total += int64(len(ws))
	b.live++
	tf := map[string]int32{}
	for _, w := range ws {
		tf[w]++
	}
	for w, n := range tf {
		b.postings[w] = append(b.postings[w], posting{s, n})
	}
}

func (b *bm25) remove(id string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.removeLocked(id)
}

func (b *bm25) removeLocked(id string) {
	s, ok := b.slot[id]
	if !ok {
		return
	}
	delete(b.slot, id)
	b.total -= int64(b.length[s])
	b.length[s] = -1
	b.live--
}

// compact drops removed slots from the postings once they are a quarter
// of all.
func (b *bm25) compact() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if dead := len(b.ids) - b.live; dead == 0 || dead < len(b.ids)/4 {
		return
	}
	remap := make([]int32, len(b.ids))
	var ids []string
	var length []int32
	for s, id := range b.ids {
		remap[s] = -1
		if b.length[s] >= 0 {
			remap[s] = int32(len(ids))
			ids = append(ids, id)
			length = append(length, b.length[s])
			b.slot[id] = remap[s]
		}
	}
	for w, ps := range b.postings {
		kept := ps[:0]
		for _, p := range ps {
			if r := remap[p.slot]; r >= 0 {
				kept = append(kept, posting{r, p.tf})
			}
		}
		if len(kept) == 0 {
			delete(b.postings, w)
		} else {
			b.postings[w] = kept
		}
	}
	b.ids, b.length = ids, length
}

// search returns up to k chunks by BM25 score, best first, among those
// keep accepts (nil: all).
func (b *bm25) search(query string, k int, keep func(id string) bool) []scored {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.live == 0 {
		return nil
	}
	n := float64(b.live)
	avg := float64(b.total) / n
	acc := map[int32]float64{}
	seen := map[string]bool{}
	for _, w := range terms(query) {
		if seen[w] {
			continue
		}
		seen[w] = true
		ps := b.postings[w]
		df := 0
		for _, p := range ps {
			if b.length[p.slot] >= 0 {
				df++
			}
		}
		if df == 0 {
			continue
		}
		idf := math.Log(1 + (n-float64(df)+0.5)/(float64(df)+0.5))
		for _, p := range ps {
			l := b.length[p.slot]
			if l < 0 {
				continue
			}
			tf := float64(p.tf)
			acc[p.slot] += idf * tf * (bm25K1 + 1) / (tf + bm25K1*(1-bm25B+bm25B*float64(l)/avg))
		}
	}
	// The k best by a bounded min-heap: most matches share only common
	// words and never get near the top.
	h := make([]scored, 0, k+1)
	worse := func(x, y scored) bool { return x.score < y.score || x.score == y.score && x.id > y.id }
	for s, v := range acc {
		if len(h) == k && v < h[0].score {
			continue
		}
		id := b.ids[s]
		if keep != nil && !keep(id) {
			continue
		}
		h = append(h, scored{id, v})
		for i := len(h) - 1; i > 0 && worse(h[i], h[(i-1)/2]); i = (i - 1) / 2 {
			h[i], h[(i-1)/2] = h[(i-1)/2], h[i]
		}
		if len(h) > k { // drop the worst, at the root
			h[0] = h[len(h)-1]
			h = h[:len(h)-1]
			for i := 0; ; {
				l, r, m := 2*i+1, 2*i+2, i
				if l < len(h) && worse(h[l], h[m]) {
					m = l
				}
				if r < len(h) && worse(h[r], h[m]) {
					m = r
				}
				if m == i {
					break
				}
				h[i], h[m] = h[m], h[i]
				i = m
			}
		}
	}
	slices.SortFunc(h, func(x, y scored) int { return cmp.Or(cmp.Compare(y.score, x.score), cmp.Compare(x.id, y.id)) })
	return h
}
