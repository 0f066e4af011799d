// Package flat is the router's hot-path copy of the exemplar vectors: one
// contiguous, read-only []float32 slab of unit vectors scanned exhaustively.
// The store of record stays in an index backend; flat is compiled from it.
//
// One slab instead of a slice of per-record slices keeps the scan a single
// sequential read, which the prefetcher streams; large scans split across
// workers that are started once, so a query allocates nothing.
//
// The router builds its slab once and only reads it. A RAG collection's
// grows and shrinks with its documents (Append, Retain, under the
// collection's lock) and is searched by TopK: the exact top k, read mostly
// from the int8 copy (topk.go).
package flat

import (
	"math"
	"runtime"
	"slices"
	"sync"

	"github.com/semroute/semroute/internal/simd"
)

// Result is one neighbour: the vector's position and its cosine similarity.
type Result struct {
	Index int32
	Score float32
}

// Slab holds n unit vectors of one dimension, contiguously.
type Slab struct {
	dim  int
	data []float32
	jobs chan job
	once sync.Once
	// The int8 copy Quantize builds: row i is codes[i*cdim:(i+1)*cdim] (dim
	// padded to a multiple of 16 with zeros), worth scales[i] times its
	// integers.
	codes  []int8
	scales []float32
	cdim   int
	// resid[i] is the length of row i's rounding error, |v - scale·code|:
	// what TopK's bound on the int8 pass needs.
	resid []float32
}

// parallelFloor is the slab size (floats) above which a scan is split across
// cores: below it the hand-off costs more than it saves.
const parallelFloor = 1 << 19

// New copies vectors (all of length dim) into a slab, scaled to unit length.
func New(dim int, vectors [][]float32) *Slab {
	s := &Slab{dim: dim, data: make([]float32, 0, dim*len(vectors))}
	for _, v := range vectors {
		s.data = append(s.data, v[:dim]...)
		Normalize(s.data[len(s.data)-dim:])
	}
	return s
}

// Len is the number of vectors.
func (s *Slab) Len() int {
	if s.dim == 0 {
		return 0
	}
	return len(s.data) / s.dim
}

// Dim is the vectors' length.
func (s *Slab) Dim() int { return s.dim }

// Vector returns vector i (not a copy: do not modify it).
func (s *Slab) Vector(i int) []float32 { return s.data[i*s.dim : (i+1)*s.dim] }

// Normalize scales v to unit length in place (a zero vector stays zero).
func Normalize(v []float32) { simd.Normalize(v) }

// Scratch holds a query's working space; keep one per goroutine and reuse it
// so that searching allocates nothing.
type Scratch struct {
	parts  [][]Result
	wg     sync.WaitGroup
	q8     []int8
	q16    []int16
	dots   []int32
	cand   []Result
	top    []Result
	cparts [][]Result
	pass   pass
	addrs  []uintptr
}

type job struct {
	s      *Slab
	q      []float32
	lo, hi int
	k      int
	out    *[]Result
	cand   *[]Result // TopK's candidates
	wg     *sync.WaitGroup
	// A TopK first pass (int8 rows against the quantized query) when pass
	// is set.
	pass *pass
	keep func(int32) bool
}

// Search returns the k vectors most similar to q (unit length), best first,
// appended to dst[:0].
func (s *Slab) Search(q []float32, k int, dst []Result, sc *Scratch) []Result {
	return s.SearchRange(q, 0, s.Len(), k, dst, sc)
}

// SearchRange is Search over the vectors lo ≤ i < hi only.
func (s *Slab) SearchRange(q []float32, lo, hi, k int, dst []Result, sc *Scratch) []Result {
	dst = dst[:0]
	if k <= 0 || lo >= hi || len(q) != s.dim {
		return dst
	}
	workers := runtime.GOMAXPROCS(0)
	if (hi-lo)*s.dim < parallelFloor || workers == 1 || sc == nil {
		return s.scan(q, lo, hi, k, dst)
	}
	s.once.Do(s.start)
	if len(sc.parts) < workers {
		sc.parts = make([][]Result, workers)
	}
	per := (hi - lo + workers - 1) / workers
	n := 0
	for w := 0; w < workers; w++ {
		a, b := lo+w*per, min(lo+(w+1)*per, hi)
		if a >= b {
			break
		}
		sc.wg.Add(1)
		s.jobs <- job{s: s, q: q, lo: a, hi: b, k: k, out: &sc.parts[w], wg: &sc.wg}
		n++
	}
	sc.wg.Wait()
	for _, part := range sc.parts[:n] {
		for _, r := range part {
			dst = insert(dst, k, r)
		}
	}
	return dst
}

// start launches the slab's workers; they live as long as the process,
// idle on a channel when there is nothing to scan.
func (s *Slab) start() {
	s.jobs = make(chan job)
	for range runtime.GOMAXPROCS(0) {
		go func() {
			for j := range s.jobs {
				if j.pass != nil {
					*j.out, *j.cand = j.s.approx(j.pass, j.lo, j.hi, j.k, j.keep, (*j.out)[:0], (*j.cand)[:0])
				} else {
					*j.out = j.s.scan(j.q, j.lo, j.hi, j.k, (*j.out)[:0])
				}
				j.wg.Done()
			}
		}()
	}
}

func (s *Slab) scan(q []float32, lo, hi, k int, dst []Result) []Result {
	d := s.dim
	floor := float32(math.Inf(-1))
	for i := lo; i < hi; i++ {
		sc := Dot(q, s.data[i*d:(i+1)*d])
		if len(dst) == k && sc <= floor {
			continue
		}
		dst = insert(dst, k, Result{int32(i), sc})
		if len(dst) == k {
			floor = dst[k-1].Score
		}
	}
	return dst
}

