package router

import (
	"math"
	"math/rand/v2"

	"github.com/semroute/semroute/embed"
	"github.com/semroute/semroute/index/flat"
)

// Head is a softmax classifier fitted on the intents' own utterances when
// the router is built: a linear map from the dense embedding plus the sparse
// lexical features to one logit per intent. Nearest-neighbour voting over the
// same vectors is 11 points less accurate on CLINC150 test (78.9 % against
// 90.3 %, TestQualityFloors):
// the head learns which words and n-grams tell intents apart, where cosine
// similarity weighs all of them alike.
type Head struct {
	Classes int
	Dim     int
	Dense   []float32         // Classes × Dim, row per class
	Rows    map[uint64]uint32 // sparse feature hash → row of Sparse
	Sparse  []float32         // len(Rows) × Classes, row per feature
	Bias    []float32         // Classes
	// The sparse weights for inference, pruned (see Compact): for row r,
	// the classes cls[start[r]:start[r+1]] with weights w[…].
	start []uint32
	cls   []uint16
	w     []float32
}

// pruneShare is the share of the largest sparse weight below which
// Compact drops a weight. On the synthetic 100 × 100 intent set it keeps
// about 5 % of the weights; the decision, which read 28 MB of weights
// scattered over memory, gets several times faster
// (BenchmarkDecision), while CLINC150 accuracy stays the same
// (TestQualityFloors).
const pruneShare = 0.002

// Compact builds the pruned sparse weights inference reads, and drops the
// dense ones training needed. Heads with more than 65,535 classes keep the
// dense weights.
func (h *Head) Compact() {
	if h.Classes > math.MaxUint16 || len(h.Sparse) == 0 {
		return
	}
	var top float32
	for _, w := range h.Sparse {
		top = max(top, float32(math.Abs(float64(w))))
	}
	tau := top * pruneShare
	rows := len(h.Sparse) / h.Classes
	h.start = make([]uint32, rows+1)
	for r := range rows {
		for c, w := range h.Sparse[r*h.Classes : (r+1)*h.Classes] {
			if w >= tau || w <= -tau {
				h.cls = append(h.cls, uint16(c))
				h.w = append(h.w, w)
			}
		}
		h.start[r+1] = uint32(len(h.w))
	}
	h.Sparse = nil
}

// HeadOptions steers fitting; the zero value means the defaults.
type HeadOptions struct {
	Epochs int     // passes over the data (default 12)
	Rate   float32 // initial learning rate (default 0.5)
	Decay  float32 // L2 weight decay per epoch, relative (default 1e-4)
	Seed   uint64  // shuffling seed (default 1): fitting is deterministic
	// MaxWeights bounds Rows × Classes; past it sparse features share rows by
	// hash (default 24M weights, 96 MB).
	MaxWeights int
	// Progress, when set, is called after each epoch.
	Progress func(epoch, epochs int)
}

func (o HeadOptions) withDefaults() HeadOptions {
	if o.Epochs <= 0 {
		o.Epochs = 12
	}
	if o.Rate <= 0 {
		o.Rate = 0.5
	}
	if o.Decay <= 0 {
		o.Decay = 1e-4
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.MaxWeights <= 0 {
		o.MaxWeights = 24 << 20
	}
	return o
}

// Example is one training row for FitHead.
type Example struct {
	Vec   []float32
	Feats []embed.Feature
	Class int
}

// FitHead fits a head on the examples by SGD on the cross-entropy.
func FitHead(examples []Example, classes, dim int, opt HeadOptions) *Head {
	opt = opt.withDefaults()
	h := &Head{Classes: classes, Dim: dim, Dense: make([]float32, classes*dim), Bias: make([]float32, classes), Rows: map[uint64]uint32{}}
	for _, ex := range examples {
		for _, f := range ex.Feats {
			if _, ok := h.Rows[f.Hash]; !ok {
				h.Rows[f.Hash] = uint32(len(h.Rows))
			}
		}
	}
	if maxRows := opt.MaxWeights / max(classes, 1); len(h.Rows) > maxRows {
		for k := range h.Rows {
			h.Rows[k] = uint32(k % uint64(maxRows))
		}
		h.Sparse = make([]float32, maxRows*classes)
	} else {
		h.Sparse = make([]float32, len(h.Rows)*classes)
	}

	order := make([]int, len(examples))
	for i := range order {
		order[i] = i
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 0x5e3))
	p := make([]float32, classes)
	rows := make([]uint32, 0, 256)
	for epoch := 0; epoch < opt.Epochs; epoch++ {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		// Linear decay of the rate to a tenth: large steps first, then settle.
		rate := opt.Rate * (1 - 0.9*float32(epoch)/float32(opt.Epochs))
		for _, i := range order {
			ex := &examples[i]
			rows = h.rowsOf(rows[:0], ex.Feats)
			h.logits(p, ex.Vec, ex.Feats, rows)
			softmax(p)
			p[ex.Class] -= 1 // p is now the gradient of the loss by the logits
			h.step(p, ex.Vec, ex.Feats, rows, rate)
		}
		keep := 1 - opt.Decay*rate*float32(len(examples))/float32(classes)
		scale(h.Dense, keep)
		scale(h.Sparse, keep)
		if opt.Progress != nil {
			opt.Progress(epoch+1, opt.Epochs)
		}
	}
	return h
}

