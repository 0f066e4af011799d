package upstream

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/semroute/semroute/router"
)

// BenchmarkCall times a chat completion through the pool to a loopback
// upstream over the plain-HTTP client and over net/http, interleaved call
// for call, and reports each one's median and the difference.
func BenchmarkCall(b *testing.B) {
	up := newFake(b, "a", nil)
	cfg := config(router.Model{Name: "h1", BaseURL: up.URL, Model: "m"}, router.Model{Name: "std", BaseURL: up.URL, Model: "m"})
	if err := cfg.Validate(); err != nil {
		b.Fatal(err)
	}
	p := NewPool(cfg, nil, os.LookupEnv)
	p.models["std"].deps[0].h1 = nil
	if p.models["h1"].deps[0].h1 == nil {
		b.Fatal("the loopback upstream does not use the plain-HTTP client")
	}
	req := chatReq("")
	up.bodies = slices.Grow(up.bodies, 2*b.N+2)
	var h1, std []time.Duration
	call := func(model string) time.Duration {
		start := time.Now()
		if _, err := p.Call(context.Background(), []string{model}, req, nil); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	for b.Loop() {
		h1 = append(h1, call("h1"))
		std = append(std, call("std"))
	}
	slices.Sort(h1)
	slices.Sort(std)
	b.ReportMetric(float64(h1[len(h1)/2].Nanoseconds()), "h1-p50-ns")
	b.ReportMetric(float64(std[len(std)/2].Nanoseconds()), "nethttp-p50-ns")
	b.ReportMetric(float64((std[len(std)/2] - h1[len(h1)/2]).Nanoseconds()), "saved-ns")
}
