package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/semroute/semroute/intents"
	"github.com/semroute/semroute/router/config"
	"github.com/semroute/semroute/router/upstream"
)

// startStrongFirst is start with the weather tier led by the expensive
// model, so that a limit that skips it shows.
func startStrongFirst(t *testing.T, extra string) *harness {
	t.Helper()
	h := start(t, extra)
	cfg, err := config.Load(h.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Intents[0].Target.Model = intents.Models{"strong", "fast"} // weather
	if err := h.srv.Load(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	return h
}

// askLimited asks about the weather through the official client, with
// max_tokens 100 and the given metadata and options. The prompt, 21 bytes,
// is 10 estimated tokens: strong (10/20 USD per million) is estimated at
// 0.0021 USD, fast (1/2) at 0.00021.
func askLimited(t *testing.T, h *harness, meta map[string]string, opts ...option.RequestOption) (*http.Response, *openai.ChatCompletion, error) {
	t.Helper()
	var resp *http.Response
	c := h.client("")
	params := openai.ChatCompletionNewParams{
		Model:     "auto",
		Messages:  []openai.ChatCompletionMessageParamUnion{openai.UserMessage("will it rain tomorrow")},
		MaxTokens: openai.Int(100),
	}
	if meta != nil {
		params.Metadata = shared.Metadata(meta)
	}
	out, err := c.Chat.Completions.New(context.Background(), params, append(opts, option.WithResponseInto(&resp))...)
	return resp, out, err
}

func TestCostLimitPicksTheCheapModel(t *testing.T) {
	h := startStrongFirst(t, "")
	cases := []struct {
		name   string
		meta   map[string]string
		opts   []option.RequestOption
		model  string // the model that answers
		header string // x-semroute-limit
	}{
		{"no limit", nil, nil, "strong", ""},
		{"above both", map[string]string{"max_cost_usd": "0.01"}, nil, "strong", ""},
		{"below strong", map[string]string{"max_cost_usd": "0.001", "tag": "kept"}, nil, "fast", "max_cost_usd=0.001;skipped=strong"},
		{"header", nil, []option.RequestOption{option.WithHeader("x-semroute-max-cost", "0.001")}, "fast", "max_cost_usd=0.001;skipped=strong"},
		{"stricter header", map[string]string{"max_cost_usd": "0.01"}, []option.RequestOption{option.WithHeader("x-semroute-max-cost", "0.0015")}, "fast", "max_cost_usd=0.0015;skipped=strong"},
		{"header twice", nil, []option.RequestOption{option.WithHeaderAdd("x-semroute-max-cost", "0.01"), option.WithHeaderAdd("x-semroute-max-cost", "0.0012")}, "fast", "max_cost_usd=0.0012;skipped=strong"},
		{"stricter metadata", map[string]string{"max_cost_usd": "0.0005"}, []option.RequestOption{option.WithHeader("x-semroute-max-cost", "0.01")}, "fast", "max_cost_usd=0.0005;skipped=strong"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fast, strong := h.fast.hits.Load(), h.strong.hits.Load()
			resp, out, err := askLimited(t, h, tc.meta, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if got := resp.Header.Get("x-semroute-model"); got != tc.model || out.Choices[0].Message.Content != "answer from "+tc.model {
				t.Errorf("answered by %s (%q), want %s", got, out.Choices[0].Message.Content, tc.model)
			}
			if got := resp.Header.Get("x-semroute-limit"); got != tc.header {
				t.Errorf("x-semroute-limit %q, want %q", got, tc.header)
			}
			called := map[string]int64{"fast": h.fast.hits.Load() - fast, "strong": h.strong.hits.Load() - strong}
			if called[tc.model] != 1 || called["fast"]+called["strong"] != 1 {
				t.Errorf("upstream calls %v, want one to %s", called, tc.model)
			}
			// The limit is semroute's: it is not sent on, the rest of
			// metadata is.
			u := map[string]*upstreamFake{"fast": h.fast, "strong": h.strong}[tc.model]
			u.mu.Lock()
			meta := string(u.last["metadata"])
			u.mu.Unlock()
			if want := map[bool]string{true: `{"tag":"kept"}`}[tc.meta["tag"] != ""]; meta != want {
				t.Errorf("metadata sent upstream: %q, want %q", meta, want)
			}
		})
	}
}

func TestCostLimitBelowEveryModel(t *testing.T) {
	h := startStrongFirst(t, "")
	for _, opt := range []struct {
		name string
		meta map[string]string
		opts []option.RequestOption
	}{
		{"metadata", map[string]string{"max_cost_usd": "0.0001"}, nil},
		{"header", nil, []option.RequestOption{option.WithHeader("x-semroute-max-cost", "0.0001")}},
	} {
		t.Run(opt.name, func(t *testing.T) {
			_, _, err := askLimited(t, h, opt.meta, opt.opts...)
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("want an API error, got %v", err)
			}
			if apiErr.StatusCode != http.StatusUnprocessableEntity || apiErr.Code != "request_limit" || apiErr.Param != "max_cost_usd" || apiErr.Type != "invalid_request_error" {
				t.Errorf("error %d %s %s %s", apiErr.StatusCode, apiErr.Type, apiErr.Code, apiErr.Param)
			}
			for _, want := range []string{"max_cost_usd 0.0001", "0.00021 USD for fast", "strong (estimated 0.0021 USD)", "fast (estimated 0.00021 USD)"} {
				if !strings.Contains(apiErr.Message, want) {
					t.Errorf("the message %q does not say %q", apiErr.Message, want)
				}
			}
		})
	}
	if n := h.fast.hits.Load() + h.strong.hits.Load(); n != 0 {
		t.Errorf("%d upstream calls for requests no model fits", n)
	}
}

// Without max_tokens, a model's output is estimated at 256 tokens until
// it has answered, then at the mean it answered with (the fakes report 50).
func TestCostLimitLearnsTypicalOutput(t *testing.T) {
	h := startStrongFirst(t, "")
	ask := func(limit string) string {
		body := `{"model":"auto","messages":[{"role":"user","content":"will it rain tomorrow"}]`
		if limit != "" {
			body += `,"metadata":{"max_cost_usd":` + limit + `}`
		}
		code, hd, out := h.do(t, "POST", "/v1/chat/completions", "", body+"}")
		if code != 200 {
			t.Fatalf("status %d: %v", code, out)
		}
		return hd.Get("x-semroute-model")
	}
	// strong: (10×10 + 256×20)/1e6 = 0.00522 USD before an answer, then
	// (10×10 + 50×20)/1e6 = 0.0011.
	if m := ask("0.003"); m != "fast" {
		t.Errorf("before strong answered: %s, want fast", m)
	}
	if m := ask(""); m != "strong" {
		t.Fatalf("without a limit: %s", m)
	}
	if m := ask("0.003"); m != "strong" {
		t.Errorf("after strong answered with 50 tokens: %s, want strong", m)
	}
}

func TestLatencyLimitPicksTheFastModel(t *testing.T) {
	h := startStrongFirst(t, "")
	slow := make(chan struct{}) // closed when the test ends: no sleep outlives it
	t.Cleanup(func() { close(slow) })
	h.strong.setFault(func(n int64, w http.ResponseWriter, r *http.Request) bool {
		select { // slower than the limit below by far; the answer follows
		case <-time.After(600 * time.Millisecond):
		case <-slow:
		}
		return false
	})
	for range 3 { // warm-up: the tier's first model, measured slow
		if code, hd, out := h.do(t, "POST", "/v1/chat/completions", "", `{"model":"auto","messages":[{"role":"user","content":"will it rain tomorrow"}]}`); code != 200 || hd.Get("x-semroute-model") != "strong" {
			t.Fatalf("warm-up: %d %s %v", code, hd.Get("x-semroute-model"), out)
		}
	}
	for range 3 { // fast measured too
		if code, _, out := h.do(t, "POST", "/v1/chat/completions", "", `{"model":"fast","messages":[{"role":"user","content":"hi"}]}`); code != 200 {
			t.Fatalf("warm-up: %d %v", code, out)
		}
	}
	strong := h.strong.hits.Load()
	resp, out, err := askLimited(t, h, map[string]string{"max_latency_ms": "400"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("x-semroute-model") != "fast" || out.Choices[0].Message.Content != "answer from fast" || h.strong.hits.Load() != strong {
		t.Errorf("answered by %s, strong called %d more times", resp.Header.Get("x-semroute-model"), h.strong.hits.Load()-strong)
	}
	if got := resp.Header.Get("x-semroute-limit"); got != "max_latency_ms=400;skipped=strong" {
		t.Errorf("x-semroute-limit %q", got)
	}
	// A microsecond is below any loopback call's latency.
	_, _, err = askLimited(t, h, nil, option.WithHeader("x-semroute-max-latency-ms", "0.001"))
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnprocessableEntity || apiErr.Code != "request_limit" || apiErr.Param != "max_latency_ms" ||
		!strings.Contains(apiErr.Message, "below the lowest observed latency") || !strings.Contains(apiErr.Message, "for fast") {
		t.Errorf("want 422 request_limit naming max_latency_ms, got %v", err)
	}
}

// max_latency_ms is also the calls' deadline: a slow upstream is cut at
// it, and the cut counts as a sample, so the next request with that limit
// does not wait for it again.
func TestLatencyLimitCutsASlowUpstream(t *testing.T) {
	h := start(t, "")
	h.strong.setFault(func(n int64, w http.ResponseWriter, r *http.Request) bool {
		select {
		case <-r.Context().Done(): // cut
		case <-time.After(10 * time.Second):
		}
		return true
	})
	// The second limit is above the first's sample: strong is tried again.
	for _, sl := range [][2]string{{"false", "50"}, {"true", "100"}} {
		stream, limit := sl[0], sl[1]
		code, hd, out := h.do(t, "POST", "/v1/chat/completions", "", `{"model":"strong","stream":`+stream+`,"messages":[{"role":"user","content":"hi"}],"metadata":{"max_latency_ms":`+limit+`}}`)
		e, _ := out["error"].(map[string]any)
		if code != http.StatusGatewayTimeout || e["code"] != "max_latency_exceeded" || e["param"] != "max_latency_ms" || hd.Get("x-semroute-model") != "" {
			t.Fatalf("stream %s: want 504 max_latency_exceeded, got %d %v", stream, code, out)
		}
		if !strings.Contains(errorOf(t, out), "model strong was cut") {
			t.Errorf("message %q", errorOf(t, out))
		}
	}
	hits := h.strong.hits.Load()
	code, _, out := h.do(t, "POST", "/v1/chat/completions", "", `{"model":"strong","messages":[{"role":"user","content":"hi"}],"metadata":{"max_latency_ms":"100"}}`)
	e, _ := out["error"].(map[string]any)
	if code != http.StatusUnprocessableEntity || e["code"] != "request_limit" || !strings.Contains(errorOf(t, out), "100 ms for strong") || h.strong.hits.Load() != hits {
		t.Errorf("after the cut: %d %v", code, out)
	}
	// Without a limit the same model is waited for (and answers).
	h.strong.setFault(nil)
	if code, _, out := h.do(t, "POST", "/v1/chat/completions", "", `{"model":"strong","messages":[{"role":"user","content":"hi"}]}`); code != 200 {
		t.Errorf("without a limit: %d %v", code, out)
	}
}

// A stream is cut at max_latency_ms only before its first byte: an answer
// the client is reading as it comes is let through to its end.
func TestLatencyLimitLetsAStartedStreamEnd(t *testing.T) {
	h := start(t, "")
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	h.strong.setFault(func(n int64, w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("Content-Type", "text/event-stream")
		chunk := func(s string) {
			fmt.Fprintf(w, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":%q}}]}\n\n", s)
			w.(http.Flusher).Flush()
		}
		chunk("first ")
		select { // well past the limit, unless the call is cut
		case <-time.After(300 * time.Millisecond):
		case <-r.Context().Done():
			return true
		case <-done:
		}
		chunk("and last")
		fmt.Fprint(w, "data: [DONE]\n\n")
		return true
	})
	c := h.client("")
	st := c.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{Model: "strong",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}}, option.WithHeader("x-semroute-max-latency-ms", "50"))
	if text := readStream(st); st.Err() != nil || text != "first and last" {
		t.Errorf("streamed %q, err %v", text, st.Err())
	}
}

func TestBudgetsApplyOnTopOfLimits(t *testing.T) {
	h := startStrongFirst(t, "budgets:\n  - {name: all, scope: global, window: daily, limit_usd: 0.0001}\n")
	// The first answer (fast: 100 prompt and 50 completion tokens, 0.0002
	// USD) spends the budget; the second is within its own limit, not
	// within the budget.
	for i, want := range []int{200, 429} {
		code, hd, out := h.do(t, "POST", "/v1/chat/completions", "", `{"model":"auto","max_tokens":100,"messages":[{"role":"user","content":"will it rain tomorrow"}],"metadata":{"max_cost_usd":"0.001"}}`)
		if code != want {
			t.Fatalf("request %d: %d %v, want %d", i, code, out, want)
		}
		if want == 200 && hd.Get("x-semroute-model") != "fast" {
			t.Errorf("answered by %s", hd.Get("x-semroute-model"))
		}
		if want == 429 {
			if e, _ := out["error"].(map[string]any); e["code"] != "budget_exceeded" {
				t.Errorf("want budget_exceeded, got %v", out)
			}
		}
	}
}

func TestMalformedLimitsAre400(t *testing.T) {
	h := start(t, "")
	cases := []struct {
		name, meta, header, value string
		field, shown              string
	}{
		{"word", `{"max_cost_usd":"cheap"}`, "", "", "metadata.max_cost_usd", `"cheap"`},
		{"negative", `{"max_cost_usd":-1}`, "", "", "metadata.max_cost_usd", "-1"},
		{"bool", `{"max_cost_usd":true}`, "", "", "metadata.max_cost_usd", "true"},
		{"nested string", `{"max_cost_usd":"\"1\""}`, "", "", "metadata.max_cost_usd", `"\"1\""`},
		{"hex", `{"max_cost_usd":"0x10"}`, "", "", "metadata.max_cost_usd", `"0x10"`},
		{"zero latency", `{"max_latency_ms":0}`, "", "", "metadata.max_latency_ms", "0"},
		{"huge latency", `{"max_latency_ms":"1e99"}`, "", "", "metadata.max_latency_ms", `"1e99"`},
		{"infinite", `{"max_latency_ms":"Inf"}`, "", "", "metadata.max_latency_ms", `"Inf"`},
		{"header word", "", "X-Semroute-Max-Cost", "cheap", "x-semroute-max-cost", `"cheap"`},
		{"header negative", "", "X-Semroute-Max-Latency-Ms", "-5", "x-semroute-max-latency-ms", `"-5"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"model":"auto","messages":[{"role":"user","content":"will it rain tomorrow"}]`
			if tc.meta != "" {
				body += `,"metadata":` + tc.meta
			}
			req, _ := http.NewRequest("POST", h.http.URL+"/v1/chat/completions", strings.NewReader(body+"}"))
			if tc.header != "" {
				req.Header.Set(tc.header, tc.value)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var out map[string]any
			json.NewDecoder(resp.Body).Decode(&out)
			e, _ := out["error"].(map[string]any)
			if resp.StatusCode != 400 || e["param"] != tc.field || e["type"] != "invalid_request_error" {
				t.Fatalf("status %d: %v", resp.StatusCode, out)
			}
			if msg := errorOf(t, out); !strings.Contains(msg, tc.field) || !strings.Contains(msg, tc.shown) {
				t.Errorf("the message %q does not name %s and %s", msg, tc.field, tc.shown)
			}
		})
	}
	if n := h.fast.hits.Load() + h.strong.hits.Load(); n != 0 {
		t.Errorf("%d upstream calls for malformed requests", n)
	}
}

// startUnsureCascade is start with the weather intent's target a cascade
// [fast, strong] whose fast stage is always unsure, so that without a
// limit the cascade escalates.
func startUnsureCascade(t *testing.T) *harness {
	t.Helper()
	h := start(t, "")
	h.fast.setFault(func(n int64, w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"answer from fast"},"logprobs":{"content":[{"token":"a","logprob":-2.5}]},"finish_reason":"stop"}],"usage":{"prompt_tokens":100,"completion_tokens":50}}`)
		return true
	})
	cfg, _ := config.Load(h.cfgPath)
	cfg.Intents[0].Target = intents.Target{Cascade: intents.Models{"fast", "strong"}} // weather
	cfg.Cascade = &config.CascadeConfig{LogprobThreshold: new(-1.0)}
	if err := h.srv.Load(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	return h
}

// askCascade asks about the weather with max_tokens 100 and metadata.
func askCascade(t *testing.T, h *harness, meta string) (int, http.Header, map[string]any) {
	body := `{"model":"auto","max_tokens":100,"messages":[{"role":"user","content":"will it rain tomorrow"}]`
	if meta != "" {
		body += `,"metadata":` + meta
	}
	return h.do(t, "POST", "/v1/chat/completions", "", body+"}")
}

// A cascade's stages are kept while the sum of their estimates fits.
func TestCostLimitOnACascade(t *testing.T) {
	h := startUnsureCascade(t)
	cases := []struct {
		limit, status, trail, header string
	}{
		{"", "200", "fast:escalated(logprob -2.50);strong:answered", ""},
		{"0.01", "200", "fast:escalated(logprob -2.50);strong:answered", ""}, // 0.00021 + 0.0021 fits
		{"0.002", "200", "fast:answered", "max_cost_usd=0.002;skipped=strong"},
		{"0.0001", "422", "", ""},
	}
	for _, tc := range cases {
		meta := ""
		if tc.limit != "" {
			meta = `{"max_cost_usd":"` + tc.limit + `"}`
		}
		code, hd, out := askCascade(t, h, meta)
		if fmt.Sprint(code) != tc.status || hd.Get("x-semroute-cascade") != tc.trail || hd.Get("x-semroute-limit") != tc.header {
			t.Errorf("limit %q: %d cascade %q limit %q %v", tc.limit, code, hd.Get("x-semroute-cascade"), hd.Get("x-semroute-limit"), out)
		}
	}
}

// A cascade's later stage cut at max_latency_ms leaves the earlier stage's
// answer; once measured, it is dropped under that limit.
func TestLatencyLimitOnACascade(t *testing.T) {
	h := startUnsureCascade(t)
	h.strong.setFault(func(n int64, w http.ResponseWriter, r *http.Request) bool {
		select {
		case <-r.Context().Done(): // cut
		case <-time.After(10 * time.Second):
		}
		return true
	})
	for _, want := range []struct{ trail, header string }{
		{"fast:escalated(logprob -2.50);strong:failed", ""},
		{"fast:answered", "max_latency_ms=100;skipped=strong"},
	} {
		code, hd, out := askCascade(t, h, `{"max_latency_ms":100}`)
		if code != 200 || hd.Get("x-semroute-model") != "fast" || hd.Get("x-semroute-cascade") != want.trail || hd.Get("x-semroute-limit") != want.header {
			t.Errorf("%d model %s cascade %q limit %q %v, want %+v", code, hd.Get("x-semroute-model"), hd.Get("x-semroute-cascade"), hd.Get("x-semroute-limit"), out, want)
		}
	}
	if n := h.strong.hits.Load(); n != 1 {
		t.Errorf("strong called %d times, want once", n)
	}
}

func FuzzReadLimits(f *testing.F) {
	f.Add(`{"max_cost_usd":"0.01","max_latency_ms":200,"tag":"x"}`, "0.5", "100")
	f.Add(`{"max_cost_usd":-1}`, "", "")
	f.Add(`"not an object"`, "x", "1e400")
	f.Fuzz(func(t *testing.T, meta, cost, latency string) {
		req := &chatRequest{}
		req.Body = map[string]json.RawMessage{"metadata": json.RawMessage(meta)}
		h := http.Header{}
		if cost != "" {
			h.Set("X-Semroute-Max-Cost", cost)
		}
		if latency != "" {
			h.Set("X-Semroute-Max-Latency-Ms", latency)
		}
		l, err := readLimits(h, req)
		if err != nil {
			var re *requestError
			if !errors.As(err, &re) || re.kind != kindInvalid || re.param == "" {
				t.Fatalf("an error that is not a 400 naming its field: %v", err)
			}
			return
		}
		if l != nil && (!l.hasCost && l.latency == 0 || l.hasCost && !(l.costUSD >= 0) || l.latency < 0 || l.latency > maxLatencyMS*time.Millisecond) {
			t.Fatalf("out of range: %+v", l)
		}
		if m, ok := req.Body["metadata"]; ok && (strings.Contains(string(m), `"max_cost_usd"`) || strings.Contains(string(m), `"max_latency_ms"`)) && json.Valid(m) {
			var obj map[string]json.RawMessage
			if json.Unmarshal(m, &obj) == nil && obj != nil {
				if _, ok := obj["max_cost_usd"]; ok {
					t.Fatalf("the limit stays in metadata: %s", m)
				}
			}
		}
	})
}

// The latency statistic is the 90th percentile of the last latencySamples
// calls, the output the weighted mean of the answers seen.
func TestObservedStatistics(t *testing.T) {
	var o observed
	if _, ok := o.p90("m"); ok || o.outputTokens("m") != defaultOutputTokens {
		t.Fatalf("a model never seen: %v, %v tokens", ok, o.outputTokens("m"))
	}
	for i := 1; i <= 10; i++ {
		o.latency("m", time.Duration(i)*time.Millisecond)
	}
	if d, _ := o.p90("m"); d != 9*time.Millisecond {
		t.Errorf("p90 of 1..10 ms: %v", d)
	}
	for range latencySamples { // the 10 older samples go
		o.latency("m", time.Millisecond)
	}
	if d, _ := o.p90("m"); d != time.Millisecond {
		t.Errorf("p90 after %d samples of 1 ms: %v", latencySamples, d)
	}
	o.answered(upstream.Result{Model: "m", Usage: upstream.Usage{CompletionTokens: 100}})
	o.answered(upstream.Result{Model: "m", Usage: upstream.Usage{CompletionTokens: 200}})
	if got := o.outputTokens("m"); got != 120 { // 0.8×100 + 0.2×200
		t.Errorf("mean output %v, want 120", got)
	}
}
