package simd

// ReachMasks marks the rows whose upper bound on a score reaches floor:
// bit j of masks[i/8] is set, for i = 8·(i/8) + j < len(dots), when
//
//	float32(dots[i])·scales[i]·qs + (epsQ + onePlus·resid[i]) ≥ floor
//
// each product and sum rounded to float32 in that order, as the same
// expression written in Go computes it. It is the cheap side of a
// bounded int8 scan (index/flat's TopK): one vector comparison for eight
// rows, so that only the rows it marks need the scalar work. masks holds
// at least (len(dots)+7)/8 bytes; scales and resid at least len(dots)
// values.
func ReachMasks(dots []int32, scales, resid []float32, qs, epsQ, onePlus, floor float32, masks []uint8) {
	n := len(dots)
	scales, resid, masks = scales[:n], resid[:n], masks[:(n+7)/8]
	eight := 0
	if useAVX2 && n >= 8 {
		eight = n &^ 7
		reachMasksAVX2(&dots[0], &scales[0], &resid[0], eight, qs, epsQ, onePlus, floor, &masks[0])
	}
	reachMasksGo(dots[eight:], scales[eight:], resid[eight:], qs, epsQ, onePlus, floor, masks[eight/8:])
}

func reachMasksGo(dots []int32, scales, resid []float32, qs, epsQ, onePlus, floor float32, masks []uint8) {
	for i := range masks {
		masks[i] = 0
	}
	for i, d := range dots {
		a := float32(d) * scales[i] * qs
		e := epsQ + onePlus*resid[i]
		if a+e >= floor {
			masks[i/8] |= 1 << (i % 8)
		}
	}
}
