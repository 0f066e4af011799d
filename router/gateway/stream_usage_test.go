package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/semroute/semroute/router/config"
)

// openAIStream makes u stream as OpenAI does: the parts, then, when the
// request asked for it (stream_options.include_usage), a usage chunk with
// no choices (the other chunks then carry "usage":null), then [DONE].
func openAIStream(u *upstreamFake, parts ...string) func(n int64, w http.ResponseWriter, r *http.Request) bool {
	return func(n int64, w http.ResponseWriter, r *http.Request) bool {
		u.mu.Lock()
		var opts struct {
			IncludeUsage bool `json:"include_usage"`
		}
		json.Unmarshal(u.last["stream_options"], &opts)
		u.mu.Unlock()
		null := ""
		if opts.IncludeUsage {
			null = `,"usage":null`
		}
		w.Header().Set("Content-Type", "text/event-stream")
		for _, part := range parts {
			fmt.Fprintf(w, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":%q},\"finish_reason\":null}]%s}\n\n", part, null)
		}
		if opts.IncludeUsage {
			io.WriteString(w, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":100,\"completion_tokens\":50,\"total_tokens\":150}}\n\n")
		}
		io.WriteString(w, "data: [DONE]\n\n")
		return true
	}
}

// postStream sends a streamed chat completion and reads it to the end.
func postStream(t *testing.T, h *harness, key, body string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", h.http.URL+"/v1/chat/completions", strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, string(data)
}

