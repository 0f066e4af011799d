#include "textflag.h"

// func dotsI16I8x4AVX2(q *int16, rows *int8, n, count int, out *int32)
// out[r] = q · rows[r·n : (r+1)·n] for r < count; n is a multiple of 16,
// count a multiple of 4. dotsI16I8AVX2's arithmetic on four rows at once:
// each 16 values of q are loaded once for the four, and the four sums are
// reduced together at the end of the rows (three VPHADDD for four rows
// instead of two for each), which a row of 256 values, only eight steps
// long, spends most of its time on otherwise.
TEXT ·dotsI16I8x4AVX2(SB), NOSPLIT, $0-40
	MOVQ q+0(FP), R8
	MOVQ rows+8(FP), DI
	MOVQ n+16(FP), R9
	MOVQ count+24(FP), R10
	MOVQ out+32(FP), R11
	LEAQ (R9)(R9*2), R12 // 3n

quad:
	CMPQ  R10, $4
	JL    done
	MOVQ  R8, SI
	MOVQ  DI, BX
	MOVQ  R9, CX
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3

loop16:
	VMOVDQU   (SI), Y8
	VPMOVSXBW (BX), Y4
	VPMOVSXBW (BX)(R9*1), Y5
	VPMOVSXBW (BX)(R9*2), Y6
	VPMOVSXBW (BX)(R12*1), Y7
	VPMADDWD  Y8, Y4, Y4
	VPMADDWD  Y8, Y5, Y5
	VPMADDWD  Y8, Y6, Y6
	VPMADDWD  Y8, Y7, Y7
	VPADDD    Y4, Y0, Y0
	VPADDD    Y5, Y1, Y1
	VPADDD    Y6, Y2, Y2
	VPADDD    Y7, Y3, Y3
	ADDQ      $32, SI
	ADDQ      $16, BX
	SUBQ      $16, CX
	JNZ       loop16

	// Per 128-bit lane: [r0 r0 r1 r1], [r2 r2 r3 r3], then [r0 r1 r2 r3];
	// the two lanes added give the four sums.
	VPHADDD      Y1, Y0, Y0
	VPHADDD      Y3, Y2, Y2
	VPHADDD      Y2, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPADDD       X1, X0, X0
	VMOVDQU      X0, (R11)
	ADDQ         $16, R11
	LEAQ         (DI)(R9*4), DI
	SUBQ         $4, R10
	JMP          quad

done:
	VZEROUPPER
	RET
