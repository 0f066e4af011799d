package rag

import (
	"math"
	mathbits "math/bits"
	"slices"

	"github.com/semroute/semroute/index/flat"
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
	// probed is how many candidates the last window that had the part
	// non-essential looked for in it, perWindow how many postings it has
	// in a window on average.
	probed, perWindow int
}

// seek moves the cursor to the first posting at or after slot d.
func (t *cursor) seek(d int32) {
	if t.cur < len(t.p.slots) && t.p.slots[t.cur] < d {
		t.cur = gallop(t.p.slots, t.cur, d)
	}
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
	// bound[l*(len(cs)+1)+j]: the most the parts cs[:j] add to a chunk
	// of minLen+l words, filled for length l when stamp[l] == gen.
	bound  []float64
	once   []float64 // once[j*buckets+l]: see onceScores
	stamp  []uint32
	gen    uint32
	wmax   []float64 // by query word, while a column of bound is filled
	cands  []cand    // a window's candidates
	live   []cand    // those still in the running
	found  []int32   // where probes set tf, to clear
	tabbed []bool
	prime  primeBuf
}

// lengthBuckets is at most how many lengths search tables bounds for:
// the lengths from the shortest chunk's to the longest's, in buckets of a
// power of two lengths, each bounded at its shortest (a word adds less to
// a longer chunk). Few, so that tabling them costs little beside a search:
// one bucket a 1,024 slots, at least 8.
const lengthBuckets = 64

// scoreBatch is how many candidates a window looks for in the
// non-essential parts at a time.
const scoreBatch = 128

// search returns the k best chunks by BM25 score among live slots keep
// accepts (nil: all), best first, ties in before's order: exactly what
// scoring every chunk that has a query word gives (TestSearchMatchesExhaustive).
//
// It is MaxScore (Turtle and Flood, 1995) over windows of slots, as
// Lucene's MaxScoreBulkScorer does it: the query's words' parts sorted by
// the most each can add to a chunk; the parts whose bounds together cannot
// reach the k-th score are non-essential. In each window only the
// essential parts' postings are read, term at a time into dense arrays;
// the chunks they reach whose bound could still make the top k are
// candidates, and the non-essential parts are then looked in for them
// part by part, largest bound first (a bitmap load for a common word's
// frequency-1 part, galloping otherwise), dropping the candidates that can
// no longer make it after each. The bounds are a chunk's own: by its
// length (a word adds less to a longer chunk), each word counted once (a
// chunk is in one part of each word). A part looked in for more
// candidates than it has postings in a window is read instead, as an
// essential one, from the next window on. The threshold starts from
// prime's floor. A chunk that survives is scored again from its term
// frequencies, in query order, as exhaustive scoring adds them, so equal
// scores are equal bit for bit.
func (b *bm25) search(query string, k int, keep func(int32) bool, before func(a, b int32) bool) []hit {
	s := b.newSearcher(query, k, keep, before)
	if s == nil {
		return nil
	}
	defer b.pool.Put(s.sc)
	s.raise(s.prime())
	for w0 := int32(0); int(w0) < len(b.length); w0 += window {
		if !s.window(w0, min(w0+window, int32(len(b.length)))) {
			break
		}
	}
	return s.top
}

// newSearcher sets a search up, its scratch taken from the pool (to be put
// back); nil when there is nothing to find.
func (b *bm25) newSearcher(query string, k int, keep func(int32) bool, before func(a, b int32) bool) *searcher {
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
		for i := range q.p.parts {
			if p := &q.p.parts[i]; len(p.slots) > 0 {
				cs = append(cs, cursor{p: p, term: t, ub: termScore(q.idf, float64(p.maxTF), float64(p.minLen), avg),
					perWindow: int(int64(len(p.slots)) * window / int64(len(b.length)))})
			}
		}
	}
	slices.SortFunc(cs, func(x, y cursor) int { return cmpFloat(x.ub, y.ub) })
	sc := b.pool.Get().(*scratch)
	if len(sc.tf) < len(qs)*window {
		sc.tf = make([]int32, len(qs)*window)
	}
	s := &searcher{b: b, qs: qs, cs: cs, avg: avg, k: k, theta: math.Inf(-1), under: math.Inf(-1), keep: keep, sc: sc,
		better: func(x, y hit) bool { return x.score > y.score || x.score == y.score && before(x.slot, y.slot) }}
	s.top = make([]hit, 0, k)
	s.from = make([]int, len(cs))
	s.tableBounds()
	s.fillBounds(0)
	s.prefix = sc.bound[:len(cs)+1]
	return s
}