// waitMetric waits up to 5 s for a series to reach want and returns its
// value.
func waitMetric(t *testing.T, h *harness, series string, want float64) float64 {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		v := metricValue(t, h, series)
		if v >= want || time.Now().After(deadline) {
			return v
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestStreamsHitTheBudgetCap: streams whose clients never ask for usage are
// booked on the usage the upstream reports all the same, so a stream past
// the cap gets 429 as a plain call does. They were booked at $0 before.
func TestStreamsHitTheBudgetCap(t *testing.T) {
	h := start(t, `server:
  api_keys:
    - {name: ops, sha256: `+sha("admin-secret")+`, scope: admin}
budgets:
  - {name: tiny, scope: global, window: daily, limit_usd: 0.005}
`)
	h.strong.setFault(openAIStream(h.strong, "answer ", "from ", "strong"))
	const body = `{"model":"strong","stream":true,"messages":[{"role":"user","content":"play some jazz"}]}`
	answered := 0
	for range 10 {
		resp, text := postStream(t, h, "admin-secret", body)
		if resp.StatusCode == 429 {
			if !strings.Contains(text, "tiny") {
				t.Errorf("the 429 does not name the budget: %s", text)
			}
			break
		}
		if resp.StatusCode != 200 || !strings.HasSuffix(text, "data: [DONE]\n\n") {
			t.Fatalf("stream %d: %d %s", answered+1, resp.StatusCode, text)
		}
		if got := resp.Trailer.Get("x-semroute-cost"); got != "0.002" {
			t.Errorf("stream %d cost %q, want 0.002 (100 × $10 + 50 × $20 per million)", answered+1, got)
		}
		answered++
	}
	// 0.002 a stream: the third is admitted at 0.004 spent, the fourth is not.
	if answered != 3 {
		t.Errorf("%d streams answered before a 429, want 3 under a 0.005 USD cap", answered)
	}
	_, _, rep := h.do(t, "GET", "/v1/spend", "admin-secret", "")
	if b, _ := rep["budgets"].([]any); len(b) != 1 || b[0].(map[string]any)["spent_usd"].(float64) < 0.006-1e-12 {
		t.Errorf("spend %v: want 3 × 0.002 booked", rep)
	}
}

// TestStreamUsageOnlyIfAsked, through the official client: a client that
// does not ask for usage never sees the usage chunk (nor "usage":null), yet
// its stream is booked on the upstream's real usage; one that asks gets
// the chunk. Both carry x-semroute-attempts.
func TestStreamUsageOnlyIfAsked(t *testing.T) {
	h := start(t, "")
	h.strong.setFault(openAIStream(h.strong, "answer ", "from ", "strong"))
	c := h.client("")
	var resp *http.Response
	params := openai.ChatCompletionNewParams{Model: "strong", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("play some jazz")}}
	st := c.Chat.Completions.NewStreaming(context.Background(), params, option.WithResponseInto(&resp))
	var text strings.Builder
	for st.Next() {
		ch := st.Current()
		if strings.Contains(ch.RawJSON(), "usage") {
			t.Errorf("a client that did not ask got %s", ch.RawJSON())
		}
		if len(ch.Choices) > 0 {
			text.WriteString(ch.Choices[0].Delta.Content)
		}
	}
	if st.Err() != nil || text.String() != "answer from strong" {
		t.Fatalf("streamed %q, %v", text.String(), st.Err())
	}
	h.strong.mu.Lock()
	asked := string(h.strong.last["stream_options"])
	h.strong.mu.Unlock()
	if asked != `{"include_usage":true}` {
		t.Errorf("the upstream got stream_options %s, want include_usage asked for", asked)
	}
	if resp.Header.Get("x-semroute-attempts") != "1" {
		t.Errorf("headers %v: want x-semroute-attempts 1", resp.Header)
	}
	// The client stops reading at [DONE]; the booking follows it.
	if v := waitMetric(t, h, `semroute_cost_usd_total{model="strong"}`, 0.002); v != 0.002 {
		t.Errorf("booked %v, want the real cost 0.002 (100 × $10 + 50 × $20 per million)", v)
	}

	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	st = c.Chat.Completions.NewStreaming(context.Background(), params)
	var usage int64
	for st.Next() {
		if ch := st.Current(); len(ch.Choices) == 0 {
			usage = ch.Usage.TotalTokens
		}
	}
	if st.Err() != nil || usage != 150 {
		t.Errorf("a client that asked: usage %d, err %v; want the upstream's 150 tokens", usage, st.Err())
	}
	if v := waitMetric(t, h, `semroute_usage_source_total{model="strong",source="reported"}`, 2); v != 2 {
		t.Errorf("usage source reported: %v, want 2", v)
	}
}

// TestStreamWithoutUsageIsEstimated: an upstream that reports no usage
// even when asked (the harness's default fake) is booked on an estimate,
// marked so in a trailer and the metrics.
func TestStreamWithoutUsageIsEstimated(t *testing.T) {
	h := start(t, "budgets: [{name: big, scope: global, window: daily, limit_usd: 100}]\n") // the ledger runs
	resp, text := postStream(t, h, "", `{"model":"strong","stream":true,"messages":[{"role":"user","content":"play some jazz"}]}`)
	if resp.StatusCode != 200 || !strings.Contains(text, "strong") {
		t.Fatalf("%d %s", resp.StatusCode, text)
	}
	// Prompt: "play some jazz", 14 bytes → 4 tokens, + 4 for the message;
	// answer: "answer from strong", 18 bytes → 5 tokens. 8 × $10 + 5 × $20
	// per million.
	if resp.Trailer.Get("x-semroute-usage") != "estimated" || resp.Trailer.Get("x-semroute-cost") != "0.00018" {
		t.Errorf("trailers %v: want usage estimated at 0.00018 USD", resp.Trailer)
	}
	if v := metricValue(t, h, `semroute_usage_source_total{model="strong",source="estimated"}`); v != 1 {
		t.Errorf("usage source estimated: %v, want 1", v)
	}
	if v := metricValue(t, h, `semroute_spend_usd_total{key="",model="strong",team=""}`); v != 0.00018 {
		t.Errorf("booked %v, want 0.00018", v)
	}
}

// TestStreamAttemptsHeader: a stream answered at the second attempt says
// so, through the official client.
func TestStreamAttemptsHeader(t *testing.T) {
	h := start(t, "")
	h.fast.setFault(func(n int64, w http.ResponseWriter, r *http.Request) bool {
		if n == 1 {
			w.WriteHeader(http.StatusBadGateway)
			return true
		}
		return false
	})
	var resp *http.Response
	c := h.client("")
	st := c.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{Model: "fast",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("will it rain")}}, option.WithResponseInto(&resp))
	if text := readStream(st); st.Err() != nil || text != "answer from fast" {
		t.Fatalf("%q %v", text, st.Err())
	}
	if got := resp.Header.Get("x-semroute-attempts"); got != "2" {
		t.Errorf("x-semroute-attempts %q, want 2", got)
	}
}

