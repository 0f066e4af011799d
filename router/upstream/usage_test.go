package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/semroute/semroute/router/config"
)

// TestStreamAsksForUsage: every stream asks its upstream for usage, merged
// into whatever stream_options the client sent; a client that asked
// already has its body sent as it was.
func TestStreamAsksForUsage(t *testing.T) {
	for _, tc := range []struct{ extra, want string }{
		{``, `{"include_usage":true}`},
		{`,"stream_options":null`, `{"include_usage":true}`},
		{`,"stream_options":{"include_usage":false,"include_obfuscation":false}`, `{"include_obfuscation":false,"include_usage":true}`},
		{`,"stream_options":{"include_usage":true,"x":1}`, `{"include_usage":true,"x":1}`},
	} {
		raw := []byte(`{"model":"auto","stream":true,"messages":[{"role":"user","content":"hi"}]` + tc.extra + `}`)
		req := chatReq("")
		req.Body, req.Stream, req.Raw = nil, true, raw
		json.Unmarshal(raw, &req.Body)
		body, added, err := streamBody(req, "small-1")
		var got map[string]json.RawMessage
		if err != nil || json.Unmarshal(body, &got) != nil {
			t.Fatalf("%s: %s %v", tc.extra, body, err)
		}
		if string(got["stream_options"]) != tc.want || string(got["model"]) != `"small-1"` || string(got["messages"]) != `[{"role":"user","content":"hi"}]` {
			t.Errorf("client's %q: the upstream gets %s", tc.extra, body)
		}
		if asked := strings.Contains(tc.extra, `"include_usage":true`); added == asked {
			t.Errorf("client's %q: added %v", tc.extra, added)
		}
	}
}

// oaiChunk is a chunk as OpenAI streams it with include_usage.
func oaiChunk(content string) string {
	return fmt.Sprintf(`data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":%q},"finish_reason":null}],"usage":null}`+"\n\n", content)
}

const oaiUsage = `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}}` + "\n\n"

// TestUsageChunkOnlyIfAsked: the client that did not ask gets the stream
// byte for byte but for the usage chunk and the "usage":null of the
// others; the one that asked gets it whole. Both are priced on it.
func TestUsageChunkOnlyIfAsked(t *testing.T) {
	stream := oaiChunk("answer ") + oaiChunk("from a") + oaiUsage + "data: [DONE]\n\n"
	up := newFake(t, "a", func(n int64, w http.ResponseWriter) bool {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, stream)
		return true
	})
	p, _, _ := testPool(t, poolConfig(config.Model{Name: "a", BaseURL: up.URL, Model: "m", Price: config.Price{Input: 1, Output: 2}}))
	for _, asked := range []bool{false, true} {
		req := chatReq(`,"stream":true`)
		if asked {
			req = chatReq(`,"stream":true,"stream_options":{"include_usage":true}`)
		}
		req.Stream = true
		var r recorder
		res, err := p.Call(context.Background(), []string{"a"}, req, &r)
		if err != nil {
			t.Fatal(err)
		}
		want := strings.ReplaceAll(oaiChunk("answer ")+oaiChunk("from a"), `,"usage":null`, "") + "data: [DONE]\n\n"
		if asked {
			want = stream
		}
		if r.String() != want {
			t.Errorf("asked %v: the client got\n%s\nwant\n%s", asked, r.String(), want)
		}
		if res.Usage != (Usage{PromptTokens: 10, CompletionTokens: 5}) || res.Cost != 20e-6 {
			t.Errorf("asked %v: usage %+v cost %v, want the upstream's", asked, res.Usage, res.Cost)
		}
	}
}

// TestMissingUsageIsEstimated: an upstream that reports no usage, plain
// or streamed, and a stream cut short, are priced on the estimate (bytes
// / 4), marked as such.
func TestMissingUsageIsEstimated(t *testing.T) {
	up := newFake(t, "a", func(n int64, w http.ResponseWriter) bool {
		switch n {
		case 1: // plain, no usage; 40 bytes of text
			io.WriteString(w, `{"choices":[{"index":0,"message":{"role":"assistant","content":"`+strings.Repeat("x", 40)+`"}}]}`)
		case 2: // streamed, no usage even when asked; 9 bytes
			io.WriteString(w, oaiChunk("four")+oaiChunk(" more")+"data: [DONE]\n\n")
		default: // cut short after 12 bytes
			io.WriteString(w, oaiChunk("twelve bytes"))
			w.(http.Flusher).Flush()
			c, _, _ := w.(http.Hijacker).Hijack()
			c.Close()
		}
		return true
	})
	p, _, _ := testPool(t, poolConfig(config.Model{Name: "a", BaseURL: up.URL, Model: "m", Price: config.Price{Input: 1, Output: 2}}))
	prompt := 1 + messageOverhead // "hi"
	res, err := p.Call(context.Background(), []string{"a"}, chatReq(""), nil)
	if err != nil || res.Usage != (Usage{PromptTokens: prompt, CompletionTokens: 10, Estimated: true}) {
		t.Errorf("plain: %+v %v", res.Usage, err)
	}
	req := chatReq(`,"stream":true`)
	req.Stream = true
	var r recorder
	res, err = p.Call(context.Background(), []string{"a"}, req, &r)
	if err != nil || res.Usage != (Usage{PromptTokens: prompt, CompletionTokens: 3, Estimated: true}) {
		t.Errorf("stream: %+v %v", res.Usage, err)
	}
	var r2 recorder
	res, err = p.Call(context.Background(), []string{"a"}, req, &r2)
	var ue *Error
	if !errors.As(err, &ue) || ue.Kind != KindStream || res.Usage != (Usage{PromptTokens: prompt, CompletionTokens: 3, Estimated: true}) ||
		res.Model != "a" || res.Cost != float64(prompt*1+3*2)/1e6 {
		t.Errorf("broken stream: %+v %v, want what went out priced", res, err)
	}
}