// searcher is one search's state.
type searcher struct {
	b      *bm25
	qs     []qterm
	cs     []cursor  // the query words' parts, by bound
	from   []int     // from[j]: where cs[j] stood when the window began
	prefix []float64 // prefix[j]: the bound of cs[:j] in any chunk
	avg    float64
	k      int
	keep   func(int32) bool
	better func(x, y hit) bool
	sc     *scratch
	lo     int32 // the shortest length tabled in sc.bound
	shift  uint  // a chunk of l words is in bucket (l-lo)>>shift of sc.bound
	nb     int32 // how many buckets
	top    []hit
	theta  float64 // the k-th score once k are held
	under  float64 // what a bound must reach not to be pruned at theta
	tabbed []bool  // tabbed[j]: sc.once has cs[j]'s scores
}

// cannot reports whether a chunk whose score is at most upper cannot make
// the top k.
func (s *searcher) cannot(upper float64) bool { return upper < s.under }

// raise sets the threshold to theta if that is higher, and under to the
// bound below which upper*(1+rel)+rel < theta (a little lower, to be safe
// from the rounding of the division).
func (s *searcher) raise(theta float64) {
	if theta > s.theta {
		s.theta = theta
		s.under = math.Nextafter((theta-rel)/(1+rel), math.Inf(-1))
	}
}

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
	// A part the last window probed for more candidates than it has
	// postings in a window is cheaper read: it turns essential.
	for ne > 0 && s.cs[ne-1].probed > s.cs[ne-1].perWindow {
		ne--
	}
	sc := s.sc
	s.essential(w0, w1, ne)
	var all []cand
	if ne == 0 {
		s.scoreSeen(w0)
	} else {
		all = s.candidates(w0, ne)
	}
	for j := range s.cs[:ne] {
		s.cs[j].probed = 0
	}
	// The candidates a batch at a time, in order, so that the threshold
	// rises with the chunks scored (in a first window most of all).
	for b := 0; b < len(all); b += scoreBatch {
		live := sc.live[:0]
		for _, x := range all[b:min(b+scoreBatch, len(all))] {
			if !s.cannot(sc.partial[x.i] + sc.bound[x.off+int32(ne)]) {
				live = append(live, x)
			}
		}
		for j := ne - 1; j >= 0 && len(live) > 0; j-- {
			live = s.probe(j, w0, live)
		}
		for _, x := range live {
			s.score(w0+x.i, x.i)
		}
		sc.live = live[:0]
	}
	// Back to 0: the candidates' partial scores, the frequencies probes
	// found, and the essential words' frequencies posting by posting
	// (fewer stores than every seen slot times every essential word).
	for _, x := range all {
		sc.partial[x.i] = 0
	}
	for _, at := range sc.found {
		sc.tf[at] = 0
	}
	sc.found = sc.found[:0]
	for j, c := range s.cs[ne:] {
		tf := sc.tf[c.term*window : (c.term+1)*window]
		for _, d := range c.p.slots[s.from[ne+j]:c.cur] {
			tf[d-w0] = 0
		}
	}
	return true
}

