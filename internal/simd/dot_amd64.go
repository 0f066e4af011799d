package simd

import "golang.org/x/sys/cpu"

var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// useVNNI is set where DotsInt16Int8 can use 512-bit registers and
// VPDPWSSD (AVX512_VNNI, with AVX512BW for the sign extension).
var useVNNI = useAVX2 && cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VNNI

//go:noescape
func dotAVX2(a, b *float32, n int) float32

//go:noescape
func axpyAVX2(dst, x *float32, n int, a float32)

//go:noescape
func dotsI8AVX2(q, rows *int8, n, count int, out *int32)

//go:noescape
func axpyI8AVX2(dst *float32, x *int8, n int, a float32)

//go:noescape
func dotsI16I8AVX2(q *int16, rows *int8, n, count int, out *int32)

//go:noescape
func dotsI16I8x4AVX2(q *int16, rows *int8, n, count int, out *int32)

//go:noescape
func dotsI16I8x4VNNI(q *int16, rows *int8, n, count int, out *int32)

//go:noescape
func reachMasksAVX2(dots *int32, scales, resid *float32, n int, qs, epsQ, onePlus, floor float32, masks *uint8)
