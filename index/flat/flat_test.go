package flat

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	chromem "github.com/philippgille/chromem-go"

	"github.com/semroute/semroute/internal/cold"
)

func randomVectors(n, d int, seed uint64) [][]float32 {
	rng := rand.New(rand.NewPCG(seed, 7))
	out := make([][]float32, n)
	for i := range out {
		v := make([]float32, d)
		for j := range v {
			v[j] = float32(rng.NormFloat64())
		}
		Normalize(v)
		out[i] = v
	}
	return out
}

func bruteForce(vs [][]float32, q []float32, k int) []int32 {
	type p struct {
		i int32
		s float32
	}
	all := make([]p, len(vs))
	for i, v := range vs {
		all[i] = p{int32(i), Dot(q, v)}
	}
	sort.Slice(all, func(a, b int) bool { return all[a].s > all[b].s })
	out := []int32{}
	for _, x := range all[:min(k, len(all))] {
		out = append(out, x.i)
	}
	return out
}

func TestSearchMatchesBruteForce(t *testing.T) {
	for _, n := range []int{1, 7, 1000, 6000} { // 6000×100 crosses parallelFloor
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			vs := randomVectors(n, 100, uint64(n))
			s := New(100, vs)
			var sc Scratch
			for qi, q := range randomVectors(20, 100, 99) {
				got := s.Search(q, 10, nil, &sc)
				want := bruteForce(vs, q, 10)
				if len(got) != len(want) {
					t.Fatalf("query %d: %d results, want %d", qi, len(got), len(want))
				}
				for i := range got {
					if got[i].Index != want[i] {
						t.Fatalf("query %d result %d: %d, want %d", qi, i, got[i].Index, want[i])
					}
				}
			}
		})
	}
}

func TestSearchRange(t *testing.T) {
	vs := randomVectors(100, 16, 1)
	s := New(16, vs)
	got := s.SearchRange(vs[5], 10, 20, 3, nil, nil)
	for _, r := range got {
		if r.Index < 10 || r.Index >= 20 {
			t.Fatalf("result %d outside [10, 20)", r.Index)
		}
	}
	if got := s.SearchRange(vs[15], 10, 20, 1, nil, nil); got[0].Index != 15 {
		t.Errorf("nearest to vector 15 within its range: %d", got[0].Index)
	}
	if got := s.Search(make([]float32, 3), 1, nil, nil); len(got) != 0 {
		t.Errorf("a query of the wrong dimension found %v", got)
	}
}

// TestNearestQuantized: on groups of near vectors, like an intent's
// utterances, the int8 first pass finds the exact nearest of its group for
// nearly every query, and never reports a similarity off by more than 0.01
// from the exact nearest's.
func TestNearestQuantized(t *testing.T) {
	for _, d := range []int{100, 256} { // 100 is padded to 112
		rng := rand.New(rand.NewPCG(uint64(d), 9))
		const groups, per = 50, 100
		var vs [][]float32
		noisy := func(c []float32, sd float64) []float32 {
			v := make([]float32, d)
			for j := range v {
				v[j] = c[j] + float32(sd*rng.NormFloat64())
			}
			Normalize(v)
			return v
		}
		centres := randomVectors(groups, d, uint64(d)+1)
		for _, c := range centres {
			for range per {
				vs = append(vs, noisy(c, 0.08))
			}
		}
		exact, quant := New(d, vs), New(d, vs)
		quant.Quantize()
		var sc Scratch
		same, n := 0, 0
		for g, c := range centres {
			for range 20 {
				q := noisy(c, 0.08)
				lo, hi := g*per, (g+1)*per
				want := exact.SearchRange(q, lo, hi, 1, nil, nil)[0]
				got, ok := quant.Nearest(q, lo, hi, &sc)
				if !ok || got.Index < int32(lo) || got.Index >= int32(hi) {
					t.Fatalf("d=%d: Nearest = %v, %v outside [%d, %d)", d, got, ok, lo, hi)
				}
				if e := Dot(q, quant.Vector(int(got.Index))); e != got.Score {
					t.Fatalf("d=%d: score %v is not the exact cosine %v", d, got.Score, e)
				}
				if want.Score-got.Score > 0.01 {
					t.Errorf("d=%d: similarity %v, exact nearest's %v", d, got.Score, want.Score)
				}
				n++
				if got.Index == want.Index {
					same++
				}
			}
		}
		t.Logf("d=%d: the quantized pass found the exact nearest for %d of %d queries", d, same, n)
		if float64(same) < 0.98*float64(n) {
			t.Errorf("d=%d: exact nearest found for %d of %d queries, want ≥ 98 %%", d, same, n)
		}
		if got, ok := exact.Nearest(vs[7], 0, per, &sc); !ok || got.Index != 7 {
			t.Errorf("d=%d: the unquantized slab's Nearest to vector 7 = %v", d, got)
		}
		if _, ok := quant.Nearest(vs[7], 5, 5, &sc); ok {
			t.Errorf("d=%d: an empty range found a vector", d)
		}
	}
}

