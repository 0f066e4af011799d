package simd

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestReachMasksMatchesGo: the kernel marks exactly the rows the Go
// expression marks, at every length and with floors set to rows' own
// bounds (where ≥ and > differ) and to −∞.
func TestReachMasksMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 2))
	for _, n := range []int{0, 1, 7, 8, 9, 63, 64, 65, 1000, 4099} {
		dots := make([]int32, n)
		scales, resid := make([]float32, n), make([]float32, n)
		for i := range dots {
			dots[i] = int32(rng.IntN(1<<22)) - 1<<21
			scales[i] = rng.Float32() * 1e-6
			resid[i] = rng.Float32() * 0.02
		}
		qs, epsQ := rng.Float32()*1e-4, rng.Float32()*1e-3
		onePlus := 1 + epsQ
		floors := []float32{float32(math.Inf(-1)), 0}
		for range 5 {
			if n > 0 {
				i := rng.IntN(n)
				floors = append(floors, float32(dots[i])*scales[i]*qs+(epsQ+onePlus*resid[i]))
			}
		}
		for _, floor := range floors {
			want := make([]uint8, (n+7)/8)
			reachMasksGo(dots, scales, resid, qs, epsQ, onePlus, floor, want)
			got := make([]uint8, (n+7)/8)
			for i := range got {
				got[i] = 0xff // stale bits must be cleared
			}
			ReachMasks(dots, scales, resid, qs, epsQ, onePlus, floor, got)
			marked := 0
			for i := range n {
				w, g := want[i/8]>>(i%8)&1, got[i/8]>>(i%8)&1
				if w != g {
					t.Fatalf("n=%d floor=%g row %d: kernel %d, Go %d", n, floor, i, g, w)
				}
				marked += int(w)
			}
			if math.IsInf(float64(floor), -1) && marked != n {
				t.Fatalf("n=%d: a floor of −∞ marked %d rows", n, marked)
			}
		}
	}
}
