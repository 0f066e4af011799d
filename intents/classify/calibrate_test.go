package classify

import (
	"math/rand/v2"
	"testing"
)

func TestRetaining(t *testing.T) {
	confs := make([]float64, 100)
	for i := range confs {
		confs[i] = float64(i) / 100 // 0.00 … 0.99
	}
	if got := retaining(confs, 0.95, 1); got != 0.05 {
		t.Errorf("95 %% of 0.00…0.99 reach %v, want 0.05", got)
	}
	if got := retaining(confs, 0.5, 0.25); got != 0.25 {
		t.Errorf("capped at 0.25: %v", got)
	}
	if got := retaining([]float64{0.001}, 0.95, 1); got != 0 {
		t.Errorf("a confidence under the grid's first step: %v, want 0", got)
	}
}

// TestDenseLR: the regression, mapped back onto raw vectors, separates
// classes that differ only in the mean of one dimension among noisy
// others of very different scales (what the standardisation is for).
func TestDenseLR(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var exs []Example
	sample := func(class int) []float32 {
		v := make([]float32, 8)
		for j := range v {
			v[j] = float32(rng.NormFloat64()) * float32(j+1) * 10
		}
		v[0] = float32(class)*0.02 + float32(rng.NormFloat64())*0.004 // tiny scale, all the signal
		return v
	}
	for i := range 300 {
		exs = append(exs, Example{Vec: sample(i % 3), Class: i % 3})
	}
	m := fitDenseLR(exs, 3, 0, 8, denseOpts(len(exs), 1))
	right := 0
	for i := range 300 {
		c := i % 3
		v := sample(c)
		best, bv := -1, float32(0)
		for k := range 3 {
			z := m.B[k]
			for j := range 8 {
				z += m.W[k*8+j] * v[j]
			}
			if best < 0 || z > bv {
				best, bv = k, z
			}
		}
		if best == c {
			right++
		}
	}
	if right < 270 {
		t.Errorf("%d of 300 right, want at least 270", right)
	}
}
