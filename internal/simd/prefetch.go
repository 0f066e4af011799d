package simd

// Prefetch asks the CPU to start loading the cache line at each address,
// without waiting for any: a caller that knows which scattered lines it
// will read next gets their misses in flight together instead of one after
// another. A no-op where there is no kernel.
func Prefetch(addrs []uintptr) {
	if hasPrefetch && len(addrs) > 0 {
		prefetchAll(&addrs[0], len(addrs))
	}
}
