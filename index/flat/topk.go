package flat

import (
	"math"
	mathbits "math/bits"
	"runtime"
	"slices"
	"unsafe"

	"github.com/semroute/semroute/internal/simd"
)

// Filter narrows a TopK search and orders its ties.
type Filter struct {
	// Keep says which vectors may be returned (nil: all). It is called
	// only for vectors whose score could place them in the result, from
	// several goroutines at once on a large slab.
	Keep func(i int32) bool
	// Before orders vectors of equal score: a before b (nil: the lower
	// index first).
	Before func(a, b int32) bool
}

// TopK returns the k vectors most similar to q (unit length) among those
// f keeps, best first, appended to dst[:0]: exactly what scoring every
// vector with Dot and sorting by score (ties by f.Before) gives.
//
// On a quantized slab it ranks every vector by the int8 copy against a
// finely quantized query (a quarter of the bytes of a float32 scan) and
// scores exactly only the vectors whose int8 score lies within the copy's
// error bound of the k-th best: the bound is |q·v − q̂·v̂| ≤ |q − q̂| +
// (1 + |q − q̂|)·|v − v̂| (Cauchy–Schwarz, with each row's rounding error
// measured when it was quantized); a vector left out has an upper bound
// below k others' lower bounds, so it cannot be among the k best. Unlike Nearest's fixed few
// candidates, nothing is approximate.
func (s *Slab) TopK(q []float32, k int, f Filter, dst []Result, sc *Scratch) []Result {
	dst = dst[:0]
	n := s.Len()
	if k <= 0 || n == 0 || len(q) != s.dim {
		return dst
	}
	if s.cdim == 0 || sc == nil {
		for i := range n {
			if f.Keep == nil || f.Keep(int32(i)) {
				dst = insertOrdered(dst, k, Result{int32(i), Dot(q, s.Vector(i))}, f.Before)
			}
		}
		return dst
	}
	if len(sc.q16) != s.cdim {
		sc.q16 = make([]int16, s.cdim)
	}
	qs := simd.QuantizeInt16(sc.q16[:s.dim], q)
	clear(sc.q16[s.dim:])
	// slack covers the rounding of the bounds' float32 arithmetic (a few
	// ulps of numbers below 2) and of Dot's float32 sum (about dim ulps).
	p := pass{q16: sc.q16, qs: qs, epsQ: float32(residual16(q, sc.q16, qs)), slack: float32(4e-6 + float64(s.dim)*1.2e-7)}
	best, cands := s.approxAll(sc, p, n, k, f.Keep)
	floor := p.floor(best, k)
	rescore := sc.cand[:0]
	for _, part := range cands {
		for _, c := range part {
			if c.Score >= floor {
				rescore = append(rescore, c)
			}
		}
	}
	sc.cand = rescore
	// The rows to score again lie anywhere in the float32 slab: ask for
	// the next few rows' lines while scoring these, not one miss after
	// another.
	const ahead = 8
	s.prefetchRows(sc, rescore[:min(ahead, len(rescore))])
	for i, c := range rescore {
		if i%ahead == 0 {
			s.prefetchRows(sc, rescore[min(i+ahead, len(rescore)):min(i+2*ahead, len(rescore))])
		}
		dst = insertOrdered(dst, k, Result{c.Index, Dot(q, s.Vector(int(c.Index)))}, f.Before)
	}
	return dst
}

// prefetchRows starts loading the float32 rows of rs.
func (s *Slab) prefetchRows(sc *Scratch, rs []Result) {
	sc.addrs = sc.addrs[:0]
	for _, r := range rs {
		v := s.Vector(int(r.Index))
		for j := 0; j < len(v); j += 16 {
			sc.addrs = append(sc.addrs, uintptr(unsafe.Pointer(&v[j])))
		}
	}
	simd.Prefetch(sc.addrs)
}

// pass is a TopK query as its int8 pass sees it: quantized, with the
// scale back to floats, the length of its rounding error, and the margin
// for the rounding of the bounds themselves.
type pass struct {
	q16             []int16
	qs, epsQ, slack float32
}

