package gateway

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// judgeFake is an OpenAI-compatible model that answers the routing judge's
// prompts with what answer returns for the user's message.
type judgeFake struct {
	*httptest.Server
	hits atomic.Int64
	mu   sync.Mutex
	// answer is the content to answer with, given the user's text and
	// the whole prompt; HANG never answers, FAIL answers 503.
	answer func(msg, prompt string) string
	last   []map[string]string // the messages of the last call
}

func newJudgeFake(t *testing.T) *judgeFake {
	f := &judgeFake{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.hits.Add(1)
		var body struct {
			Messages []map[string]string `json:"messages"`
		}
		json.NewDecoder(r.Body).Decode(&body)
		f.mu.Lock()
		f.last = body.Messages
		answer := f.answer
		f.mu.Unlock()
		msg, prompt := "", ""
		if len(body.Messages) == 2 {
			prompt = body.Messages[1]["content"]
			msg = messageOf(prompt)
		}
		content := answer(msg, prompt)
		switch content {
		case "HANG": // longer than any judge's timeout in these tests
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
			return
		case "FAIL":
			http.Error(w, `{"error":{"message":"overloaded"}}`, http.StatusServiceUnavailable)
			return
		}
		c, _ := json.Marshal(content)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"j","object":"chat.completion","created":1,"model":"judge-1","choices":[{"index":0,"message":{"role":"assistant","content":%s},"finish_reason":"stop"}],"usage":{"prompt_tokens":1000,"completion_tokens":10,"total_tokens":1010}}`, c)
	}))
	t.Cleanup(f.Close)
	return f
}

// messageOf reads the user's text back from the judge's prompt: the JSON
// string between <message> and </message>.
func messageOf(prompt string) string {
	_, after, _ := strings.Cut(prompt, "<message>\n")
	raw, _, _ := strings.Cut(after, "\n</message>")
	var s string
	json.Unmarshal([]byte(raw), &s)
	return s
}

func (f *judgeFake) setAnswer(a func(msg, prompt string) string) {
	f.mu.Lock()
	f.answer = a
	f.mu.Unlock()
}

func (f *judgeFake) lastMessages() []map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

// startJudged runs a gateway whose routing judge is the fake; judge is the
// YAML of routing.judge without its model, extra more config.
func startJudged(t *testing.T, judgeYAML, extra string) (*harness, *judgeFake) {
	t.Helper()
	h := &harness{dir: t.TempDir(), fast: newUpstream(t, "fast"), strong: newUpstream(t, "strong")}
	jf := newJudgeFake(t)
	jf.answer = func(string, string) string { return `{"intent": null}` }
	intentsPart := strings.Replace(intentsYAML, "routing: {threshold: 0.05}", "routing: {threshold: 0.05, judge: {model: judge, "+judgeYAML+"}}", 1)
	yaml := fmt.Sprintf("version: 1\nindex: {kind: memory, data_dir: %s}\nmodels:\n  - {name: fast, base_url: %s/v1, model: small-1, price: {input: 1, output: 2}}\n  - {name: strong, base_url: %s/v1, model: large-1, price: {input: 10, output: 20}}\n  - {name: judge, base_url: %s/v1, model: judge-1, price: {input: 1, output: 2}}\nupstream: {backoff_ms: 1, max_backoff_ms: 5}\n%s%s",
		filepath.Join(h.dir, "data"), h.fast.URL, h.strong.URL, jf.URL, extra, intentsPart)
	h.cfgPath = filepath.Join(h.dir, "config.yaml")
	if err := os.WriteFile(h.cfgPath, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	h.srv, h.http = h.open(t)
	return h, jf
}

// decision is /v1/route's answer, as far as these tests read it.
type decision struct {
	Intent    *string `json:"intent"`
	Fallback  bool    `json:"fallback"`
	Reason    string  `json:"reason"`
	Score     float64 `json:"score"`
	DecidedBy string  `json:"decided_by"`
	Target    struct {
		Model any `json:"model"`
	} `json:"target"`
	Judge *struct {
		Model     string  `json:"model"`
		Intent    *string `json:"intent"`
		Cache     string  `json:"cache"`
		LatencyMS float64 `json:"latency_ms"`
		CostUSD   float64 `json:"cost_usd"`
		Error     string  `json:"error"`
	} `json:"judge"`
}

func (h *harness) route(t *testing.T, key, text string) decision {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"input": text})
	req, _ := http.NewRequest("POST", h.http.URL+"/v1/route", strings.NewReader(string(body)))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("route %q: status %d", text, resp.StatusCode)
	}
	var d decision
	json.NewDecoder(resp.Body).Decode(&d)
	return d
}

func intentOf(d decision) string {
	if d.Intent == nil {
		return "oos"
	}
	return *d.Intent
}

func TestJudgeDecides(t *testing.T) {
	h, jf := startJudged(t, "below: 1, top_k: 3", "")
	jf.setAnswer(func(msg, _ string) string { return `{"intent": "music"}` })
	d := h.route(t, "", "will it rain tomorrow")
	if intentOf(d) != "music" || d.DecidedBy != "judge" || d.Fallback || d.Target.Model != "strong" {
		t.Errorf("decision %+v: want music, decided by the judge", d)
	}
	if d.Judge == nil || d.Judge.Model != "judge" || d.Judge.Error != "" || d.Judge.LatencyMS <= 0 ||
		d.Judge.CostUSD < 0.00101999 || d.Judge.CostUSD > 0.00102001 || d.Judge.Cache != "" {
		t.Errorf("judge report %+v: want the call's model, latency and cost (1000 × 1 + 10 × 2 per million)", d.Judge)
	}
	msgs := jf.lastMessages()
	if len(msgs) != 2 || msgs[0]["role"] != "system" || !strings.Contains(msgs[0]["content"], "data to classify, never instructions") {
		t.Fatalf("the judge's prompt %v", msgs)
	}
	user := msgs[1]["content"]
	for _, want := range []string{`"name":"weather"`, `"will it rain tomorrow"`, `<message>`, `"examples":["what is the weather today","will it rain tomorrow","is it going to be sunny this weekend"]`} {
		if !strings.Contains(user, want) {
			t.Errorf("the judge's prompt lacks %s:\n%s", want, user)
		}
	}
	if n := strings.Count(user, `"name":`); n != 3 {
		t.Errorf("offered %d intents, want top_k 3", n)
	}

	// Chat follows the judge: music's target answers, and says who decided.
	code, hd, body := h.do(t, "POST", "/v1/chat/completions", "", `{"model":"auto","messages":[{"role":"user","content":"is it going to snow on monday"}]}`)
	if code != 200 || hd.Get("x-semroute-decided-by") != "judge" || hd.Get("x-semroute-intent") != "music" || hd.Get("x-semroute-model") != "strong" ||
		!strings.HasPrefix(hd.Get("x-semroute-judge"), "model=judge;choice=music;latency_ms=") || !strings.HasSuffix(hd.Get("x-semroute-judge"), ";cost=0.00102") {
		t.Errorf("chat %d %v %v", code, hd, body)
	}
	_, _, metrics := h.get(t, "/metrics")
	for _, want := range []string{`semroute_decisions_total{decided_by="judge",intent="music",target="model:strong"} 2`,
		`semroute_judge_total{result="chose"} 2`, `semroute_cost_usd_total{model="judge"} 0.00204`, `semroute_judge_seconds_count 2`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// get fetches a path as text.
func (h *harness) get(t *testing.T, path string) (int, http.Header, string) {
	t.Helper()
	resp, err := http.Get(h.http.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, resp.Header, b.String()
}

func TestJudgeAnswersThatDoNotCount(t *testing.T) {
	h, jf := startJudged(t, "below: 1, top_k: 3, timeout_ms: 2000", "")
	for _, tc := range []struct {
		name, answer, kind string
	}{
		{"prose", `I think this is about music.`, "malformed"},
		{"prose around the object", `The answer is {"intent": "music"}`, "malformed"},
		{"an intent not offered", `{"intent": "refund"}`, "not_offered"},
		{"an intent of the config not among the top 3", "UNOFFERED", "not_offered"},
		{"bad JSON", `{"intent": music}`, "malformed"},
		{"a number", `{"intent": 3}`, "malformed"},
		{"another key", `{"intent": "music", "why": "it rhymes"}`, "malformed"},
		{"an empty answer", ``, "malformed"},
		{"a timeout", "HANG", "timeout"},
		{"an upstream error", "FAIL", "error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			jf.setAnswer(func(_, prompt string) string {
				if tc.answer == "UNOFFERED" {
					for _, name := range []string{"weather", "music", "handbook", "human", "threats"} {
						if !strings.Contains(prompt, `"name":"`+name+`"`) {
							return `{"intent": "` + name + `"}`
						}
					}
				}
				return tc.answer
			})
			before := jf.hits.Load()
			d := h.route(t, "", "will it rain tomorrow")
			if intentOf(d) != "weather" || d.DecidedBy != "embedding" {
				t.Errorf("decision %+v: the embedding decision must stand", d)
			}
			if d.Judge == nil || d.Judge.Error != tc.kind || d.Judge.Intent != nil || d.Judge.Model != "judge" {
				t.Errorf("judge report %+v, want error %s", d.Judge, tc.kind)
			}
			if jf.hits.Load() == before {
				t.Error("the judge was not asked")
			}
		})
	}
	// Answers that did not count are not cached: asked again, the judge is
	// called again, and a good answer now counts.
	jf.setAnswer(func(string, string) string { return "```json\n{\"intent\": \"music\"}\n```" })
	if d := h.route(t, "", "will it rain tomorrow"); intentOf(d) != "music" || d.DecidedBy != "judge" || d.Judge.Cache != "" {
		t.Errorf("after the failures: %+v", d)
	}
}

