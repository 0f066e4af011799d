package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/semroute/semroute/router"
)

// fake is an OpenAI-compatible upstream whose answers a test scripts.
type fake struct {
	*httptest.Server
	hits   atomic.Int64
	mu     sync.Mutex
	bodies []map[string]json.RawMessage
	// next answers request n (1-based); nil answers OK.
	next func(n int64, w http.ResponseWriter) bool
}

func newFake(t testing.TB, name string, next func(n int64, w http.ResponseWriter) bool) *fake {
	f := &fake{next: next}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := f.hits.Add(1)
		var body map[string]json.RawMessage
		json.NewDecoder(r.Body).Decode(&body)
		f.mu.Lock()
		f.bodies = append(f.bodies, body)
		f.mu.Unlock()
		if f.next != nil && f.next(n, w) {
			return
		}
		if string(body["stream"]) == "true" {
			w.Header().Set("Content-Type", "text/event-stream")
			for _, part := range []string{"answer ", "from ", name} {
				fmt.Fprintf(w, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":%q}}]}\n\n", part)
			}
			fmt.Fprint(w, "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":5}}\n\ndata: [DONE]\n\n")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"answer from %s"},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":5}}`, name)
	}))
	t.Cleanup(f.Close)
	return f
}

func testPool(t *testing.T, cfg *router.Config) (*Pool, *[]time.Duration, *time.Time) {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	p := NewPool(cfg, nil, os.LookupEnv)
	var slept []time.Duration
	now := time.Unix(1_000_000, 0)
	p.sleep = func(_ context.Context, d time.Duration) error { slept = append(slept, d); now = now.Add(d); return nil }
	p.jitter = func() float64 { return 1 }
	p.nowFunc = func() time.Time { return now }
	return p, &slept, &now
}

func config(models ...router.Model) *router.Config {
	cfg := router.Default()
	cfg.Models = models
	cfg.Intents = nil
	c, _ := router.Parse([]byte("version: 1\nintents: [{name: x, utterances: [hello], target: {handoff: q}}]\nfallback: {handoff: q}\n"), "t.yaml")
	c.Models = models
	for i := range c.Models {
		c.Models[i].Provider, c.Models[i].Balance, c.Models[i].TimeoutMS = "openai", "weight", 5000
	}
	return c
}

func chatReq(extra string) *Request {
	var body map[string]json.RawMessage
	json.Unmarshal([]byte(`{"model":"auto","messages":[{"role":"user","content":"hi"}]`+extra+`}`), &body)
	return &Request{Body: body, Messages: []Message{{Role: "user", Content: "hi"}}}
}

func TestPassThroughAndCost(t *testing.T) {
	up := newFake(t, "a", nil)
	cfg := config(router.Model{Name: "a", BaseURL: up.URL, Model: "small-1", Price: router.Price{Input: 1, Output: 2}})
	p, _, _ := testPool(t, cfg)
	res, err := p.Call(context.Background(), []string{"a"}, chatReq(`,"seed":7,"x_vendor":{"k":[1,2]}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := up.bodies[0]
	if string(got["model"]) != `"small-1"` || string(got["seed"]) != "7" || string(got["x_vendor"]) != `{"k":[1,2]}` {
		t.Errorf("upstream got %s", got)
	}
	if want := (10*1.0 + 5*2.0) / 1e6; res.Cost != want || res.Usage.PromptTokens != 10 || !strings.Contains(string(res.Body), "answer from a") {
		t.Errorf("result %+v, want cost %v", res, want)
	}
}

func TestRetryHonoursRetryAfter(t *testing.T) {
	up := newFake(t, "a", func(n int64, w http.ResponseWriter) bool {
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return true
		}
		return false
	})
	p, slept, _ := testPool(t, config(router.Model{Name: "a", BaseURL: up.URL, Model: "m"}))
	res, err := p.Call(context.Background(), []string{"a"}, chatReq(""), nil)
	if err != nil || res.Attempts != 2 {
		t.Fatalf("res %+v, err %v", res, err)
	}
	if len(*slept) != 1 || (*slept)[0] != time.Second {
		t.Errorf("slept %v, want the Retry-After's 1s once", *slept)
	}
}

