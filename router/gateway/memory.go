package gateway

import (
	"math"
	"runtime"
	"runtime/debug"
	rtmetrics "runtime/metrics"
)

// setMemoryLimit sets Go's soft memory limit to server.memory_limit_mb (0:
// none) and leaves GOGC alone. The collector then runs as the heap doubles
// (Go's default) and more often only when the memory the runtime holds
// nears the limit. It replaces server.gc_floor_mb, a GOGC computed once from
// the live heap at start: from a 1.4 MB heap that gave GOGC 4630, and once
// the live heap had grown to a few MB under 2,000 requests/s the process sat
// at 250 MB resident (issue 22). Serve runs it after the first load and
// after each reload; with Options.KeepMemoryLimit (GOMEMLIMIT in the
// environment) it only reports.
func (s *Server) setMemoryLimit() {
	st := s.st.Load()
	if st == nil {
		return
	}
	limit := int64(math.MaxInt64)
	if mb := st.cfg.Server.MemoryLimitMB; mb != nil && *mb > 0 {
		limit = int64(*mb) << 20
	}
	if s.opt.KeepMemoryLimit {
		limit = debug.SetMemoryLimit(-1)
	} else {
		debug.SetMemoryLimit(limit)
	}
	live := liveHeap()
	if limit == math.MaxInt64 {
		s.log.Info("memory: no limit", "live_mb", live>>20)
		return
	}
	s.log.Info("memory limit", "limit_mb", limit>>20, "live_mb", live>>20, "from_env", s.opt.KeepMemoryLimit)
	if live > limit/2 {
		s.log.Warn("memory: the live heap is over half the memory limit; the collector will run often and may exceed it: raise server.memory_limit_mb",
			"live_mb", live>>20, "limit_mb", limit>>20)
	}
}

// liveHeap collects and returns the live heap in bytes: as loaded, without
// the garbage of the build.
func liveHeap() int64 {
	runtime.GC()
	sample := []rtmetrics.Sample{{Name: "/gc/heap/live:bytes"}}
	rtmetrics.Read(sample)
	if sample[0].Value.Kind() != rtmetrics.KindUint64 {
		return 0
	}
	return int64(sample[0].Value.Uint64())
}
