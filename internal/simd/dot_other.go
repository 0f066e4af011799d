//go:build !amd64

package simd

const useAVX2 = false

func dotAVX2(a, b *float32, n int) float32 { panic("unreachable") }

func axpyAVX2(dst, x *float32, n int, a float32) { panic("unreachable") }

func dotsI8AVX2(q, rows *int8, n, count int, out *int32) { panic("unreachable") }

func axpyI8AVX2(dst *float32, x *int8, n int, a float32) { panic("unreachable") }

func dotsI16I8AVX2(q *int16, rows *int8, n, count int, out *int32) { panic("unreachable") }

func dotsI16I8x4AVX2(q *int16, rows *int8, n, count int, out *int32) { panic("unreachable") }

const useVNNI = false

func dotsI16I8x4VNNI(q *int16, rows *int8, n, count int, out *int32) { panic("unreachable") }

func reachMasksAVX2(dots *int32, scales, resid *float32, n int, qs, epsQ, onePlus, floor float32, masks *uint8) {
	panic("unreachable")
}
