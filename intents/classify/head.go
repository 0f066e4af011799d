package classify

import (
	"math"
	"math/rand/v2"
	"slices"
	"unsafe"

	"github.com/semroute/semroute/embed"
	"github.com/semroute/semroute/internal/simd"
)

// Head is a softmax classifier fitted on the intents' own utterances when
// the router is built: a linear map from the dense embedding plus the sparse
// lexical features to one logit per intent. Nearest-neighbour voting over the
// same vectors is 10 points less accurate on CLINC150 test (80.2 % against
// 90.3 %, TestQualityFloors):
// the head learns which words and n-grams tell intents apart, where cosine
// similarity weighs all of them alike.
type Head struct {
	Classes int
	Dim     int
	// Dense is the dense part while fitting, Classes × Dim, a row per
	// class; compact replaces it with denseQ, the same rows in int8 with a
	// scale each (denseScale): a quarter of the bytes, which every decision
	// reads whole, against the input quantized in int16 (simd.DotsInt16Int8:
	// integer multiply-adds, no conversions to float per weight).
	Dense      []float32
	Bias       []float32 // Classes
	denseQ     []int8
	denseScale []float32
	// The sparse weights while fitting: feature hash → row of trainW, a
	// len(trainRows) × Classes matrix. FitHead replaces them with sparse,
	// the pruned index inference reads (see compact).
	trainRows map[uint64]uint32
	trainW    []float32
	sparse    *sparseIndex
}

// pruneShare is the default share of the largest sparse weight below which
// compact drops a weight. On the synthetic 100 × 100 intent set it keeps
// about 5 % of the weights and the top intent of every prompt tried
// (TestHeadPruning). With the index below, the decision at 10,000
// exemplars went from 28 to 17 µs (BenchmarkDecision), while CLINC150
// accuracy stays the same (TestQualityFloors).
const pruneShare = 0.002

// sparseIndex is the head's sparse part for inference: an open-addressing
// table from feature hash to the feature's weights and to the classes whose
// utterances contain it (for coverage). A feature costs one probe and two
// short contiguous reads; through a Go map and a separate "seen" set it cost
// about twice as many scattered reads, which are the bulk of the decision
// when the caches are cold between requests.
//
// Each feature's weights are stored one of two ways. A rare feature keeps
// its pruned weights as (class, weight) pairs in cls and w. A common one,
// with weights for at least a quarter of the classes after pruning, keeps a
// full row of Classes weights in rows, added with one vector kernel
// instead of a scattered loop: on the synthetic 100 × 100 set most of a
// prompt's features are common ones (with the int8 nearest search, the
// cold decision went from 22 to 11 µs: BenchmarkDecision, BENCHMARKS.md).
// A row is stored in int8 after its scale (a float32 in its first four
// bytes), stride bytes apart and aligned to cache lines: 2 lines a row
// for 100 classes, against 7 in float32.
// The classes containing a feature are likewise a sorted list in seen, or
// a bitmap in bits once the bitmap is the smaller of the two.
type sparseIndex struct {
	slots   []spanSlot
	shift   uint8
	classes int
	cls     []uint16 // the classes of rare features' weights
	w       []float32
	rows    []int8 // common features' weights: scale, then classes int8
	stride  int    // bytes from one row to the next
	seen    []uint16
	bits    []uint64 // (classes+63)/64 words a feature
}

type spanSlot struct {
	key uint64
	span
}

// span is one feature's entries: its weights are cls[lo:hi] and w[lo:hi],
// or the row at rows[lo:lo+stride] when hi == wide; its classes are
// seen[slo:shi], or the bitmap at bits[slo:] when shi == wide. shi == 0
// marks an empty slot: a stored feature was seen in at least one class.
type span struct{ lo, hi, slo, shi uint32 }

const wide = math.MaxUint32

func (x *sparseIndex) slot(key uint64) int {
	return int((key * 0x9e3779b97f4a7c15) >> x.shift)
}

// span returns the feature's entries, or a zero span when it has none.
func (x *sparseIndex) span(key uint64) span {
	mask := len(x.slots) - 1
	for i := x.slot(key); ; i = (i + 1) & mask {
		s := &x.slots[i]
		if s.shi == 0 || s.key == key {
			return s.span
		}
	}
}

// addTo adds x times the feature's weights to the logits dst, of len
// classes or Padded(classes) (then a row is added in whole blocks, its
// zero padding into dst's).
func (x *sparseIndex) addTo(dst []float32, sp span, v float32) {
	if sp.hi == wide {
		row := x.rows[sp.lo : int(sp.lo)+x.stride]
		simd.AddScaledInt8(dst, row[rowHeader:], v*rowScale(row))
		return
	}
	ws := x.w[sp.lo:sp.hi]
	for i, c := range x.cls[sp.lo:sp.hi] {
		dst[c] += v * ws[i]
	}
}

