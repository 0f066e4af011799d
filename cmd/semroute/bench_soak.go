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
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/semroute/semroute/embed/local"
	"github.com/semroute/semroute/router"
)

// selfExe returns the program that runs semroute as a child process and
// what to add to its environment; tests swap it for their own binary.
var selfExe = func() (string, []string, error) {
	exe, err := os.Executable()
	return exe, nil, err
}

// runBenchSoak runs `semroute serve` as a child process in front of a mock
// upstream on loopback and sends it chat completions at a fixed rate from
// an open-loop generator (each request leaves at its scheduled time whether
// or not earlier ones have been answered, and its latency counts from that
// time), reporting the child's memory, goroutines and open files every
// --every and the failures and latency at the end. The generator, the mock
// and the service share this machine's cores.
func runBenchSoak(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench soak", stderr)
	rate := fs.Int("rate", 2000, "requests per second, sent open-loop")
	duration := fs.Duration("duration", 10*time.Minute, "how long to send")
	every := fs.Duration("every", 10*time.Second, "report the service's memory, goroutines and open files this often")
	nIntents := fs.Int("intents", 12, "synthetic intents routed over (the demo's size)")
	per := fs.Int("per", 11, "utterances per intent")
	limitMB := fs.Int("memory-limit-mb", -1, "the service's server.memory_limit_mb (default: the config's default)")
	maxInFlight := fs.Int("max-in-flight", 0, "requests in flight at most; one due beyond it is counted as a failure (generator) (default: 30 s of requests)")
	conns := fs.Int("conns", 1024, "connections to the service at most, as a load balancer in front would hold; requests beyond wait for one")
	timeout := fs.Duration("timeout", 30*time.Second, "a request not answered within this, from its scheduled send, fails")
	vectors := fs.String("vectors", "", "the vectors file (default: the cache directory)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *maxInFlight == 0 {
		*maxInFlight = *rate * 30
	}
	if *rate < 1 || *duration <= 0 || *every <= 0 || *nIntents < 2 || *per < 1 || *maxInFlight < 1 || *conns < 1 || *timeout <= 0 {
		return usageError{errors.New("want --rate ≥ 1, --duration, --every and --timeout > 0, --intents ≥ 2, --per ≥ 1, --max-in-flight ≥ 1, --conns ≥ 1")}
	}
	emb, err := local.Open(vectorsPath(*vectors))
	if err != nil {
		return err
	}
	cfg := router.Synthetic(emb.Word, *nIntents, *per, 1)
	emb.Close()
	mockURL, stopMock, err := startMock()
	if err != nil {
		return err
	}
	defer stopMock()
	dir, err := os.MkdirTemp("", "semroute-soak-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, soakConfig(cfg, dir, mockURL, *vectors, *limitMB), 0o644); err != nil {
		return err
	}
	svc, err := startChild(ctx, cfgPath)
	if err != nil {
		return err
	}
	defer svc.stop()
	fmt.Fprintf(stdout, "semroute bench soak: %d requests/s open-loop for %v to `semroute serve` (pid %d, child process) routing over %d intents × %d utterances to a mock upstream on loopback\n",
		*rate, *duration, svc.pid, *nIntents, *per)
	fmt.Fprintf(stdout, "a request fails on any status but 200, an error, or no answer within %v of its scheduled send; at most %d connections and %d requests in flight\n", *timeout, *conns, *maxInFlight)
	g := newLoadGen(svc.url, cfg, *maxInFlight, *conns, *timeout, int64(*rate)*int64(duration.Seconds()+1))
	return soak(ctx, g, svc, *rate, *duration, *every, stdout)
}

