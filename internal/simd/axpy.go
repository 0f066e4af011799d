package simd

// AddScaled adds a·x to dst: dst[i] += a*x[i] for i < len(dst).
func AddScaled(dst, x []float32, a float32) {
	x = x[:len(dst)]
	if useAVX2 && len(dst) >= 8 {
		axpyAVX2(&dst[0], &x[0], len(dst), a)
		return
	}
	addScaledGo(dst, x, a)
}

func addScaledGo(dst, x []float32, a float32) {
	x = x[:len(dst)]
	for i, v := range x {
		dst[i] += a * v
	}
}
