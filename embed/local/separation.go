package local

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"

	"github.com/semroute/semroute/embed"
)

// Separation is how well an embedder's cosine tells a pair's two sides
// from unrelated or contradicting texts: what the semantic cache and the
// similarity gate rely on. Measured on held-out pairs (HeldOut), never
// trained on.
type Separation struct {
	Pairs int `json:"pairs"`
	// AUCRandom is the chance that cos(A, B) exceeds cos(A, B') for the B'
	// of another held-out pair.
	AUCRandom float64 `json:"auc_random"`
	// AUCHard is the same against the pair's hard negative (NLI
	// contradictions), over the HardPairs that have one.
	AUCHard   float64 `json:"auc_hard"`
	HardPairs int     `json:"hard_pairs"`
	// Recall1 is the share of A sides whose nearest B side, among all the
	// held-out B sides, is their own: retrieval.
	Recall1 float64 `json:"recall_at_1"`
	// MeanPos and MeanRandom are the mean cosines of pairs and of random
	// pairings: where a fixed threshold falls.
	MeanPos    float64 `json:"mean_pos"`
	MeanRandom float64 `json:"mean_random"`
	// At is the threshold of PosAt, RandomAt and HardAt: the shares of
	// pairs, random pairings and hard negatives whose cosine reaches it
	// (for the semantic cache's default, 0.95: what it would serve).
	At                      float64 `json:"at"`
	PosAt, RandomAt, HardAt float64
}

// MeasureSeparation embeds the pairs with e and measures Separation; seed
// picks the random pairings, at is the threshold of PosAt and the rest.
func MeasureSeparation(ctx context.Context, e embed.Embedder, ps []Pair, seed uint64, at float64) (Separation, error) {
	if len(ps) < 2 {
		return Separation{}, fmt.Errorf("measure separation: %d pairs, want at least 2", len(ps))
	}
	var texts []string
	for _, p := range ps {
		texts = append(texts, p.A, p.B)
	}
	var negOf []int
	for i, p := range ps {
		if p.Neg != "" {
			negOf = append(negOf, i)
			texts = append(texts, p.Neg)
		}
	}
	vs, err := e.Embed(ctx, texts)
	if err != nil {
		return Separation{}, fmt.Errorf("measure separation: %w", err)
	}
	n := len(ps)
	a := func(i int) []float32 { return vs[2*i] }
	b := func(i int) []float32 { return vs[2*i+1] }
	rng := rand.New(rand.NewPCG(seed, 1))
	pos, rnd := make([]float64, n), make([]float64, n)
	sep := Separation{Pairs: n, At: at}
	for i := range n {
		j := rng.IntN(n - 1)
		if j >= i {
			j++
		}
		pos[i], rnd[i] = float64(dot32(a(i), b(i))), float64(dot32(a(i), b(j)))
		sep.MeanPos += pos[i] / float64(n)
		sep.MeanRandom += rnd[i] / float64(n)
	}
	sep.PosAt, sep.RandomAt = shareAt(pos, at), shareAt(rnd, at)
	sep.AUCRandom = auc(pos, rnd)
	if len(negOf) > 0 {
		hp, hn := make([]float64, len(negOf)), make([]float64, len(negOf))
		for k, i := range negOf {
			hp[k], hn[k] = pos[i], float64(dot32(a(i), vs[2*n+k]))
		}
		sep.AUCHard, sep.HardPairs = auc(hp, hn), len(negOf)
		sep.HardAt = shareAt(hn, at)
	}
	hits := 0
	for i := range n {
		own, best := dot32(a(i), b(i)), true
		for j := range n {
			if j != i && dot32(a(i), b(j)) > own {
				best = false
				break
			}
		}
		if best {
			hits++
		}
	}
	sep.Recall1 = float64(hits) / float64(n)
	return sep, nil
}

func shareAt(v []float64, at float64) float64 {
	n := 0
	for _, x := range v {
		if x >= at {
			n++
		}
	}
	return float64(n) / float64(len(v))
}

// auc is the probability that a positive scores above a negative (ties
// count half), by ranks.
func auc(pos, neg []float64) float64 {
	type s struct {
		v   float64
		pos bool
	}
	all := make([]s, 0, len(pos)+len(neg))
	for _, v := range pos {
		all = append(all, s{v, true})
	}
	for _, v := range neg {
		all = append(all, s{v, false})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v < all[j].v })
	var rankSum float64
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].v == all[i].v {
			j++
		}
		mid := float64(i+j+1) / 2 // mean 1-based rank of the tie
		for k := i; k < j; k++ {
			if all[k].pos {
				rankSum += mid
			}
		}
		i = j
	}
	np, nn := float64(len(pos)), float64(len(neg))
	return (rankSum - np*(np+1)/2) / (np * nn)
}
