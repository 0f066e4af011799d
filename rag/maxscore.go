package rag

import (
	"math"
	mathbits "math/bits"
	"slices"
)

// hit is a slot a retriever found, with its score.
type hit struct {
	slot  int32
	score float64
}

// termScore is one word's BM25 score in a chunk of l words where it occurs
// tf times. Every score, bounds included, goes through it.
func termScore(idf, tf, l, avg float64) float64 {
	return idf * tf * (bm25K1 + 1) / (tf + bm25K1*(1-bm25B+bm25B*l/avg))
}

// qterm is a distinct query word during a search.
type qterm struct {
	p   *postings
	idf float64
	ub  float64 // the most the word adds to any chunk's score
	cur int     // the next posting to look at
}

// seek moves the cursor to the first posting at or after slot d,
// galloping: the non-essential lists are long and probed far apart.
func (t *qterm) seek(d int32) {
	s := t.p.slots
	i := t.cur
	if i >= len(s) || s[i] >= d {
		return
	}
	step := 1
	for i+step < len(s) && s[i+step] < d {
		i += step
		step *= 2
	}
	hi := min(i+step, len(s))
	pos, _ := slices.BinarySearch(s[i+1:hi], d)
	t.cur = i + 1 + pos
}

// rel is the relative margin a bound must clear before it prunes: bounds
// are summed in another order than scores, so they may differ by a few
// ulps.
const rel = 1e-9

// window is how many slots search scores at a time: the essential words'
// postings in a window are added into dense arrays (a window's worth of
// term frequencies per word, 16 KB each), not merged posting by posting.
const window = 4096

// scratch is one search's working space, reused through bm25's pool.
type scratch struct {
	tf      []int32   // tf[t*window+i]: query word t's frequency in slot w0+i
	partial []float64 // the essential words' scores of slot w0+i, for bounds
	seen    [window / 64]uint64
}

// search returns the k best chunks by BM25 score among live slots keep
// accepts (nil: all), best first, ties in before's order: exactly what
// scoring every chunk that has a query word gives (TestSearchMatchesExhaustive).
//
// It is MaxScore (Turtle and Flood, 1995) over windows of slots, as
// Lucene's MaxScoreBulkScorer does it: the query's words sorted by the
// most each can add to a chunk; once k chunks are held, the words whose
// bounds together cannot reach the k-th score are non-essential. In each
// window only the essential words' postings are read, term at a time into
// dense arrays; a chunk they reach is then checked against its bound and
// the non-essential lists are probed for it (galloping) only while it can
// still make the top k. On short queries over large collections the
// common words turn non-essential after the first window, and their long
// lists are skipped through rather than read. A chunk that survives is
// scored again from its term frequencies, in query order, as exhaustive
// scoring adds them, so equal scores are equal bit for bit.
func (b *bm25) search(query string, k int, keep func(int32) bool, before func(a, b int32) bool) []hit {
	if b.live == 0 || k <= 0 {
		return nil
	}
	avg := float64(b.total) / float64(b.live)
	qs := b.queryTerms(query, avg)
	if len(qs) == 0 {
		return nil
	}
	ord := make([]int, len(qs)) // by bound, smallest first
	for i := range ord {
		ord[i] = i
	}
	slices.SortFunc(ord, func(x, y int) int { return cmpFloat(qs[x].ub, qs[y].ub) })
	prefix := make([]float64, len(ord)+1) // prefix[i]: the bounds of ord[:i]
	for i, o := range ord {
		prefix[i+1] = prefix[i] + qs[o].ub
	}
	sc := b.pool.Get().(*scratch)
	defer b.pool.Put(sc)
	if len(sc.tf) < len(qs)*window {
		sc.tf = make([]int32, len(qs)*window)
	}
	s := &searcher{b: b, qs: qs, ord: ord, prefix: prefix, avg: avg, k: k, keep: keep, sc: sc, theta: math.Inf(-1),
		better: func(x, y hit) bool { return x.score > y.score || x.score == y.score && before(x.slot, y.slot) }}
	s.top = make([]hit, 0, k)
	for w0 := int32(0); int(w0) < len(b.length); w0 += window {
		if !s.window(w0, min(w0+window, int32(len(b.length)))) {
			break
		}
	}
	return s.top
}

// searcher is one search's state.
type searcher struct {
	b      *bm25
	qs     []qterm
	ord    []int
	prefix []float64
	avg    float64
	k      int
	keep   func(int32) bool
	better func(x, y hit) bool
	sc     *scratch
	top    []hit
	theta  float64 // the k-th score once k are held
}