// rowHeader is the bytes before a row's weights: its scale.
const rowHeader = 4

// rowScale reads a row's scale from its header.
func rowScale(row []int8) float32 {
	return math.Float32frombits(uint32(uint8(row[0])) | uint32(uint8(row[1]))<<8 | uint32(uint8(row[2]))<<16 | uint32(uint8(row[3]))<<24)
}

// appendRow appends weights to rows in int8, after their scale, padded to
// stride bytes.
func appendRow(rows []int8, weights []float32, stride int) []int8 {
	at := len(rows)
	rows = append(rows, make([]int8, stride)...)
	row := rows[at : at+stride]
	bits := math.Float32bits(simd.Quantize(row[rowHeader:rowHeader+len(weights)], weights))
	for i := range rowHeader {
		row[i] = int8(uint8(bits >> (8 * i)))
	}
	return rows
}

// rowStride is the bytes a row of classes weights takes: its header and
// the weights padded with zeros to a multiple of 16 (padded), so that the
// kernel adds whole blocks; rows of up to a cache line are packed 16 bytes
// apart, longer ones take whole lines.
func rowStride(classes int) int {
	if n := rowHeader + Padded(classes); n > 64 {
		return (n + 63) &^ 63
	}
	return rowHeader + Padded(classes)
}

// Padded is n rounded up to a multiple of 16: the logits' length with
// room for whole blocks of a row's weights.
func Padded(n int) int { return (n + 15) &^ 15 }

// alignedInt8 returns an empty slice of capacity n whose first byte is on
// a cache line.
func alignedInt8(n int) []int8 {
	buf := make([]int8, n+64)
	off := int(-uintptr(unsafe.Pointer(&buf[0])) & 63)
	return buf[off : off : off+n]
}

// lines appends the addresses of the cache lines sp's entries start on:
// its weights and its class list.
func (x *sparseIndex) lines(dst []uintptr, sp span) []uintptr {
	switch {
	case sp.shi == 0:
		return dst
	case sp.hi == wide:
		for off := 0; off < x.stride; off += 64 {
			dst = append(dst, uintptr(unsafe.Pointer(&x.rows[int(sp.lo)+off])))
		}
	case sp.hi > sp.lo:
		dst = append(dst, uintptr(unsafe.Pointer(&x.cls[sp.lo])), uintptr(unsafe.Pointer(&x.w[sp.lo])))
	}
	if sp.shi == wide {
		return append(dst, uintptr(unsafe.Pointer(&x.bits[sp.slo])))
	}
	if sp.shi > sp.slo {
		return append(dst, uintptr(unsafe.Pointer(&x.seen[sp.slo])))
	}
	return dst
}

// contains reports whether class's utterances contain the feature.
func (x *sparseIndex) contains(sp span, class int) bool {
	if sp.shi == wide {
		return x.bits[int(sp.slo)+class/64]>>(class%64)&1 != 0
	}
	_, ok := slices.BinarySearch(x.seen[sp.slo:sp.shi], uint16(class))
	return ok
}

// weights is the number of weights stored.
func (x *sparseIndex) weights() int {
	if x.stride == 0 {
		return len(x.w)
	}
	return len(x.w) + len(x.rows)/x.stride*x.classes
}

