package router

import (
	"slices"

	"github.com/semroute/semroute/embed"
)

// seenSet records which lexical features occur in which class's
// utterances: an open-addressing hash set of (feature, class) keys, at most
// half full, so a lookup is one or two probes. A sorted slice with binary
// search took the decision from 20 µs to 45 µs p50 at 10,000 exemplars
// (semroute bench).
type seenSet struct {
	slots []uint64 // 0 is empty
	mask  uint64
}

func seenKey(hash uint64, class int) uint64 {
	h := hash ^ uint64(class+1)*0x9e3779b97f4a7c15
	h ^= h >> 31
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 29
	return max(h, 1) // 0 marks an empty slot
}

func newSeenSet(exs []Example) *seenSet {
	var keys []uint64
	for _, ex := range exs {
		for _, f := range ex.Feats {
			keys = append(keys, seenKey(f.Hash, ex.Class))
		}
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	size := 16
	for size < 2*len(keys) {
		size *= 2
	}
	s := &seenSet{slots: make([]uint64, size), mask: uint64(size - 1)}
	for _, k := range keys {
		i := k & s.mask
		for s.slots[i] != 0 {
			i = (i + 1) & s.mask
		}
		s.slots[i] = k
	}
	return s
}

func (s *seenSet) has(k uint64) bool {
	for i := k & s.mask; ; i = (i + 1) & s.mask {
		switch s.slots[i] {
		case k:
			return true
		case 0:
			return false
		}
	}
}

// coverage is the weighted share of feats seen in class's utterances.
func (s *seenSet) coverage(feats []embed.Feature, class int) float64 {
	var seen, total float64
	for _, f := range feats {
		w := float64(f.Weight)
		total += w
		if s.has(seenKey(f.Hash, class)) {
			seen += w
		}
	}
	if total == 0 {
		return 0
	}
	return seen / total
}
