package simd

// AddScaledInt8 adds a·x to dst, x in int8: dst[i] += a*float32(x[i]) for
// i < len(dst). With a per-row scale folded into a, it adds a quantized row
// reading a quarter of the bytes of a float32 one.
func AddScaledInt8(dst []float32, x []int8, a float32) {
	x = x[:len(dst)]
	if useAVX2 && len(dst) >= 16 {
		axpyI8AVX2(&dst[0], &x[0], len(dst), a)
		return
	}
	addScaledI8Go(dst, x, a)
}

func addScaledI8Go(dst []float32, x []int8, a float32) {
	x = x[:len(dst)]
	for i, v := range x {
		dst[i] += a * float32(v)
	}
}

// DotsF32Int8 writes q's inner product with each of the int8 rows, laid
// side by side in rows (len(q) each), into out (at least len(rows)/len(q)
// long), reading the rows in order and prefetching ahead of them.
func DotsF32Int8(q []float32, rows []int8, out []float32) {
	n := len(q)
	if n == 0 {
		clear(out)
		return
	}
	count := len(rows) / n
	out = out[:count]
	if useAVX2 && n%16 == 0 && count > 0 {
		dotsF32I8AVX2(&q[0], &rows[0], n, count, &out[0])
		return
	}
	for r := range out {
		out[r] = dotF32I8Go(q, rows[r*n:(r+1)*n])
	}
}

func dotF32I8Go(q []float32, row []int8) float32 {
	row = row[:len(q)]
	var s0, s1 float32
	i := 0
	for ; i+2 <= len(q); i += 2 {
		s0 += q[i] * float32(row[i])
		s1 += q[i+1] * float32(row[i+1])
	}
	for ; i < len(q); i++ {
		s0 += q[i] * float32(row[i])
	}
	return s0 + s1
}
