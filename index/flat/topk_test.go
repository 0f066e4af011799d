package flat

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// exactTopK is the reference: every kept vector scored with Dot, sorted by
// score, ties by before.
func exactTopK(vs [][]float32, q []float32, k int, f Filter) []Result {
	var all []Result
	for i, v := range vs {
		if f.Keep == nil || f.Keep(int32(i)) {
			all = append(all, Result{int32(i), Dot(q, v)})
		}
	}
	slices.SortFunc(all, func(x, y Result) int {
		switch {
		case x.Score > y.Score:
			return -1
		case x.Score < y.Score:
			return 1
		case f.Before == nil && x.Index < y.Index, f.Before != nil && f.Before(x.Index, y.Index):
			return -1
		}
		return 1
	})
	return all[:min(k, len(all))]
}

// clustered are n unit vectors in a few tight clusters, with exact
// duplicates: many scores lie within the int8 copy's error of each other,
// and some are equal.
func clustered(n, d int, seed uint64) [][]float32 {
	rng := rand.New(rand.NewPCG(seed, 11))
	centres := randomVectors(5, d, seed+1)
	out := make([][]float32, n)
	for i := range out {
		if i > 0 && rng.IntN(10) == 0 {
			out[i] = slices.Clone(out[rng.IntN(i)])
			continue
		}
		v := slices.Clone(centres[rng.IntN(len(centres))])
		for j := range v {
			v[j] += float32(rng.NormFloat64()) * 0.01
		}
		Normalize(v)
		out[i] = v
	}
	return out
}

// TestTopKMatchesExact: the int8 pass with its error bound returns exactly
// the float32 reference, filters and tie order included, on spread and on
// clustered vectors, below and above the size that splits across workers.
func TestTopKMatchesExact(t *testing.T) {
	filters := map[string]Filter{
		"all":             {},
		"even, reversed":  {Keep: func(i int32) bool { return i%2 == 0 }, Before: func(a, b int32) bool { return a > b }},
		"none kept":       {Keep: func(int32) bool { return false }},
		"first 3 kept":    {Keep: func(i int32) bool { return i < 3 }},
		"ties by reverse": {Before: func(a, b int32) bool { return a > b }},
	}
	for _, d := range []int{100, 256} {
		for _, n := range []int{1, 7, 1000, 6000, 20000} { // 20000×256 int8 crosses topKParallelFloor
			for kind, vs := range map[string][][]float32{"random": randomVectors(n, d, uint64(n)), "clustered": clustered(n, d, uint64(n))} {
				s := New(d, vs)
				s.Quantize()
				vs := rows(s)
				var sc Scratch
				queries := append(randomVectors(5, d, 99), vs[0], vs[n/2])
				for name, f := range filters {
					for qi, q := range queries {
						for _, k := range []int{1, 5, 50} {
							got := s.TopK(q, k, f, nil, &sc)
							want := exactTopK(vs, q, k, f)
							if !slices.Equal(got, want) {
								t.Fatalf("d=%d n=%d %s, %s, query %d, k=%d:\n got %v\nwant %v", d, n, kind, name, qi, k, got, want)
							}
						}
					}
				}
			}
		}
	}
}

// TestAppendAndRetain: a slab grown one vector at a time and then thinned
// searches like one built from the surviving vectors at once.
func TestAppendAndRetain(t *testing.T) {
	const d = 48
	vs := clustered(3000, d, 5)
	grown := New(d, nil)
	grown.Quantize()
	for i, v := range vs {
		if got := grown.Append(v); got != i {
			t.Fatalf("Append returned %d, want %d", got, i)
		}
	}
	keep := func(i int) bool { return i%3 != 1 }
	grown.Retain(keep)
	var kept [][]float32
	for i, v := range vs {
		if keep(i) {
			kept = append(kept, v)
		}
	}
	built := &Slab{dim: d, data: slices.Concat(kept...)}
	built.Quantize()
	if grown.Len() != len(kept) || !slices.Equal(grown.data, built.data) || !slices.Equal(grown.codes, built.codes) ||
		!slices.Equal(grown.scales, built.scales) || !slices.Equal(grown.resid, built.resid) {
		t.Fatalf("grown and thinned: %d vectors, want %d, or its int8 copy differs", grown.Len(), len(kept))
	}
	var sc Scratch
	for qi, q := range randomVectors(10, d, 3) {
		if got, want := grown.TopK(q, 10, Filter{}, nil, &sc), exactTopK(kept, q, 10, Filter{}); !slices.Equal(got, want) {
			t.Errorf("query %d: %v, want %v", qi, got, want)
		}
	}
}

// rows are the slab's vectors, as it keeps them.
func rows(s *Slab) [][]float32 {
	out := make([][]float32, s.Len())
	for i := range out {
		out[i] = s.Vector(i)
	}
	return out
}

func BenchmarkTopK(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		const d = 256
		s := New(d, randomVectors(n, d, 1))
		s.Quantize()
		q := randomVectors(1, d, 2)[0]
		for _, k := range []int{5, 50} {
			b.Run(fmt.Sprintf("n=%d/k=%d", n, k), func(b *testing.B) {
				var sc Scratch
				var dst []Result
				b.ReportAllocs()
				for b.Loop() {
					dst = s.TopK(q, k, Filter{}, dst, &sc)
				}
			})
		}
	}
}
