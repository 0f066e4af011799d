#include "textflag.h"

// func dotsI16I8x4VNNI(q *int16, rows *int8, n, count int, out *int32)
// dotsI16I8x4AVX2's sums with 512-bit registers: 32 values of each of four
// rows a step, multiplied and added in one VPDPWSSD (AVX512_VNNI). n is a
// multiple of 32, count a multiple of 4. Integer sums, so the result is
// the AVX2 kernel's exactly.
TEXT ·dotsI16I8x4VNNI(SB), NOSPLIT, $0-40
	MOVQ q+0(FP), R8
	MOVQ rows+8(FP), DI
	MOVQ n+16(FP), R9
	MOVQ count+24(FP), R10
	MOVQ out+32(FP), R11
	LEAQ (R9)(R9*2), R12 // 3n

quad:
	CMPQ   R10, $4
	JL     done
	MOVQ   R8, SI
	MOVQ   DI, BX
	MOVQ   R9, CX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3

loop32:
	VMOVDQU64 (SI), Z8
	VPMOVSXBW (BX), Z4
	VPMOVSXBW (BX)(R9*1), Z5
	VPMOVSXBW (BX)(R9*2), Z6
	VPMOVSXBW (BX)(R12*1), Z7
	VPDPWSSD  Z8, Z4, Z0
	VPDPWSSD  Z8, Z5, Z1
	VPDPWSSD  Z8, Z6, Z2
	VPDPWSSD  Z8, Z7, Z3
	ADDQ      $64, SI
	ADDQ      $32, BX
	SUBQ      $32, CX
	JNZ       loop32

	// Each 512-bit sum folded to 256 bits, then dotsI16I8x4AVX2's reduction.
	VEXTRACTI64X4 $1, Z0, Y4
	VEXTRACTI64X4 $1, Z1, Y5
	VEXTRACTI64X4 $1, Z2, Y6
	VEXTRACTI64X4 $1, Z3, Y7
	VPADDD        Y4, Y0, Y0
	VPADDD        Y5, Y1, Y1
	VPADDD        Y6, Y2, Y2
	VPADDD        Y7, Y3, Y3
	VPHADDD       Y1, Y0, Y0
	VPHADDD       Y3, Y2, Y2
	VPHADDD       Y2, Y0, Y0
	VEXTRACTI128  $1, Y0, X1
	VPADDD        X1, X0, X0
	VMOVDQU       X0, (R11)
	ADDQ          $16, R11
	LEAQ          (DI)(R9*4), DI
	SUBQ          $4, R10
	JMP           quad

done:
	VZEROUPPER
	RET