func TestTextBytes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{`{"delta":{"content":"abc"}}`, 3},
		{`{"delta":{"content" : "a\"b"}}`, 4},
		{`{"delta":{"reasoning_content":"ab","content":null}}`, 2},
		{`{"delta":{"tool_calls":[{"function":{"arguments":"{\"x\":1}"}}]}}`, 9},
		{`{"delta":{"content":"say \"content\":\"no\""}}`, 22},
		{`{"logprobs":{"content":[{"token":"a"}]}}`, 0},
	} {
		if got := textBytes([]byte(tc.in)); got != tc.want {
			t.Errorf("textBytes(%s) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

// TestAnthropicStreamUsage: a stream from Anthropic (langchaingo) is priced
// on the usage its events report; the client gets the usage chunk only if
// it asked.
func TestAnthropicStreamUsage(t *testing.T) {
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for _, ev := range []string{
			`{"type":"message_start","message":{"id":"m1","type":"message","role":"assistant","model":"claude-x","content":[],"usage":{"input_tokens":12,"output_tokens":1}}}`,
			`{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`,
			`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hello"}}`,
			`{"type":"content_block_stop","index":0}`,
			`{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":4}}`,
			`{"type":"message_stop"}`,
		} {
			var e struct{ Type string }
			json.Unmarshal([]byte(ev), &e)
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", e.Type, ev)
		}
	}))
	defer fake.Close()
	t.Setenv("SEMROUTE_TEST_ANTHROPIC", "k")
	cfg := poolConfig(config.Model{Name: "claude", BaseURL: fake.URL + "/v1", Model: "claude-x", APIKeyEnv: "SEMROUTE_TEST_ANTHROPIC", Price: config.Price{Input: 3, Output: 15}})
	cfg.Models[0].Provider = "anthropic"
	p, _, _ := testPool(t, cfg)
	for _, asked := range []bool{false, true} {
		req := chatReq(`,"stream":true,"max_tokens":50`)
		if asked {
			req = chatReq(`,"stream":true,"max_tokens":50,"stream_options":{"include_usage":true}`)
		}
		req.Stream = true
		var r recorder
		res, err := p.Call(context.Background(), []string{"claude"}, req, &r)
		if err != nil || res.Usage != (Usage{PromptTokens: 12, CompletionTokens: 4}) || res.Cost != (12*3.0+4*15.0)/1e6 {
			t.Fatalf("asked %v: %+v %v", asked, res, err)
		}
		if got := strings.Contains(r.String(), `"usage"`); got != asked || !strings.Contains(r.String(), "hello") || !strings.HasSuffix(r.String(), "data: [DONE]\n\n") {
			t.Errorf("asked %v: the client got\n%s", asked, r.String())
		}
	}
}

// TestUpstreamRefusingStreamOptions: an upstream that answers 400 to
// stream_options (a server refusing unknown fields) is asked again without it, and from then on;
// its streams are estimated.
func TestUpstreamRefusingStreamOptions(t *testing.T) {
	var withOptions int
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]json.RawMessage
		json.NewDecoder(r.Body).Decode(&body)
		if body["stream_options"] != nil {
			withOptions++
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"object":"error","message":"[{'type': 'extra_forbidden', 'loc': ('body', 'stream_options'), 'msg': 'Extra inputs are not permitted'}]","type":"BadRequestError","code":400}`)
			return
		}
		io.WriteString(w, oaiChunk("four")+"data: [DONE]\n\n")
	}))
	defer up.Close()
	p, _, _ := testPool(t, poolConfig(config.Model{Name: "a", BaseURL: up.URL, Model: "m"}))
	for range 3 {
		req := chatReq(`,"stream":true`)
		req.Stream = true
		var r recorder
		res, err := p.Call(context.Background(), []string{"a"}, req, &r)
		if err != nil || !res.Usage.Estimated || res.Attempts != 1 || !strings.Contains(r.String(), "four") {
			t.Fatalf("%+v %v", res, err)
		}
	}
	if withOptions != 1 {
		t.Errorf("stream_options was sent %d times, want once", withOptions)
	}
}
