package router

import (
	"context"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/semroute/semroute/embed/local/localtest"
	"github.com/semroute/semroute/router/config"
)

// TestCalibratedDefaults: the demo's default threshold comes from
// cross-validation on its utterances, the same on every build; the
// config's threshold, a thresholds file, and NoCalibration each win over it.
func TestCalibratedDefaults(t *testing.T) {
	emb := localtest.Open(t)
	r := demoRouter(t, Options{Embedder: emb})
	cal, ok := r.Calibration()
	if !ok || cal.Folds != calFolds || cal.HeldOut < 100 {
		t.Fatalf("calibration %+v, ok %v: want %d folds over the demo's utterances", cal, ok, calFolds)
	}
	if g := r.Thresholds().Global; g != cal.Threshold || g <= 0 || g > calMaxThreshold {
		t.Errorf("default threshold %v, calibrated %v: want the calibrated one, in (0, %v]", g, cal.Threshold, calMaxThreshold)
	}
	again := demoRouter(t, Options{Embedder: emb})
	if c2, _ := again.Calibration(); !reflect.DeepEqual(c2, cal) {
		t.Errorf("a second build calibrated %+v, the first %+v", c2, cal)
	}
	for _, p := range []string{"where is my order", "I forgot my password", "write me a poem about cats"} {
		a, _ := r.Score(context.Background(), p)
		b, _ := again.Score(context.Background(), p)
		if a.S1 != b.S1 || a.Best != b.Best {
			t.Errorf("%q scored %v / %v on two builds", p, a.S1, b.S1)
		}
	}

	cfg, err := config.Load("../datasets/demo/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Routing.Threshold = new(0.42)
	if r, err := New(context.Background(), cfg, Options{Embedder: emb}); err != nil || r.Thresholds().Global != 0.42 {
		t.Errorf("routing.threshold 0.42 in the config: global %v, %v", r.Thresholds().Global, err)
	}
	file := &Thresholds{Embedder: emb.Fingerprint(), Scorer: config.ScorerHead, Global: 0.07}
	if g := demoRouter(t, Options{Embedder: emb, Thresholds: file}).Thresholds().Global; g != 0.07 {
		t.Errorf("a thresholds file's 0.07: global %v", g)
	}
	plain := demoRouter(t, Options{Embedder: emb, Head: HeadOptions{NoCalibration: true}})
	if _, ok := plain.Calibration(); ok || plain.Thresholds().Global != defaultHeadThreshold {
		t.Errorf("NoCalibration: global %v, want %v", plain.Thresholds().Global, defaultHeadThreshold)
	}
}

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
