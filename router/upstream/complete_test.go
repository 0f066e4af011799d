package upstream

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/semroute/semroute/router"
)

// TestComplete: Complete (what rag.Completer asks of a model) sends the
// body's messages on, typed, to a provider that takes them so (Anthropic
// through langchaingo: the system message apart), and returns the
// OpenAI-format answer, the model that answered and the cost.
func TestComplete(t *testing.T) {
	var got struct {
		System   any `json:"system"`
		Messages []struct {
			Role    string `json:"role"`
			Content any    `json:"content"`
		} `json:"messages"`
	}
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewDecoder(r.Body).Decode(&got)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"msg_1","type":"message","role":"assistant","model":"claude-x","content":[{"type":"text","text":"from the passages [1]"}],"stop_reason":"end_turn","usage":{"input_tokens":12,"output_tokens":4}}`)
	}))
	defer fake.Close()
	t.Setenv("SEMROUTE_TEST_ANTHROPIC", "k")
	cfg := config(router.Model{Name: "claude", BaseURL: fake.URL + "/v1", Model: "claude-x", APIKeyEnv: "SEMROUTE_TEST_ANTHROPIC", Price: router.Price{Input: 3, Output: 15}})
	cfg.Models[0].Provider = "anthropic"
	p, _, _ := testPool(t, cfg)
	body := map[string]json.RawMessage{
		"messages":   json.RawMessage(`[{"role":"system","content":"answer from [1] the manual"},{"role":"user","content":"how do I reset it?"}]`),
		"max_tokens": json.RawMessage(`50`),
	}
	reply, model, cost, err := p.Complete(context.Background(), []string{"nope", "claude"}, body)
	if err != nil {
		t.Fatal(err)
	}
	if model != "claude" || !strings.Contains(string(reply), "from the passages [1]") {
		t.Errorf("Complete = %s from %q", reply, model)
	}
	if want := (12*3.0 + 4*15.0) / 1e6; cost != want {
		t.Errorf("cost %v, want %v", cost, want)
	}
	sys, _ := json.Marshal(got.System)
	if !strings.Contains(string(sys), "answer from [1] the manual") || len(got.Messages) != 1 || got.Messages[0].Role != "user" {
		t.Errorf("anthropic got system %s, messages %+v", sys, got.Messages)
	}
	if _, _, _, err := p.Complete(context.Background(), []string{"claude"}, map[string]json.RawMessage{"messages": json.RawMessage(`{"role":1}`)}); err == nil || !strings.Contains(err.Error(), "complete: read messages") {
		t.Errorf("messages not a list: %v", err)
	}
}
