#include "textflag.h"

// func dotsI8AVX2(q, rows *int8, n, count int, out *int32)
// out[r] = q · rows[r·n : (r+1)·n] for r < count; n is a multiple of 16.
// Each row: sign-extends 16 bytes of each to 16-bit lanes, multiplies and
// adds pairs into 32-bit lanes (VPMADDWD), 32 bytes a step. Each of the 8
// lanes sums n/8 products of at most 127², so none overflows below n =
// 2^20. Rows are read in order with the next ones prefetched: one call for
// a whole block, whose rows are often not in cache.
TEXT ·dotsI8AVX2(SB), NOSPLIT, $0-40
	MOVQ q+0(FP), R8
	MOVQ rows+8(FP), DI
	MOVQ n+16(FP), R9
	MOVQ count+24(FP), R10
	MOVQ out+32(FP), R11

row:
	TESTQ R10, R10
	JZ    done
	MOVQ  R8, SI
	MOVQ  R9, CX
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1

rloop32:
	CMPQ CX, $32
	JL   rloop16
	PREFETCHT0 1024(DI)
	VPMOVSXBW (SI), Y2
	VPMOVSXBW (DI), Y3
	VPMOVSXBW 16(SI), Y4
	VPMOVSXBW 16(DI), Y5
	VPMADDWD  Y2, Y3, Y3
	VPMADDWD  Y4, Y5, Y5
	VPADDD    Y3, Y0, Y0
	VPADDD    Y5, Y1, Y1
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $32, CX
	JMP  rloop32

rloop16:
	CMPQ CX, $16
	JL   rreduce
	VPMOVSXBW (SI), Y2
	VPMOVSXBW (DI), Y3
	VPMADDWD  Y2, Y3, Y3
	VPADDD    Y3, Y0, Y0
	ADDQ $16, DI

rreduce:
	VPADDD       Y1, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPADDD       X1, X0, X0
	VPHADDD      X0, X0, X0
	VPHADDD      X0, X0, X0
	VMOVD        X0, AX
	MOVL AX, (R11)
	ADDQ $4, R11
	DECQ R10
	JMP  row

done:
	VZEROUPPER
	RET