// insert puts r into dst, kept sorted best first and at most k long.
func insert(dst []Result, k int, r Result) []Result {
	if len(dst) == k {
		if r.Score <= dst[k-1].Score {
			return dst
		}
		dst = dst[:k-1]
	}
	i := len(dst)
	dst = append(dst, r)
	for i > 0 && dst[i-1].Score < r.Score {
		dst[i] = dst[i-1]
		i--
	}
	dst[i] = r
	return dst
}

// Dot is the inner product of a and b (len(b) ≥ len(a)): the AVX2+FMA
// kernel where the CPU has it, 7× faster than the four-accumulator Go loop
// at D = 384 (BenchmarkDot in internal/simd).
func Dot(a, b []float32) float32 { return simd.Dot(a, b) }

// AddScaled adds a·x to dst (dst[i] += a*x[i] for i < len(dst)), with the
// same kernels as Dot.
func AddScaled(dst, x []float32, a float32) { simd.AddScaled(dst, x, a) }

// AddScaledInt8 adds a·x to dst for int8 x (dst[i] += a*float32(x[i]) for
// i < len(dst)): a quantized row, its scale folded into a, at a quarter of
// the bytes of a float32 one.
func AddScaledInt8(dst []float32, x []int8, a float32) { simd.AddScaledInt8(dst, x, a) }

// DotsInt16Int8 writes q's inner product with each int8 row of rows (rows
// of len(q), side by side) into out, which holds at least len(rows)/len(q):
// a query quantized finely (QuantizeInt16) against rows quantized coarsely,
// in one call that reads the rows in order and prefetches ahead (AVX2 when
// len(q) is a multiple of 16).
func DotsInt16Int8(q []int16, rows []int8, out []int32) { simd.DotsInt16Int8(q, rows, out) }

// QuantizeInt16 writes v into dst (same length) as integers for
// DotsInt16Int8 and returns the scale back (see simd.QuantizeInt16).
func QuantizeInt16(dst []int16, v []float32) (scale float32) { return simd.QuantizeInt16(dst, v) }

// Prefetch starts loading the cache line at each address without waiting
// for it, so that scattered reads that follow find their lines in flight
// together rather than missing one after another.
func Prefetch(addrs []uintptr) { simd.Prefetch(addrs) }

// rescored is how many candidates of the int8 pass Nearest scores again in
// float32.
const rescored = 4

// Quantize builds an int8 copy of the vectors, a quarter of the bytes, which
// Nearest scans first. Call it before the slab is shared.
func (s *Slab) Quantize() {
	s.cdim = (s.dim + 15) &^ 15
	n := s.Len()
	s.codes = make([]int8, 0, n*s.cdim)
	s.scales = make([]float32, 0, n)
	s.resid = make([]float32, 0, n)
	for i := 0; i < n; i++ {
		s.quantizeRow(i)
	}
}

// Quantize writes v into dst as int8 and returns the scale back (see
// simd.Quantize).
func Quantize(dst []int8, v []float32) (scale float32) { return simd.Quantize(dst, v) }

// DotInt8 is the inner product of two int8 vectors of the same length, a
// multiple of 16.
func DotInt8(a, b []int8) int32 { return simd.DotInt8(a, b) }

// DotsInt8 writes q's inner product with each row of rows (rows of len(q),
// a multiple of 16, side by side) into out, which holds at least
// len(rows)/len(q): one call that reads the rows in order and prefetches
// ahead, for scanning a block whose rows are often not in cache (the
// first pass of Nearest).
func DotsInt8(q, rows []int8, out []int32) { simd.DotsInt8(q, rows, out) }

// Nearest returns the vector most similar to q (unit length) among lo ≤ i <
// hi, and false when the range is empty. On a quantized slab it ranks the
// range by the int8 copy, reading a quarter of the bytes, and scores its
// best few exactly: the score returned is always the exact cosine of the
// vector returned, and that vector is the exact nearest unless several lie
// within the int8 copy's error of each other (TestNearestQuantized).
func (s *Slab) Nearest(q []float32, lo, hi int, sc *Scratch) (Result, bool) {
	if lo >= hi || len(q) != s.dim {
		return Result{}, false
	}
	if s.codes == nil || sc == nil {
		r := s.scan(q, lo, hi, 1, nil)
		return r[0], true
	}
	if len(sc.q8) != s.cdim {
		sc.q8 = make([]int8, s.cdim)
	}
	simd.Quantize(sc.q8, q)
	// The range's int8 dots in one pass over its rows, then the best few.
	sc.dots = slices.Grow(sc.dots[:0], hi-lo)[:hi-lo]
	simd.DotsInt8(sc.q8, s.codes[lo*s.cdim:hi*s.cdim], sc.dots)
	cand := sc.cand[:0]
	floor := float32(math.Inf(-1))
	for i := lo; i < hi; i++ {
		a := float32(sc.dots[i-lo]) * s.scales[i]
		if len(cand) == rescored && a <= floor {
			continue
		}
		cand = insert(cand, rescored, Result{int32(i), a})
		if len(cand) == rescored {
			floor = cand[rescored-1].Score
		}
	}
	sc.cand = cand
	// The candidates' float32 rows lie anywhere in the slab: ask for all
	// their lines at once rather than miss row after row.
	s.prefetchRows(sc, cand)
	best := Result{Index: -1, Score: float32(math.Inf(-1))}
	for _, c := range cand {
		if e := Dot(q, s.Vector(int(c.Index))); e > best.Score || (e == best.Score && c.Index < best.Index) {
			best = Result{c.Index, e}
		}
	}
	return best, true
}
