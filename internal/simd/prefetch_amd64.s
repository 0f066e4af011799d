#include "textflag.h"

// func prefetchAll(addrs *uintptr, n int)
// PREFETCHT0 at each address: loads into every cache level that never
// fault, so a stale or odd address costs nothing but the slot.
TEXT ·prefetchAll(SB), NOSPLIT, $0-16
	MOVQ addrs+0(FP), SI
	MOVQ n+8(FP), CX

loop:
	TESTQ CX, CX
	JZ    done
	MOVQ  (SI), AX
	PREFETCHT0 (AX)
	ADDQ  $8, SI
	DECQ  CX
	JMP   loop

done:
	RET
