package router

import (
	"slices"

	"github.com/semroute/semroute/embed"
)

// seenSet records which lexical features occur in which class's
// utterances: a sorted set of (feature, class) keys, 8 bytes a pair.
type seenSet struct {
	keys []uint64
}

func seenKey(hash uint64, class int) uint64 {
	h := hash ^ uint64(class+1)*0x9e3779b97f4a7c15
	h ^= h >> 31
	h *= 0xbf58476d1ce4e5b9
	return h ^ h>>29
}

func newSeenSet(exs []Example) *seenSet {
	n := 0
	for _, ex := range exs {
		n += len(ex.Feats)
	}
	keys := make([]uint64, 0, n)
	for _, ex := range exs {
		for _, f := range ex.Feats {
			keys = append(keys, seenKey(f.Hash, ex.Class))
		}
	}
	slices.Sort(keys)
	return &seenSet{keys: slices.Compact(keys)}
}

// coverage is the weighted share of feats seen in class's utterances.
func (s *seenSet) coverage(feats []embed.Feature, class int) float64 {
	var seen, total float64
	for _, f := range feats {
		w := float64(f.Weight)
		total += w
		if _, ok := slices.BinarySearch(s.keys, seenKey(f.Hash, class)); ok {
			seen += w
		}
	}
	if total == 0 {
		return 0
	}
	return seen / total
}
