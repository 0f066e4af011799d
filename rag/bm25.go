package rag

import (
	"math"
	"sync"

	"github.com/semroute/semroute/embed"
)

// bm25 is an inverted index over the chunks' words, by slot (the corpus's
// numbering), scored with Okapi BM25 (k1 = 1.2, b = 0.75). Each word's
// postings are sorted by slot, because slots are only ever appended and
// compaction keeps their order; that is what lets search walk the lists
// document at a time and skip (MaxScore, below). Removed chunks leave
// postings behind until the corpus compacts; the counts that scores use
// (document frequency, number and length of chunks) are of live chunks
// only, so a score never depends on what is waiting to be compacted.
//
// Not safe for concurrent use: the collection's lock guards it.
type bm25 struct {
	dict   map[string]int32 // word → its list in lists
	lists  []postings
	length []int32 // words per slot; -1 once removed
	total  int64   // words over live slots
	live   int
	pool   sync.Pool // *scratch
}

// postings are one word's chunks: parallel slot and term-frequency arrays
// (8 bytes a posting), with the live document frequency and what bounds
// the word's score in any chunk: the largest frequency and the shortest
// chunk among its postings (bounds that only loosen until compaction).
type postings struct {
	slots  []int32
	tfs    []int32
	df     int32
	maxTF  int32
	minLen int32
}

const bm25K1, bm25B = 1.2, 0.75

func newBM25() *bm25 {
	return &bm25{dict: map[string]int32{}, pool: sync.Pool{New: func() any { return &scratch{partial: make([]float64, window)} }}}
}

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

// counts are a text's distinct words with their frequencies, in first
// occurrence order, and its length in words.
func counts(text string) (words []string, tf []int32, n int) {
	ws := terms(text)
	at := map[string]int{}
	for _, w := range ws {
		if i, ok := at[w]; ok {
			tf[i]++
			continue
		}
		at[w] = len(words)
		words = append(words, w)
		tf = append(tf, 1)
	}
	return words, tf, len(ws)
}

// add indexes text as slot, which must be the next slot (len of length).
func (b *bm25) add(slot int32, text string) {
	words, tf, n := counts(text)
	b.length = append(b.length, int32(n))
	b.total += int64(n)
	b.live++
	for i, w := range words {
		li, ok := b.dict[w]
		if !ok {
			li = int32(len(b.lists))
			b.dict[w] = li
			b.lists = append(b.lists, postings{minLen: math.MaxInt32})
		}
		p := &b.lists[li]
		p.slots = append(p.slots, slot)
		p.tfs = append(p.tfs, tf[i])
		p.df++
		p.maxTF = max(p.maxTF, tf[i])
		p.minLen = min(p.minLen, int32(n))
	}
}

// remove takes slot, indexed from text, out of the counts; its postings
// stay until compact.
func (b *bm25) remove(slot int32, text string) {
	if b.length[slot] < 0 {
		return
	}
	words, _, _ := counts(text)
	for _, w := range words {
		if li, ok := b.dict[w]; ok {
			b.lists[li].df--
		}
	}
	b.total -= int64(b.length[slot])
	b.length[slot] = -1
	b.live--
}

// compact renumbers the slots (remap[s] is slot s's new number, -1 for a
// removed one), dropping removed slots' postings and words no live chunk
// has, and tightening the bounds.
func (b *bm25) compact(remap []int32) {
	dict := make(map[string]int32, len(b.dict))
	lists := make([]postings, 0, len(b.lists))
	length := b.length[:0]
	for s, l := range b.length {
		if remap[s] >= 0 {
			length = append(length, l)
		}
	}
	for w, li := range b.dict {
		old := b.lists[li]
		p := postings{minLen: math.MaxInt32, slots: make([]int32, 0, old.df), tfs: make([]int32, 0, old.df)}
		for i, s := range old.slots {
			if r := remap[s]; r >= 0 {
				p.slots = append(p.slots, r)
				p.tfs = append(p.tfs, old.tfs[i])
				p.maxTF = max(p.maxTF, old.tfs[i])
				p.minLen = min(p.minLen, length[r])
			}
		}
		if len(p.slots) > 0 {
			p.df = int32(len(p.slots))
			dict[w] = int32(len(lists))
			lists = append(lists, p)
		}
	}
	b.dict, b.lists, b.length = dict, lists, length
}
