// Package simd holds the vector kernels: the float32 dot product (the scan's
// inner loop), its int8 form (the quantized first pass), dst += a·x over
// float32 or int8 rows (the head's sparse rows), int16 × int8 dots (the
// head's dense part), quantizing to int8 and int16, unit scaling and a
// batch prefetch, in AVX2 assembly on amd64
// machines that have it and plain Go elsewhere.
// It is a leaf package so the kernels and their benchmark stand alone; it
// sits in internal/ rather than under index/flat so that embed/local uses
// the kernels (AddScaledInt8, Prefetch) and intents/classify the
// quantizing too, without importing the index.
package simd