// soak drives g, samples svc every interval, and prints the summary; it
// returns an error when any request failed or the service died.
func soak(ctx context.Context, g *loadGen, svc *child, rate int, duration, every time.Duration, stdout io.Writer) error {
	fmt.Fprintf(stdout, "\n%8s %9s %7s %8s %8s %8s %8s %8s %8s %6s %5s\n", "t", "sent/s", "failed", "rss_mb", "anon_mb", "live_mb", "heap_mb", "goheld_mb", "limit_mb", "gorout", "fds")
	var samples []soakSample
	done := make(chan struct{})
	go func() { g.run(ctx, rate, duration); close(done) }()
	tick := time.NewTicker(every)
	defer tick.Stop()
	start, lastSent, lastAt := time.Now(), int64(0), time.Time{}
	report := func() error {
		if time.Since(lastAt) < every/4 {
			return nil // the run ended just after a sample
		}
		lastAt = time.Now()
		s, err := svc.sample()
		if err != nil {
			return err
		}
		samples = append(samples, s)
		sent := g.sent.Load()
		fmt.Fprintf(stdout, "%8s %9.0f %7d %8.1f %8.1f %8.1f %8.1f %9.1f %8.0f %6d %5d\n", time.Since(start).Round(time.Second), float64(sent-lastSent)/every.Seconds(), g.failed.Load(),
			mb(s.rss), mb(s.anon), mb(s.live), mb(s.heap), mb(s.held), mb(s.limit), s.goroutines, s.fds)
		lastSent = sent
		return nil
	}
	for running := true; running; {
		select {
		case <-tick.C:
		case <-done:
			running = false
		}
		if err := report(); err != nil {
			<-done
			return fmt.Errorf("sample the service: %w (its last log lines: %s)", err, svc.tail())
		}
	}
	g.wait()
	return summarize(stdout, g, samples, svc)
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

// summarize prints the failures by status, the latency and the peaks of the
// samples.
func summarize(w io.Writer, g *loadGen, samples []soakSample, svc *child) error {
	lat := g.latencies()
	fmt.Fprintf(w, "\nsent %d requests in %v (%.0f/s); answered 200: %d; failed: %d", g.sent.Load(), g.took.Round(time.Millisecond),
		float64(g.sent.Load())/g.took.Seconds(), len(lat)-int(g.failed.Load()), g.failed.Load())
	if late := g.late.Load(); late > 0 {
		fmt.Fprintf(w, "; %d sent more than 10 ms behind schedule (the generator fell behind; max %v)", late, time.Duration(g.maxLag.Load()).Round(time.Millisecond))
	}
	fmt.Fprintln(w)
	for _, k := range slices.Sorted(mapKeys(g.statuses)) {
		fmt.Fprintf(w, "  failures %s: %d\n", k, g.statuses[k])
	}
	if n := len(lat); n > 0 {
		q := func(p float64) time.Duration { return lat[min(n-1, int(p*float64(n)))] }
		fmt.Fprintf(w, "latency from the scheduled send, every request: p50 %v, p99 %v, p99.9 %v, max %v\n",
			q(0.50).Round(time.Microsecond), q(0.99).Round(time.Microsecond), q(0.999).Round(time.Microsecond), lat[n-1].Round(time.Microsecond))
	}
	var peak soakSample
	for _, s := range samples {
		peak.rss, peak.anon, peak.live = max(peak.rss, s.rss), max(peak.anon, s.anon), max(peak.live, s.live)
		peak.heap, peak.held, peak.goroutines, peak.fds = max(peak.heap, s.heap), max(peak.held, s.held), max(peak.goroutines, s.goroutines), max(peak.fds, s.fds)
	}
	fmt.Fprintf(w, "peaks over %d samples: rss %.1f MB (anonymous %.1f), live heap %.1f MB, heap %.1f MB, held by Go %.1f MB, goroutines %d, open files %d\n",
		len(samples), mb(peak.rss), mb(peak.anon), mb(peak.live), mb(peak.heap), mb(peak.held), peak.goroutines, peak.fds)
	if len(samples) > 0 {
		s := samples[len(samples)-1]
		fmt.Fprintf(w, "memory limit %.0f MB (GOGC %d)\n", mb(s.limit), s.gogc)
	}
	if f := g.failed.Load(); f > 0 {
		return fmt.Errorf("%d of %d requests failed (the service's last log lines: %s)", f, g.sent.Load(), svc.tail())
	}
	return nil
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// startMock starts the mock upstream on loopback and returns its base URL.
func startMock() (string, func(), error) {
	mock := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, mockAnswer)
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	go mock.Serve(ln)
	return "http://" + ln.Addr().String() + "/v1", func() { mock.Close() }, nil
}

// soakConfig is the child's config: cfg's intents, all to the mock.
func soakConfig(cfg *router.Config, dir, mockURL, vectors string, limitMB int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "version: 1\nembedder: {kind: local, path: %s}\nindex: {kind: memory, data_dir: %s}\n", strconv.Quote(vectors), strconv.Quote(filepath.Join(dir, "data")))
	fmt.Fprintf(&b, "models:\n  - {name: mock, base_url: %s, model: mock-1, price: {input: 0.15, output: 0.6}, timeout_ms: 10000}\n", mockURL)
	b.WriteString("server: {addr: \"127.0.0.1:0\"")
	if limitMB >= 0 {
		fmt.Fprintf(&b, ", memory_limit_mb: %d", limitMB)
	}
	b.WriteString("}\nfallback: {model: mock}\nintents:\n")
	for _, in := range cfg.Intents {
		fmt.Fprintf(&b, "  - name: %s\n    target: {model: mock}\n    utterances:\n", strconv.Quote(in.Name))
		for _, u := range in.Utterances {
			fmt.Fprintf(&b, "      - %s\n", strconv.Quote(u))
		}
	}
	return b.Bytes()
}

