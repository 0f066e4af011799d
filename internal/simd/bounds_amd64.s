#include "textflag.h"

// func reachMasksAVX2(dots *int32, scales, resid *float32, n int, qs, epsQ, onePlus, floor float32, masks *uint8)
// ReachMasks for eight rows a step; n is a multiple of 8. The operations
// and their order are reachMasksGo's (no fused multiply-add), so each
// bound is rounded as Go rounds it and the masks are the same bits.
TEXT ·reachMasksAVX2(SB), NOSPLIT, $0-56
	MOVQ         dots+0(FP), SI
	MOVQ         scales+8(FP), BX
	MOVQ         resid+16(FP), DX
	MOVQ         n+24(FP), CX
	VBROADCASTSS qs+32(FP), Y10
	VBROADCASTSS epsQ+36(FP), Y11
	VBROADCASTSS onePlus+40(FP), Y12
	VBROADCASTSS floor+44(FP), Y13
	MOVQ         masks+48(FP), DI

loop:
	CMPQ      CX, $8
	JL        done
	VCVTDQ2PS (SI), Y0
	VMULPS    (BX), Y0, Y0  // dot·scale
	VMULPS    Y10, Y0, Y0   // ·qs
	VMULPS    (DX), Y12, Y1 // onePlus·resid
	VADDPS    Y1, Y11, Y1   // epsQ + that
	VADDPS    Y1, Y0, Y0    // a + e
	VCMPPS    $0x0D, Y13, Y0, Y2 // a + e ≥ floor (GE_OS)
	VMOVMSKPS Y2, AX
	MOVB      AL, (DI)
	ADDQ      $32, SI
	ADDQ      $32, BX
	ADDQ      $32, DX
	INCQ      DI
	SUBQ      $8, CX
	JMP       loop

done:
	VZEROUPPER
	RET
