#include "textflag.h"

// func axpyI8AVX2(dst *float32, x *int8, n int, a float32)
// dst[i] += a*float32(x[i]): 16 bytes a step (each 8 sign-extended to
// 32-bit lanes, converted, multiplied and added in one FMA), then one at a
// time; n >= 16.
TEXT ·axpyI8AVX2(SB), NOSPLIT, $0-28
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS a+24(FP), Y0

loop16:
	CMPQ CX, $16
	JL   loop1
	VPMOVSXBD   (SI), Y1
	VPMOVSXBD   8(SI), Y2
	VCVTDQ2PS   Y1, Y1
	VCVTDQ2PS   Y2, Y2
	VMOVUPS     (DI), Y3
	VMOVUPS     32(DI), Y4
	VFMADD231PS Y1, Y0, Y3
	VFMADD231PS Y2, Y0, Y4
	VMOVUPS     Y3, (DI)
	VMOVUPS     Y4, 32(DI)
	ADDQ $16, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  loop16

loop1:
	CMPQ CX, $0
	JE   done
	MOVBLSX     (SI), AX
	VCVTSI2SSL  AX, X1, X1
	VMOVSS      (DI), X3
	VFMADD231SS X1, X0, X3
	VMOVSS      X3, (DI)
	INCQ SI
	ADDQ $4, DI
	DECQ CX
	JMP  loop1

done:
	VZEROUPPER
	RET

// func dotsI16I8AVX2(q *int16, rows *int8, n, count int, out *int32)
// out[r] = q · rows[r·n : (r+1)·n] for r < count; n is a multiple of 16.
// Each step sign-extends 16 bytes of the row to 16-bit lanes and
// multiplies them with 16 of q, adding pairs into 32-bit lanes (VPMADDWD):
// a third of the work of converting the row to floats. Rows are read in
// order with the next ones prefetched.
TEXT ·dotsI16I8AVX2(SB), NOSPLIT, $0-40
	MOVQ q+0(FP), R8
	MOVQ rows+8(FP), DI
	MOVQ n+16(FP), R9
	MOVQ count+24(FP), R10
	MOVQ out+32(FP), R11

irow:
	TESTQ R10, R10
	JZ    idone
	MOVQ  R8, SI
	MOVQ  R9, CX
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1

iloop32:
	CMPQ CX, $32
	JL   iloop16
	PREFETCHT0 512(DI)
	VPMOVSXBW (DI), Y2
	VPMOVSXBW 16(DI), Y3
	VPMADDWD  (SI), Y2, Y2
	VPMADDWD  32(SI), Y3, Y3
	VPADDD    Y2, Y0, Y0
	VPADDD    Y3, Y1, Y1
	ADDQ $64, SI
	ADDQ $32, DI
	SUBQ $32, CX
	JMP  iloop32

iloop16:
	CMPQ CX, $16
	JL   ireduce
	VPMOVSXBW (DI), Y2
	VPMADDWD  (SI), Y2, Y2
	VPADDD    Y2, Y0, Y0
	ADDQ $16, DI

ireduce:
	VPADDD       Y1, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPADDD       X1, X0, X0
	VPHADDD      X0, X0, X0
	VPHADDD      X0, X0, X0
	VMOVD        X0, AX
	MOVL AX, (R11)
	ADDQ $4, R11
	DECQ R10
	JMP  irow

idone:
	VZEROUPPER
	RET
