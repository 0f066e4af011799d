package eval

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/semroute/semroute/datasets"
	"github.com/semroute/semroute/embed/local/localtest"
	"github.com/semroute/semroute/intents"
	"github.com/semroute/semroute/router"
	"github.com/semroute/semroute/router/config"
	"github.com/semroute/semroute/router/judge"
	"github.com/semroute/semroute/router/upstream"
)

// fakeJudge is an OpenAI-compatible chat endpoint on loopback standing in
// for the judge's model, the one thing outside this machine. It reads the
// candidates and the message out of the judge's prompt, and answers by
// mode: "right" names the message's label (from truth) when it is among
// the candidates and null otherwise; "garbage" answers prose; "hang"
// answers only after the client gave up. Every answer reports a usage of
// 1,000 prompt and 10 completion tokens.
type fakeJudge struct {
	*httptest.Server
	calls, hits, nulls atomic.Int64
}

func newFakeJudge(t *testing.T, mode string, truth map[string]string) *fakeJudge {
	f := &fakeJudge{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.calls.Add(1)
		var req struct {
			Messages []judge.Message `json:"messages"`
		}
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &req); err != nil || len(req.Messages) != 2 {
			http.Error(w, "not a judge's request", http.StatusBadRequest)
			return
		}
		answer := "I think it is about an order."
		switch mode {
		case "hang":
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
			return
		case "right":
			names, text, err := readJudgePrompt(req.Messages[1].Content)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			label, ok := truth[text]
			if !ok {
				http.Error(w, fmt.Sprintf("a message the test did not label: %q", text), http.StatusBadRequest)
				return
			}
			answer = `{"intent": null}`
			if slices.Contains(names, label) {
				f.hits.Add(1)
				answer = fmt.Sprintf(`{"intent": %q}`, label)
			} else {
				f.nulls.Add(1)
			}
		}
		content, _ := json.Marshal(answer)
		fmt.Fprintf(w, `{"choices":[{"message":{"role":"assistant","content":%s}}],"usage":{"prompt_tokens":1000,"completion_tokens":10}}`, content)
	}))
	t.Cleanup(f.Close)
	return f
}

// readJudgePrompt takes the candidates' names and the message out of the
// judge's user message (judge.Prompt's layout).
func readJudgePrompt(user string) (names []string, text string, err error) {
	_, rest, _ := strings.Cut(user, "<intents>\n")
	list, rest, ok := strings.Cut(rest, "\n</intents>")
	_, rest, ok2 := strings.Cut(rest, "<message>\n")
	msg, _, ok3 := strings.Cut(rest, "\n</message>")
	if !ok || !ok2 || !ok3 {
		return nil, "", fmt.Errorf("the prompt lacks its markers")
	}
	var cands []judge.Candidate
	if err := json.Unmarshal([]byte(list), &cands); err != nil {
		return nil, "", err
	}
	for _, c := range cands {
		names = append(names, c.Name)
	}
	return names, text, json.Unmarshal([]byte(msg), &text)
}

// judgePrice is the fake model's price: $2 a million prompt tokens, $8 a
// million completion tokens, so a call costs (1000×2 + 10×8) / 1e6.
var judgePrice = config.Price{Input: 2, Output: 8}

const judgeCallCost = (1000*2 + 10*8) / 1e6

// judgeLLM is the judge's model call through the upstream pool to url.
func judgeLLM(url string) judge.Completer {
	cfg := config.Default()
	cfg.Models = []config.Model{{Name: "judge", BaseURL: url + "/v1", Model: "judge-1", Price: judgePrice, TimeoutMS: 60_000}}
	return judge.Upstream(upstream.NewPool(cfg, nil, nil), "judge")
}

// truthOf maps each test row's text to its label, leaving out texts that
// occur with two labels (no judge could be right on both).
func truthOf(rows []intents.Example) ([]intents.Example, map[string]string) {
	truth, bad := map[string]string{}, map[string]bool{}
	for _, r := range rows {
		if l, ok := truth[r.Text]; ok && l != r.Label {
			bad[r.Text] = true
		}
		truth[r.Text] = r.Label
	}
	var keep []intents.Example
	for _, r := range rows {
		if !bad[r.Text] {
			keep = append(keep, r)
		}
	}
	return keep, truth
}

// demoData is the demo config's intents, each with its first two
// utterances (so that many decisions are unsure), and its 44 labeled
// prompts as test rows.
func demoData(t *testing.T) (*config.Config, []intents.Example) {
	t.Helper()
	cfg, err := config.Load("../datasets/demo/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for i := range cfg.Intents {
		cfg.Intents[i].Utterances = cfg.Intents[i].Utterances[:2]
	}
	return cfg, readLabeled(t, "../datasets/demo/prompts.jsonl")
}

