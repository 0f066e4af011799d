package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/ssestream"

	"github.com/semroute/semroute/embed/local/localtest"
	"github.com/semroute/semroute/index/chromem"
	"github.com/semroute/semroute/router/config"
)

// upstreamFake is an OpenAI-compatible model server.
type upstreamFake struct {
	*httptest.Server
	name  string
	hits  atomic.Int64
	mu    sync.Mutex
	last  map[string]json.RawMessage
	fault func(n int64, w http.ResponseWriter, r *http.Request) bool
}

func newUpstream(t *testing.T, name string) *upstreamFake {
	u := &upstreamFake{name: name}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := u.hits.Add(1)
		var body map[string]json.RawMessage
		json.NewDecoder(r.Body).Decode(&body)
		u.mu.Lock()
		u.last = body
		fault := u.fault
		u.mu.Unlock()
		if fault != nil && fault(n, w, r) {
			return
		}
		if string(body["stream"]) == "true" {
			w.Header().Set("Content-Type", "text/event-stream")
			for _, part := range []string{"answer ", "from ", name} {
				fmt.Fprintf(w, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":%q}}]}\n\n", part)
				w.(http.Flusher).Flush()
			}
			io.WriteString(w, "data: [DONE]\n\n")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"answer from %s"},"finish_reason":"stop"}],"usage":{"prompt_tokens":100,"completion_tokens":50,"total_tokens":150}}`, name)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstreamFake) setFault(f func(n int64, w http.ResponseWriter, r *http.Request) bool) {
	u.mu.Lock()
	u.fault = f
	u.mu.Unlock()
}

const intentsYAML = `
routing: {threshold: 0.05}
intents:
  - name: weather
    target: {model: [fast, strong]}
    utterances: [what is the weather today, will it rain tomorrow, is it going to be sunny this weekend, how cold is it outside, do I need an umbrella]
  - name: music
    target: {model: strong}
    utterances: [play some jazz, put on my workout playlist, skip this song, turn the music up, play the new album]
  - name: handbook
    target: {rag: handbook}
    utterances: [what does the employee handbook say about leave, how many vacation days do I get, what is the parental leave policy]
  - name: human
    target: {handoff: agents}
    utterances: [I want to talk to a human, connect me with a real person, can I speak to an agent please, let me talk to customer service staff]
  - name: threats
    target: {moderation: block}
    utterances: [I will hurt you, I am going to attack you, you will regret this threat]
rag:
  - {name: handbook}
