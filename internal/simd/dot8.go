package simd

// DotInt8 is the inner product of two int8 vectors of the same length, a
// multiple of 16 and below 2^20 (no 32-bit overflow).
func DotInt8(a, b []int8) int32 {
	b = b[:len(a)]
	if useAVX2 && len(a) >= 16 {
		var out int32
		dotsI8AVX2(&a[0], &b[0], len(a), 1, &out)
		return out
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

// DotsInt8 writes q's inner product with each of the rows, laid side by
// side in rows (len(q) each), into out (at least len(rows)/len(q) long):
// DotInt8 over a block in one call, reading the rows in order and
// prefetching ahead of them.
func DotsInt8(q, rows []int8, out []int32) {
	n := len(q)
	if n == 0 {
		clear(out)
		return
	}
	count := len(rows) / n
	out = out[:count]
	if useAVX2 && n%16 == 0 && count > 0 {
		dotsI8AVX2(&q[0], &rows[0], n, count, &out[0])
		return
	}
	for r := range out {
		out[r] = dotI8Go(q, rows[r*n:(r+1)*n])
	}
}
