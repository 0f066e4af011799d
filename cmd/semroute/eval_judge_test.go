package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/semroute/semroute/embed/local/localtest"
	"github.com/semroute/semroute/intents"
	"github.com/semroute/semroute/router/judge"
)

// rightJudge is an OpenAI-compatible endpoint on loopback standing in for
// the judge's model: it reads the candidates and the message out of the
// judge's prompt and names the message's label (from truth) when it is a
// candidate, else answers {"intent": null}. Each answer reports 1,000
// prompt and 10 completion tokens.
func rightJudge(t *testing.T, truth map[string]string, calls *atomic.Int64) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		var req struct {
			Messages []judge.Message `json:"messages"`
		}
		body, _ := io.ReadAll(r.Body)
		if json.Unmarshal(body, &req) != nil || len(req.Messages) != 2 {
			http.Error(w, "not a judge's request", http.StatusBadRequest)
			return
		}
		user := req.Messages[1].Content
		_, rest, _ := strings.Cut(user, "<intents>\n")
		list, rest, _ := strings.Cut(rest, "\n</intents>")
		_, rest, _ = strings.Cut(rest, "<message>\n")
		msg, _, _ := strings.Cut(rest, "\n</message>")
		var cands []judge.Candidate
		var text string
		if json.Unmarshal([]byte(list), &cands) != nil || json.Unmarshal([]byte(msg), &text) != nil {
			http.Error(w, "no candidates or message in the prompt", http.StatusBadRequest)
			return
		}
		answer := `{"intent": null}`
		if label, ok := truth[text]; ok && slices.ContainsFunc(cands, func(c judge.Candidate) bool { return c.Name == label }) {
			answer = fmt.Sprintf(`{"intent": %q}`, label)
		}
		content, _ := json.Marshal(answer)
		fmt.Fprintf(w, `{"choices":[{"message":{"role":"assistant","content":%s}}],"usage":{"prompt_tokens":1000,"completion_tokens":10}}`, content)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestEvalJudgeCommand: `semroute eval --judge` with the demo config, its
