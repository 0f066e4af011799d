package main

import (
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/semroute/semroute/embed/local/localtest"
)

// TestServeMemoryLimit: serve sets server.memory_limit_mb as Go's memory
// limit, GOMEMLIMIT in its environment wins over it, and the deprecated
// gc_floor_mb draws a warning. Real processes, as the runtime reads
// GOMEMLIMIT when a process starts.
func TestServeMemoryLimit(t *testing.T) {
	localtest.Open(t)
	for _, tc := range []struct {
		name, env, want string
	}{
		{"config", "GOMEMLIMIT=", "go_gc_gomemlimit_bytes 3.145728e+08"}, // 300 MiB
		{"GOMEMLIMIT wins", "GOMEMLIMIT=200MiB", "go_gc_gomemlimit_bytes 2.097152e+08"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := demoConfig(t)
			os.WriteFile(cfg, append(mustRead(t, cfg), "server: {memory_limit_mb: 300, gc_floor_mb: 64}\n"...), 0o644)
			_, err, log := serveChild(t, cfg, tc.env)
			if err != nil {
				t.Fatalf("serve exited (%v):\n%s", err, log)
			}
			if !strings.Contains(log.String(), "server.gc_floor_mb is deprecated and ignored") {
				t.Errorf("no warning about gc_floor_mb:\n%s", log)
			}
			base := regexp.MustCompile(`listening on (http://[0-9.:]+)`).FindStringSubmatch(log.String())[1]
			// The limit is set, and logged, once the router is loaded.
			waitFor(t, func() bool { return strings.Contains(log.String(), `msg="memory limit"`) })
			metrics := get(t, base+"/metrics")
			if !strings.Contains(metrics, tc.want) {
				m := regexp.MustCompile(`(?m)^go_gc_gomemlimit_bytes .*$`).FindString(metrics)
				t.Errorf("%s, want %s", m, tc.want)
			}
		})
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// waitFor polls ok until it holds, for a minute at most.
func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if ok() {
			return
		}
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
