package rag

import (
	"math"
	"slices"
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
	// minLen and maxLen bound every slot's length (they only loosen
	// until compaction): search's bounds by length are tabled between them.
	minLen, maxLen int32
	pool           sync.Pool // *scratch
}

// postings are one word's chunks in two parts by how often the word
// occurs in them: once (most postings of most words; 4 bytes each, the
// slot alone) or more often (slot and frequency). Splitting them gives
// search two bounds per word instead of one: a common word's postings of
// frequency 1 can add much less than its rare frequency-5 ones, and with
// that tighter bound they turn non-essential sooner. A chunk is in one
// part of each of its words. df is the live document frequency.
type postings struct {
	parts [2]part // of frequency 1, of frequency 2 or more
	df    int32
}

// part is a list of postings sorted by slot, with what bounds the word's
// score in any of them: the largest frequency and the shortest chunk
// (bounds that only loosen until compaction). maxTF is 1 exactly in the
// part of frequency 1.
type part struct {
	slots []int32
	// aux is, in the part of frequency 2 or more, each posting's
	// frequency; in the part of frequency 1, once it is dense, its slots
	// again as a bitmap (bit s%32 of word s/32), else nil.
	aux    []uint32
	maxTF  int32
	minLen int32
}

// The part of frequency 1 keeps its slots as a bitmap too once its
// postings are dense, so that search answers a probe for a chunk in one
// load instead of a search of the list: built once the part has denseMin
// postings and one in denseBuild slots up to its last (the bitmap then
// takes at most 2 bytes a posting beside the list's 4), dropped when
// fewer than one in denseDrop (8 bytes a posting). Common words have one;
// rare words never.
const denseMin, denseBuild, denseDrop = 64, 16, 64

// dense reports whether the part has a bitmap.
func (p *part) dense() bool { return p.maxTF == 1 && p.aux != nil }

// index keeps the bitmap of the part of frequency 1 up to date once slot
// is appended to its list.
func (p *part) index(slot int32) {
	n, span := int64(len(p.slots)), int64(slot)+1
	switch {
	case p.aux != nil && n*denseDrop < span:
		p.aux = nil
	case p.aux != nil:
		p.set(slot)
	case n >= denseMin && n*denseBuild >= span:
		p.aux = make([]uint32, 0, slot/32+1)
		for _, s := range p.slots {
			p.set(s)
		}
	}
}

func (p *part) set(slot int32) {
	w := int(slot >> 5)
	if w >= len(p.aux) {
		p.aux = append(p.aux, make([]uint32, w+1-len(p.aux))...)
	}
	p.aux[w] |= 1 << (slot & 31)
}

// has reports whether the bitmap has slot.
func (p *part) has(slot int32) bool {
	w := int(slot >> 5)
	return w < len(p.aux) && p.aux[w]>>(slot&31)&1 != 0
}

// tf is the frequency of the i-th posting.
func (p *part) tf(i int) int32 {
	if p.maxTF == 1 {
		return 1
	}
	return int32(p.aux[i])
}

func newPostings() postings {
	var p postings
	for i := range p.parts {
		p.parts[i].minLen = math.MaxInt32
	}
	return p
}

func (p *postings) add(slot, tf, length int32) {
	q := &p.parts[min(tf, 2)-1]
	q.slots = append(q.slots, slot)
	if tf > 1 {
		q.aux = append(q.aux, uint32(tf))
	} else {
		q.index(slot)
	}
	q.maxTF = max(q.maxTF, tf)
	q.minLen = min(q.minLen, length)
	p.df++
}

const bm25K1, bm25B = 1.2, 0.75

func newBM25() *bm25 {
	return &bm25{dict: map[string]int32{}, minLen: math.MaxInt32, pool: sync.Pool{New: func() any { return &scratch{partial: make([]float64, window)} }}}
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
	b.minLen, b.maxLen = min(b.minLen, int32(n)), max(b.maxLen, int32(n))
	b.total += int64(n)
	b.live++
	for i, w := range words {
		li, ok := b.dict[w]
		if !ok {
			li = int32(len(b.lists))
			b.dict[w] = li
			b.lists = append(b.lists, newPostings())
		}
		b.lists[li].add(slot, tf[i], int32(n))
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
	b.minLen, b.maxLen = math.MaxInt32, 0
	for s, l := range b.length {
		if remap[s] >= 0 {
			length = append(length, l)
			b.minLen, b.maxLen = min(b.minLen, l), max(b.maxLen, l)
		}
	}
	for w, li := range b.dict {
		old := &b.lists[li]
		if old.df == 0 {
			continue
		}
		p := newPostings()
		for oi := range old.parts {
			o := &old.parts[oi]
			for i, s := range o.slots {
				if r := remap[s]; r >= 0 {
					p.add(r, o.tf(i), length[r])
				}
			}
		}
		if p.df > 0 {
			for i := range p.parts {
				q := &p.parts[i]
				q.slots, q.aux = slices.Clip(q.slots), slices.Clip(q.aux)
			}
			dict[w] = int32(len(lists))
			lists = append(lists, p)
		}
	}
	b.dict, b.lists, b.length = dict, lists, length
}

// find returns slot d's frequency in the part (0: none) and where the
// part's list stands after it: at or after d, from cur on (unmoved when
// the bitmap answers).
func (p *part) find(cur int, d int32) (int, int32) {
	if p.dense() {
		if p.has(d) {
			return cur, p.maxTF
		}
		return cur, 0
	}
	if cur < len(p.slots) && p.slots[cur] < d {
		cur = gallop(p.slots, cur, d)
	}
	if cur < len(p.slots) && p.slots[cur] == d {
		return cur, p.tf(cur)
	}
	return cur, 0
}

// gallop returns the place of the first slot at or after d in s, given
// that s[i] < d: a few steps one by one, as candidates are often near,
// then galloping, as the non-essential lists are long and may be probed
// far apart.
func gallop(s []int32, i int, d int32) int {
	for range 4 {
		if i++; i >= len(s) || s[i] >= d {
			return i
		}
	}
	step := 1
	for i+step < len(s) && s[i+step] < d {
		i += step
		step *= 2
	}
	// The first slot at or after d is in (i, min(i+step, len(s))]: a
	// binary search without branches on the slots, which are not
	// predictable.
	base, n := i+1, min(i+step, len(s))-i
	for n > 1 {
		half := n >> 1
		// 1 when s[base+half-1] < d: slots are not negative, so the
		// difference does not overflow.
		lt := int(uint32(s[base+half-1]-d) >> 31)
		base += half & -lt
		n -= half
	}
	return base
}

// queryTerms are the query's distinct words that some live chunk has, in
// query order, with their idf. The words are looked up as the tokenizer
// cuts them, without a string each.
func (b *bm25) queryTerms(query string) []qterm {
	var t embed.Tokens
	t.Reset(query)
	n := float64(b.live)
	var qs []qterm
	for i := range t.Len() {
		li, ok := b.dict[string(t.Word(i))]
		if !ok || b.lists[li].df == 0 || slices.ContainsFunc(qs, func(q qterm) bool { return q.p == &b.lists[li] }) {
			continue
		}
		p := &b.lists[li]
		df := float64(p.df)
		idf := math.Log(1 + (n-df+0.5)/(df+0.5))
		qs = append(qs, qterm{p: p, idf: idf})
	}
	return qs
}
