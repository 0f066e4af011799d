package local

import "math"

// model is the trainer's state: the base vectors of the trained words, their
// offsets δ, the map W, and Adam's moments for both.
type model struct {
	c              *corpus
	o              TrainOptions
	d              int
	base, delta    []float32 // rows × d
	mD, vD         []float32
	W, mW, vW      []float32 // d × d, row-major, starts as the identity
	gW             []float32
	gD             []float32 // rows × d, gradient of the current step
	touched        []int32   // rows with a gradient this step
	mark           []bool
	t              int
	s, x, e, g, gs []float32 // per-text buffers, texts × d
	xn             []float32 // |x| per text
}

func newModel(e *Embedder, c *corpus, o TrainOptions) *model {
	d, k := int(e.t.hdr.Dim), len(c.rows)
	m := &model{c: c, o: o, d: d,
		base: make([]float32, k*d), delta: make([]float32, k*d),
		mD: make([]float32, k*d), vD: make([]float32, k*d), gD: make([]float32, k*d),
		W: make([]float32, d*d), mW: make([]float32, d*d), vW: make([]float32, d*d), gW: make([]float32, d*d),
		mark: make([]bool, k)}
	for i, r := range c.rows {
		e.glove(m.base[i*d:(i+1)*d], int(r))
	}
	for i := range d {
		m.W[i*d+i] = 1
	}
	return m
}

// batchTexts lists the batch's texts: the A sides, then the B sides, then
// the hard negatives (the logits' columns are the B sides and negatives).
func batchTexts(b []sample) (texts []int32, nA int) {
	for _, s := range b {
		texts = append(texts, s.a)
	}
	for _, s := range b {
		texts = append(texts, s.b)
	}
	for _, s := range b {
		if s.neg >= 0 {
			texts = append(texts, s.neg)
		}
	}
	return texts, len(b)
}

// forward embeds the texts into m.e (unit rows), keeping s, x and |x|.
func (m *model) forward(texts []int32) {
	d, n := m.d, len(texts)
	m.s, m.x, m.e = grow(m.s, n*d), grow(m.x, n*d), grow(m.e, n*d)
	m.xn = grow(m.xn, n)
	for i, id := range texts {
		s := m.s[i*d : (i+1)*d]
		clear(s)
		for k := m.c.off[id]; k < m.c.off[id+1]; k++ {
			row, w := int(m.c.tok[k]), m.c.wt[k]
			b, dl := m.base[row*d:(row+1)*d], m.delta[row*d:(row+1)*d]
			for j := range s {
				s[j] += w * (b[j] + dl[j])
			}
		}
		x := m.x[i*d : (i+1)*d]
		matVec(x, m.W, s)
		nx := max(norm32(x), 1e-6)
		m.xn[i] = nx
		for j := range x {
			m.e[i*d+j] = x[j] / nx
		}
	}
}

func grow(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	return b[:n]
}

// lossGrad computes the batch's in-batch-negatives loss and leaves the
// gradient of each text's unit vector in m.g. A column that is the row's
// own positive under another pair (the same B text, or a pair with the
// same A text) is masked: it is no negative.
func (m *model) lossGrad(texts []int32, nA int) float64 {
	d := m.d
	cols := len(texts) - nA
	m.g = grow(m.g, len(texts)*d)
	clear(m.g)
	logits := make([]float64, cols)
	var loss float64
	for i := range nA {
		ai := m.e[i*d : (i+1)*d]
		mx := math.Inf(-1)
		for j := range cols {
			logits[j] = math.Inf(-1)
			if j != i && j < nA && (texts[nA+j] == texts[nA+i] || texts[j] == texts[i]) {
				continue
			}
			logits[j] = float64(m.o.Scale * dot32(ai, m.e[(nA+j)*d:(nA+j+1)*d]))
			mx = math.Max(mx, logits[j])
		}
		var z float64
		for j := range cols {
			logits[j] = math.Exp(logits[j] - mx)
			z += logits[j]
		}
		loss += -math.Log(logits[i] / z)
		for j := range cols {
			p := logits[j] / z
			if j == i {
				p--
			}
			if p == 0 {
				continue
			}
			k := m.o.Scale * float32(p) / float32(nA)
			cj, gi, gj := m.e[(nA+j)*d:(nA+j+1)*d], m.g[i*d:(i+1)*d], m.g[(nA+j)*d:(nA+j+1)*d]
			for q := range d {
				gi[q] += k * cj[q]
				gj[q] += k * ai[q]
			}
		}
	}
	return loss / float64(nA)
}

