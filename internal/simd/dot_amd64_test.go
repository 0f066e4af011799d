package simd

import "testing"

// TestDotsInt16Int8EachKernel runs the check with each kernel this CPU
// has turned off in turn: on a CPU with AVX512_VNNI the AVX2 kernel would
// otherwise go untested, and the Go loop on any CPU with AVX2.
func TestDotsInt16Int8EachKernel(t *testing.T) {
	avx2, vnni := useAVX2, useVNNI
	defer func() { useAVX2, useVNNI = avx2, vnni }()
	if vnni {
		useVNNI = false
		t.Run("avx2", checkDotsInt16Int8)
	}
	useAVX2, useVNNI = false, false
	t.Run("go", checkDotsInt16Int8)
}