// cannot reports whether a chunk whose score is at most upper cannot make
// the top k.
func (s *searcher) cannot(upper float64) bool { return upper*(1+rel)+rel < s.theta }

// window scores the slots w0 ≤ d < w1; false when no chunk after them can
// make the top k.
func (s *searcher) window(w0, w1 int32) bool {
	ne := 0 // ord[:ne] are non-essential in this window
	for ne < len(s.ord) && s.cannot(s.prefix[ne+1]) {
		ne++
	}
	if ne == len(s.ord) {
		return false
	}
	sc, length := s.sc, s.b.length
	for _, o := range s.ord[ne:] {
		t := &s.qs[o]
		tf := sc.tf[o*window : (o+1)*window]
		for ; t.cur < len(t.p.slots) && t.p.slots[t.cur] < w1; t.cur++ {
			d := t.p.slots[t.cur]
			if length[d] < 0 {
				continue
			}
			i := d - w0
			tf[i] = t.p.tfs[t.cur]
			sc.partial[i] += termScore(t.idf, float64(tf[i]), float64(length[d]), s.avg)
			sc.seen[i/64] |= 1 << (i % 64)
		}
	}
	base := s.prefix[ne]
	for wi, bits := range sc.seen {
		for ; bits != 0; bits &= bits - 1 {
			i := wi*64 + mathbits.TrailingZeros64(bits)
			if !s.cannot(sc.partial[i] + base) {
				s.consider(w0, int32(i), ne)
			}
			sc.partial[i] = 0
			for _, o := range s.ord[ne:] {
				sc.tf[o*window+i] = 0
			}
		}
		sc.seen[wi] = 0
	}
	return true
}

// consider probes the non-essential words ord[:ne] for slot w0+i, which
// an essential word reached and whose bound could make the top k, while it
// still can, and scores it exactly if it does.
func (s *searcher) consider(w0, i int32, ne int) {
	d := w0 + i
	upper := s.sc.partial[i] + s.prefix[ne]
	defer func() {
		for _, o := range s.ord[:ne] {
			s.sc.tf[o*window+int(i)] = 0
		}
	}()
	for j := ne - 1; j >= 0; j-- {
		o := s.ord[j]
		t := &s.qs[o]
		upper -= t.ub
		t.seek(d)
		if t.cur < len(t.p.slots) && t.p.slots[t.cur] == d {
			tf := t.p.tfs[t.cur]
			s.sc.tf[o*window+int(i)] = tf
			upper += termScore(t.idf, float64(tf), float64(s.b.length[d]), s.avg)
		}
		if s.cannot(upper) {
			return
		}
	}
	h := hit{slot: d}
	l := float64(s.b.length[d])
	for o := range s.qs { // query order, as exhaustive scoring adds them
		if tf := s.sc.tf[o*window+int(i)]; tf > 0 {
			h.score += termScore(s.qs[o].idf, float64(tf), l, s.avg)
		}
	}
	if len(s.top) == s.k && !s.better(h, s.top[s.k-1]) || s.keep != nil && !s.keep(d) {
		return
	}
	s.top = insertHit(s.top, s.k, h, s.better)
	if len(s.top) == s.k {
		s.theta = s.top[s.k-1].score
	}
}

// queryTerms are the query's distinct words that some live chunk has, in
// query order, with their idf and bound.
func (b *bm25) queryTerms(query string, avg float64) []qterm {
	n := float64(b.live)
	var qs []qterm
	seen := map[string]bool{}
	for _, w := range terms(query) {
		if seen[w] {
			continue
		}
		seen[w] = true
		li, ok := b.dict[w]
		if !ok || b.lists[li].df == 0 {
			continue
		}
		p := &b.lists[li]
		df := float64(p.df)
		idf := math.Log(1 + (n-df+0.5)/(df+0.5))
		qs = append(qs, qterm{p: p, idf: idf, ub: termScore(idf, float64(p.maxTF), float64(p.minLen), avg)})
	}
	return qs
}

// insertHit puts h into top, kept in better's order and at most k long.
func insertHit(top []hit, k int, h hit, better func(x, y hit) bool) []hit {
	if len(top) == k {
		top = top[:k-1]
	}
	i := len(top)
	top = append(top, h)
	for i > 0 && better(h, top[i-1]) {
		top[i] = top[i-1]
		i--
	}
	top[i] = h
	return top
}

func cmpFloat(x, y float64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}
