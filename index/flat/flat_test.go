package flat

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"

	chromem "github.com/philippgille/chromem-go"
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