// routing.judge asking a model on loopback that is right whenever it can
// be, reaches the cascade table's ceiling at routing.judge.below exactly,
// pays calls × price, and the reports show it.
func TestEvalJudgeCommand(t *testing.T) {
	localtest.Open(t)
	const prompts = "../../datasets/demo/prompts.jsonl"
	rows, err := intents.ReadLabeled(prompts)
	if err != nil {
		t.Fatal(err)
	}
	truth := map[string]string{}
	for _, r := range rows {
		truth[r.Text] = r.Label
	}
	var calls atomic.Int64
	fake := rightJudge(t, truth, &calls)
	cfg := demoConfig(t)
	data, _ := os.ReadFile(cfg)
	text := strings.Replace(string(data), "models:\n", "models:\n  - {name: j, base_url: "+fake.URL+"/v1, model: judge-1, price: {input: 2, output: 8}}\n", 1)
	text = strings.Replace(text, "routing:\n", "routing:\n  judge: {model: j, below: 0.5, top_k: 3}\n", 1)
	os.WriteFile(cfg, []byte(text), 0o644)

	out := filepath.Join(t.TempDir(), "report")
	code, stdout, stderr := semroute(t, "", "eval", "--config", cfg, "--test", prompts, "--judge", "j", "--json", "--quiet", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep struct {
		Accuracy float64 `json:"accuracy"`
		Cascade  struct {
			K      int `json:"k"`
			Points []struct {
				Threshold float64 `json:"threshold"`
				Ceiling   float64 `json:"ceiling"`
			} `json:"points"`
		} `json:"cascade"`
		Judge struct {
			Model    string         `json:"model"`
			Below    float64        `json:"below"`
			K        int            `json:"k"`
			Accuracy float64        `json:"accuracy"`
			Ceiling  float64        `json:"ceiling"`
			Calls    int            `json:"calls"`
			Errors   map[string]int `json:"errors"`
			CostUSD  float64        `json:"cost_usd"`
		} `json:"judge"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	j := rep.Judge
	i := slices.IndexFunc(rep.Cascade.Points, func(p struct {
		Threshold float64 `json:"threshold"`
		Ceiling   float64 `json:"ceiling"`
	}) bool {
		return p.Threshold == 0.5
	})
	if j.Model != "j" || j.Below != 0.5 || j.K != 3 || rep.Cascade.K != 3 || j.Calls == 0 || int64(j.Calls) != calls.Load() || len(j.Errors) != 0 || i < 0 {
		t.Fatalf("judge %+v, cascade k %d, the fake saw %d calls", j, rep.Cascade.K, calls.Load())
	}
	if j.Accuracy != rep.Cascade.Points[i].Ceiling || j.Accuracy <= rep.Accuracy {
		t.Errorf("with the judge %.6f, the ceiling at 0.5 %.6f, without %.6f", j.Accuracy, rep.Cascade.Points[i].Ceiling, rep.Accuracy)
	}
	if want := float64(j.Calls) * (1000*2 + 10*8) / 1e6; math.Abs(j.CostUSD-want) > 1e-12 {
		t.Errorf("cost %v, want %v for %d calls", j.CostUSD, want, j.Calls)
	}
	page, _ := os.ReadFile(filepath.Join(out, "report.html"))
	md, _ := os.ReadFile(filepath.Join(out, "report.md"))
	if !strings.Contains(string(page), "With the judge <b>j</b>") || !strings.Contains(string(page), "<circle") || !strings.Contains(string(md), "## Routing judge: j") {
		t.Error("report.html or report.md lacks the judge")
	}

	// --judge-below overrides the config's; the text report has the section.
	code, stdout, stderr = semroute(t, "", "eval", "--config", cfg, "--test", prompts, "--judge", "j", "--judge-below", "0.2", "--quiet")
	if code != 0 || !strings.Contains(stdout, "judge j (asked about rows scoring under 0.20") || !strings.Contains(stdout, "errors: none") {
		t.Errorf("exit %d: %s\n%s", code, stdout, stderr)
	}
	t.Setenv("FAST_KEY", "")
	if code, _, stderr := semroute(t, "", "eval", "--test", prompts, "--config", cfg, "--judge", "fast"); code != 1 || !strings.Contains(stderr, "set FAST_KEY") {
		t.Errorf("--judge with a model whose key is unset: exit %d, %s", code, stderr)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--train", prompts, "--judge", "j"}, "needs --config"},
		{[]string{"--config", cfg, "--judge", "nope"}, `"nope": not a model of`},
		{[]string{"--config", cfg, "--judge", "j", "--judge-below", "1.5"}, "--judge-below 1.5"},
		{[]string{"--config", cfg, "--judge", "j", "--parallel", "0"}, "--parallel 0"},
	} {
		code, _, stderr := semroute(t, "", append([]string{"eval", "--test", prompts}, tc.args...)...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, %s", tc.args, code, stderr)
		}
	}
}

// TestEvalConfigWithoutIntents: a config may leave its intents to --train
// (it holds the models and the judge); without --train it is refused,
// naming the problem.
func TestEvalConfigWithoutIntents(t *testing.T) {
	localtest.Open(t)
	const prompts = "../../datasets/demo/prompts.jsonl"
	cfg := filepath.Join(t.TempDir(), "judge.yaml")
	os.WriteFile(cfg, []byte("models: [{name: j, base_url: http://127.0.0.1:9/v1, model: m}]\nfallback: {model: j}\n"), 0o644)
	code, stdout, stderr := semroute(t, "", "eval", "--config", cfg, "--train", prompts, "--test", prompts, "--json", "--quiet")
	var rep struct {
		Data struct {
			Intents int `json:"intents"`
		} `json:"data"`
	}
	if json.Unmarshal([]byte(stdout), &rep); code != 0 || rep.Data.Intents != 12 {
		t.Errorf("exit %d, %d intents: %s", code, rep.Data.Intents, stderr)
	}
	if code, _, stderr := semroute(t, "", "eval", "--config", cfg, "--test", prompts); code != 1 || !strings.Contains(stderr, "no intents") {
		t.Errorf("no intents anywhere: exit %d, %s", code, stderr)
	}
}