// gradFloor skips classes whose gradient is negligible: after the first
// epoch most of the probability mass sits on a few classes. On CLINC150
// (15,000 utterances, 150 intents) building the router takes 2.7 s with the
// floor and 7.0 s without (gradFloor = 0), at 90.27 % against 90.31 %
// in-scope test accuracy (TestQualityFloors logs both figures).
const gradFloor = 1e-4

func (h *Head) step(g, vec []float32, feats []embed.Feature, rows []uint32, rate float32) {
	for c, gc := range g {
		if gc > -gradFloor && gc < gradFloor {
			continue
		}
		s := rate * gc
		h.Bias[c] -= s
		w := h.Dense[c*h.Dim : (c+1)*h.Dim]
		for j, x := range vec[:len(w)] {
			w[j] -= s * x
		}
		for k, r := range rows {
			if r != noRow {
				h.Sparse[int(r)*h.Classes+c] -= s * feats[k].Weight
			}
		}
	}
}

const noRow = math.MaxUint32

func (h *Head) rowsOf(dst []uint32, feats []embed.Feature) []uint32 {
	for _, f := range feats {
		r, ok := h.Rows[f.Hash]
		if !ok {
			r = noRow
		}
		dst = append(dst, r)
	}
	return dst
}

// logits writes the head's logits for one input into dst (len Classes).
func (h *Head) logits(dst, vec []float32, feats []embed.Feature, rows []uint32) {
	copy(dst, h.Bias)
	if len(vec) == h.Dim {
		for c := range dst {
			dst[c] += flat.Dot(h.Dense[c*h.Dim:(c+1)*h.Dim], vec)
		}
	}
	if h.start != nil {
		for k, r := range rows {
			if r == noRow {
				continue
			}
			x := feats[k].Weight
			lo, hi := h.start[r], h.start[r+1]
			ws := h.w[lo:hi]
			for i, c := range h.cls[lo:hi] {
				dst[c] += x * ws[i]
			}
		}
		return
	}
	for k, r := range rows {
		if r == noRow {
			continue
		}
		w := feats[k].Weight
		row := h.Sparse[int(r)*h.Classes : (int(r)+1)*h.Classes]
		for c := range dst {
			dst[c] += w * row[c]
		}
	}
}

// Probs writes the class probabilities of one input into dst (len Classes);
// rows is scratch space, returned grown for reuse.
func (h *Head) Probs(dst, vec []float32, feats []embed.Feature, rows []uint32) []uint32 {
	rows = h.rowsOf(rows[:0], feats)
	h.logits(dst, vec, feats, rows)
	softmax(dst)
	return rows
}

func softmax(z []float32) {
	m := z[0]
	for _, v := range z {
		m = max(m, v)
	}
	var sum float32
	for i, v := range z {
		e := float32(math.Exp(float64(v - m)))
		z[i] = e
		sum += e
	}
	for i := range z {
		z[i] /= sum
	}
}

func scale(v []float32, k float32) {
	for i := range v {
		v[i] *= k
	}
}
