package classify

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/semroute/semroute/internal/simd"
)

// denseLR is a multinomial logistic regression over a block of the dense
// vector, each dimension standardised (z-scored) on the training vectors,
// with an L2 penalty. Its weights are mapped back onto the raw vector
// (W/σ, and the means into the bias), so that adding them to the head's
// dense weights blends the two models' logits at no cost per decision.
type denseLR struct {
	lo, hi int       // the block of the vector it reads
	W      []float32 // classes × (hi-lo), on the raw vector
	B      []float32 // classes
}

// denseOptions steer fitDenseLR.
type denseOptions struct {
	Epochs int
	Rate   float32
	// L2 is the penalty's weight against the mean loss: the objective is
	// mean cross-entropy + L2/2 · |W|².
	L2   float32
	Seed uint64
}

// fitDenseLR fits the regression on exs' vectors [lo, hi) by SGD on the
// cross-entropy; deterministic for a seed.
func fitDenseLR(exs []Example, classes, lo, hi int, opt denseOptions) *denseLR {
	d := hi - lo
	n := len(exs)
	mean, std := make([]float64, d), make([]float64, d)
	for _, ex := range exs {
		for j, v := range ex.Vec[lo:hi] {
			mean[j] += float64(v)
		}
	}
	for j := range mean {
		mean[j] /= float64(max(n, 1))
	}
	for _, ex := range exs {
		for j, v := range ex.Vec[lo:hi] {
			dv := float64(v) - mean[j]
			std[j] += dv * dv
		}
	}
	for j := range std {
		std[j] = math.Sqrt(std[j]/float64(max(n, 1))) + 1e-6
	}
	x := make([]float32, n*d)
	for i, ex := range exs {
		for j, v := range ex.Vec[lo:hi] {
			x[i*d+j] = float32((float64(v) - mean[j]) / std[j])
		}
	}
	w, b := make([]float32, classes*d), make([]float32, classes)
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 0xde5e))
	p := make([]float32, classes)
	steps := 0
	for epoch := range opt.Epochs {
		rng.Shuffle(n, func(i, j int) { order[i], order[j] = order[j], order[i] })
		rate := opt.Rate * (1 - 0.9*float32(epoch)/float32(opt.Epochs))
		keep := 1 - rate*opt.L2
		for _, i := range order {
			xi := x[i*d : (i+1)*d]
			for c := range p {
				p[c] = b[c] + simd.Dot(w[c*d:(c+1)*d], xi)
			}
			softmax(p)
			p[exs[i].Class] -= 1
			for c, g := range p {
				if g > -gradFloor && g < gradFloor {
					continue
				}
				b[c] -= rate * g
				simd.AddScaled(w[c*d:(c+1)*d], xi, -rate*g)
			}
			// The penalty's step, once every few rows in one go: the same
			// shrinkage as a step a row.
			if steps++; steps%16 == 0 {
				scale(w, float32(math.Pow(float64(keep), 16)))
			}
		}
	}
	m := &denseLR{lo: lo, hi: hi, W: make([]float32, classes*d), B: b}
	for c := range classes {
		for j := range d {
			wj := float64(w[c*d+j]) / std[j]
			m.W[c*d+j] = float32(wj)
			m.B[c] -= float32(wj * mean[j])
		}
	}
	return m
}

// blendInto adds the regression's logits, times k, to the head's: its
// weights onto the head's dense weights, its bias onto the head's bias.
// The head must not have been compacted yet.
func (m *denseLR) blendInto(h *Head, k float32) {
	d := m.hi - m.lo
	for c := range h.Classes {
		simd.AddScaled(h.Dense[c*h.Dim+m.lo:c*h.Dim+m.hi], m.W[c*d:(c+1)*d], k)
		h.Bias[c] += k * m.B[c]
	}
}

// denseOpts are the regression's settings for n training rows: a fixed
// penalty, and about 60,000 steps in 3 to 15 epochs.
func denseOpts(n int, seed uint64) denseOptions {
	return denseOptions{Epochs: min(max(60_000/max(n, 1), 3), 15), Rate: 0.1, L2: 0.003, Seed: seed}
}

// ruleBlend is the regression's weight when cross-validation cannot choose
// it (fewer than calMinIntents intents, or NoCalibration): 1 up to 25
// utterances an intent (the median), then 5/√n, less as the sparse head
// has more to learn from.
func ruleBlend(exs []Example, classes int) float32 {
	per := make([]int, classes)
	for _, ex := range exs {
		per[ex.Class]++
	}
	slices.Sort(per)
	n := max(per[len(per)/2], 1)
	return float32(min(1, 5/math.Sqrt(float64(n))))
}

// Fit fits the head router and moderation use: the sparse head and the dense
// regression over the vectors' first denseHi dimensions, blended at the
// weight cross-validation on the examples chooses, which also gives the
// default threshold (calibrate). The three fits run side by side.
func Fit(exs []Example, classes int, oos bool, dim, denseHi int, opt HeadOptions, minSim float64) (*Head, Calibration, bool) {
	opt = opt.withDefaults()
	var h *Head
	var m *denseLR
	var cal Calibration
	var ok bool
	var wg sync.WaitGroup
	wg.Go(func() { h = fitHead(exs, classes, dim, opt) })
	if opt.Blend >= 0 {
		wg.Go(func() { m = fitDenseLR(exs, classes, 0, denseHi, denseOpts(len(exs), opt.Seed)) })
	}
	if !opt.NoCalibration {
		wg.Go(func() { cal, ok = calibrate(exs, classes, oos, dim, denseHi, opt, minSim) })
	}
	wg.Wait()
	blend := opt.Blend
	switch {
	case blend != 0:
	case ok:
		blend = cal.Blend
	default:
		blend = ruleBlend(exs, classes)
	}
	if m != nil && blend > 0 {
		m.blendInto(h, blend)
	}
	cal.Blend = max(blend, 0)
	h.compact(exs, opt.Prune)
	return h, cal, ok
}
