package main

import (
	"context"
	"os"
	"os/signal"
	"regexp"
	"strconv"
	"syscall"
	"testing"

	"github.com/semroute/semroute/embed/local/localtest"
)

// TestMain lets a test run this test binary as semroute itself, as a child
// process (selfExe): with SEMROUTE_TEST_MAIN=1 it runs the command line.
func TestMain(m *testing.M) {
	if os.Getenv("SEMROUTE_TEST_MAIN") == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	selfExe = func() (string, []string, error) {
		exe, err := os.Executable()
		return exe, []string{"SEMROUTE_TEST_MAIN=1"}, err
	}
	os.Exit(m.Run())
}

// TestBenchSoak runs the soak for a few seconds against its child service
// and checks its plumbing: every request answered, samples of the child's
// memory reported, the summary printed.
func TestBenchSoak(t *testing.T) {
	localtest.Open(t)
	code, out, errs := semroute(t, "", "bench", "soak", "--rate", "100", "--duration", "3s", "--every", "1s")
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, errs, out)
	}
	if !regexp.MustCompile(`answered 200: 300; failed: 0`).MatchString(out) {
		t.Errorf("want 300 requests answered and none failed:\n%s", out)
	}
	// A sample line: time, rate, failures, then rss, anon, live, heap, held
	// and limit in MB, goroutines and open files.
	sample := regexp.MustCompile(`(?m)^\s+\d+s\s+\d+\s+0\s+([\d.]+)\s+[\d.]+\s+([\d.]+)\s+[\d.]+\s+[\d.]+\s+256\s+(\d+)\s+(\d+)$`)
	lines := sample.FindAllStringSubmatch(out, -1)
	if len(lines) < 2 {
		t.Fatalf("%d sample lines, want one a second at least twice:\n%s", len(lines), out)
	}
	for _, l := range lines {
		rss, _ := strconv.ParseFloat(l[1], 64)
		live, _ := strconv.ParseFloat(l[2], 64)
		gor, _ := strconv.Atoi(l[3])
		fds, _ := strconv.Atoi(l[4])
		if rss <= 0 || live <= 0 || gor <= 0 || fds <= 0 {
			t.Errorf("a sample with a zero reading (rss %v MB, live %v MB, goroutines %d, files %d): %q", rss, live, gor, fds, l[0])
		}
	}
	if !regexp.MustCompile(`latency from the scheduled send, every request: p50 \S+, p99 \S+`).MatchString(out) {
		t.Errorf("no latency line:\n%s", out)
	}
}
