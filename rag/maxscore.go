package rag

import (
	"math"
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
	c   float64 // what it adds to the chunk being scored
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

// search returns the k best chunks by BM25 score among live slots keep
// accepts (nil: all), best first, ties in before's order: exactly what
// scoring every chunk that has a query word gives (TestBM25MatchesExhaustive).
//
// It is MaxScore (Turtle and Flood, 1995), document at a time: the query's
// words sorted by the most each can add; once k chunks are held, the words
// whose bounds together cannot reach the k-th score are non-essential: a
// chunk is only considered when an essential word occurs in it, and the
// non-essential lists are probed for it (by galloping) only while it can
// still make the top k. On short queries over large collections the common
// words become non-essential after the first few chunks, and their long
// lists are skipped through rather than read. A chunk's score is summed in
// query order, as exhaustive scoring sums it, so ties tie bit for bit.
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
	better := func(x, y hit) bool { return x.score > y.score || x.score == y.score && before(x.slot, y.slot) }
	top := make([]hit, 0, k)
	theta := math.Inf(-1)
	cannot := func(upper float64) bool { return upper*(1+rel)+rel < theta }
	ne := 0 // ord[:ne] are non-essential
	for {
		d := int32(math.MaxInt32)
		for _, o := range ord[ne:] {
			if t := &qs[o]; t.cur < len(t.p.slots) {
				d = min(d, t.p.slots[t.cur])
			}
		}
		if d == math.MaxInt32 {
			break
		}
		upper := prefix[ne]
		for _, o := range ord[ne:] {
			t := &qs[o]
			t.c = 0
			if t.cur < len(t.p.slots) && t.p.slots[t.cur] == d {
				t.c = termScore(t.idf, float64(t.p.tfs[t.cur]), float64(b.length[d]), avg)
				upper += t.c
				t.cur++
			}
		}
		if b.length[d] < 0 || cannot(upper) || !b.probe(qs, ord[:ne], d, avg, upper, cannot) {
			continue
		}
		h := hit{slot: d}
		for i := range qs { // query order, as exhaustive scoring adds them
			h.score += qs[i].c
		}
		if len(top) == k && !better(h, top[k-1]) || keep != nil && !keep(d) {
			continue
		}
		top = insertHit(top, k, h, better)
		if len(top) == k {
			theta = top[k-1].score
			for ne < len(ord) && cannot(prefix[ne+1]) {
				ne++
			}
		}
	}
	return top
}

// probe adds the non-essential words' scores in slot d, largest bound
// first, and reports false as soon as d can no longer make the top k.
func (b *bm25) probe(qs []qterm, nonEssential []int, d int32, avg, upper float64, cannot func(float64) bool) bool {
	for j := len(nonEssential) - 1; j >= 0; j-- {
		t := &qs[nonEssential[j]]
		t.c = 0
		upper -= t.ub
		t.seek(d)
		if t.cur < len(t.p.slots) && t.p.slots[t.cur] == d {
			t.c = termScore(t.idf, float64(t.p.tfs[t.cur]), float64(b.length[d]), avg)
			upper += t.c
		}
		if cannot(upper) {
			for _, o := range nonEssential[:j] {
				qs[o].c = 0
			}
			return false
		}
	}
	return true
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
