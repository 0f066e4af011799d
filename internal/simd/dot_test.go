package simd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"
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

func TestAddScaledMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 7, 8, 9, 31, 32, 33, 100, 150, 256} {
		dst, x := make([]float32, n), make([]float32, n+3)
		for i := range dst {
			dst[i] = float32(rng.NormFloat64())
		}
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		a := float32(rng.NormFloat64())
		want := make([]float64, n)
		for i := range want {
			want[i] = float64(dst[i]) + float64(a)*float64(x[i])
		}
		AddScaled(dst, x, a)
		for i := range dst {
			if math.Abs(float64(dst[i])-want[i]) > 1e-5 {
				t.Fatalf("n=%d: dst[%d] = %v, want %v (avx2 %v)", n, i, dst[i], want[i], useAVX2)
			}
		}
	}
}

func TestDotsInt8MatchesDotInt8(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{16, 48, 256, 272} {
		for _, count := range []int{0, 1, 3, 64} {
			q, rows := make([]int8, n), make([]int8, n*count)
			for i := range q {
				q[i] = int8(rng.IntN(255) - 127)
			}
			for i := range rows {
				rows[i] = int8(rng.IntN(255) - 127)
			}
			out := make([]int32, count+1)
			out[count] = 12345 // past the rows: left alone
			DotsInt8(q, rows, out)
			for r := range count {
				if want := dotI8Go(q, rows[r*n:(r+1)*n]); out[r] != want {
					t.Errorf("n=%d count=%d row %d: %d, want %d (avx2 %v)", n, count, r, out[r], want, useAVX2)
				}
			}
			if out[count] != 12345 {
				t.Errorf("n=%d count=%d: wrote past the rows", n, count)
			}
		}
	}
}

func TestDotInt8MatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{0, 16, 32, 48, 112, 256, 384, 4096} {
		a, b := make([]int8, n), make([]int8, n)
		for i := range a {
			a[i], b[i] = int8(rng.IntN(255)-127), int8(rng.IntN(255)-127)
		}
		if n == 4096 { // the extremes everywhere: the largest sum a lane holds
			for i := range a {
				a[i], b[i] = -127, -127
			}
		}
		var want int64
		for i := range a {
			want += int64(a[i]) * int64(b[i])
		}
		if got := DotInt8(a, b); int64(got) != want {
			t.Errorf("n=%d: DotInt8 = %d, want %d (avx2 %v)", n, got, want, useAVX2)
		}
	}
}

func TestAddScaledInt8MatchesFloat64(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, n := range []int{0, 1, 15, 16, 17, 31, 32, 33, 100, 150, 256} {
		dst, x := make([]float32, n+1), make([]int8, n+3)
		for i := range dst {
			dst[i] = float32(rng.NormFloat64())
		}
		for i := range x {
			x[i] = int8(rng.IntN(255) - 127)
		}
		a := float32(rng.NormFloat64()) / 127
		want := make([]float64, n)
		for i := range want {
			want[i] = float64(dst[i]) + float64(a)*float64(x[i])
		}
		past := dst[n]
		AddScaledInt8(dst[:n], x, a)
		for i := range want {
			if math.Abs(float64(dst[i])-want[i]) > 1e-5 {
				t.Fatalf("n=%d: dst[%d] = %v, want %v (avx2 %v)", n, i, dst[i], want[i], useAVX2)
			}
		}
		if dst[n] != past {
			t.Fatalf("n=%d: wrote past dst", n)
		}
	}
}

// TestPrefetchNeverFaults: prefetching any address, mapped or not, is
// harmless.
func TestPrefetchNeverFaults(t *testing.T) {
	x := make([]byte, 4096)
	Prefetch([]uintptr{0, 1, uintptr(unsafe.Pointer(&x[0])), uintptr(unsafe.Pointer(&x[4095])), ^uintptr(0)})
	Prefetch(nil)
}

func TestDotsInt16Int8MatchesGo(t *testing.T) { checkDotsInt16Int8(t) }

// checkDotsInt16Int8 checks DotsInt16Int8 against a sum in Go with the
// kernels the flags select (dot_amd64_test.go runs it with each).
func checkDotsInt16Int8(t *testing.T) {
	t.Helper()
	rng := rand.New(rand.NewPCG(13, 14))
	for _, n := range []int{1, 10, 16, 32, 48, 96, 100, 256, 272, 8192} { // multiples of 32: the VNNI kernel where the CPU has it
		for _, count := range []int{0, 1, 3, 4, 7, 64} {
			q, rows := make([]int16, n), make([]int8, n*count)
			bound := Int16Int8Bound(n)
			for i := range q {
				q[i] = int16(rng.IntN(2*bound+1) - bound)
			}
			for i := range rows {
				rows[i] = int8(rng.IntN(255) - 127)
			}
			if n == 8192 && (count == 1 || count == 4) { // the largest sums allowed
				for i := range q {
					q[i] = int16(bound)
				}
				for i := range rows {
					rows[i] = -127
				}
			}
			out := make([]int32, count+1)
			out[count] = 12345 // past the rows: left alone
			DotsInt16Int8(q, rows, out)
			for r := range count {
				var want int64
				for j, x := range q {
					want += int64(x) * int64(rows[r*n+j])
				}
				if int64(out[r]) != want {
					t.Errorf("n=%d count=%d row %d: %d, want %d (avx2 %v, vnni %v)", n, count, r, out[r], want, useAVX2, useVNNI)
				}
			}
			if out[count] != 12345 {
				t.Errorf("n=%d count=%d: wrote past the rows", n, count)
			}
		}
	}
}

func BenchmarkDotsInt16Int8(b *testing.B) {
	const n, count = 256, 10_000
	q, rows, out := make([]int16, n), make([]int8, n*count), make([]int32, count)
	for i := range rows {
		rows[i] = int8(i * 7)
	}
	for i := range q {
		q[i] = int16(i * 13)
	}
	b.Run("rows=4", func(b *testing.B) { // as DotsInt16Int8 calls it
		b.SetBytes(n * count)
		for b.Loop() {
			DotsInt16Int8(q, rows, out)
		}
	})
	if !useAVX2 {
		return
	}
	b.Run("rows=4-avx2", func(b *testing.B) { // the 256-bit four-row kernel, where VNNI is used
		b.SetBytes(n * count)
		for b.Loop() {
			dotsI16I8x4AVX2(&q[0], &rows[0], n, count, &out[0])
		}
	})
	b.Run("rows=1", func(b *testing.B) { // the one-row kernel alone
		b.SetBytes(n * count)
		for b.Loop() {
			dotsI16I8AVX2(&q[0], &rows[0], n, count, &out[0])
		}
	})
}
