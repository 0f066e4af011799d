// Package cold lets a benchmark time code as a service runs it: with its
// data out of the core's caches, where the network stack and other requests
// left it between two calls.
package cold

// Size is what Evict reads: 4 MB, twice a core's L2 cache on the machines
// BENCHMARKS.md was measured on, so the timed code's data comes from L3 or
// memory.
const Size = 4 << 20

var (
	buf  = make([]int64, Size/8)
	sink int64
)

// Evict reads Size bytes, a word per cache line. Call it with the
// benchmark's timer stopped.
func Evict() {
	var s int64
	for j := 0; j < len(buf); j += 8 {
		s += buf[j]
	}
	sink += s
}
