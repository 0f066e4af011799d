package gateway

import (
	"math"
	"runtime/debug"
	"testing"
)

// TestMemoryLimit: server.memory_limit_mb becomes Go's soft memory limit,
// 0 removes it, KeepMemoryLimit (GOMEMLIMIT in the environment) leaves it
// alone, and GOGC is never touched (gc_floor_mb, deprecated, set it).
func TestMemoryLimit(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	debug.SetGCPercent(100)

	h := start(t, "server: {memory_limit_mb: 300, gc_floor_mb: 64}\n")
	h.srv.setMemoryLimit()
	if got := debug.SetMemoryLimit(-1); got != 300<<20 {
		t.Errorf("memory limit: %d bytes, want 300 MiB (%d)", got, 300<<20)
	}
	if pct := debug.SetGCPercent(100); pct != 100 {
		t.Errorf("GOGC: %d, want 100: the deprecated gc_floor_mb must not set it", pct)
	}

	def := start(t, "")
	def.srv.setMemoryLimit()
	if got := debug.SetMemoryLimit(-1); got != 256<<20 {
		t.Errorf("default memory limit: %d bytes, want 256 MiB", got)
	}

	off := start(t, "server: {memory_limit_mb: 0}\n")
	off.srv.setMemoryLimit()
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("memory limit with memory_limit_mb 0: %d, want none (MaxInt64)", got)
	}

	debug.SetMemoryLimit(123 << 20) // as GOMEMLIMIT=123MiB would
	h.srv.opt.KeepMemoryLimit = true
	h.srv.setMemoryLimit()
	if got := debug.SetMemoryLimit(-1); got != 123<<20 {
		t.Errorf("memory limit with GOMEMLIMIT set: %d, want 123 MiB untouched", got)
	}
}