fallback: {model: strong}
`

type harness struct {
	srv     *Server
	http    *httptest.Server
	dir     string
	cfgPath string
	fast    *upstreamFake
	strong  *upstreamFake
}

// start runs a gateway over two fake upstreams; extra is YAML added to the
// config (server and upstream sections).
func start(t *testing.T, extra string) *harness {
	t.Helper()
	h := &harness{dir: t.TempDir(), fast: newUpstream(t, "fast"), strong: newUpstream(t, "strong")}
	yaml := fmt.Sprintf("version: 1\nindex: {kind: memory, data_dir: %s}\nmodels:\n  - {name: fast, base_url: %s/v1, model: small-1, price: {input: 1, output: 2}}\n  - {name: strong, base_url: %s/v1, model: large-1, price: {input: 10, output: 20}}\nupstream: {backoff_ms: 1, max_backoff_ms: 5}\n%s%s",
		filepath.Join(h.dir, "data"), h.fast.URL, h.strong.URL, extra, intentsYAML)
	h.cfgPath = filepath.Join(h.dir, "config.yaml")
	os.WriteFile(h.cfgPath, []byte(yaml), 0o644)
	h.srv, h.http = h.open(t)
	return h
}

// open starts a server on the harness's config and data directory.
func (h *harness) open(t *testing.T) (*Server, *httptest.Server) {
	t.Helper()
	cfg, idx := openIndex(t, h.cfgPath)
	srv := New(Options{LookupEnv: os.LookupEnv, ConfigPath: h.cfgPath, Embedder: localtest.Open(t), Index: idx, Logger: testLogger(t)})
	if err := srv.Load(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return srv, hs
}

func (h *harness) client(key string) openai.Client {
	opts := []option.RequestOption{option.WithBaseURL(h.http.URL + "/v1"), option.WithMaxRetries(0)}
	if key != "" {
		opts = append(opts, option.WithAPIKey(key))
	} else {
		opts = append(opts, option.WithAPIKey("unused"))
	}
	return openai.NewClient(opts...)
}

// do sends a JSON request and decodes the answer.
func (h *harness) do(t *testing.T, method, path, key, body string) (int, http.Header, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, h.http.URL+path, strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	data, _ := io.ReadAll(resp.Body)
	json.Unmarshal(data, &out)
	return resp.StatusCode, resp.Header, out
}

// errorOf checks that an answer is an OpenAI-format error and returns its
// message.
func errorOf(t *testing.T, body map[string]any) string {
	t.Helper()
	e, ok := body["error"].(map[string]any)
	if !ok || e["message"] == "" || e["type"] == "" {
		t.Fatalf("not an OpenAI-format error: %v", body)
	}
	return e["message"].(string)
}

func TestChatThroughOpenAIClient(t *testing.T) {
	h := start(t, "")
	var resp *http.Response
	c := h.client("")
	out, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    "auto",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("be brief"), openai.UserMessage("will it rain tomorrow in paris")},
	}, option.WithJSONSet("x_vendor_flag", map[string]any{"keep": true}), option.WithJSONSet("seed", 42), option.WithResponseInto(&resp))
	if err != nil {
		t.Fatal(err)
	}
	if out.Choices[0].Message.Content != "answer from fast" {
		t.Errorf("answer %q", out.Choices[0].Message.Content)
	}
	hd := resp.Header
	if hd.Get("x-semroute-intent") != "weather" || hd.Get("x-semroute-model") != "fast" || hd.Get("x-semroute-target") != "model:fast,strong" ||
		hd.Get("x-semroute-score") == "" || hd.Get("x-semroute-cost") != "0.0002" {
		t.Errorf("decision headers %v", hd)
	}
	h.fast.mu.Lock()
	last := h.fast.last
	h.fast.mu.Unlock()
	if string(last["model"]) != `"small-1"` || string(last["x_vendor_flag"]) != `{"keep":true}` || string(last["seed"]) != "42" {
		t.Errorf("the upstream got %v: want the model replaced and every other field as sent", last)
	}
	// A concrete model name goes straight to that model, without routing.
	out, err = c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "strong",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("will it rain tomorrow")}}, option.WithResponseInto(&resp))
	if err != nil || out.Choices[0].Message.Content != "answer from strong" || resp.Header.Get("x-semroute-intent") != "" {
		t.Errorf("direct model: %v %v %v", out, err, resp.Header)
	}
}

func TestStreamThroughOpenAIClient(t *testing.T) {
	h := start(t, "")
	c := h.client("")
	st := c.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{Model: "auto",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("play some jazz please")}})
	text := readStream(st)
	if err := st.Err(); err != nil || text != "answer from strong" {
		t.Errorf("streamed %q, err %v", text, err)
	}
}

// TestStreamFailureMidway: the upstream drops the connection after two
// chunks. The client must see an error, never a silently cut answer.
func TestStreamFailureMidway(t *testing.T) {
	h := start(t, "")
	h.strong.setFault(func(n int64, w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"the first half\"}}]}\n\n")
		w.(http.Flusher).Flush()
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
		return true
	})
	c := h.client("")
	st := c.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{Model: "auto",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("play some jazz please")}})
	text := readStream(st)
	if text != "the first half" || st.Err() == nil || !strings.Contains(st.Err().Error(), "mid-stream") {
		t.Errorf("got %q and error %v: want the half and an error naming the interruption", text, st.Err())
	}
}

// TestClientGoneEndsUpstream: a client that hangs up mid-stream ends the
// upstream call too: the upstream sees its request cancelled (its
// connection closed) rather than streaming on to nobody.
func TestClientGoneEndsUpstream(t *testing.T) {
	h := start(t, "")
	ended := make(chan struct{})
	h.strong.setFault(func(n int64, w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"the first part\"}}]}\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
			close(ended)
		case <-time.After(10 * time.Second):
		}
		return true
	})
	ctx, cancel := context.WithCancel(context.Background())
	c := h.client("")
	st := c.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "auto",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("play some jazz please")}})
	if !st.Next() || len(st.Current().Choices) == 0 || st.Current().Choices[0].Delta.Content != "the first part" {
		t.Fatalf("no first chunk: %v", st.Err())
	}
	cancel() // the client hangs up
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream kept streaming 5 s after the client hung up")
	}
}

// TestStreamFallbackBeforeFirstByte: fast fails before sending anything, so
// strong answers the stream and the client never knows.
func TestStreamFallbackBeforeFirstByte(t *testing.T) {
	h := start(t, "")
	h.fast.setFault(func(n int64, w http.ResponseWriter, r *http.Request) bool {
		w.WriteHeader(http.StatusInternalServerError)
		return true
	})
	var resp *http.Response
	c := h.client("")
	st := c.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{Model: "auto",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("will it rain tomorrow")}}, option.WithResponseInto(&resp))
	text := readStream(st)
	if st.Err() != nil || text != "answer from strong" || resp.Header.Get("x-semroute-model") != "strong" || h.fast.hits.Load() != 3 {
		t.Errorf("got %q, err %v, model %q, fast tried %d times (want 3: one call and two retries)", text, st.Err(), resp.Header.Get("x-semroute-model"), h.fast.hits.Load())
	}
}

// TestFlakyUpstreamWithFallback: fast fails half its requests (5xx,
// resets, 429s); with strong as the fallback, 1,000 requests all succeed,
// whether fast's breaker opens (the default) or retries carry the load
// (breaker practically off).
func TestFlakyUpstreamWithFallback(t *testing.T) {
	for _, breakerFailures := range []int{0, 1 << 30} {
		t.Run(fmt.Sprintf("breaker_failures=%d", breakerFailures), func(t *testing.T) { flaky(t, breakerFailures) })
	}
}

func flaky(t *testing.T, breakerFailures int) {
	h := start(t, "")
	if breakerFailures > 0 {
		cfg, _ := config.Load(h.cfgPath)
		cfg.Upstream.BreakerFailures = breakerFailures
		if err := h.srv.Load(context.Background(), cfg); err != nil {
			t.Fatal(err)
		}
	}
	var rmu sync.Mutex
	rng := rand.New(rand.NewPCG(1, 2))
	h.fast.setFault(func(n int64, w http.ResponseWriter, r *http.Request) bool {
		rmu.Lock()
		x := rng.IntN(6)
		rmu.Unlock()
		switch x {
		case 0:
			w.WriteHeader(http.StatusInternalServerError)
		case 1:
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
		case 2:
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		default:
			return false
		}
		return true
	})
	var failed, byStrong atomic.Int64
	var wg sync.WaitGroup
	work := make(chan int)
	for range 16 {
		wg.Go(func() {
			for range work {
				code, hd, body := h.do(t, "POST", "/v1/chat/completions", "", `{"model":"auto","messages":[{"role":"user","content":"will it rain tomorrow"}]}`)
				if code != 200 {
					failed.Add(1)
					t.Logf("failed: %d %v", code, body)
				}
				if hd.Get("x-semroute-model") == "strong" {
					byStrong.Add(1)
				}
			}
		})
	}
	for i := range 1000 {
		work <- i
	}
	close(work)
	wg.Wait()
	if failed.Load() != 0 {
		t.Errorf("%d of 1,000 requests failed", failed.Load())
	}
	t.Logf("1,000 requests: %d answered by the fallback, fast saw %d attempts", byStrong.Load(), h.fast.hits.Load())
}

func TestErrorsAreOpenAIFormat(t *testing.T) {
	h := start(t, "server: {max_body_bytes: 2000}\n")
	h.fast.setFault(func(n int64, w http.ResponseWriter, r *http.Request) bool {
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"error":{"message":"temperature too high","type":"invalid_request_error","param":"temperature","code":null}}`)
		return true
	})
	for _, tc := range []struct {
		method, path, body string
		status             int
		want               string
	}{
		{"POST", "/v1/chat/completions", `{"model":"auto"`, 400, "not a JSON object"},
		{"POST", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}]}`, 400, "missing model"},
		{"POST", "/v1/chat/completions", `{"model":"auto","messages":[]}`, 400, "messages is empty"},
		{"POST", "/v1/chat/completions", `{"model":"auto","messages":[{"content":"hi"}]}`, 400, "missing role"},
		{"POST", "/v1/chat/completions", `{"model":"auto","messages":[{"role":"user","content":7}]}`, 400, "content must be"},
		{"POST", "/v1/chat/completions", `{"model":"gpt-9","messages":[{"role":"user","content":"hi"}]}`, 404, "does not exist"},
		{"POST", "/v1/chat/completions", `{"model":"auto","messages":[{"role":"user","content":"` + strings.Repeat("x", 3000) + `"}]}`, 413, "larger than 2000 bytes"},
		{"POST", "/v1/chat/completions", `{"model":"auto","messages":[{"role":"user","content":"will it rain tomorrow"}]}`, 400, "temperature too high"},
		{"POST", "/v1/route", `{}`, 400, "missing input"},
		{"POST", "/v1/route", `{"input":"   "}`, 400, "input is empty"},
		{"GET", "/v1/nope", ``, 404, "no such endpoint"},
		{"GET", "/v1/chat/completions", ``, 405, "not allowed"},
		{"GET", "/v1/intents", ``, 403, "admin key"},
	} {
		code, _, body := h.do(t, tc.method, tc.path, "", tc.body)
		if code != tc.status {
			t.Errorf("%s %s %.60s: status %d, want %d (%v)", tc.method, tc.path, tc.body, code, tc.status, body)
			continue
		}
		if msg := errorOf(t, body); !strings.Contains(msg, tc.want) {
			t.Errorf("%s %s: message %q lacks %q", tc.method, tc.path, msg, tc.want)
		}
	}
	if h.fast.hits.Load() != 1 || h.strong.hits.Load() != 0 {
		t.Errorf("the upstream's 400 was retried or sent to the fallback: fast %d, strong %d", h.fast.hits.Load(), h.strong.hits.Load())
	}
}

func TestUnconfiguredModelAnswers503(t *testing.T) {
	h := start(t, "")
	cfg, _ := config.Load(h.cfgPath)
	for i := range cfg.Models {
		cfg.Models[i].APIKeyEnv = "SEMROUTE_TEST_NO_SUCH_KEY"
	}
	if err := h.srv.Load(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	code, _, body := h.do(t, "POST", "/v1/chat/completions", "", `{"model":"auto","messages":[{"role":"user","content":"will it rain tomorrow"}]}`)
	if msg := errorOf(t, body); code != 503 || !strings.Contains(msg, "SEMROUTE_TEST_NO_SUCH_KEY") || !strings.Contains(msg, "strong") {
		t.Errorf("%d %q: want 503 naming the model and the variable", code, msg)
	}
	if code, _, body := h.do(t, "POST", "/v1/route", "", `{"input":"will it rain tomorrow"}`); code != 200 || body["intent"] != "weather" {
		t.Errorf("/v1/route without upstreams: %d %v", code, body)
	}
}

func TestMetricsAndReadiness(t *testing.T) {
	h := start(t, "")
	h.do(t, "POST", "/v1/chat/completions", "", `{"model":"auto","messages":[{"role":"user","content":"will it rain tomorrow"}]}`)
	h.do(t, "POST", "/v1/route", "", `{"input":"what is the capital of mongolia"}`)
	resp, err := http.Get(h.http.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`semroute_decisions_total{decided_by="embedding",intent="weather",target="model:fast,strong"} 1`,
		`semroute_tokens_total{kind="completion",model="fast"} 50`, `semroute_cost_usd_total{model="fast"} 0.0002`,
		`semroute_routed_total 2`, `semroute_routing_seconds_count 2`, `semroute_upstream_seconds_count{model="fast"} 1`,
		`semroute_requests_total{route="/v1/route",status="200"} 1`} {
		if !bytes.Contains(data, []byte(want)) {
			t.Errorf("metrics lack %s", want)
		}
	}
	code, _, body := h.do(t, "GET", "/readyz", "", "")
	if code != 200 || body["router"] != true {
		t.Errorf("readyz %d %v", code, body)
	}
	notLoaded := httptest.NewServer(New(Options{LookupEnv: os.LookupEnv}).Handler())
	defer notLoaded.Close()
	if resp, _ := http.Get(notLoaded.URL + "/readyz"); resp.StatusCode != 503 {
		t.Errorf("readyz before load: %d", resp.StatusCode)
	}
}

func TestReloadKeepsOldConfigOnError(t *testing.T) {
	h := start(t, "")
	good, _ := os.ReadFile(h.cfgPath)
	os.WriteFile(h.cfgPath, []byte("version: 1\nintents: []\n"), 0o644)
	if err := h.srv.Reload(context.Background()); err == nil {
		t.Fatal("a bad config was accepted")
	}
	if code, _, body := h.do(t, "POST", "/v1/route", "", `{"input":"will it rain tomorrow"}`); code != 200 || body["intent"] != "weather" {
		t.Errorf("after a refused reload: %d %v", code, body)
	}
	// A tag the YAML library panics on (a scalar where a list belongs).
	os.WriteFile(h.cfgPath, []byte("version: 1\nintents:\n  - name: a\n    utterances: !!int 0\n"), 0o644)
	if err := h.srv.Reload(context.Background()); err == nil || !strings.Contains(err.Error(), "line 4") {
		t.Errorf("a config the decoder panics on: %v", err)
	}
	if code, _, body := h.do(t, "POST", "/v1/route", "", `{"input":"will it rain tomorrow"}`); code != 200 || body["intent"] != "weather" {
		t.Errorf("after a refused reload: %d %v", code, body)
	}
	os.WriteFile(h.cfgPath, bytes.Replace(good, []byte("play some jazz,"), []byte("play some jazz, will it snow on sunday,"), 1), 0o644)
	if err := h.srv.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if code, _, body := h.do(t, "POST", "/v1/route", "", `{"input":"will it snow on sunday"}`); code != 200 || body["intent"] != "music" {
		t.Errorf("after a good reload the new utterance should route to music: %d %v", code, body)
	}
}

// TestGracefulShutdown: a request in flight when the server is told to stop
// still gets its answer.
func TestGracefulShutdown(t *testing.T) {
	h := start(t, "")
	h.fast.setFault(func(n int64, w http.ResponseWriter, r *http.Request) bool {
		time.Sleep(300 * time.Millisecond)
		return false
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- h.srv.Serve(ctx, ln) }()
	answered := make(chan int, 1)
	go func() {
		resp, err := http.Post("http://"+ln.Addr().String()+"/v1/chat/completions", "application/json",
			strings.NewReader(`{"model":"auto","messages":[{"role":"user","content":"will it rain tomorrow"}]}`))
		if err != nil {
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	for h.fast.hits.Load() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if code := <-answered; code != 200 {
		t.Errorf("the in-flight request got %d during shutdown", code)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

func TestStreamCostTrailer(t *testing.T) {
	h := start(t, "")
	h.strong.setFault(func(n int64, w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\n\n")
		io.WriteString(w, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":100,\"completion_tokens\":50}}\n\ndata: [DONE]\n\n")
		return true
	})
	resp, err := http.Post(h.http.URL+"/v1/chat/completions", "application/json", strings.NewReader(`{"model":"auto","stream":true,"messages":[{"role":"user","content":"play some jazz"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(resp.Body)
	resp.Body.Close()
	if got := resp.Trailer.Get("x-semroute-cost"); got != "0.002" {
		t.Errorf("cost trailer %q, want 0.002 (100 × $10 + 50 × $20 per million)", got)
	}
}

// readStream collects a streamed answer's text.
func readStream(st *ssestream.Stream[openai.ChatCompletionChunk]) string {
	var text strings.Builder
	for st.Next() {
		if ch := st.Current(); len(ch.Choices) > 0 {
			text.WriteString(ch.Choices[0].Delta.Content)
		}
	}
	return text.String()
}

// openIndex loads the config at path and opens the chromem index in its
// data directory, closed when the test ends.
func openIndex(t *testing.T, path string) (*config.Config, *chromem.Index) {
	t.Helper()
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := chromem.Open(cfg.Index.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idx.Close() })
	return cfg, idx
}
