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

// DotsInt16Int8 writes q's inner product with each of the int8 rows, laid
// side by side in rows (len(q) each), into out (at least len(rows)/len(q)
// long). No sum overflows while q's values are at most
// Int16Int8Bound(len(q)) in magnitude.
func DotsInt16Int8(q []int16, rows []int8, out []int32) {
	n := len(q)
	if n == 0 {
		clear(out)
		return
	}
	count := len(rows) / n
	out = out[:count]
	if useAVX2 && n%16 == 0 && count > 0 {
		// Four rows at a time, the rest one by one: about 1.4× faster
		// at n = 256 (BenchmarkDotsInt16Int8, rows=4 against rows=1,
		// run alternately: 93–202 µs against 127–276 µs on the shared
		// machine).
		four := count &^ 3
		switch {
		case four > 0 && useVNNI && n%32 == 0:
			dotsI16I8x4VNNI(&q[0], &rows[0], n, four, &out[0])
		case four > 0:
			dotsI16I8x4AVX2(&q[0], &rows[0], n, four, &out[0])
		}
		if four < count {
			dotsI16I8AVX2(&q[0], &rows[four*n], n, count-four, &out[four])
		}
		return
	}
	for r := range out {
		row := rows[r*n : (r+1)*n]
		var s int32
		for j, x := range q {
			s += int32(x) * int32(row[j])
		}
		out[r] = s
	}
}

// Int16Int8Bound is the largest magnitude of q's values, n of them, for
// which DotsInt16Int8 cannot overflow: 127·n·bound < 2^31, at most 2^14.
func Int16Int8Bound(n int) int {
	return min(1<<14, (1<<31-1)/(127*max(n, 1)))
}