// bounds are the least and the most row i's score can be, given its int8
// dot with the query: the int8 score less and plus |q − q̂| + (1 +
// |q − q̂|)·|v − v̂|.
func (p *pass) bounds(s *Slab, dot int32, i int) (lo, hi float32) {
	a := float32(dot) * s.scales[i] * p.qs
	e := p.epsQ + (1+p.epsQ)*s.resid[i]
	return a - e, a + e
}

// floor is the least upper bound a row needs to be scored exactly: the
// k-th best lower bound in top, less the slack once for each side (none
// while top holds fewer than k).
func (p *pass) floor(top []Result, k int) float32 {
	if len(top) < k {
		return float32(math.Inf(-1))
	}
	return top[k-1].Score - 2*p.slack
}

// approxAll takes every row's int8 dot and returns the k kept
// rows with the best lower bounds on their scores, and the kept rows whose
// upper bounds may reach the k-th of those (by part, each row's upper
// bound as its Score; a superset, which TopK cuts to the floor of all),
// split across the slab's workers when the slab is large.
func (s *Slab) approxAll(sc *Scratch, p pass, n, k int, keep func(int32) bool) ([]Result, [][]Result) {
	workers := runtime.GOMAXPROCS(0)
	if len(sc.cparts) < workers {
		sc.parts, sc.cparts = make([][]Result, workers), make([][]Result, workers)
	}
	if n*s.cdim < topKParallelFloor || workers == 1 {
		sc.top, sc.cparts[0] = s.approx(&p, 0, n, k, keep, sc.top[:0], sc.cparts[0][:0])
		return sc.top, sc.cparts[:1]
	}
	s.once.Do(s.start)
	sc.pass = p
	// One part a worker: eight smaller parts taken by whichever worker was
	// free were slower (BenchmarkSearchSynthetic's hybrid at 100,000
	// chunks, four alternating runs: 2.23–2.57 ms a search against
	// 1.95–2.38 ms with two): each hand-off wakes a goroutine.
	per := (n + workers - 1) / workers
	parts := 0
	for a := 0; a < n; a += per {
		sc.wg.Add(1)
		s.jobs <- job{s: s, lo: a, hi: min(a+per, n), k: k, out: &sc.parts[parts], cand: &sc.cparts[parts], wg: &sc.wg, pass: &sc.pass, keep: keep}
		parts++
	}
	sc.wg.Wait()
	best := sc.top[:0]
	for _, part := range sc.parts[:parts] {
		for _, r := range part {
			best = insert(best, k, r)
		}
	}
	sc.top = best
	return best, sc.cparts[:parts]
}

// approxBlock is how many rows approx takes at a time: their int8 dots,
// then one vector comparison per eight rows against the floor so far
// (simd.ReachMasks), then the scalar work for the rows it marks only.
const approxBlock = 2048

// approx takes the int8 dots of rows lo ≤ i < hi a block at a time;
// it returns the k kept rows of the range with the best lower bounds
// (appended to top) and the kept rows whose upper bounds reach the k-th
// of those (appended to cand, with their upper bounds as Score). One loop
// does both: a row goes to cand when its upper bound reaches the k-th
// lower bound found so far, a floor that only rises, so cand is a superset
// of the rows reaching the last one (TopK cuts it to the floor of all),
// and a row below it cannot be among the k best lower bounds either. Each
// block's masks are taken against the floor at the block's start, lower
// than or equal to each row's own, so they leave out only rows the loop
// would skip.
func (s *Slab) approx(p *pass, lo, hi, k int, keep func(int32) bool, top, cand []Result) ([]Result, []Result) {
	floor, cfloor := float32(math.Inf(-1)), float32(math.Inf(-1))
	var dots [approxBlock]int32
	var masks [approxBlock / 8]uint8
	for b := lo; b < hi; b += approxBlock {
		e := min(b+approxBlock, hi)
		simd.DotsInt16Int8(p.q16, s.codes[b*s.cdim:e*s.cdim], dots[:e-b])
		simd.ReachMasks(dots[:e-b], s.scales[b:e], s.resid[b:e], p.qs, p.epsQ, 1+p.epsQ, cfloor, masks[:])
		for m, bits := range masks[:(e-b+7)/8] {
			for ; bits != 0; bits &= bits - 1 {
				j := 8*m + mathbits.TrailingZeros8(bits)
				i := b + j
				lb, ub := p.bounds(s, dots[j], i)
				if ub < cfloor || keep != nil && !keep(int32(i)) {
					continue
				}
				cand = append(cand, Result{int32(i), ub})
				if len(top) == k && lb <= floor {
					continue
				}
				top = insert(top, k, Result{int32(i), lb})
				if len(top) == k {
					floor, cfloor = top[k-1].Score, p.floor(top, k)
				}
			}
		}
	}
	return top, cand
}