// compact builds the pruned sparse index inference reads from the fitted
// weights and the examples they were fitted on (for coverage), and drops
// what only training needed. It needs at most 65,535 classes
// (chooseScorer picks knn past that).
func (h *Head) compact(exs []Example, prune float32) {
	var top float32
	for _, w := range h.trainW {
		top = max(top, float32(math.Abs(float64(w))))
	}
	tau := top * prune
	if prune < 0 {
		tau = 0 // keep every weight
	}
	seen := map[uint64][]uint16{}
	for _, ex := range exs {
		for _, f := range ex.Feats {
			if cs := seen[f.Hash]; len(cs) == 0 || cs[len(cs)-1] != uint16(ex.Class) {
				seen[f.Hash] = append(cs, uint16(ex.Class))
			}
		}
	}
	size, shift := 16, uint8(60)
	for size < 2*len(seen) {
		size, shift = size*2, shift-1
	}
	x := &sparseIndex{slots: make([]spanSlot, size), shift: shift, classes: h.Classes, stride: rowStride(h.Classes)}
	wideRows := 0
	for key := range seen {
		if r, ok := h.trainRows[key]; ok && 4*kept(h.trainW[int(r)*h.Classes:(int(r)+1)*h.Classes], tau) >= h.Classes {
			wideRows++
		}
	}
	x.rows = alignedInt8(wideRows * x.stride)
	words := (h.Classes + 63) / 64
	mask := size - 1
	for key, cs := range seen {
		r, ok := h.trainRows[key]
		if !ok {
			continue
		}
		row := h.trainW[int(r)*h.Classes : (int(r)+1)*h.Classes]
		var sp span
		if 4*kept(row, tau) >= h.Classes {
			sp.lo, sp.hi = uint32(len(x.rows)), wide
			x.rows = appendRow(x.rows, row, x.stride)
		} else {
			sp.lo = uint32(len(x.w))
			for c, w := range row {
				if w >= tau || w <= -tau {
					x.cls = append(x.cls, uint16(c))
					x.w = append(x.w, w)
				}
			}
			sp.hi = uint32(len(x.w))
		}
		slices.Sort(cs)
		cs = slices.Compact(cs)
		if 16*len(cs) >= h.Classes {
			sp.slo, sp.shi = uint32(len(x.bits)), wide
			x.bits = append(x.bits, make([]uint64, words)...)
			for _, c := range cs {
				x.bits[int(sp.slo)+int(c)/64] |= 1 << (c % 64)
			}
		} else {
			sp.slo = uint32(len(x.seen))
			x.seen = append(x.seen, cs...)
			sp.shi = uint32(len(x.seen))
		}
		i := x.slot(key)
		for x.slots[i].shi != 0 {
			i = (i + 1) & mask
		}
		x.slots[i] = spanSlot{key: key, span: sp}
	}
	h.sparse, h.trainRows, h.trainW = x, nil, nil
	h.denseQ, h.denseScale = make([]int8, len(h.Dense)), make([]float32, h.Classes)
	for c := range h.denseScale {
		h.denseScale[c] = simd.Quantize(h.denseQ[c*h.Dim:(c+1)*h.Dim], h.Dense[c*h.Dim:(c+1)*h.Dim])
	}
	h.Dense = nil
}

// kept is how many of the weights pruning at tau keeps.
func kept(row []float32, tau float32) int {
	n := 0
	for _, w := range row {
		if w >= tau || w <= -tau {
			n++
		}
	}
	return n
}

// Coverage is the weighted share of feats seen in class's utterances; sc
// is the scratch Probs scored feats with (it holds their entries).
func (h *Head) Coverage(feats []embed.Feature, sc *Scratch, class int) float64 {
	spans := sc.spans
	var seen, total float64
	for k, f := range feats {
		w := float64(f.Weight)
		total += w
		if h.sparse.contains(spans[k], class) {
			seen += w
		}
	}
	if total == 0 {
		return 0
	}
	return seen / total
}

// HeadOptions steers fitting; the zero value means the defaults.
type HeadOptions struct {
	Epochs int     // passes over the data (default 12)
	Rate   float32 // initial learning rate (default 0.5)
	Decay  float32 // L2 weight decay per epoch, relative (default 1e-4)
	Seed   uint64  // shuffling seed (default 1): fitting is deterministic
	// MaxWeights bounds features × Classes; past it sparse features share
	// rows by hash (default 24M weights, 96 MB).
	MaxWeights int
	// Prune drops, for inference, sparse weights smaller than this share of
	// the largest (default pruneShare; negative keeps them all).
	Prune float32
	// Progress, when set, is called after each epoch.
	Progress func(epoch, epochs int)
	// Blend, when positive, is the dense regression's weight in the head
	// instead of the one cross-validation chooses; negative leaves the
	// regression out.
	Blend float32
	// NoCalibration skips the cross-validation at build time: the blend
	// then follows the utterances an intent (ruleBlend) and the default
	// threshold is the router's fixed default (Calibration's ok is false).
	NoCalibration bool
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
	if o.Prune == 0 {
		o.Prune = pruneShare
	}
	return o
}

// Example is one training row for FitHead.
type Example struct {
	Vec   []float32
	Feats []embed.Feature
	Class int
}

// FitHead fits a head on the examples by SGD on the cross-entropy, then
// prunes its sparse weights for inference. It is the sparse head alone:
// the router's head (Fit) blends in a dense regression too.
func FitHead(examples []Example, classes, dim int, opt HeadOptions) *Head {
	opt = opt.withDefaults()
	h := fitHead(examples, classes, dim, opt)
	h.compact(examples, opt.Prune)
	return h
}

// fitHead is FitHead before compact: the float32 weights training uses.
func fitHead(examples []Example, classes, dim int, opt HeadOptions) *Head {
	h := &Head{Classes: classes, Dim: dim, Dense: make([]float32, classes*dim), Bias: make([]float32, classes), trainRows: map[uint64]uint32{}}
	for _, ex := range examples {
		for _, f := range ex.Feats {
			if _, ok := h.trainRows[f.Hash]; !ok {
				h.trainRows[f.Hash] = uint32(len(h.trainRows))
			}
		}
	}
	if maxRows := opt.MaxWeights / max(classes, 1); len(h.trainRows) > maxRows {
		for k := range h.trainRows {
			h.trainRows[k] = uint32(k % uint64(maxRows))
		}
		h.trainW = make([]float32, maxRows*classes)
	} else {
		h.trainW = make([]float32, len(h.trainRows)*classes)
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
		scale(h.trainW, keep)
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
				h.trainW[int(r)*h.Classes+c] -= s * feats[k].Weight
			}
		}
	}
}

