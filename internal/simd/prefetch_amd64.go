package simd

const hasPrefetch = true

//go:noescape
func prefetchAll(addrs *uintptr, n int)
