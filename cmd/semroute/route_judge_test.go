package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/semroute/semroute/embed/local/localtest"
)

// TestRouteCommandAsksTheJudge: with routing.judge, `semroute route` asks
// the judge's model (a fake OpenAI-compatible server on loopback) about an
// unsure prompt and prints who decided; --no-judge does not ask.
func TestRouteCommandAsksTheJudge(t *testing.T) {
	localtest.Open(t)
	var calls atomic.Int64
	var sawDescription atomic.Bool
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		body, _ := io.ReadAll(r.Body)
		// The prompt is a JSON string inside the request: its quotes escaped.
		sawDescription.Store(strings.Contains(string(body), `\"description\":\"playing music\"`))
		fmt.Fprint(w, `{"choices":[{"message":{"role":"assistant","content":"{\"intent\": \"music\"}"}}],"usage":{"prompt_tokens":10,"completion_tokens":5}}`)
	}))
	defer fake.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfg, []byte(`models: [{name: j, base_url: `+fake.URL+`/v1, model: judge-1}]
index: {data_dir: ./data}
routing: {judge: {model: j, below: 1}}
intents:
  - {name: weather, utterances: [will it rain tomorrow, how cold is it outside], target: {model: j}}
  - {name: music, description: playing music, utterances: [play some jazz, skip this song], target: {model: j}}
fallback: {model: j}
`), 0o644)
	code, out, errs := semroute(t, "", "route", "--config", cfg, "will it rain tomorrow")
	var d struct {
		Intent    string `json:"intent"`
		DecidedBy string `json:"decided_by"`
		Judge     struct {
			Model string `json:"model"`
		} `json:"judge"`
	}
	if err := json.Unmarshal([]byte(out), &d); code != 0 || err != nil || d.Intent != "music" || d.DecidedBy != "judge" || d.Judge.Model != "j" || calls.Load() != 1 {
		t.Errorf("exit %d, %s (%v), judge called %d times; stderr %s", code, out, err, calls.Load(), errs)
	}
	if !sawDescription.Load() {
		t.Error("the judge's prompt lacks the intent's description")
	}
	code, out, _ = semroute(t, "", "route", "--config", cfg, "--no-judge", "--format", "text", "will it rain tomorrow")
	if code != 0 || !strings.HasPrefix(out, "weather") || strings.Contains(out, "(judge)") || calls.Load() != 1 {
		t.Errorf("--no-judge: exit %d, %s, judge called %d times", code, out, calls.Load())
	}
}