// checkCeiling runs the eval with a judge that is right whenever it can
// be, and checks that its accuracy is the cascade table's ceiling at
// below and at every threshold under it, exactly.
func checkCeiling(t *testing.T, cfg *config.Config, train, test []intents.Example, k int, below float64) *Report {
	t.Helper()
	test, truth := truthOf(test)
	fake := newFakeJudge(t, "right", truth)
	rep, _, err := Run(context.Background(), Options{Config: cfg, Embedder: localtest.Open(t), Train: train, Test: test, TopK: k,
		Judge: &JudgeOptions{LLM: judgeLLM(fake.URL), Model: "judge", Below: below, Timeout: time.Minute, Parallel: 4}})
	if err != nil {
		t.Fatal(err)
	}
	j := rep.Judge
	t.Logf("%d rows, top %d, below %.2f: no judge %.4f, with the judge %.4f (ceiling %.4f), %d calls (%d right, %d none), share judged %.3f",
		rep.N, k, below, rep.Accuracy, j.Accuracy, j.Ceiling, j.Calls, fake.hits.Load(), fake.nulls.Load(), j.Judged)
	if j.Calls == 0 || int64(j.Calls) != fake.calls.Load() || j.Answered != j.Calls || len(j.Errors) != 0 {
		t.Fatalf("%d calls (the fake saw %d), %d answered, errors %v", j.Calls, fake.calls.Load(), j.Answered, j.Errors)
	}
	if fake.hits.Load() == 0 || fake.nulls.Load() == 0 {
		t.Errorf("the fake named the intent %d times and none %d times: want both to happen", fake.hits.Load(), fake.nulls.Load())
	}
	at := map[float64]CascadePoint{}
	for _, p := range rep.Cascade.Points {
		at[p.Threshold] = p
	}
	if c, ok := at[below]; !ok || j.Ceiling != c.Ceiling {
		t.Errorf("the report's ceiling %v, the table's at %.2f %v", j.Ceiling, below, c.Ceiling)
	}
	if j.Accuracy != j.Ceiling {
		t.Errorf("with the judge: accuracy %.6f, want the ceiling %.6f exactly", j.Accuracy, j.Ceiling)
	}
	if len(j.Points) != int(math.Round(below*cascadeSteps))+1 {
		t.Errorf("%d points up to %.2f", len(j.Points), below)
	}
	for _, p := range j.Points {
		if c := at[p.Threshold]; p.Accuracy != c.Ceiling || p.Share != c.Judged {
			t.Errorf("at %.2f: accuracy %.6f, share %.4f; the table's ceiling %.6f, share %.4f", p.Threshold, p.Accuracy, p.Share, c.Ceiling, c.Judged)
		}
	}
	if j.Accuracy <= rep.Accuracy {
		t.Errorf("a judge right whenever it can be did not gain: %.4f against %.4f", j.Accuracy, rep.Accuracy)
	}
	return rep
}

// TestJudgeReachesTheCeiling on the demo's intents (two utterances each)
// and its 44 prompts, a judge shown the top 3.
func TestJudgeReachesTheCeiling(t *testing.T) {
	cfg, test := demoData(t)
	rep := checkCeiling(t, cfg, nil, test, 3, 0.5)
	if j := rep.Judge; math.Abs(j.CostUSD-float64(j.Calls)*judgeCallCost) > 1e-12 || math.Abs(j.CostPerCall-judgeCallCost) > 1e-15 ||
		math.Abs(j.CostPerPrompt-j.CostUSD/float64(rep.N)) > 1e-15 {
		t.Errorf("cost %v for %d calls (%v a call, %v a prompt), want %v a call", j.CostUSD, j.Calls, j.CostPerCall, j.CostPerPrompt, judgeCallCost)
	}
}

// TestJudgeReachesTheCeilingCLINC150 on a CLINC150 subset: 30 intents with
// 5 training utterances each (and 5 out-of-scope examples), 10 test rows
// of each of them and of out of scope, a judge shown the top 5.
func TestJudgeReachesTheCeilingCLINC150(t *testing.T) {
	dir := filepath.Join(datasets.Shared(t), "clinc150")
	keep := func(rows []intents.Example) []intents.Example {
		labels := map[string]bool{intents.OOS: true}
		var out []intents.Example
		for _, r := range rows {
			if !labels[r.Label] && len(labels) <= 30 {
				labels[r.Label] = true
			}
			if labels[r.Label] {
				out = append(out, r)
			}
		}
		return out
	}
	train := SampleShots(keep(readLabeled(t, filepath.Join(dir, "train.jsonl"))), 5, 1)
	test := SampleShots(keep(readLabeled(t, filepath.Join(dir, "test.jsonl"))), 10, 1)
	checkCeiling(t, nil, train, test, 5, 0.6)
}

