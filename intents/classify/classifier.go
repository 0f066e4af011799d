package classify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/semroute/semroute/embed"
	"github.com/semroute/semroute/internal/simd"
)

// Set is labeled texts grouped by class: class c owns Texts[Ranges[c]:
// Ranges[c+1]], and Owner[i] is text i's class.
type Set struct {
	Texts   []string
	Owner   []int32
	Ranges  []int
	Classes int
}

// Add adds a class with its distinct texts: trimmed, without repeats, and
// without texts that have no features (nothing to learn from).
func (s *Set) Add(texts []string) {
	s.Ranges = append(s.Ranges, len(s.Texts))
	seen := map[string]bool{}
	for _, u := range texts {
		u = strings.TrimSpace(u)
		if u == "" || seen[u] || len(embed.AppendFeatures(nil, u)) == 0 {
			continue
		}
		seen[u] = true
		s.Texts = append(s.Texts, u)
		s.Owner = append(s.Owner, int32(s.Classes))
	}
	s.Classes++
}

// Close ends the last class; call it once, after the last Add.
func (s *Set) Close() { s.Ranges = append(s.Ranges, len(s.Texts)) }

// Input turns texts into what the head reads: a vector and features, by
// the embedder's fastest path.
type Input struct {
	emb      embed.Embedder
	inplace  embed.InPlace  // nil when the embedder has no in-place path
	featurer embed.Featurer // nil: embed.AppendFeatures
	dim      int
}

// NewInput returns the input path of emb, whose vectors have dim values.
func NewInput(emb embed.Embedder, dim int) Input {
	in := Input{emb: emb, dim: dim}
	in.inplace, _ = emb.(embed.InPlace)
	in.featurer, _ = emb.(embed.Featurer)
	return in
}

// Features appends text's features to dst.
func (in *Input) Features(dst []embed.Feature, text string) []embed.Feature {
	if in.featurer != nil {
		return in.featurer.AppendFeatures(dst, text)
	}
	return embed.AppendFeatures(dst, text)
}

// Embed writes text's vector into vec (len dim) and its features into
// feats[:0], and returns both. A vector from Embed is scaled to unit
// length: the head was fitted on unit vectors.
func (in *Input) Embed(ctx context.Context, vec []float32, feats []embed.Feature, text string) ([]float32, []embed.Feature, error) {
	if fe, ok := in.emb.(embed.FeatureEmbedder); ok && in.featurer != nil {
		vec, feats = fe.EmbedFeatures(vec, feats[:0], text)
		return vec, feats, nil
	}
	if in.inplace != nil {
		vec = in.inplace.EmbedTo(vec, text)
	} else {
		vs, err := in.emb.Embed(ctx, []string{text})
		if err != nil {
			return vec, feats, fmt.Errorf("embed prompt: %w", err)
		}
		if len(vs) != 1 || len(vs[0]) != in.dim {
			return vec, feats, fmt.Errorf("embed prompt: the embedder returned a vector of the wrong size")
		}
		copy(vec, vs[0])
		simd.Normalize(vec)
	}
	return vec, in.Features(feats[:0], text), nil
}

// DenseHi is the end of the block of emb's vectors the dense regression
// reads: the word block when the embedder has one, else all dim values.
func DenseHi(emb embed.Embedder, dim int) int {
	if wb, ok := emb.(embed.WordBlock); ok && wb.WordDim() > 0 && wb.WordDim() <= dim {
		return wb.WordDim()
	}
	return dim
}

// Examples are the set's training rows: vecs[i] (unit length) and the
// features of text i.
func (in *Input) Examples(set *Set, vecs [][]float32) []Example {
	exs := make([]Example, len(set.Texts))
	for i, t := range set.Texts {
		exs[i] = Example{Vec: vecs[i], Feats: in.Features(nil, t), Class: int(set.Owner[i])}
	}
	return exs
}

