package rag

import (
	"cmp"
	"math"
	"slices"
)

// scored is a retrieved chunk, by ID, with its score.
type scored struct {
	id    string
	score float64
}

// fuseScores scales each list's scores to [0, 1] (min to max over the
// list) and sums them, the vector's times w. BM25's raw scores have no
// fixed range, so ranks alone (RRF) throw away how far ahead its best hit
// is; scaled scores keep it.
func fuseScores(bm, vec []scored, w float64) []scored {
	acc := map[string]float64{}
	add := func(list []scored, weight float64) {
		if len(list) == 0 {
			return
		}
		hi, lo := list[0].score, list[len(list)-1].score
		for _, s := range list {
			acc[s.id] += weight * (s.score - lo) / math.Max(hi-lo, 1e-9)
		}
	}
	add(bm, 1)
	add(vec, w)
	return sorted(acc)
}

// fuseRanks is reciprocal rank fusion: Σ 1 / (k + rank).
func fuseRanks(bm, vec []scored, k float64) []scored {
	acc := map[string]float64{}
	for _, list := range [][]scored{bm, vec} {
		for r, s := range list {
			acc[s.id] += 1 / (k + float64(r+1))
		}
	}
	return sorted(acc)
}

func sorted(acc map[string]float64) []scored {
	out := make([]scored, 0, len(acc))
	for id, v := range acc {
		out = append(out, scored{id, v})
	}
	slices.SortFunc(out, func(x, y scored) int { return cmp.Or(cmp.Compare(y.score, x.score), cmp.Compare(x.id, y.id)) })
	return out
}
