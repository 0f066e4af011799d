package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/semroute/semroute/router/config"
)

// loadGen sends chat completions open-loop: request i leaves at start +
// i/rate whatever happened to the earlier ones, and its latency counts from
// then, so a slow answer does not hide the requests that would have
// queued behind it.
type loadGen struct {
	url    string
	client *http.Client
	bodies [][]byte
	slots  chan struct{} // bounds the requests in flight
	// timeout bounds a request from its scheduled send.
	timeout time.Duration
	inner   sync.WaitGroup

	sent, failed, late, maxLag atomic.Int64
	took                       time.Duration

	mu       sync.Mutex
	lat      []time.Duration
	statuses map[string]int // failures by status or error
}

func newLoadGen(base string, cfg *config.Config, maxInFlight, conns int, timeout time.Duration, expected int64) *loadGen {
	g := &loadGen{url: base + "/v1/chat/completions", slots: make(chan struct{}, maxInFlight), statuses: map[string]int{},
		lat: make([]time.Duration, 0, min(expected, 50_000_000))}
	for i, in := range cfg.Intents {
		for j, u := range in.Utterances {
			if j%3 == i%3 {
				g.bodies = append(g.bodies, fmt.Appendf(nil, `{"model":"auto","messages":[{"role":"user","content":%q}]}`, u+" please"))
			}
		}
	}
	// Keep-alive connections, at most conns, as a load balancer in front
	// would hold; a request waits for one when all are busy, and that wait
	// counts in its latency.
	g.timeout = timeout
	g.client = &http.Client{Transport: &http.Transport{
		MaxConnsPerHost: conns, MaxIdleConns: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: time.Minute,
		DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext}}
	return g
}

// run sends rate requests a second for d, then returns; wait waits for
// the answers.
func (g *loadGen) run(ctx context.Context, rate int, d time.Duration) {
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	n := int64(d / interval)
	for i := int64(0); i < n && ctx.Err() == nil; i++ {
		due := start.Add(time.Duration(i) * interval)
		if wait := time.Until(due); wait > 0 {
			time.Sleep(wait)
		} else if lag := -wait; lag > 10*time.Millisecond {
			g.late.Add(1)
			if lag > time.Duration(g.maxLag.Load()) {
				g.maxLag.Store(int64(lag))
			}
		}
		g.sent.Add(1)
		select {
		case g.slots <- struct{}{}:
		default:
			g.record(due, fmt.Sprintf("generator: %d requests in flight already", cap(g.slots)))
			continue
		}
		g.inner.Add(1)
		go g.send(due, g.bodies[i%int64(len(g.bodies))])
	}
	g.took = time.Since(start)
}

func (g *loadGen) wait() { g.inner.Wait() }

func (g *loadGen) send(due time.Time, body []byte) {
	defer g.inner.Done()
	defer func() { <-g.slots }()
	ctx, cancel := context.WithDeadline(context.Background(), due.Add(g.timeout))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.url, bytes.NewReader(body))
	if err != nil {
		g.record(due, "error: "+err.Error())
		return
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := g.client.Do(req)
	if err != nil {
		g.record(due, "error: "+errorKind(err))
		return
	}
	answer, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	switch {
	case err != nil:
		g.record(due, "error reading the answer: "+errorKind(err))
	case resp.StatusCode != http.StatusOK:
		g.record(due, "HTTP "+strconv.Itoa(resp.StatusCode))
	case !bytes.Contains(answer, []byte(`"choices"`)):
		g.record(due, "HTTP 200 without choices")
	default:
		g.record(due, "")
	}
}

// errorKind shortens a client error to what tells failures apart.
func errorKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed"
	}
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		s = s[i+2:]
	}
	return s
}

// record notes a request's latency, and its failure unless failure is "".
func (g *loadGen) record(due time.Time, failure string) {
	d := time.Since(due)
	if failure != "" {
		g.failed.Add(1)
	}
	g.mu.Lock()
	g.lat = append(g.lat, d)
	if failure != "" {
		g.statuses[failure]++
	}
	g.mu.Unlock()
}

// latencies returns every request's latency, sorted.
func (g *loadGen) latencies() []time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	slices.Sort(g.lat)
	return g.lat
}

// soakSample is the service's state at one moment.
type soakSample struct {
	rss, anon        int64 // resident memory: all of it, and the anonymous part (not file pages such as the vectors' mapping)
	live, heap, held int64 // Go: the live heap at the last collection, the heap in use, all the runtime holds from the OS
	limit            int64 // Go's memory limit
	gogc             int
	goroutines, fds  int
}

// sample reads the child's /proc entries and its /metrics.
func (c *child) sample() (soakSample, error) {
	var s soakSample
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.pid))
	if err != nil {
		return s, err
	}
	for line := range strings.Lines(string(status)) {
		k, v, _ := strings.Cut(line, ":")
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			s.rss = kb << 10
		case "RssAnon":
			s.anon = kb << 10
		}
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", c.pid))
	if err != nil {
		return s, err
	}
	s.fds = len(fds)
	m, err := scrape(c.url + "/metrics")
	if err != nil {
		return s, err
	}
	s.live, s.heap = int64(m["go_gc_heap_live_bytes"]), int64(m["go_memstats_heap_alloc_bytes"])
	s.held = int64(m["go_memstats_sys_bytes"] - m["go_memstats_heap_released_bytes"])
	s.limit, s.gogc, s.goroutines = int64(m["go_gc_gomemlimit_bytes"]), int(m["go_gc_gogc_percent"]), int(m["go_goroutines"])
	return s, nil
}

// scrape reads the unlabelled series of a Prometheus text page.
func scrape(url string) (map[string]float64, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: HTTP %d", url, resp.StatusCode)
	}
	m := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, v, ok := strings.Cut(sc.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") || strings.Contains(name, "{") {
			continue
		}
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			m[name] = f
		}
	}
	return m, sc.Err()
}