// child is `semroute serve` running as a child process.
type child struct {
	cmd    *exec.Cmd
	pid    int
	url    string // the service's base URL
	mu     sync.Mutex
	last   []string // its last log lines
	waited chan error
}

// startChild starts `semroute serve --config cfgPath` and waits until its
// readyz answers 200.
func startChild(ctx context.Context, cfgPath string) (*child, error) {
	exe, env, err := selfExe()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "serve", "--config", cfgPath)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the service: %w", err)
	}
	c := &child{cmd: cmd, pid: cmd.Process.Pid, waited: make(chan error, 1)}
	addr := make(chan string, 1)
	go c.readLog(errPipe, addr)
	go func() { c.waited <- cmd.Wait() }()
	select {
	case a := <-addr:
		c.url = "http://" + a
	case err := <-c.waited:
		return nil, fmt.Errorf("the service exited at start (%v): %s", err, c.tail())
	case <-time.After(2 * time.Minute):
		c.stop()
		return nil, fmt.Errorf("the service did not start listening within 2 minutes: %s", c.tail())
	}
	for {
		resp, err := http.Get(c.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return c, nil
			}
		}
		select {
		case err := <-c.waited:
			return nil, fmt.Errorf("the service exited while loading (%v): %s", err, c.tail())
		case <-ctx.Done():
			c.stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// readLog reads the child's log, sends the address it listens on, and
// keeps the last lines for error messages.
func (c *child) readLog(r io.Reader, addr chan<- string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	const marker = "listening on http://"
	for sc.Scan() {
		line := sc.Text()
		if i := strings.Index(line, marker); i >= 0 {
			a, _, _ := strings.Cut(line[i+len(marker):], " ")
			select {
			case addr <- a:
			default:
			}
		}
		if strings.Contains(line, "level=INFO msg=request ") {
			continue // one a request: not what a failure needs
		}
		c.mu.Lock()
		c.last = append(c.last, line)
		if len(c.last) > 10 {
			c.last = c.last[1:]
		}
		c.mu.Unlock()
	}
}

func (c *child) tail() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.last, "\n")
}

// stop sends SIGTERM, then kills after 20 s.
func (c *child) stop() {
	c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.waited:
	case <-time.After(20 * time.Second):
		c.cmd.Process.Kill()
		<-c.waited
	}
}
