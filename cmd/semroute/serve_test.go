package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/semroute/semroute/embed/local/localtest"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestServeDemo is what `make run` starts: the demo intents routed at once,
// chat completions answering 503 with the variable to set, and a clean
// stop.
func TestServeDemo(t *testing.T) {
	localtest.Open(t)
	t.Setenv("FAST_KEY", "")
	t.Setenv("STRONG_KEY", "")
	ctx, cancel := context.WithCancel(context.Background())
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--config", demoConfig(t), "--addr", "127.0.0.1:0"}, strings.NewReader(""), io.Discard, &stderr)
	}()
	addrRE := regexp.MustCompile(`listening on (http://[0-9.:]+)`)
	var base string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := addrRE.FindStringSubmatch(stderr.String()); m != nil {
			if resp, err := http.Get(m[1] + "/readyz"); err == nil && resp.StatusCode == 200 {
				resp.Body.Close()
				base = m[1]
				break
			}
		}
	}
	if base == "" {
		cancel()
		t.Fatalf("the service did not become ready:\n%s", stderr.String())
	}
	resp, err := http.Post(base+"/v1/route", "application/json", strings.NewReader(`{"input":"I forgot my password"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"intent":"account_access"`) {
		t.Errorf("/v1/route: %d %s", resp.StatusCode, body)
	}
	resp, err = http.Post(base+"/v1/chat/completions", "application/json", strings.NewReader(`{"model":"auto","messages":[{"role":"user","content":"I forgot my password"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || !strings.Contains(string(body), "FAST_KEY") {
		t.Errorf("chat without upstream keys: %d %s", resp.StatusCode, body)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("serve exited %d after the stop:\n%s", code, stderr.String())
	}
	if strings.Contains(stderr.String(), "forgot my password") {
		t.Errorf("the log holds prompt text:\n%s", stderr.String())
	}
}
