package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/semroute/semroute/embed/local"
	"github.com/semroute/semroute/intents"
	"github.com/semroute/semroute/router"
	"github.com/semroute/semroute/router/gateway"
)

// mockAnswer is what the mock upstream answers every chat completion with.
const mockAnswer = `{"id":"chatcmpl-bench","object":"chat.completion","created":1,"model":"mock-1","choices":[{"index":0,"message":{"role":"assistant","content":"This is the mock upstream's answer."},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":9,"total_tokens":21}}`

// runBenchProxy measures what going through semroute adds to a chat
// completion, against calling the same mock upstream directly, in one run
// on loopback: latency one request at a time, then throughput with many
// clients. The clients, semroute and the mock share this machine's cores.
func runBenchProxy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench proxy", stderr)
	nIntents := fs.Int("intents", 100, "synthetic intents routed over")
	per := fs.Int("per", 100, "utterances per intent")
	requests := fs.Int("requests", 5000, "requests per latency measurement")
	load := fs.Int("load", 20000, "requests per throughput measurement")
	conc := fs.Int("concurrency", 64, "clients in the throughput measurement")
	vectors := fs.String("vectors", "", "the vectors file (default: the cache directory)")
	withCache := fs.Bool("cache", false, "turn the response cache on (exact and semantic) and send only requests it misses; then also time it interleaved, request for request, with a gateway without the cache: the difference is a miss's cost")
	fresh := fs.Bool("fresh", false, "send the prompts --cache sends (each one new) with the cache off: the baseline for the cache's own cost")
	long := fs.Bool("long", false, "with --cache or --fresh, prompts twice as long: two new prompts of different intents joined")
	exactOnly := fs.Bool("exact", false, "with --cache, the exact cache alone (no semantic lookup)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the one-client run through semroute to this file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	emb, err := local.Open(vectorsPath(*vectors))
	if err != nil {
		return err
	}
	defer emb.Close()

	mock := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, mockAnswer)
	})}
	mockLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go mock.Serve(mockLn)
	defer mock.Close()

	var cleanup []func()
	defer func() {
		for _, f := range cleanup {
			f()
		}
	}()
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	// serve starts a gateway routing over the synthetic intents to the
	// mock, with the response cache on or off, and returns its URL.
	var cfg *router.Config
	serve := func(withCache bool) (string, error) {
		cfg = router.Synthetic(emb.Word, *nIntents, *per, 1)
		cfg.Models = []router.Model{{Name: "mock", Provider: "openai", BaseURL: "http://" + mockLn.Addr().String() + "/v1", Model: "mock-1",
			Balance: "weight", TimeoutMS: 10000, Price: router.Price{Input: 0.15, Output: 0.6}}}
		target := intents.Target{Model: intents.Models{"mock"}}
		for i := range cfg.Intents {
			cfg.Intents[i].Target = target
		}
		cfg.Fallback = target
		if withCache {
			cfg.Cache = &router.CacheConfig{MaxBytes: 256 << 20, TTLS: 3600, Semantic: !*exactOnly, SemanticThreshold: 0.95}
		}
		dir, err := os.MkdirTemp("", "semroute-bench-")
		if err != nil {
			return "", err
		}
		cleanup = append(cleanup, func() { os.RemoveAll(dir) })
		cfg.Index.DataDir = dir
		if err := cfg.Validate(); err != nil {
			return "", err
		}
		srv := gateway.New(gateway.Options{Embedder: emb})
		if err := srv.Load(ctx, cfg); err != nil {
			return "", err
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		go srv.Serve(sctx, ln)
		return "http://" + ln.Addr().String() + "/v1/chat/completions", nil
	}
	via, err := serve(*withCache)
	if err != nil {
		return err
	}
	// With the cache on, a second gateway without it is measured in the
	// same run, its requests interleaved one for one with the first's, so
	// that the difference is what a miss costs whatever the machine's
	// spell.
	base := ""
	if *withCache {
		if base, err = serve(false); err != nil {
			return err
		}
	}

	var bodies [][]byte
	for i, in := range cfg.Intents {
		bodies = append(bodies, fmt.Appendf(nil, `{"model":"auto","messages":[{"role":"user","content":%q}]}`, in.Utterances[i%len(in.Utterances)]+" please"))
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: *conc * 2, MaxIdleConnsPerHost: *conc * 2}}
	var seq, misses atomic.Int64
	n := len(cfg.Intents)
	post := func(url string, i int) error {
		body := bodies[i%len(bodies)]
		if *withCache || *fresh {
			// Temperature 0 (cacheable) and a prompt never sent before, as
			// long as the intents' utterances (twice as long with --long;
			// see freshPrompt), picked by a counter over the whole run, so
			// that neither the exact nor the semantic cache can answer. The
			// responses' x-semroute-cache headers are counted to make sure.
			k := int(seq.Add(1))
			prompt := freshPrompt(cfg.Intents, k)
			if *long {
				prompt += " and " + freshPrompt(cfg.Intents, k+n/2)
			}
			body = fmt.Appendf(nil, `{"model":"auto","temperature":0,"messages":[{"role":"user","content":%q}]}`, prompt)
		}
		resp, err := client.Post(url, "application/json", bytes.NewReader(body))
		if err != nil {
			return err
		}
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: HTTP %d: %s", url, resp.StatusCode, msg)
		}
		if url == via && resp.Header.Get("X-Semroute-Cache") == "miss" {
			misses.Add(1)
		}
		return nil
	}
	direct := "http://" + mockLn.Addr().String() + "/v1/chat/completions"
	urls := []string{direct, via}
	if base != "" {
		urls = append(urls, base)
	}
	for _, u := range urls { // warm up connections and pools
		if _, err := measure(500, func(i int) error { return post(u, i) }); err != nil {
			return err
		}
	}
	dLat, err := measure(*requests, func(i int) error { return post(direct, i) })
	if err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	misses.Store(0)
	vLat, err := measure(*requests, func(i int) error { return post(via, i) })
	pprof.StopCPUProfile()
	if err != nil {
		return err
	}
	missed := misses.Load()
	// The interleaved pair: each gateway's requests find the other's
	// memory in the caches, so both run slower than alone; their
	// difference is the miss's cost.
	var pair []timing
	var pairMissed int64
	if base != "" {
		before := misses.Load()
		if pair, err = measureEach(*requests, func(i int) error { return post(via, i) }, func(i int) error { return post(base, i) }); err != nil {
			return err
		}
		pairMissed = misses.Load() - before
	}
	dRate, err := throughput(*load, *conc, func(i int) error { return post(direct, i) })
	if err != nil {
		return err
	}
	vRate, err := throughput(*load, *conc, func(i int) error { return post(via, i) })
	if err != nil {
		return err
	}

	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	cache := "off"
	if *withCache {
		cache = fmt.Sprintf("on, and %d of the %d requests one at a time missed it", missed, *requests)
	}
	fmt.Fprintf(tw, "semroute bench proxy: mock upstream on loopback; routing over %d intents × %d utterances; %d requests one at a time, then %d with %d clients; response cache %s\n\n",
		*nIntents, *per, *requests, *load, *conc, cache)
	fmt.Fprintln(tw, "path\tp50\tp99\trequests/s (one client)\trequests/s (many clients)")
	fmt.Fprintf(tw, "direct to the mock\t%v\t%v\t%.0f\t%.0f\n", dLat.p50, dLat.p99, dLat.rate, dRate)
	fmt.Fprintf(tw, "through semroute (model auto)\t%v\t%v\t%.0f\t%.0f\n", vLat.p50, vLat.p99, vLat.rate, vRate)
	fmt.Fprintf(tw, "added by semroute\t%v\t%v\t\t\n", vLat.p50-dLat.p50, vLat.p99-dLat.p99)
	if pair != nil {
		fmt.Fprintf(tw, "\ninterleaved, request for request, with a gateway without the cache (%d of the %d requests missed the cache):\n", pairMissed, *requests)
		fmt.Fprintf(tw, "through semroute, cache on (missing)\t%v\t%v\t%.0f\t\n", pair[0].p50, pair[0].p99, pair[0].rate)
		fmt.Fprintf(tw, "through semroute, cache off\t%v\t%v\t%.0f\t\n", pair[1].p50, pair[1].p99, pair[1].rate)
		fmt.Fprintf(tw, "added by a cache miss\t%v\t%v\t\t\n", pair[0].p50-pair[1].p50, pair[0].p99-pair[1].p99)
	}
	return tw.Flush()
}

// freshPrompt is the k-th of a series of prompts that do not repeat for
// the first intents × utterances² values of k: the first half of one
// utterance and the second half of another, of intent k mod intents.
func freshPrompt(ins []intents.Intent, k int) string {
	n := len(ins)
	in := ins[k%n]
	per := len(in.Utterances)
	a := strings.Fields(in.Utterances[(k/n)%per])
	b := strings.Fields(in.Utterances[(k/n/per+k/n+1)%per])
	return strings.Join(append(a[:len(a)/2:len(a)/2], b[len(b)/2:]...), " ")
}

// throughput runs n calls of f from conc goroutines and returns calls per
// second.
func throughput(n, conc int, f func(i int) error) (float64, error) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	next := make(chan int, conc)
	start := time.Now()
	for range conc {
		wg.Go(func() {
			for i := range next {
				if err := f(i); err != nil {
					mu.Lock()
					first = cmpErr(first, err)
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return float64(n) / time.Since(start).Seconds(), first
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}
