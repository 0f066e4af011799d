package upstream

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/semroute/semroute/router/config"
)

// TestAnthropicThroughLangchaingo: a fake of Anthropic's Messages API
// answers; semroute returns it in OpenAI's format with the usage priced.
func TestAnthropicThroughLangchaingo(t *testing.T) {
	var got struct {
		Model     string `json:"model"`
		MaxTokens int    `json:"max_tokens"`
		System    any    `json:"system"`
		Messages  []struct {
			Role string `json:"role"`
		} `json:"messages"`
	}
	var key string
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/messages" {
			http.NotFound(w, r)
			return
		}
		key = r.Header.Get("x-api-key")
		json.NewDecoder(r.Body).Decode(&got)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"msg_1","type":"message","role":"assistant","model":"claude-x","content":[{"type":"text","text":"hello from claude"}],"stop_reason":"end_turn","usage":{"input_tokens":12,"output_tokens":4}}`)
	}))
	defer fake.Close()
	t.Setenv("SEMROUTE_TEST_ANTHROPIC", "k-123")
	cfg := poolConfig(config.Model{Name: "claude", BaseURL: fake.URL + "/v1", Model: "claude-x", APIKeyEnv: "SEMROUTE_TEST_ANTHROPIC", Price: config.Price{Input: 3, Output: 15}})
	cfg.Models[0].Provider = "anthropic"
	p, _, _ := testPool(t, cfg)
	req := chatReq(`,"max_tokens":50`)
	req.Messages = []Message{{Role: "system", Content: "be brief"}, {Role: "user", Content: "hi"}}
	res, err := p.Call(context.Background(), []string{"claude"}, req, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Object  string `json:"object"`
		Choices []struct {
			Message struct{ Content string } `json:"message"`
		} `json:"choices"`
		Usage Usage `json:"usage"`
	}
	json.Unmarshal(res.Body, &out)
	if out.Object != "chat.completion" || len(out.Choices) != 1 || out.Choices[0].Message.Content != "hello from claude" || out.Usage.PromptTokens != 12 {
		t.Errorf("answer %s", res.Body)
	}
	if got.Model != "claude-x" || got.MaxTokens != 50 || key != "k-123" || len(got.Messages) != 1 || got.System == nil {
		t.Errorf("anthropic got %+v with key %q", got, key)
	}
	if want := (12*3.0 + 4*15.0) / 1e6; res.Cost != want {
		t.Errorf("cost %v, want %v", res.Cost, want)
	}
}

// TestOllamaStreamThroughLangchaingo: a fake Ollama streams NDJSON; the
// client gets OpenAI chunks ending in [DONE].
func TestOllamaStreamThroughLangchaingo(t *testing.T) {
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/chat" {
			http.NotFound(w, r)
			return
		}
		for i, part := range []string{"hel", "lo"} {
			done := i == 1
			fmt.Fprintf(w, `{"model":"llama","message":{"role":"assistant","content":%q},"done":%v,"prompt_eval_count":3,"eval_count":2}`+"\n", part, done)
		}
	}))
	defer fake.Close()
	cfg := poolConfig(config.Model{Name: "local", BaseURL: fake.URL, Model: "llama"})
	cfg.Models[0].Provider = "ollama"
	p, _, _ := testPool(t, cfg)
	req := chatReq(`,"stream":true`)
	req.Stream = true
	var r recorder
	res, err := p.Call(context.Background(), []string{"local"}, req, &r)
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	for _, line := range strings.Split(r.String(), "\n") {
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		var c struct {
			Object  string `json:"object"`
			Choices []struct {
				Delta struct{ Content string } `json:"delta"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(data), &c); err != nil || c.Object != "chat.completion.chunk" {
			t.Fatalf("chunk %q: %v", data, err)
		}
		text.WriteString(c.Choices[0].Delta.Content)
	}
	if text.String() != "hello" || !strings.HasSuffix(r.String(), "data: [DONE]\n\n") || res.Usage.CompletionTokens != 2 {
		t.Errorf("stream %q, usage %+v", r.String(), res.Usage)
	}
}
