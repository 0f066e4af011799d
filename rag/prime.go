package rag

import (
	"math"
	"slices"
)

// The chunks prime scores first: those of the parts of at most one
// posting in primeList slots, largest bounds first, while they are at
// most one in primeMax slots: each may cost a probe of every other
// list, so they must stay few against the corpus (at 1,024 postings a
// part, the common words' frequency-2 parts at 100,000 chunks came in, and
// BM25's top 5 took 1.2–1.4 ms instead of 0.3).
const primeList, primeMax = 256, 256

// prime returns a score the k-th best chunk is sure to reach, to prune
// with from the first window on: the k-th best exact score among the
// chunks of the query's rarest words (short lists, the largest bounds),
// or -Inf when those are fewer than k. Without it the threshold rises
// only as the windows reach good chunks, and until then the common words
// stay essential and their long lists are read. It is a floor, not a
// result: those chunks are scored again in their windows, never pruned
// there (each scores at least the floor), so the top k is the same.
//
// It is itself pruned as the windows are: what the rare words add to each
// chunk is known from their postings, and the k-th best of those partial
// scores is a floor for the k-th best exact one, so a chunk whose partial
// score and the other parts' bounds stay under it is dropped; the other
// parts are probed largest bound first, the long lists of frequency 1
// last, when the fewest chunks remain.
func (s *searcher) prime() float64 {
	none := math.Inf(-1)
	n, nq := len(s.b.length), len(s.qs)
	pb := &s.sc.prime
	src := grow(pb.src, len(s.cs))
	clear(src)
	ents := pb.ents[:0]
	for j := len(s.cs) - 1; j >= 0; j-- {
		c := &s.cs[j]
		if len(c.p.slots) > n/primeList {
			continue
		}
		if len(ents)+len(c.p.slots) > n/primeMax {
			break
		}
		src[j] = true
		for i, d := range c.p.slots {
			ents = append(ents, primeEnt{d, int32(c.term), c.p.tf(i)})
		}
	}
	pb.src, pb.ents = src, ents
	if len(ents) < s.k {
		return none
	}
	slices.SortFunc(ents, func(x, y primeEnt) int { return int(x.slot) - int(y.slot) })
	slots := pb.slots[:0] // the chunks, in order
	tfs := grow(pb.tfs, len(ents)*nq)
	for _, e := range ents {
		if len(slots) == 0 || slots[len(slots)-1] != e.slot {
			slots = append(slots, e.slot)
			clear(tfs[(len(slots)-1)*nq : len(slots)*nq])
		}
		tfs[(len(slots)-1)*nq+int(e.term)] = e.tf
	}
	part := grow(pb.part, len(slots)) // what the words found so far add
	cand := pb.cand[:0]               // the live chunks keep accepts, by place in slots
	pb.slots, pb.tfs, pb.part = slots, tfs, part
	for i, d := range slots {
		if s.b.length[d] < 0 || s.keep != nil && !s.keep(d) {
			continue
		}
		part[i] = s.sum(d, tfs[i*nq:(i+1)*nq])
		cand = append(cand, int32(i))
	}
	pb.cand = cand
	if len(cand) < s.k {
		return none
	}
	floor := pb.kth(part, cand, s.k)
	rest, after := s.primeRest(src)
	cand = dropUnder(cand, part, after[0], floor)
	for t, j := range rest {
		c := &s.cs[j]
		cur := 0
		for _, i := range cand {
			at := int(i)*nq + c.term
			if tfs[at] != 0 { // in another part of the word
				continue
			}
			d := slots[i]
			if cur, tfs[at] = c.p.find(cur, d); tfs[at] != 0 {
				part[i] += termScore(s.qs[c.term].idf, float64(tfs[at]), float64(s.b.length[d]), s.avg)
			}
		}
		cand = dropUnder(cand, part, after[t+1], floor)
	}
	for _, i := range cand { // exactly, in query order
		part[i] = s.sum(slots[i], tfs[int(i)*nq:(int(i)+1)*nq])
	}
	return pb.kth(part, cand, s.k)
}

// primeEnt is a posting of a part prime scores from.
type primeEnt struct{ slot, term, tf int32 }

// primeRest returns the parts prime probes, those not in src, largest
// bound first, and after[t]: the bound of rest[t:], each word counted once
// by its largest part there.
func (s *searcher) primeRest(src []bool) (rest []int, after []float64) {
	pb := &s.sc.prime
	rest = pb.rest[:0]
	for j := len(s.cs) - 1; j >= 0; j-- {
		if !src[j] {
			rest = append(rest, j)
		}
	}
	after = grow(pb.after, len(rest)+1)
	after[len(rest)] = 0
	wmax := s.sc.wmax[:len(s.qs)]
	clear(wmax)
	pb.rest, pb.after = rest, after
	for t := len(rest) - 1; t >= 0; t-- {
		c := &s.cs[rest[t]]
		after[t] = after[t+1]
		if m := wmax[c.term]; c.ub > m {
			after[t] += c.ub - m
			wmax[c.term] = c.ub
		}
	}
	return rest, after
}

// dropUnder keeps the chunks of cand whose partial score and bound could
// reach floor.
func dropUnder(cand []int32, part []float64, bound, floor float64) []int32 {
	out := cand[:0]
	for _, i := range cand {
		if (part[i]+bound)*(1+rel)+rel >= floor {
			out = append(out, i)
		}
	}
	return out
}

// kth returns the k-th largest of score over cand (at least k of them).
func (pb *primeBuf) kth(score []float64, cand []int32, k int) float64 {
	v := pb.v[:0]
	for _, i := range cand {
		v = append(v, score[i])
	}
	slices.Sort(v)
	pb.v = v
	return v[len(v)-k]
}

// primeBuf is prime's working space, reused with the rest of scratch.
type primeBuf struct {
	src   []bool
	ents  []primeEnt
	slots []int32
	tfs   []int32
	part  []float64
	cand  []int32
	v     []float64
	rest  []int
	after []float64
}

// grow returns b resized to n, reallocated if too small (contents
// undefined).
func grow[T any](b []T, n int) []T {
	if cap(b) < n {
		return make([]T, n, n+n/4)
	}
	return b[:n]
}

// sum is slot d's score from its query words' frequencies tfs, added in
// query order, as exhaustive scoring adds them.
func (s *searcher) sum(d int32, tfs []int32) float64 {
	l, sum := float64(s.b.length[d]), 0.0
	for o, tf := range tfs {
		if tf > 0 {
			sum += termScore(s.qs[o].idf, float64(tf), l, s.avg)
		}
	}
	return sum
}