// TestLangchainStreamIsBooked: a stream from Ollama (through langchaingo)
// is booked on the usage Ollama reports, and the client that did not ask
// gets no usage in its chunks.
func TestLangchainStreamIsBooked(t *testing.T) {
	ollama := newUpstream(t, "unused")
	ollama.setFault(func(n int64, w http.ResponseWriter, r *http.Request) bool {
		for i, part := range []string{"hel", "lo"} {
			fmt.Fprintf(w, `{"model":"llama","message":{"role":"assistant","content":%q},"done":%v,"prompt_eval_count":30,"eval_count":20}`+"\n", part, i == 1)
		}
		return true
	})
	h := start(t, "budgets: [{name: big, scope: global, window: daily, limit_usd: 100}]\n")
	cfg, err := config.Load(h.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Models = append(cfg.Models, config.Model{Name: "local", Provider: "ollama", BaseURL: ollama.URL, Model: "llama",
		Price: config.Price{Input: 1, Output: 2}, TimeoutMS: 5000, Balance: "weight"})
	if err := h.srv.Load(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	resp, text := postStream(t, h, "", `{"model":"local","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	if resp.StatusCode != 200 || strings.Contains(text, "usage") || !strings.HasSuffix(text, "data: [DONE]\n\n") {
		t.Fatalf("%d %s", resp.StatusCode, text)
	}
	if resp.Trailer.Get("x-semroute-cost") != "7e-05" || resp.Trailer.Get("x-semroute-usage") != "" || resp.Header.Get("x-semroute-attempts") != "1" {
		t.Errorf("trailers %v, headers %v: want 30 × $1 + 20 × $2 per million = 7e-05, not estimated", resp.Trailer, resp.Header)
	}
	if v := metricValue(t, h, `semroute_spend_usd_total{key="",model="local",team=""}`); v != 7e-05 {
		t.Errorf("booked %v, want 7e-05", v)
	}
}

// TestStreamBudgetHoldsUnderConcurrency: 50 concurrent streams against
// room for 9 more get exactly 9 answers, as plain calls do.
func TestStreamBudgetHoldsUnderConcurrency(t *testing.T) {
	h := start(t, `server:
  api_keys:
    - {name: ops, sha256: `+sha("admin-secret")+`, scope: admin}
budgets:
  - {name: cap, scope: global, window: monthly, limit_usd: 0.02}
`)
	stream := openAIStream(h.strong, "answer")
	h.strong.setFault(stream)
	const body = `{"model":"strong","stream":true,"messages":[{"role":"user","content":"play some jazz"}]}`
	if resp, _ := postStream(t, h, "admin-secret", body); resp.StatusCode != 200 { // learns the cost: 0.002
		t.Fatal(resp.StatusCode)
	}
	h.strong.setFault(func(n int64, w http.ResponseWriter, r *http.Request) bool {
		time.Sleep(20 * time.Millisecond) // all of them in flight at once
		return stream(n, w, r)
	})
	var ok, refused atomic.Int64
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			switch resp, _ := postStream(t, h, "admin-secret", body); resp.StatusCode {
			case 200:
				ok.Add(1)
			case 429:
				refused.Add(1)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 9 || refused.Load() != 41 {
		t.Errorf("%d streamed, %d refused: want 9 and 41", ok.Load(), refused.Load())
	}
	_, _, rep := h.do(t, "GET", "/v1/spend", "admin-secret", "")
	if b := rep["budgets"].([]any)[0].(map[string]any); b["spent_usd"].(float64) < 0.02-1e-12 || b["spent_usd"].(float64) > 0.02+1e-12 {
		t.Errorf("budget %v: want exactly 0.02 spent", b)
	}
}