const noRow = math.MaxUint32

func (h *Head) rowsOf(dst []uint32, feats []embed.Feature) []uint32 {
	for _, f := range feats {
		r, ok := h.trainRows[f.Hash]
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
			dst[c] += simd.Dot(h.Dense[c*h.Dim:(c+1)*h.Dim], vec)
		}
	}
	for k, r := range rows {
		if r == noRow {
			continue
		}
		w := feats[k].Weight
		row := h.trainW[int(r)*h.Classes : (int(r)+1)*h.Classes]
		for c := range dst {
			dst[c] += w * row[c]
		}
	}
}

// Probs writes the class probabilities of one input into dst (len
// Classes) with a compacted head. sc is scratch space, whose spans hold each
// feature's entries afterwards (for coverage).
//
// Its reads are scattered: a slot per feature, then the feature's weights
// and class list. It asks for each round of lines together (simd.Prefetch)
// before reading any, the slots' while the dense part is computed, so that
// their cache misses overlap instead of coming one after another.
func (h *Head) Probs(dst, vec []float32, feats []embed.Feature, sc *Scratch) {
	x := h.sparse
	sc.addrs = sc.addrs[:0]
	for _, f := range feats {
		sc.addrs = append(sc.addrs, uintptr(unsafe.Pointer(&x.slots[x.slot(f.Hash)])))
	}
	simd.Prefetch(sc.addrs)
	if len(vec) == h.Dim {
		sc.q16 = slices.Grow(sc.q16[:0], h.Dim)[:h.Dim]
		sc.dots = slices.Grow(sc.dots[:0], h.Classes)[:h.Classes]
		qs := simd.QuantizeInt16(sc.q16, vec)
		simd.DotsInt16Int8(sc.q16, h.denseQ, sc.dots)
		for c, b := range h.Bias {
			dst[c] = b + float32(sc.dots[c])*qs*h.denseScale[c]
		}
	} else {
		copy(dst, h.Bias)
	}
	sc.spans, sc.addrs = sc.spans[:0], sc.addrs[:0]
	for _, f := range feats {
		sp := x.span(f.Hash)
		sc.spans = append(sc.spans, sp)
		sc.addrs = x.lines(sc.addrs, sp)
	}
	simd.Prefetch(sc.addrs)
	acc := dst[:h.Classes]
	if n := Padded(h.Classes); cap(dst) >= n {
		acc = dst[:n]
		clear(acc[h.Classes:])
	}
	for k, sp := range sc.spans {
		x.addTo(acc, sp, feats[k].Weight)
	}
	softmax(dst)
}

// Scratch is Probs' scratch space; Coverage reads the spans Probs left.
type Scratch struct {
	spans []span
	addrs []uintptr
	q16   []int16 // the input vector, quantized
	dots  []int32
}

func softmax(z []float32) {
	m := z[0]
	for _, v := range z {
		if v > m { // not max(m, v): Go's float max, careful of NaN and -0, is slower
			m = v
		}
	}
	var sum float32
	for i, v := range z {
		e := expNeg(v - m)
		z[i] = e
		sum += e
	}
	inv := 1 / sum
	for i := range z {
		z[i] *= inv
	}
}

// expNeg is e^x for x ≤ 0 in float32, within 2e-7 of it relatively
// (TestExpNeg), in a third of the time math.Exp takes in float64: x =
// n·ln 2 + r with |r| ≤ ln 2 / 2, e^r by its Taylor polynomial of degree
// 7, and 2^n put into the exponent's bits.
func expNeg(x float32) float32 {
	if x < -87 { // e^-87 is near the smallest normal float32
		return 0
	}
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693145751953125 // ln 2 split so n·ln2hi is exact
		ln2lo = 1.42860682030941723212e-06
	)
	n := float32(int32(x*log2e - 0.5)) // rounds to nearest: x·log2e ≤ 0
	r := x - n*ln2hi - n*ln2lo
	p := 1 + r*(1+r*(1.0/2+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720+r*(1.0/5040)))))))
	return p * math.Float32frombits(uint32(int32(n)+127)<<23)
}

func scale(v []float32, k float32) {
	for i := range v {
		v[i] *= k
	}
}

// Weights is the number of sparse weights a compacted head keeps.
func (h *Head) Weights() int { return h.sparse.weights() }