// insertOrdered is insert with ties ordered by before (nil: lower index
// first).
func insertOrdered(dst []Result, k int, r Result, before func(a, b int32) bool) []Result {
	better := func(x, y Result) bool {
		if x.Score != y.Score {
			return x.Score > y.Score
		}
		if before == nil {
			return x.Index < y.Index
		}
		return before(x.Index, y.Index)
	}
	return InsertTop(dst, k, r, better)
}

// InsertTop puts x into top, kept in better's order (best first) and at
// most k long: a top-k list kept by insertion, which is the cheapest when
// few of the items offered make it. RAG's BM25 keeps its top k with it.
func InsertTop[T any](top []T, k int, x T, better func(a, b T) bool) []T {
	if len(top) == k {
		if !better(x, top[k-1]) {
			return top
		}
		top = top[:k-1]
	}
	i := len(top)
	top = append(top, x)
	for i > 0 && better(x, top[i-1]) {
		top[i] = top[i-1]
		i--
	}
	top[i] = x
	return top
}

// residual16 is |q − scale·q16| over q's length, rounded up.
func residual16(q []float32, q16 []int16, scale float32) float64 {
	var ss float64
	for j, x := range q {
		d := float64(x) - float64(scale)*float64(q16[j])
		ss += d * d
	}
	return math.Nextafter(math.Sqrt(ss), math.Inf(1))
}

// quantizeRow appends row i's int8 code, scale and rounding error.
func (s *Slab) quantizeRow(i int) {
	v := s.Vector(i)
	at := len(s.codes)
	s.codes = slices.Grow(s.codes, s.cdim)[:at+s.cdim]
	code := s.codes[at:]
	scale := simd.Quantize(code, v)
	var ss float64
	for j, x := range v {
		d := float64(x) - float64(scale)*float64(code[j])
		ss += d * d
	}
	r := math.Nextafter32(float32(math.Sqrt(ss)), float32(math.Inf(1)))
	s.scales = append(s.scales, scale)
	s.resid = append(s.resid, r)
}

// Append adds v, which must be of length Dim and unit length (it is kept
// as given, bit for bit), and quantizes it if the slab is quantized. It
// returns v's index. Not safe while the slab is searched.
func (s *Slab) Append(v []float32) int {
	s.data = append(s.data, v[:s.dim]...)
	i := s.Len() - 1
	if s.cdim > 0 {
		s.quantizeRow(i)
	}
	return i
}

// Retain keeps the vectors i for which keep(i) is true, in their order,
// and drops the rest. Not safe while the slab is searched.
func (s *Slab) Retain(keep func(i int) bool) {
	n, d, c := s.Len(), s.dim, s.cdim
	w := 0
	for i := range n {
		if !keep(i) {
			continue
		}
		copy(s.data[w*d:(w+1)*d], s.data[i*d:(i+1)*d])
		if c > 0 {
			copy(s.codes[w*c:(w+1)*c], s.codes[i*c:(i+1)*c])
			s.scales[w], s.resid[w] = s.scales[i], s.resid[i]
		}
		w++
	}
	s.data = s.data[:w*d]
	if c > 0 {
		s.codes, s.scales, s.resid = s.codes[:w*c], s.scales[:w], s.resid[:w]
	}
}

// topKParallelFloor is the int8 copy's size (bytes) above which TopK's
// first pass is split across the workers: 16,384 rows of 256. Below it
// the scan takes less than waking a worker costs on a VM: a hybrid search
// of NQ-Open's 2,630 chunks took 215–293 µs scanned on its own goroutine,
// 387–462 µs split (BenchmarkSearch, alternating).
const topKParallelFloor = 1 << 22