// TestJudgeFailuresKeepTheDecision: a judge answering prose, or not in
// time, changes no decision; every call is counted as an error of its
// kind, and an answer that came back is still paid for. (After five
// timeouts the pool's circuit breaker opens, and the calls after fail at
// once: kind error.)
func TestJudgeFailuresKeepTheDecision(t *testing.T) {
	cfg, test := demoData(t)
	// The garbage answers get a timeout no loaded machine reaches: one that
	// ran out would count as a timeout, not as malformed, and cost nothing.
	for _, tc := range []struct {
		mode, kind, then string
		cost             float64
		timeout          time.Duration
	}{{"garbage", judge.FailMalformed, "", judgeCallCost, 30 * time.Second}, {"hang", judge.FailTimeout, judge.FailError, 0, 50 * time.Millisecond}} {
		t.Run(tc.mode, func(t *testing.T) {
			fake := newFakeJudge(t, tc.mode, nil)
			rep, _, err := Run(context.Background(), Options{Config: cfg, Embedder: localtest.Open(t), Test: test, TopK: 3,
				Judge: &JudgeOptions{LLM: judgeLLM(fake.URL), Model: "judge", Below: 0.5, Timeout: tc.timeout, Parallel: 4}})
			if err != nil {
				t.Fatal(err)
			}
			j := rep.Judge
			if j.Calls == 0 || j.Answered != 0 || j.Errors[tc.kind] == 0 || j.Errors[tc.kind]+j.Errors[tc.then] != j.Calls || j.Fixed+j.Broke != 0 {
				t.Errorf("%d calls, %d answered, errors %v, fixed %d, broke %d", j.Calls, j.Answered, j.Errors, j.Fixed, j.Broke)
			}
			if j.Summary != (Summary{Accuracy: rep.Accuracy, InScopeAccuracy: rep.InScopeAccuracy, OOSRecall: rep.OOSRecall, OOSPrecision: rep.OOSPrecision}) {
				t.Errorf("with the judge %+v, without %+v", j.Summary, rep.Metrics)
			}
			if math.Abs(j.CostUSD-float64(j.Calls)*tc.cost) > 1e-12 {
				t.Errorf("cost %v for %d calls, want %v a call", j.CostUSD, j.Calls, tc.cost)
			}
			for _, p := range j.Points {
				if p.Accuracy != rep.Accuracy {
					t.Errorf("at %.2f: accuracy %.4f, without the judge %.4f", p.Threshold, p.Accuracy, rep.Accuracy)
				}
			}
		})
	}
}

// TestSummarizeIsMeasure: the judge's headline is computed as Measure's.
func TestSummarizeIsMeasure(t *testing.T) {
	rows := []Scored{
		scoredRow("a", "a", 0.9, "a", "b"),
		scoredRow("b", "a", 0.5, "a", "b"),
		scoredRow(intents.OOS, "b", 0.3, "b", "a"),
		scoredRow(intents.OOS, "b", 0.1, "b", "a"),
		scoredRow("a", "b", 0.1, "b", "c"),
	}
	g := &router.Gate{Threshold: []float64{0.2, 0.2}}
	pred := make([]string, len(rows))
	for i, r := range rows {
		pred[i], _ = Predict(r, g)
	}
	m := Measure(rows, g)
	if got, want := summarize(rows, pred), (Summary{Accuracy: m.Accuracy, InScopeAccuracy: m.InScopeAccuracy, OOSRecall: m.OOSRecall, OOSPrecision: m.OOSPrecision}); got != want {
		t.Errorf("summarize %+v, Measure %+v", got, want)
	}
}

// TestJudgeBetweenTheTableThresholds: a below between the cascade
// table's thresholds gets the table's points under it and a point of its
// own, where a judge right whenever it can be reaches the ceiling too.
func TestJudgeBetweenTheTableThresholds(t *testing.T) {
	cfg, test := demoData(t)
	test, truth := truthOf(test)
	fake := newFakeJudge(t, "right", truth)
	r, err := router.New(context.Background(), cfg, router.Options{Embedder: localtest.Open(t)})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := ScoreTopAll(context.Background(), r, test, 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	const below = 0.33
	var seen atomic.Int64 // progress is heard from the workers
	rep, err := RunJudge(context.Background(), r, rows, 3, JudgeOptions{LLM: judgeLLM(fake.URL), Model: "judge", Below: below, Parallel: 2},
		func(done, total int) { seen.Add(1) })
	if err != nil {
		t.Fatal(err)
	}
	var ts []float64
	for _, p := range rep.Points {
		ts = append(ts, p.Threshold)
	}
	if want := []float64{0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, below}; !slices.Equal(ts, want) {
		t.Fatalf("thresholds %v, want %v", ts, want)
	}
	g := r.Gate()
	c := cascadePoint(rows, &g, Candidates(rows, 3), below)
	last := rep.Points[len(rep.Points)-1]
	if rep.Accuracy != c.Ceiling || last.Accuracy != c.Ceiling || rep.Ceiling != c.Ceiling || last.Share != c.Judged {
		t.Errorf("at %.2f: accuracy %.6f (point %.6f), ceiling %.6f, want the table's rule's %.6f", below, rep.Accuracy, last.Accuracy, rep.Ceiling, c.Ceiling)
	}
	if int(seen.Load()) != rep.Calls || rep.Calls == 0 {
		t.Errorf("progress heard %d times for %d calls", seen.Load(), rep.Calls)
	}
}
