package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/semroute/semroute/embed/local/localtest"
	"github.com/semroute/semroute/intents"
	"github.com/semroute/semroute/router"
	"github.com/semroute/semroute/router/config"
)

func TestCascadeTarget(t *testing.T) {
	h := start(t, "")
	// fast answers with logprobs: unsure (-2.5) about umbrellas, sure otherwise.
	h.fast.setFault(func(n int64, w http.ResponseWriter, r *http.Request) bool {
		h.fast.mu.Lock()
		var msgs []struct{ Content string }
		json.Unmarshal(h.fast.last["messages"], &msgs)
		asked := string(h.fast.last["logprobs"])
		h.fast.mu.Unlock()
		lp := -0.1
		if len(msgs) > 0 && strings.Contains(msgs[len(msgs)-1].Content, "umbrella") {
			lp = -2.5
		}
		if asked != "true" {
			t.Errorf("the cheap stage was not asked for logprobs")
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"answer from fast"},"logprobs":{"content":[{"token":"a","logprob":%g},{"token":"b","logprob":%g}]},"finish_reason":"stop"}],"usage":{"prompt_tokens":100,"completion_tokens":50}}`, lp, lp)
		return true
	})
	emb := localtest.Open(t)
	file := filepath.Join(t.TempDir(), "cascade.json")
	c := router.Cascade{Embedder: emb.Fingerprint(), Models: []string{"fast", "strong"}, Threshold: 0.5, K: 3, Objective: "quality=0.95"}
	for _, q := range []string{"will it rain tomorrow", "is it going to be sunny", "how cold is it outside", "do I need an umbrella"} {
		c.Train = append(c.Train, router.CascadeExample{Query: q, Quality: []float64{1}})
	}
	for _, q := range []string{"play some jazz", "skip this song", "turn the music up", "play the new album"} {
		c.Train = append(c.Train, router.CascadeExample{Query: q, Quality: []float64{0}})
	}
	data, _ := json.Marshal(c)
	os.WriteFile(file, data, 0o644)
	cfg, _ := config.Load(h.cfgPath)
	cfg.Intents[0].Target = intents.Target{Cascade: intents.Models{"fast", "strong"}} // weather
	cfg.Intents[1].Target = intents.Target{Cascade: intents.Models{"fast", "strong"}} // music
	cfg.Cascade = &config.CascadeConfig{File: file, LogprobThreshold: new(-1.0)}
	if err := h.srv.Load(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	ask := func(q string) (http.Header, string) {
		code, hd, body := h.do(t, "POST", "/v1/chat/completions", "", `{"model":"auto","messages":[{"role":"user","content":`+quote(q)+`}]}`)
		if code != 200 {
			t.Fatalf("%q: %d %v", q, code, body)
		}
		return hd, body["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)["content"].(string)
	}
	hd, text := ask("will it rain tomorrow in rome")
	if hd.Get("x-semroute-cascade") != "fast:answered" || text != "answer from fast" || hd.Get("x-semroute-saved") != "0.0018" {
		t.Errorf("confident cheap stage: %v %q", hd, text)
	}
	hd, text = ask("do I need an umbrella tomorrow")
	if !strings.HasPrefix(hd.Get("x-semroute-cascade"), "fast:escalated(logprob -2.50);strong:answered") || text != "answer from strong" || hd.Get("x-semroute-cost") != "0.0022" {
		t.Errorf("unsure cheap stage: %v %q", hd, text)
	}
	before := h.fast.hits.Load()
	hd, text = ask("play some jazz please")
	if !strings.HasPrefix(hd.Get("x-semroute-cascade"), "fast:skipped(prompt") || text != "answer from strong" || h.fast.hits.Load() != before {
		t.Errorf("prompt predicts failure: %v %q, fast called %d more times", hd, text, h.fast.hits.Load()-before)
	}
	resp, _ := http.Post(h.http.URL+"/v1/chat/completions", "application/json", strings.NewReader(`{"model":"auto","stream":true,"messages":[{"role":"user","content":"will it rain tomorrow"}]}`))
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(raw), "answer from fast") || !strings.HasSuffix(string(raw), "data: [DONE]\n\n") {
		t.Errorf("stream: %s", raw)
	}
	// A cascade fitted with another embedder is refused at load.
	c.Embedder.Version = "other"
	data, _ = json.Marshal(c)
	other := filepath.Join(t.TempDir(), "other.json")
	os.WriteFile(other, data, 0o644)
	cfg.Cascade = &config.CascadeConfig{File: other, LogprobThreshold: new(-1.0)}
	if err := h.srv.Load(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "other") {
		t.Errorf("a cascade from another embedder: %v", err)
	}
}

// TestCascadeVerifier: the verifier (strong) says no to the cheap answer
// about snow, so that prompt escalates; it says yes to the one about rain.
func TestCascadeVerifier(t *testing.T) {
	h := start(t, "")
	h.strong.setFault(func(n int64, w http.ResponseWriter, r *http.Request) bool {
		h.strong.mu.Lock()
		var msgs []struct{ Role, Content string }
		json.Unmarshal(h.strong.last["messages"], &msgs)
		h.strong.mu.Unlock()
		if len(msgs) < 2 || !strings.HasPrefix(msgs[0].Content, "You check answers") {
			return false // an ordinary call: the usual answer
		}
		verdict := "yes"
		if strings.Contains(msgs[1].Content, "snow") {
			verdict = "no"
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"choices":[{"index":0,"message":{"role":"assistant","content":%q}}],"usage":{"prompt_tokens":10,"completion_tokens":1}}`, verdict)
		return true
	})
	cfg, _ := config.Load(h.cfgPath)
	cfg.Intents[0].Target = intents.Target{Cascade: intents.Models{"fast", "strong"}}
	cfg.Cascade = &config.CascadeConfig{LogprobThreshold: new(0.0), Verifier: "strong"}
	if err := h.srv.Load(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	_, hd, _ := h.do(t, "POST", "/v1/chat/completions", "", `{"model":"auto","messages":[{"role":"user","content":"will it rain tomorrow"}]}`)
	if hd.Get("x-semroute-cascade") != "fast:answered" {
		t.Errorf("verified: %q", hd.Get("x-semroute-cascade"))
	}
	_, hd, _ = h.do(t, "POST", "/v1/chat/completions", "", `{"model":"auto","messages":[{"role":"user","content":"will it snow tomorrow"}]}`)
	if hd.Get("x-semroute-cascade") != "fast:escalated(verifier);strong:answered" || hd.Get("x-semroute-model") != "strong" {
		t.Errorf("refused by the verifier: %q %q", hd.Get("x-semroute-cascade"), hd.Get("x-semroute-model"))
	}
}