// essential adds the essential parts cs[ne:]' postings in the window to
// the dense frequencies and partial scores, term at a time, and marks the
// slots they reach as seen. A long part of frequency 1 takes its scores
// from a table by length, not two divisions each, when each bucket of
// lengths is one length (so the partial scores stay as tight).
func (s *searcher) essential(w0, w1 int32, ne int) {
	sc, length := s.sc, s.b.length
	for j := range s.cs[ne:] {
		c := &s.cs[ne+j]
		c.seek(w0) // it may have been non-essential, probed short of w0
		s.from[ne+j] = c.cur
		tf := sc.tf[c.term*window : (c.term+1)*window]
		if c.p.maxTF == 1 && s.shift == 0 && len(c.p.slots) >= 8*int(s.nb) {
			tab := s.onceScores(ne + j)
			for ; c.cur < len(c.p.slots) && c.p.slots[c.cur] < w1; c.cur++ {
				d := c.p.slots[c.cur]
				l := length[d]
				if l < 0 {
					continue
				}
				i := d - w0
				tf[i] = 1
				sc.partial[i] += tab[(l-s.lo)>>s.shift]
				sc.seen[i/64] |= 1 << (i % 64)
			}
			continue
		}
		idf := s.qs[c.term].idf
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
}

// onceScores returns what the part of frequency 1 cs[j] adds to a chunk
// of each length bucket's shortest length (to a longer chunk of the
// bucket it adds less: a bound, as partial scores only are).
func (s *searcher) onceScores(j int) []float64 {
	tab := s.sc.once[j*int(s.nb) : (j+1)*int(s.nb)]
	if !s.tabbed[j] {
		s.tabbed[j] = true
		idf := s.qs[s.cs[j].term].idf
		for l := range tab {
			tab[l] = termScore(idf, 1, float64(s.lo+int32(l)<<s.shift), s.avg)
		}
	}
	return tab
}

// scoreSeen scores the seen slots that can make the top k, in order, when
// every part is essential (a small corpus's one window, when the
// threshold is not primed): the partial scores are whole, so there is
// nothing to probe and no bound to add; seen and the partial scores are
// cleared.
func (s *searcher) scoreSeen(w0 int32) {
	sc := s.sc
	for wi, bits := range sc.seen {
		for ; bits != 0; bits &= bits - 1 {
			i := int32(wi*64 + mathbits.TrailingZeros64(bits))
			if !s.cannot(sc.partial[i]) {
				s.score(w0+i, i)
			}
			sc.partial[i] = 0
		}
		sc.seen[wi] = 0
	}
}

// cand is a slot of the window that may make the top k: w0+i, with the
// offset of its length's column in sc.bound.
type cand struct{ i, off int32 }

// candidates are the seen slots, in order, whose partial score and the
// bound of the non-essential parts for their length could make the top k;
// the others' partial scores go back to 0, and seen is cleared.
func (s *searcher) candidates(w0 int32, ne int) []cand {
	sc, length := s.sc, s.b.length
	n := int32(len(s.cs) + 1)
	out := sc.cands[:0]
	for wi, bits := range sc.seen {
		for ; bits != 0; bits &= bits - 1 {
			i := int32(wi*64 + mathbits.TrailingZeros64(bits))
			l := (length[w0+i] - s.lo) >> s.shift
			if sc.stamp[l] != sc.gen {
				s.fillBounds(l)
			}
			if s.cannot(sc.partial[i] + sc.bound[l*n+int32(ne)]) {
				sc.partial[i] = 0
				continue
			}
			out = append(out, cand{i, l * n})
		}
		sc.seen[wi] = 0
	}
	sc.cands = out
	return out
}

// probe looks for the candidates in the non-essential part cs[j] (the
// parts above it in cs[:ne] already looked in), adds those it has to their
// frequencies and partial scores, and returns the candidates that can
// still make the top k once cs[:j] are bounded. A word already found in a
// candidate is not looked for: a chunk is in one part of each of its
// words.
func (s *searcher) probe(j int, w0 int32, live []cand) []cand {
	sc, c := s.sc, &s.cs[j]
	cur := c.cur
	idf := s.qs[c.term].idf
	tf := sc.tf[c.term*window : (c.term+1)*window]
	out := live[:0]
	c.probed += len(live)
	for _, x := range live {
		if tf[x.i] == 0 {
			d := w0 + x.i
			var f int32
			if cur, f = c.p.find(cur, d); f > 0 {
				tf[x.i] = f
				sc.found = append(sc.found, int32(c.term*window)+x.i)
				sc.partial[x.i] += termScore(idf, float64(f), float64(s.b.length[d]), s.avg)
			}
		}
		if !s.cannot(sc.partial[x.i] + sc.bound[x.off+int32(j)]) {
			out = append(out, x)
		}
	}
	c.cur = cur
	return out
}

// tableBounds makes sc.bound ready for this search's lengths and parts.
func (s *searcher) tableBounds() {
	sc := s.sc
	s.lo, s.shift = s.b.minLen, 0
	most := int32(min(max(len(s.b.length)/1024, 8), lengthBuckets))
	for (s.b.maxLen-s.lo)>>s.shift >= most {
		s.shift++
	}
	s.nb = (s.b.maxLen-s.lo)>>s.shift + 1
	if need := int(s.nb) * (len(s.cs) + 1); len(sc.bound) < need {
		sc.bound = make([]float64, need)
	}
	if need := int(s.nb) * len(s.cs); len(sc.once) < need {
		sc.once = make([]float64, need)
	}
	s.tabbed = grow(sc.tabbed, len(s.cs))
	clear(s.tabbed)
	sc.tabbed = s.tabbed
	if len(sc.stamp) < int(s.nb) {
		sc.stamp = make([]uint32, lengthBuckets)
	}
	if len(sc.wmax) < len(s.qs) {
		sc.wmax = make([]float64, len(s.qs))
	}
	if sc.gen++; sc.gen == 0 { // wrapped: every stamp may look current
		clear(sc.stamp)
		sc.gen = 1
	}
}

// fillBounds fills the column of sc.bound for length bucket l, whose
// shortest length is lo+l<<shift: the bound of cs[:j] for each j, each
// word counted once, by the largest bound of its parts in cs[:j] (a chunk
// is in one part of each of its words), each part's bound taken at that
// shortest length or its shortest chunk's, the larger (a chunk as long
// or longer adds no more).
func (s *searcher) fillBounds(l int32) {
	sc := s.sc
	sc.stamp[l] = sc.gen
	n := len(s.cs) + 1
	col := sc.bound[int(l)*n : int(l+1)*n]
	wmax := sc.wmax[:len(s.qs)]
	clear(wmax)
	col[0] = 0
	for j, c := range s.cs {
		u := termScore(s.qs[c.term].idf, float64(c.p.maxTF), float64(max(s.lo+l<<s.shift, c.p.minLen)), s.avg)
		col[j+1] = col[j]
		if m := wmax[c.term]; u > m {
			col[j+1] += u - m
			wmax[c.term] = u
		}
	}
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
	s.top = flat.InsertTop(s.top, s.k, h, s.better)
	if len(s.top) == s.k {
		s.raise(s.top[s.k-1].score)
	}
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