// loss is the mean in-batch-negatives loss over held-out samples, in
// batches of the training size; no update.
func (m *model) loss(held []sample) float64 {
	var sum float64
	n := 0
	for lo := 0; lo+m.o.Batch <= len(held); lo += m.o.Batch {
		b := held[lo : lo+m.o.Batch]
		texts, nA := batchTexts(b)
		m.forward(texts)
		sum += m.lossGrad(texts, nA)
		n++
	}
	if n == 0 {
		return math.NaN()
	}
	return sum / float64(n)
}

// step is one Adam step on a batch; it returns the batch's loss.
func (m *model) step(b []sample) float64 {
	texts, nA := batchTexts(b)
	m.forward(texts)
	loss := m.lossGrad(texts, nA)
	m.backward(texts)
	m.t++
	m.adam(m.W, m.gW, m.mW, m.vW, m.o.LRMap)
	d := m.d
	for _, row := range m.touched {
		if m.o.MapOnly {
			m.mark[row] = false
			clear(m.gD[int(row)*d : int(row+1)*d])
			continue
		}
		lo, hi := int(row)*d, int(row+1)*d
		for j := lo; j < hi; j++ {
			m.gD[j] += m.o.Decay * m.delta[j]
		}
		m.adam(m.delta[lo:hi], m.gD[lo:hi], m.mD[lo:hi], m.vD[lo:hi], m.o.LR)
		clear(m.gD[lo:hi])
		m.mark[row] = false
	}
	m.touched = m.touched[:0]
	return loss
}

// backward turns the unit vectors' gradients into W's and the rows'.
func (m *model) backward(texts []int32) {
	d := m.d
	clear(m.gW)
	m.gs = grow(m.gs, 2*d)
	gx, gs := m.gs[:d], m.gs[d:]
	for i, id := range texts {
		e, g := m.e[i*d:(i+1)*d], m.g[i*d:(i+1)*d]
		eg := dot32(e, g)
		for j := range gx {
			gx[j] = (g[j] - e[j]*eg) / m.xn[i]
		}
		s := m.s[i*d : (i+1)*d]
		clear(gs)
		for r := range d {
			wr, gr := m.gW[r*d:(r+1)*d], gx[r]
			for c := range d {
				wr[c] += gr * s[c]
				gs[c] += m.W[r*d+c] * gr
			}
		}
		for k := m.c.off[id]; k < m.c.off[id+1]; k++ {
			row, w := m.c.tok[k], m.c.wt[k]
			if !m.mark[row] {
				m.mark[row] = true
				m.touched = append(m.touched, row)
			}
			gd := m.gD[int(row)*d : int(row+1)*d]
			for j := range gd {
				gd[j] += w * gs[j]
			}
		}
	}
}

// adam applies one Adam update (lazily for rows: only rows with a
// gradient this step move, with the global step's bias correction).
func (m *model) adam(p, g, mo, v []float32, lr float64) {
	const b1, b2, eps = 0.9, 0.999, 1e-8
	c1 := 1 - math.Pow(b1, float64(m.t))
	c2 := 1 - math.Pow(b2, float64(m.t))
	step := float32(lr * math.Sqrt(c2) / c1)
	for j := range p {
		mo[j] = b1*mo[j] + (1-b1)*g[j]
		v[j] = b2*v[j] + (1-b2)*g[j]*g[j]
		p[j] -= step * mo[j] / (float32(math.Sqrt(float64(v[j]))) + eps)
	}
}