func TestBackoffGrowsAndIsBounded(t *testing.T) {
	up := newFake(t, "a", func(n int64, w http.ResponseWriter) bool { w.WriteHeader(http.StatusBadGateway); return true })
	cfg := config(router.Model{Name: "a", BaseURL: up.URL, Model: "m"})
	cfg.Upstream.Retries = new(4)
	cfg.Upstream.BackoffMS, cfg.Upstream.MaxBackoffMS, cfg.Upstream.BreakerFailures = 100, 300, 100
	p, slept, _ := testPool(t, cfg)
	_, err := p.Call(context.Background(), []string{"a"}, chatReq(""), nil)
	var ue *Error
	if !errors.As(err, &ue) || ue.Kind != KindServer || ue.Status != http.StatusBadGateway {
		t.Fatalf("err %v", err)
	}
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond, 300 * time.Millisecond}
	if fmt.Sprint(*slept) != fmt.Sprint(want) || up.hits.Load() != 5 {
		t.Errorf("slept %v (want %v), %d hits (want 5)", *slept, want, up.hits.Load())
	}
}

func TestNoRetryOnClientError(t *testing.T) {
	a := newFake(t, "a", func(n int64, w http.ResponseWriter) bool {
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"error":{"message":"bad temperature","type":"invalid_request_error"}}`)
		return true
	})
	b := newFake(t, "b", nil)
	p, _, _ := testPool(t, config(router.Model{Name: "a", BaseURL: a.URL, Model: "m"}, router.Model{Name: "b", BaseURL: b.URL, Model: "m"}))
	_, err := p.Call(context.Background(), []string{"a", "b"}, chatReq(""), nil)
	var ue *Error
	if !errors.As(err, &ue) || ue.Kind != KindClient || !strings.Contains(string(ue.Body), "bad temperature") {
		t.Fatalf("err %v", err)
	}
	if a.hits.Load() != 1 || b.hits.Load() != 0 {
		t.Errorf("hits a %d b %d: a 400 must be neither retried nor sent to the fallback", a.hits.Load(), b.hits.Load())
	}
}

func TestFallbackAndBreaker(t *testing.T) {
	a := newFake(t, "a", func(n int64, w http.ResponseWriter) bool { w.WriteHeader(http.StatusInternalServerError); return true })
	b := newFake(t, "b", nil)
	cfg := config(router.Model{Name: "a", BaseURL: a.URL, Model: "m"}, router.Model{Name: "b", BaseURL: b.URL, Model: "m"})
	cfg.Upstream.Retries = new(1)
	cfg.Upstream.BreakerFailures, cfg.Upstream.BreakerCooldownMS = 4, 10_000
	p, _, now := testPool(t, cfg)
	for i := range 5 {
		res, err := p.Call(context.Background(), []string{"a", "b"}, chatReq(""), nil)
		if err != nil || res.Model != "b" {
			t.Fatalf("call %d: %+v %v", i, res, err)
		}
	}
	// Two attempts a call; the breaker opened after the fourth failure.
	if a.hits.Load() != 4 {
		t.Errorf("a was tried %d times, want 4: the open breaker must keep calls away", a.hits.Load())
	}
	*now = now.Add(11 * time.Second) // cooldown over: one trial
	p.Call(context.Background(), []string{"a", "b"}, chatReq(""), nil)
	if a.hits.Load() != 5 {
		t.Errorf("after the cooldown a was tried %d times in all, want one trial (5)", a.hits.Load())
	}
}

func TestWeightedDeployments(t *testing.T) {
	a, b := newFake(t, "a", nil), newFake(t, "b", nil)
	cfg := config(router.Model{Name: "m", Model: "m", Deployments: []router.Deployment{{BaseURL: a.URL, Weight: 3}, {BaseURL: b.URL, Weight: 1}}})
	p, _, _ := testPool(t, cfg)
	for range 400 {
		if _, err := p.Call(context.Background(), []string{"m"}, chatReq(""), nil); err != nil {
			t.Fatal(err)
		}
	}
	if a.hits.Load() != 300 || b.hits.Load() != 100 {
		t.Errorf("weights 3:1 gave %d:%d", a.hits.Load(), b.hits.Load())
	}
}

func TestLeastInFlight(t *testing.T) {
	release := make(chan struct{})
	slow := newFake(t, "slow", func(n int64, w http.ResponseWriter) bool {
		if n == 1 {
			<-release // only the first request to slow is held
		}
		return false
	})
	fast := newFake(t, "fast", nil)
	cfg := config(router.Model{Name: "m", Model: "m", Deployments: []router.Deployment{{BaseURL: slow.URL}, {BaseURL: fast.URL}}})
	cfg.Models[0].Balance = "least_in_flight"
	p, _, _ := testPool(t, cfg)
	var wg sync.WaitGroup
	for slow.hits.Load() == 0 { // calls until one is held on slow
		wg.Go(func() { p.Call(context.Background(), []string{"m"}, chatReq(""), nil) })
		time.Sleep(10 * time.Millisecond)
	}
	before := fast.hits.Load()
	for range 10 {
		if _, err := p.Call(context.Background(), []string{"m"}, chatReq(""), nil); err != nil {
			t.Fatal(err)
		}
	}
	if slow.hits.Load() != 1 || fast.hits.Load()-before != 10 {
		t.Errorf("with one request in flight on slow, slow got %d and fast %d of the next 10", slow.hits.Load()-1, fast.hits.Load()-before)
	}
	close(release)
	wg.Wait()
}

// recorder is a Stream for tests.
type recorder struct {
	strings.Builder
	model string
}

func (r *recorder) Attempting(m string)  { r.model = m }
func (r *recorder) Started() bool        { return r.Len() > 0 }
func (r *recorder) Write(p []byte) error { r.Builder.Write(p); return nil }

func TestStreamFallsBackOnlyBeforeTheFirstByte(t *testing.T) {
	broken := newFake(t, "broken", func(n int64, w http.ResponseWriter) bool {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"half \"}}]}\n\n")
		w.(http.Flusher).Flush()
		hj, _, _ := w.(http.Hijacker).Hijack() // drop the connection mid-stream
		hj.Close()
		return true
	})
	down := newFake(t, "down", func(n int64, w http.ResponseWriter) bool { w.WriteHeader(http.StatusServiceUnavailable); return true })
	ok := newFake(t, "ok", nil)
	cfg := config(router.Model{Name: "broken", BaseURL: broken.URL, Model: "m"}, router.Model{Name: "down", BaseURL: down.URL, Model: "m"},
		router.Model{Name: "ok", BaseURL: ok.URL, Model: "m"})
	cfg.Upstream.Retries = new(0)
	p, _, _ := testPool(t, cfg)
	req := chatReq(`,"stream":true`)
	req.Stream = true

	var r recorder
	res, err := p.Call(context.Background(), []string{"down", "ok"}, req, &r)
	if err != nil || res.Model != "ok" || !strings.Contains(r.String(), "from ") || !strings.HasSuffix(r.String(), "data: [DONE]\n\n") || res.Usage.CompletionTokens != 5 {
		t.Errorf("fallback before the first byte: %+v %v\n%s", res, err, r.String())
	}
	var r2 recorder
	_, err = p.Call(context.Background(), []string{"broken", "ok"}, req, &r2)
	var ue *Error
	if !errors.As(err, &ue) || ue.Kind != KindStream || !r2.Started() || ok.hits.Load() != 1 {
		t.Errorf("a stream broken after its first byte must fail, not fall back: err %v, started %v, ok hits %d", err, r2.Started(), ok.hits.Load())
	}
}

func TestUnconfiguredModel(t *testing.T) {
	up := newFake(t, "a", nil)
	cfg := config(router.Model{Name: "a", BaseURL: up.URL, Model: "m", APIKeyEnv: "SEMROUTE_TEST_UNSET_KEY"})
	p, _, _ := testPool(t, cfg)
	_, err := p.Call(context.Background(), []string{"a"}, chatReq(""), nil)
	var ue *Error
	if !errors.As(err, &ue) || ue.Kind != KindUnconfigured || !strings.Contains(err.Error(), "SEMROUTE_TEST_UNSET_KEY") || up.hits.Load() != 0 {
		t.Errorf("err %v", err)
	}
}

func TestTimeoutFallsBack(t *testing.T) {
	hang := newFake(t, "hang", func(n int64, w http.ResponseWriter) bool { time.Sleep(300 * time.Millisecond); return false })
	ok := newFake(t, "ok", nil)
	cfg := config(router.Model{Name: "hang", BaseURL: hang.URL, Model: "m"}, router.Model{Name: "ok", BaseURL: ok.URL, Model: "m"})
	cfg.Models[0].TimeoutMS = 50
	cfg.Upstream.Retries = new(0)
	p, _, _ := testPool(t, cfg)
	res, err := p.Call(context.Background(), []string{"hang", "ok"}, chatReq(""), nil)
	if err != nil || res.Model != "ok" {
		t.Errorf("%+v %v", res, err)
	}
}

func TestLatencyBalance(t *testing.T) {
	slow := newFake(t, "slow", func(n int64, w http.ResponseWriter) bool { time.Sleep(20 * time.Millisecond); return false })
	fast := newFake(t, "fast", nil)
	cfg := config(router.Model{Name: "m", Model: "m", Deployments: []router.Deployment{{BaseURL: slow.URL}, {BaseURL: fast.URL}}})
	cfg.Models[0].Balance = "latency"
	p, _, _ := testPool(t, cfg)
	p.nowFunc = time.Now // latency needs the real clock
	for range 20 {
		if _, err := p.Call(context.Background(), []string{"m"}, chatReq(""), nil); err != nil {
			t.Fatal(err)
		}
	}
	// Each is tried once to measure it; then the faster takes the rest.
	if slow.hits.Load() != 1 || fast.hits.Load() != 19 {
		t.Errorf("slow %d, fast %d", slow.hits.Load(), fast.hits.Load())
	}
}

func TestUpstreamBodySplicesOrMarshals(t *testing.T) {
	raw := []byte(`{"model" : "auto", "messages":[{"role":"user","content":"say \"model\": x"}],"seed":1}`)
	req := chatReq("")
	json.Unmarshal(raw, &req.Body)
	req.Raw = raw
	got, err := upstreamBody(req, "small-1")
	if err != nil || string(got) != `{"model" : "small-1", "messages":[{"role":"user","content":"say \"model\": x"}],"seed":1}` {
		t.Errorf("splice: %s %v", got, err)
	}
	// A second "model" key (in a nested schema) means no splice: marshal.
	raw2 := []byte(`{"model":"auto","response_format":{"json_schema":{"properties":{"model":{"type":"string"}}}},"messages":[]}`)
	req2 := chatReq("")
	json.Unmarshal(raw2, &req2.Body)
	req2.Raw = raw2
	got, _ = upstreamBody(req2, "small-1")
	var back map[string]json.RawMessage
	json.Unmarshal(got, &back)
	if string(back["model"]) != `"small-1"` || !strings.Contains(string(back["response_format"]), `"model":{"type":"string"}`) {
		t.Errorf("marshal: %s", got)
	}
	if u := usageIn([]byte(`{"choices":[{"message":{"content":"the \"usage\" is"}}],"usage":{"prompt_tokens":3,"completion_tokens":4}}`)); u.PromptTokens != 3 || u.CompletionTokens != 4 {
		t.Errorf("usage %+v", u)
	}
	if u := usageIn([]byte(`{"choices":[]}`)); u != (Usage{}) {
		t.Errorf("no usage: %+v", u)
	}
	// Nested objects, braces and escaped quotes inside strings, spaces.
	nested := `{"usage" : {"prompt_tokens":5,"completion_tokens":6,"prompt_tokens_details":{"cached_tokens":1},"note":"a } and a \" {"},"id":"x"}`
	if u := usageIn([]byte(nested)); u.PromptTokens != 5 || u.CompletionTokens != 6 {
		t.Errorf("nested usage %+v", u)
	}
	for _, b := range []string{`{"a":1}`, `{"a":"}"}`, `{"a":{"b":"\\"}}`} {
		if n := objectEnd([]byte(b + ` tail`)); n != len(b) {
			t.Errorf("objectEnd(%s tail) = %d, want %d", b, n, len(b))
		}
	}
	for _, b := range []string{``, `[1]`, `{"a":1`, `{"a":"}`} {
		if n := objectEnd([]byte(b)); n != 0 {
			t.Errorf("objectEnd(%s) = %d, want 0", b, n)
		}
	}
}
