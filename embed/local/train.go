package local

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
)

// The trained encoder: the embedded default's recipe (SIF-weighted mean of
// word vectors beside hashed n-grams) with word vectors fine-tuned on
// sentence pairs. A word's new vector is W·(g + δ): g its GloVe vector, δ
// a learned offset for the words the pairs contain, W one learned d × d
// map that also carries the words the pairs lack into the new space. The
// loss is in-batch negatives (MultipleNegativesRanking): each A side must
// be nearer its own B than every other B of the batch, and than its hard
// negative when it has one. The SIF weights and the hashed block are not
// trained, so the result is a vectors file of the same format, read by
// the same Embedder.

// EncoderSourcePrefix starts the source name of every trained vectors file
// (its fingerprint's model): "semroute-enc1" for this recipe.
const EncoderSourcePrefix = "semroute-enc"

// TrainOptions are the trainer's settings; zero fields take the defaults.
type TrainOptions struct {
	Seed   uint64
	Epochs int     // 3
	Batch  int     // 128 pairs a step
	LR     float64 // Adam's step for word vectors, 2e-3
	LRMap  float64 // Adam's step for W, 5e-4
	Scale  float32 // cosine → logit, 20
	Decay  float32 // L2 pull of δ towards 0, 1e-4
	Source string  // the vectors file's source name (its fingerprint's model)
	// MapOnly trains W alone (δ stays 0): the result is GloVe times one
	// d × d matrix.
	MapOnly bool
	// Lexicon holds word pairs (synonyms) trained in batches of their own,
	// LexiconPerEpoch of them an epoch (20,000), between the sentence
	// batches.
	Lexicon         []Pair
	LexiconPerEpoch int
	// Progress, when set, is called after each epoch with its mean loss.
	Progress func(epoch int, loss float64)
}

func (o *TrainOptions) defaults() {
	o.Epochs = cmp.Or(o.Epochs, 3)
	o.Batch = cmp.Or(o.Batch, 128)
	o.LR = cmp.Or(o.LR, 2e-3)
	o.LRMap = cmp.Or(o.LRMap, 5e-4)
	o.Scale = cmp.Or(o.Scale, 20)
	o.Decay = cmp.Or(o.Decay, 1e-4)
	o.LexiconPerEpoch = cmp.Or(o.LexiconPerEpoch, 20000)
	if o.Source == "" {
		o.Source = EncoderSourcePrefix + "1"
	}
}

// TrainStats is what training did: pairs used, words trained, and the
// held-out loss before and after.
type TrainStats struct {
	TrainPairs, HeldPairs, Words, Steps int
	HeldLossBefore, HeldLossAfter       float64
	EpochLoss                           []float64
}

// Train fine-tunes e's word vectors on data's training pairs and returns
// the vocabulary to Write. It is deterministic for a seed (one goroutine).
func Train(e *Embedder, data []SourcePairs, o TrainOptions) (Vocab, TrainStats, error) {
	o.defaults()
	c := newCorpus(e)
	var bySource [][]sample
	var held []sample
	var st TrainStats
	for _, sp := range data {
		s := c.add(sp.Train)
		bySource = append(bySource, s)
		st.TrainPairs += len(s)
		held = append(held, c.add(sp.Held)...)
	}
	st.HeldPairs = len(held)
	if st.TrainPairs < o.Batch {
		return Vocab{}, st, fmt.Errorf("train encoder: %d usable pairs, want at least a batch (%d)", st.TrainPairs, o.Batch)
	}
	lex := c.add(o.Lexicon)
	m := newModel(e, c, o)
	st.Words = len(c.rows)
	rng := rand.New(rand.NewPCG(o.Seed, 0x5eed))
	st.HeldLossBefore = m.loss(held)
	for ep := 1; ep <= o.Epochs; ep++ {
		batches := split(epochOrder(rng, bySource, data), o.Batch)
		if len(lex) > 0 {
			idx := rng.Perm(len(lex))[:min(len(lex), o.LexiconPerEpoch)]
			words := make([]sample, len(idx))
			for i, j := range idx {
				words[i] = lex[j]
			}
			batches = append(batches, split(words, o.Batch)...)
			rng.Shuffle(len(batches), func(i, j int) { batches[i], batches[j] = batches[j], batches[i] })
		}
		var sum float64
		n := 0
		for _, b := range batches {
			sum += m.step(b)
			n++
		}
		st.Steps += n
		st.EpochLoss = append(st.EpochLoss, sum/float64(n))
		if o.Progress != nil {
			o.Progress(ep, sum/float64(n))
		}
	}
	st.HeldLossAfter = m.loss(held)
	return m.vocab(e, o.Source), st, nil
}

