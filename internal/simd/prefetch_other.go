//go:build !amd64

package simd

const hasPrefetch = false

func prefetchAll(addrs *uintptr, n int) {}