// TopN returns the indexes of the n best scores, best first; of equal
// scores, the first.
func TopN(scores []float32, n int) []int {
	n = min(n, len(scores))
	idx := make([]int, 0, n)
	for i, s := range scores {
		if len(idx) == n && s <= scores[idx[n-1]] {
			continue
		}
		if len(idx) == n {
			idx = idx[:n-1]
		}
		j := len(idx)
		idx = append(idx, i)
		for j > 0 && scores[idx[j-1]] < s {
			idx[j] = idx[j-1]
			j--
		}
		idx[j] = i
	}
	return idx
}

// ErrNoWords is Score's error for a text with no features.
var ErrNoWords = errors.New("no words")

// Classifier is a head fitted on a Set, with an out-of-scope class last
// when it was given one: what moderation's detector scores with. The
// router builds the same pieces (Set, Input, Fit, TopN) around its
// exemplar index and nearest-utterance search.
type Classifier struct {
	Set
	in      Input
	head    *Head
	named   int // the classes other than the out-of-scope one
	dim     int
	scratch sync.Pool
}

// Scores is a text's scoring: its two likeliest classes (out-of-scope
// aside) and their probabilities, the out-of-scope class's, and the
// coverage of the best class.
type Scores struct {
	Best, Second int // Second is -1 with one class
	S1, S2       float64
	OOS          float64
	Coverage     float64
}

type classifierScratch struct {
	vec   []float32
	feats []embed.Feature
	head  Scratch
	probs []float32
}

// New embeds the texts of classes (and oos, when not empty, as the last
// class), scales the vectors to unit length and fits a head on them.
func New(ctx context.Context, emb embed.Embedder, classes [][]string, oos []string, opt HeadOptions) (*Classifier, error) {
	c := &Classifier{named: len(classes)}
	for _, texts := range classes {
		c.Add(texts)
	}
	if len(c.Texts) == 0 {
		return nil, errors.New("build classifier: no texts")
	}
	if len(oos) > 0 {
		c.Add(oos)
	}
	c.Close()
	vecs, err := emb.Embed(ctx, c.Texts)
	if err != nil {
		return nil, fmt.Errorf("build classifier: embed %d texts: %w", len(c.Texts), err)
	}
	c.dim = emb.Fingerprint().Dim
	for i, v := range vecs {
		if len(v) < c.dim {
			return nil, fmt.Errorf("build classifier: the embedder returned a vector of the wrong size")
		}
		vecs[i] = append([]float32(nil), v[:c.dim]...)
		simd.Normalize(vecs[i])
	}
	c.in = NewInput(emb, c.dim)
	// Without calibration minSim plays no part.
	c.head, _, _ = Fit(c.in.Examples(&c.Set, vecs), c.Classes, len(oos) > 0, c.dim, DenseHi(emb, c.dim), opt, 0)
	c.scratch.New = func() any {
		return &classifierScratch{vec: make([]float32, c.dim), probs: make([]float32, c.Classes, Padded(c.Classes))}
	}
	return c, nil
}

// Score scores text; ErrNoWords when it has no features.
func (c *Classifier) Score(ctx context.Context, text string) (Scores, error) {
	sc := c.scratch.Get().(*classifierScratch)
	defer c.scratch.Put(sc)
	var err error
	sc.vec, sc.feats, err = c.in.Embed(ctx, sc.vec, sc.feats, text)
	if err != nil {
		return Scores{}, err
	}
	if len(sc.feats) == 0 {
		return Scores{}, ErrNoWords
	}
	c.head.Probs(sc.probs, sc.vec, sc.feats, &sc.head)
	s := Scores{Second: -1}
	if c.Classes > c.named {
		s.OOS = float64(sc.probs[c.named])
	}
	top := TopN(sc.probs[:c.named], 2)
	s.Best, s.S1 = top[0], float64(sc.probs[top[0]])
	if len(top) > 1 {
		s.Second, s.S2 = top[1], float64(sc.probs[top[1]])
	}
	s.Coverage = c.head.Coverage(sc.feats, &sc.head, s.Best)
	return s, nil
}
