package simd

import "math"

// Normalize scales v to unit length in place (a zero vector stays zero).
func Normalize(v []float32) {
	var ss float64
	for _, x := range v {
		ss += float64(x) * float64(x)
	}
	if ss == 0 {
		return
	}
	k := float32(1 / math.Sqrt(ss))
	for i := range v {
		v[i] *= k
	}
}

// Quantize writes v into dst (len(v) ≤ len(dst) ≤ len(v) rounded up to 16,
// the rest zero) as integers in [-127, 127] and returns the scale back to
// floats: v[i] ≈ scale·dst[i], within scale/2.
func Quantize(dst []int8, v []float32) (scale float32) {
	clear(dst[len(v):])
	return quantize(dst, v)
}

// QuantizeInt16 writes v into dst (same length) as integers, the largest
// magnitude mapped to the most DotsInt16Int8 allows for len(v) values
// (2^14 up to 1,032 dimensions), and returns the scale back:
// v[i] ≈ scale·dst[i], within scale/2.
func QuantizeInt16(dst []int16, v []float32) (scale float32) {
	m := maxAbs(v)
	if m == 0 {
		clear(dst)
		return 0
	}
	bound := float64(Int16Int8Bound(len(v)))
	k := bound / float64(m)
	for j, x := range v[:len(dst)] {
		// Rounds without a branch, as quantize; in float64, whose steps
		// near 2^15 are fine enough for it.
		dst[j] = int16(int32(float64(x)*k+32768.5) - 32768)
	}
	return float32(float64(m) / bound)
}

// maxAbs is the largest magnitude in v, compared as the bits of |x|, which
// order as the floats do: Go's float max, careful of NaN and -0, took
// longer than the whole int8 scan of an intent.
func maxAbs(v []float32) float32 {
	var mb uint32
	for _, x := range v {
		mb = max(mb, math.Float32bits(x)&^(1<<31))
	}
	return math.Float32frombits(mb)
}

// quantize writes v into dst as integers in [-127, 127], the largest
// component's magnitude mapped to 127, and returns the scale back.
func quantize(dst []int8, v []float32) float32 {
	m := maxAbs(v)
	if m == 0 {
		clear(dst)
		return 0
	}
	k := 127 / m
	for j, x := range v {
		// Rounds x·k in [-127, 127] without a branch on its sign, which
		// mispredicts half the time: x·k + 128.5 is positive, so truncation
		// is the floor.
		dst[j] = int8(int32(x*k+128.5) - 128)
	}
	return m / 127
}