// split cuts s into whole batches of n (the remainder is dropped).
func split(s []sample, n int) [][]sample {
	var out [][]sample
	for lo := 0; lo+n <= len(s); lo += n {
		out = append(out, s[lo:lo+n])
	}
	return out
}

// epochOrder draws each source's pairs for one epoch (all, or PerEpoch of
// them) and shuffles them together, so no batch is one source's.
func epochOrder(rng *rand.Rand, bySource [][]sample, data []SourcePairs) []sample {
	var order []sample
	for i, s := range bySource {
		idx := rng.Perm(len(s))
		if k := data[i].Source.PerEpoch; k > 0 && k < len(idx) {
			idx = idx[:k]
		}
		for _, j := range idx {
			order = append(order, s[j])
		}
	}
	rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	return order
}

// corpus holds every distinct text once, as its known words' trained-row
// indices and SIF weights; rows maps a trained row to its vocabulary rank.
type corpus struct {
	e     *Embedder
	ids   map[string]int32
	off   []int32 // text i's tokens are tok[off[i]:off[i+1]]
	tok   []int32 // trained row
	wt    []float32
	rows  []int32 // trained row → rank
	rowOf map[int32]int32
	st    state
}

// sample is a pair as text ids; neg is -1 without a hard negative.
type sample struct{ a, b, neg int32 }

func newCorpus(e *Embedder) *corpus {
	return &corpus{e: e, ids: map[string]int32{}, off: []int32{0}, rowOf: map[int32]int32{}}
}

// add interns the pairs' texts, dropping pairs a side of which has no
// known word.
func (c *corpus) add(ps []Pair) []sample {
	var out []sample
	for _, p := range ps {
		a, b, n := c.text(p.A), c.text(p.B), int32(-1)
		if p.Neg != "" {
			n = c.text(p.Neg)
		}
		if c.empty(a) || c.empty(b) {
			continue
		}
		if n >= 0 && c.empty(n) {
			n = -1
		}
		out = append(out, sample{a, b, n})
	}
	return out
}

func (c *corpus) empty(id int32) bool { return c.off[id] == c.off[id+1] }

func (c *corpus) text(s string) int32 {
	if id, ok := c.ids[s]; ok {
		return id
	}
	c.st.tok.Reset(s)
	c.e.ranks(&c.st)
	for _, r := range c.st.ranks {
		if r < 0 {
			continue
		}
		row, ok := c.rowOf[r]
		if !ok {
			row = int32(len(c.rows))
			c.rowOf[r] = row
			c.rows = append(c.rows, r)
		}
		c.tok = append(c.tok, row)
		c.wt = append(c.wt, c.e.weightOf(r))
	}
	id := int32(len(c.off) - 1)
	c.off = append(c.off, int32(len(c.tok)))
	c.ids[s] = id
	return id
}

// glove returns the dequantised vector of rank r.
func (e *Embedder) glove(dst []float32, r int) []float32 {
	d := int(e.t.hdr.Dim)
	s := e.t.scales[r]
	for j, q := range e.t.rows[r*d : (r+1)*d] {
		dst[j] = s * float32(q)
	}
	return dst
}

// vocab applies the trained map and offsets to every word of e.
func (m *model) vocab(e *Embedder, source string) Vocab {
	d, n := m.d, e.Words()
	v := Vocab{Source: source, Dim: d, Words: make([]string, n), Vectors: make([]float32, n*d)}
	p := make([]float32, d)
	for r := range n {
		v.Words[r] = e.Word(r)
		e.glove(p, r)
		if row, ok := m.c.rowOf[int32(r)]; ok {
			for j, x := range m.delta[int(row)*d : (int(row)+1)*d] {
				p[j] += x
			}
		}
		matVec(v.Vectors[r*d:(r+1)*d], m.W, p)
	}
	return v
}

// matVec sets dst = W·x for a d × d row-major W.
func matVec(dst, W, x []float32) {
	d := len(x)
	for i := range d {
		dst[i] = dot32(W[i*d:(i+1)*d], x)
	}
}

func dot32(a, b []float32) float32 {
	var s float32
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func norm32(a []float32) float32 { return float32(math.Sqrt(float64(dot32(a, a)))) }
