package simd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func TestDotMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 7, 8, 9, 31, 32, 33, 100, 256, 384, 1000, 1536} {
		a, b := make([]float32, n), make([]float32, n+3)
		for i := range a {
			a[i] = float32(rng.NormFloat64())
		}
		for i := range b {
			b[i] = float32(rng.NormFloat64())
		}
		var want float64
		for i := range a {
			want += float64(a[i]) * float64(b[i])
		}
		if got := Dot(a, b); math.Abs(float64(got)-want) > 1e-4*math.Sqrt(float64(n)+1) {
			t.Errorf("n=%d: Dot = %v, want %v (avx2 %v)", n, got, want, useAVX2)
		}
		if got := dotGo(a, b[:n]); math.Abs(float64(got)-want) > 1e-4*math.Sqrt(float64(n)+1) {
			t.Errorf("n=%d: dotGo = %v, want %v", n, got, want)
		}
	}
}

func BenchmarkDot(b *testing.B) {
	for _, n := range []int{100, 384} {
		x, y := make([]float32, n), make([]float32, n)
		for i := range x {
			x[i], y[i] = float32(i%7), float32(i%5)
		}
		b.Run(fmt.Sprintf("kernel/d=%d", n), func(b *testing.B) {
			for b.Loop() {
				Dot(x, y)
			}
		})
		b.Run(fmt.Sprintf("go/d=%d", n), func(b *testing.B) {
			for b.Loop() {
				dotGo(x, y)
			}
		})
	}
}