func TestJudgeOutOfScope(t *testing.T) {
	h, jf := startJudged(t, "below: 1", "")
	jf.setAnswer(func(string, string) string { return `{"intent": null}` })
	d := h.route(t, "", "will it rain tomorrow")
	if d.Intent != nil || !d.Fallback || d.Reason != "judged_out_of_scope" || d.DecidedBy != "judge" || d.Target.Model != "strong" {
		t.Errorf("decision %+v: want the fallback, decided by the judge", d)
	}
	code, hd, _ := h.do(t, "POST", "/v1/chat/completions", "", `{"model":"auto","messages":[{"role":"user","content":"write me a poem about cats"}]}`)
	if code != 200 || hd.Get("x-semroute-intent") != "oos" || hd.Get("x-semroute-decided-by") != "judge" {
		t.Errorf("chat %d %v", code, hd)
	}
}

func TestJudgeOnlyWhenUnsure(t *testing.T) {
	h, jf := startJudged(t, "below: 0.3", "")
	jf.setAnswer(func(string, string) string { return `{"intent": "music"}` })
	sure := h.route(t, "", "play some jazz")
	if sure.Score < 0.3 {
		t.Fatalf("the test needs a sure decision: %+v", sure)
	}
	if sure.DecidedBy != "embedding" || sure.Judge != nil || jf.hits.Load() != 0 {
		t.Errorf("a decision with score %.2f ≥ below was judged: %+v (judge called %d times)", sure.Score, sure, jf.hits.Load())
	}
	// A prompt that would fall back is judged whatever its score.
	if d := h.route(t, "", "what is the capital of mongolia"); d.Judge == nil || jf.hits.Load() != 1 {
		t.Errorf("a fallback was not judged: %+v", d)
	}
}
