package simd

// DotInt8 is the inner product of two int8 vectors of the same length, a
// multiple of 16 and below 2^20 (no 32-bit overflow).
func DotInt8(a, b []int8) int32 {
	b = b[:len(a)]
	if useAVX2 && len(a) >= 16 {
		return dotI8AVX2(&a[0], &b[0], len(a))
	}
	return dotI8Go(a, b)
}

func dotI8Go(a, b []int8) int32 {
	b = b[:len(a)]
	var s int32
	for i, x := range a {
		s += int32(x) * int32(b[i])
	}
	return s
}
