package gateway

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// metricValue reads one series of the server's metrics, 0 when absent.
func metricValue(t *testing.T, h *harness, series string) float64 {
	t.Helper()
	return metricSum(t, h, series+" ")
}

// metricSum adds the series of the server's metrics whose line starts with
// prefix.
func metricSum(t *testing.T, h *harness, prefix string) float64 {
	t.Helper()
	resp, err := http.Get(h.http.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sum := 0.0
	for sc.Scan() {
		if line, ok := strings.CutPrefix(sc.Text(), prefix); ok {
			f, _ := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
			sum += f
		}
	}
	return sum
}

// TestImpatientClientsLeaveTheModelUp: six clients that give up after
// 50 ms in front of a healthy upstream answering in 300 ms are neither
// retried nor counted against its breaker (5 failures open it); the next,
// patient client gets its answer, and the six are logged as 499.
func TestImpatientClientsLeaveTheModelUp(t *testing.T) {
	h := start(t, "")
	h.strong.setFault(func(n int64, w http.ResponseWriter, r *http.Request) bool {
		select { // a healthy but slow model
		case <-time.After(300 * time.Millisecond):
		case <-r.Context().Done():
		}
		return false
	})
	const body = `{"model":"strong","messages":[{"role":"user","content":"play some jazz"}]}`
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "POST", h.http.URL+"/v1/chat/completions", strings.NewReader(body))
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
				t.Errorf("an impatient client got an answer: %d", resp.StatusCode)
			}
		})
	}
	wg.Wait()
	// The server notices the six are gone on its own time (within the
	// breaker's 10 s cooldown, or the test would prove nothing).
	for deadline := time.Now().Add(5 * time.Second); metricSum(t, h, `semroute_requests_total{route="/v1/chat/completions"`) < 6; {
		if time.Now().After(deadline) {
			t.Fatal("the six requests were not done 5 s after their clients left")
		}
		time.Sleep(10 * time.Millisecond)
	}
	const closed = `semroute_requests_total{route="/v1/chat/completions",status="499"}`
	if got := metricValue(t, h, closed); got != 6 {
		t.Errorf("%s = %v, want the six impatient clients logged as 499", closed, got)
	}
	if n := h.strong.hits.Load(); n != 6 {
		t.Errorf("the upstream saw %d requests from 6 clients that gave up: a cancelled call was retried", n)
	}
	code, hd, out := h.do(t, "POST", "/v1/chat/completions", "", body)
	if code != 200 || hd.Get("x-semroute-model") != "strong" {
		t.Errorf("the patient client after six impatient ones: %d %v", code, out)
	}
	if v := metricValue(t, h, `semroute_upstream_errors_total{kind="connection",model="strong"}`); v != 0 {
		t.Errorf("%v connection errors counted for clients that left", v)
	}
}

// TestStreamClientGoneMidway: a client that leaves mid-stream is logged as
// 499, not counted against the model, and what went out is booked on an
// estimate.
func TestStreamClientGoneMidway(t *testing.T) {
	h := start(t, "budgets: [{name: big, scope: global, window: daily, limit_usd: 100}]\n")
	h.strong.setFault(func(n int64, w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"the first part\"}}]}\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		return true
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", h.http.URL+"/v1/chat/completions",
		strings.NewReader(`{"model":"strong","stream":true,"messages":[{"role":"user","content":"play some jazz"}]}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(resp.Body).ReadString('\n')
	if !strings.Contains(line, "the first part") {
		t.Fatalf("first line %q", line)
	}
	cancel()
	resp.Body.Close()
	const closed = `semroute_requests_total{route="/v1/chat/completions",status="499"}`
	if v := waitMetric(t, h, closed, 1); v != 1 {
		t.Errorf("%s = %v, want 1", closed, v)
	}
	// "play some jazz": 4 + 4 tokens; "the first part": 4 tokens.
	if v := metricValue(t, h, `semroute_spend_usd_total{key="",model="strong",team=""}`); v != (8*10+4*20)/1e6 {
		t.Errorf("booked %v, want the part that went out, estimated at %v", v, (8*10+4*20)/1e6)
	}
	if v := metricSum(t, h, `semroute_upstream_errors_total{`); v != 0 {
		t.Errorf("%v upstream errors counted for a client that left", v)
	}
}
