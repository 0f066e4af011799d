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
}

// cursor walks one part of a query word's postings.
type cursor struct {
	p    *part
	term int     // the word's place in the query
	ub   float64 // the most the word adds to a chunk of this part
	cur  int     // the next posting to look at
}

// seek moves the cursor to the first posting at or after slot d,
// galloping: the non-essential lists are long and probed far apart.
func (t *cursor) seek(d int32) {
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
	tf      []int32   // tf[t*window+i]: query word t's frequency in slot w0+i (0: absent)
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
	qs := b.queryTerms(query)
	if len(qs) == 0 {
		return nil
	}
	var cs []cursor // by bound, smallest first
	for t, q := range qs {
		for _, p := range []*part{&q.p.once, &q.p.more} {
			if len(p.slots) > 0 {
				cs = append(cs, cursor{p: p, term: t, ub: termScore(q.idf, float64(p.maxTF), float64(p.minLen), avg)})
			}
		}
	}
	slices.SortFunc(cs, func(x, y cursor) int { return cmpFloat(x.ub, y.ub) })
	prefix := make([]float64, len(cs)+1) // prefix[i]: the bounds of cs[:i]
	for i, c := range cs {
		prefix[i+1] = prefix[i] + c.ub
	}
	sc := b.pool.Get().(*scratch)
	defer b.pool.Put(sc)
	if len(sc.tf) < len(qs)*window {
		sc.tf = make([]int32, len(qs)*window)
	}
	s := &searcher{b: b, qs: qs, cs: cs, prefix: prefix, avg: avg, k: k, keep: keep, sc: sc,
		better: func(x, y hit) bool { return x.score > y.score || x.score == y.score && before(x.slot, y.slot) }}
	s.top = make([]hit, 0, k)
	s.from = make([]int, len(cs))
	s.theta = s.prime()
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
	cs     []cursor // the query words' parts, by bound
	from   []int    // from[j]: where cs[j] stood when the window began
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
	ne := 0 // cs[:ne] are non-essential in this window
	for ne < len(s.cs) && s.cannot(s.prefix[ne+1]) {
		ne++
	}
	if ne == len(s.cs) {
		return false
	}
	sc, length := s.sc, s.b.length
	for j := range s.cs[ne:] {
		c := &s.cs[ne+j]
		s.from[ne+j] = c.cur
		idf := s.qs[c.term].idf
		tf := sc.tf[c.term*window : (c.term+1)*window]
		for ; c.cur < len(c.p.slots) && c.p.slots[c.cur] < w1; c.cur++ {
			d := c.p.slots[c.cur]
			if length[d] < 0 {
				continue
			}
			i := d - w0
			tf[i] = c.p.tf(c.cur)
			sc.partial[i] += termScore(idf, float64(tf[i]), float64(length[d]), s.avg)
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
		}
		sc.seen[wi] = 0
	}
	// The essential words' frequencies back to 0, posting by posting:
	// fewer stores than every seen slot times every essential word.
	for j, c := range s.cs[ne:] {
		tf := sc.tf[c.term*window : (c.term+1)*window]
		for _, d := range c.p.slots[s.from[ne+j]:c.cur] {
			tf[d-w0] = 0
		}
	}
	return true
}

// consider probes the non-essential parts cs[:ne] for slot w0+i, which
// an essential word reached and whose bound could make the top k, while it
// still can, and scores it exactly if it does.
func (s *searcher) consider(w0, i int32, ne int) {
	d := w0 + i
	upper := s.sc.partial[i] + s.prefix[ne]
	if s.probe(d, i, ne, upper) {
		s.score(d, i)
	}
	for _, c := range s.cs[:ne] {
		s.sc.tf[c.term*window+int(i)] = 0
	}
}

// probe adds the non-essential parts cs[:ne] that have slot d (w0+i) to
// its frequencies, largest bound first, and reports false as soon as d can
// no longer make the top k.
func (s *searcher) probe(d, i int32, ne int, upper float64) bool {
	for j := ne - 1; j >= 0; j-- {
		c := &s.cs[j]
		upper -= c.ub
		c.seek(d)
		if c.cur < len(c.p.slots) && c.p.slots[c.cur] == d {
			tf := c.p.tf(c.cur)
			s.sc.tf[c.term*window+int(i)] = tf
			upper += termScore(s.qs[c.term].idf, float64(tf), float64(s.b.length[d]), s.avg)
		}
		if s.cannot(upper) {
			return false
		}
	}
	return true
}

// score adds slot d's (w0+i) words' scores in query order, as exhaustive
// scoring adds them, and puts it among the top k if it belongs there.
func (s *searcher) score(d, i int32) {
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
		s.theta = max(s.theta, s.top[s.k-1].score)
	}
}

// The chunks prime scores first: those of the parts of at most one
// posting in primeList slots, largest bounds first, while they are at most
// one in primeMax slots: each costs a probe of every list, so they must
// stay few against the corpus (at 1,024 postings a part, the common words'
// frequency-2 parts at 100,000 chunks came in, and BM25's top 5 took
// 1.2–1.4 ms instead of 0.3).
const primeList, primeMax = 256, 256

// prime returns a score the k-th best chunk is sure to reach, to prune
// with from the first window on: the k-th best exact score among the
// chunks of the query's rarest words (short lists, the largest bounds),
// or -Inf when those are fewer than k. Without it the threshold rises
// only as the windows reach good chunks, and until then the common words
// stay essential and their long lists are read. It is a floor, not a
// result: those chunks are scored again in their windows, never pruned
// there (each scores at least the floor), so the top k is the same.
func (s *searcher) prime() float64 {
	none := math.Inf(-1)
	var slots []int32
	n := len(s.b.length)
	for j := len(s.cs) - 1; j >= 0; j-- {
		p := s.cs[j].p
		if len(p.slots) > n/primeList {
			continue
		}
		if len(slots)+len(p.slots) > n/primeMax {
			break
		}
		slots = append(slots, p.slots...)
	}
	if len(slots) < s.k {
		return none
	}
	slices.Sort(slots)
	slots = slices.Compact(slots)
	nq := len(s.qs)
	tfs := make([]int32, len(slots)*nq)
	for _, c := range s.cs {
		t := cursor{p: c.p}
		for i, d := range slots {
			if t.seek(d); t.cur < len(c.p.slots) && c.p.slots[t.cur] == d {
				tfs[i*nq+c.term] = c.p.tf(t.cur)
			}
		}
	}
	scores := make([]float64, 0, len(slots))
	for i, d := range slots {
		if s.b.length[d] < 0 || s.keep != nil && !s.keep(d) {
			continue
		}
		l, sum := float64(s.b.length[d]), 0.0
		for o, tf := range tfs[i*nq : (i+1)*nq] { // query order, as score adds them
			if tf > 0 {
				sum += termScore(s.qs[o].idf, float64(tf), l, s.avg)
			}
		}
		scores = append(scores, sum)
	}
	if len(scores) < s.k {
		return none
	}
	slices.Sort(scores)
	return scores[len(scores)-s.k]
}

// queryTerms are the query's distinct words that some live chunk has, in
// query order, with their idf.
func (b *bm25) queryTerms(query string) []qterm {
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
		qs = append(qs, qterm{p: p, idf: idf})
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