func TestSearchAllocatesNothing(t *testing.T) {
	vs := randomVectors(20000, 100, 3)
	s := New(100, vs)
	var sc Scratch
	dst := make([]Result, 0, 10)
	q := vs[0]
	dst = s.Search(q, 10, dst, &sc) // grow the scratch once
	if a := testing.AllocsPerRun(50, func() { dst = s.Search(q, 10, dst, &sc) }); a != 0 {
		t.Errorf("%v allocations per search, want 0", a)
	}
}

// BenchmarkScan compares the flat slab with chromem-go's own query on the
// same vectors, in the same run; bytes/s is the slab's scan bandwidth.
func BenchmarkScan(b *testing.B) {
	for _, d := range []int{100, 384} {
		for _, n := range []int{1000, 10000, 100000} {
			vs := randomVectors(n, d, uint64(n+d))
			q := randomVectors(1, d, 5)[0]
			b.Run(fmt.Sprintf("flat/n=%d/d=%d", n, d), func(b *testing.B) {
				s := New(d, vs)
				var sc Scratch
				dst := make([]Result, 0, 10)
				b.SetBytes(int64(n * d * 4))
				b.ReportAllocs()
				for b.Loop() {
					dst = s.Search(q, 10, dst, &sc)
				}
			})
			if n == 100000 && d == 384 && testing.Short() {
				continue
			}
			b.Run(fmt.Sprintf("chromem/n=%d/d=%d", n, d), func(b *testing.B) {
				db := chromem.NewDB()
				c, _ := db.CreateCollection("x", nil, func(context.Context, string) ([]float32, error) { return nil, nil })
				docs := make([]chromem.Document, n)
				for i, v := range vs {
					docs[i] = chromem.Document{ID: fmt.Sprint(i), Embedding: v, Content: "x"}
				}
				if err := c.AddDocuments(context.Background(), docs, 2); err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(n * d * 4))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := c.QueryEmbedding(context.Background(), q, 10, nil, nil); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkMemoryRead is the baseline for the scan's bandwidth: both cores
// XOR-reading a 153 MB buffer (the size of the 100k × 384 slab), the fastest
// plain-Go read of memory. Compare its MB/s with BenchmarkScan's.
func BenchmarkMemoryRead(b *testing.B) {
	buf := make([]uint64, 100000*384/2)
	for i := range buf {
		buf[i] = uint64(i)
	}
	workers := 2
	var sink [2]uint64
	b.SetBytes(int64(len(buf) * 8))
	for b.Loop() {
		done := make(chan struct{}, workers)
		per := len(buf) / workers
		for w := 0; w < workers; w++ {
			go func(w int) {
				var x0, x1, x2, x3 uint64
				part := buf[w*per : (w+1)*per]
				for i := 0; i+4 <= len(part); i += 4 {
					x0 ^= part[i]
					x1 ^= part[i+1]
					x2 ^= part[i+2]
					x3 ^= part[i+3]
				}
				sink[w] = x0 ^ x1 ^ x2 ^ x3
				done <- struct{}{}
			}(w)
		}
		for w := 0; w < workers; w++ {
			<-done
		}
	}
}

// BenchmarkNearest is the router's nearest-utterance search: one intent's
// 100 utterances of 256 floats, exact and through the int8 copy, with the
// caches warm and after reading 4 MB (cold, as between a service's
// requests).
func BenchmarkNearest(b *testing.B) {
	vs := randomVectors(10000, 256, 1)
	exact, quant := New(256, vs), New(256, vs)
	quant.Quantize()
	q := randomVectors(1, 256, 5)[0]
	for _, evict := range []bool{false, true} {
		for _, c := range []struct {
			name string
			s    *Slab
		}{{"exact", exact}, {"int8", quant}} {
			name := c.name
			if evict {
				name += "/cold"
			}
			b.Run(name, func(b *testing.B) {
				var sc Scratch
				for i := 0; b.Loop(); i++ {
					if evict {
						b.StopTimer()
						cold.Evict()
						b.StartTimer()
					}
					lo := (i * 37 % 100) * 100
					c.s.Nearest(q, lo, lo+100, &sc)
				}
			})
		}
	}
}

// TestQuantizeInt16: each value comes back within half a step, and the
// largest magnitude is the bound DotsInt16Int8 allows for the length.
func TestQuantizeInt16(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1, 256, 1536, 4096} {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		q := make([]int16, n)
		scale := QuantizeInt16(q, v)
		top := 0
		for i, x := range v {
			if d := math.Abs(float64(x) - float64(scale)*float64(q[i])); d > float64(scale)/2*1.0001 {
				t.Fatalf("n=%d: v[%d] = %v comes back as %v", n, i, x, scale*float32(q[i]))
			}
			top = max(top, int(q[i]), -int(q[i]))
		}
		if want := min(1<<14, (1<<31-1)/(127*n)); top != want {
			t.Errorf("n=%d: largest magnitude %d, want %d", n, top, want)
		}
	}
	if s := QuantizeInt16(make([]int16, 3), make([]float32, 3)); s != 0 {
		t.Errorf("zero vector: scale %v", s)
	}
}
