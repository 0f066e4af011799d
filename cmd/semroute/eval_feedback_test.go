package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/semroute/semroute/embed/local/localtest"
	"github.com/semroute/semroute/index/chromem"
	"github.com/semroute/semroute/router/config"
	"github.com/semroute/semroute/router/gateway"
)

func sha256hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// feedbackServer runs a gateway with feedback on (prompts kept) over a fake
// upstream on loopback; it returns the server's URL, the config file and
// the data directory.
func feedbackServer(t *testing.T, keepPrompts bool) (base, cfgPath, dataDir string) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}`)
	}))
	t.Cleanup(up.Close)
	dir := t.TempDir()
	dataDir = filepath.Join(dir, "data")
	yaml := fmt.Sprintf(`version: 1
index: {kind: memory, data_dir: %s}
models:
  - {name: fast, base_url: %s/v1, model: m}
server:
  api_keys:
    - {name: app, sha256: %s, scope: client}
    - {name: ops, sha256: %s, scope: admin}
feedback: {keep_prompts: %v}
routing: {threshold: 0.05}
intents:
  - name: weather
    target: {model: fast}
    utterances: [what is the weather today, will it rain tomorrow, is it going to be sunny this weekend, how cold is it outside, do I need an umbrella]
  - name: music
    target: {model: fast}
    utterances: [play some jazz, put on my workout playlist, skip this song, turn the music up, play the new album]
fallback: {model: fast}
`, dataDir, up.URL, sha256hex("client-key"), sha256hex("admin-key"), keepPrompts)
	cfgPath = filepath.Join(dir, "config.yaml")
	os.WriteFile(cfgPath, []byte(yaml), 0o644)
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := chromem.Open(cfg.Index.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idx.Close() })
	srv := gateway.New(gateway.Options{ConfigPath: cfgPath, Embedder: localtest.Open(t), Index: idx})
	if err := srv.Load(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return hs.URL, cfgPath, dataDir
}

func post(t *testing.T, url, key, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestFeedbackRoundTrip: a chat routed to the wrong intent, the client's
// feedback naming the right one, `semroute eval --feedback` listing the
// row (which `semroute eval --test` reads), and the correction applied as
// an utterance: the same prompt then routes to the right intent.
func TestFeedbackRoundTrip(t *testing.T) {
	base, cfgPath, dataDir := feedbackServer(t, true)
	const prompt = "will it rain tomorrow in paris"
	chat := func() (id, intent string) { return chatAuto(t, base, prompt) }
	id, before := chat()
	if before != "weather" {
		t.Fatalf("before: %q routes to %q", prompt, before)
	}
	if code, body := post(t, base+"/v1/feedback", "client-key", `{"request_id":"`+id+`","intent":"music","rating":-1}`); code != 201 {
		t.Fatalf("feedback: %d %s", code, body)
	}
	id2, _ := chat() // a rating alone gives no row
	if code, body := post(t, base+"/v1/feedback", "client-key", `{"request_id":"`+id2+`","rating":1}`); code != 201 {
		t.Fatalf("feedback: %d %s", code, body)
	}

	code, stdout, stderr := semroute(t, "", "eval", "--feedback", dataDir)
	if code != 0 || stdout != `{"text":"`+prompt+`","label":"music"}`+"\n" {
		t.Fatalf("eval --feedback: %d %q %s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "2 feedback, 1 labeled rows; skipped 1 without an intent") {
		t.Errorf("eval --feedback's summary: %s", stderr)
	}
	rows := filepath.Join(t.TempDir(), "rows.jsonl")
	if code, _, stderr := semroute(t, "", "eval", "--feedback", dataDir, "--out", rows); code != 0 {
		t.Fatalf("eval --feedback --out: %s", stderr)
	}
	code, out, stderr := semroute(t, "", "eval", "--config", cfgPath, "--test", rows, "--json", "--quiet")
	if code != 0 || !strings.Contains(out, `"accuracy": 0,`) {
		t.Errorf("eval --test on the rows (the router still misroutes it): %d %.300s %s", code, out, stderr)
	}

	if code, body := post(t, base+"/v1/feedback/"+id+"/apply", "admin-key", ""); code != 200 || !strings.Contains(body, `"intent":"music"`) {
		t.Fatalf("apply: %d %s", code, body)
	}
	if _, after := chat(); after != "music" {
		t.Errorf("after the correction %q routes to %q, want music", prompt, after)
	}
}

// chatAuto sends prompt to an auto model through the official client and
// returns the answer's request id and routed intent.
func chatAuto(t *testing.T, base, prompt string) (id, intent string) {
	t.Helper()
	c := openai.NewClient(option.WithBaseURL(base+"/v1"), option.WithAPIKey("client-key"), option.WithMaxRetries(0))
	var resp *http.Response
	if _, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "auto", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(prompt)},
	}, option.WithResponseInto(&resp)); err != nil {
		t.Fatal(err)
	}
	return resp.Header.Get("X-Request-Id"), resp.Header.Get("X-Semroute-Intent")
}

// TestEvalFeedbackPromptNotKept: without keep_prompts a correction gives
// no row, and eval --feedback says why.
func TestEvalFeedbackPromptNotKept(t *testing.T) {
	base, _, dataDir := feedbackServer(t, false)
	id, _ := chatAuto(t, base, "will it rain tomorrow in paris")
	if code, body := post(t, base+"/v1/feedback", "client-key", `{"request_id":"`+id+`","intent":"music"}`); code != 201 {
		t.Fatalf("feedback: %d %s", code, body)
	}
	code, stdout, stderr := semroute(t, "", "eval", "--feedback", dataDir)
	if code != 0 || stdout != "" || !strings.Contains(stderr, "1 feedback, 0 labeled rows") || !strings.Contains(stderr, "1 whose prompt was not kept") {
		t.Errorf("eval --feedback: %d %q %s", code, stdout, stderr)
	}
	if code, _, stderr := semroute(t, "", "eval", "--feedback", t.TempDir()); code == 0 || !strings.Contains(stderr, "holds no") {
		t.Errorf("a folder without feedback: %d %s", code, stderr)
	}
}
