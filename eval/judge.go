package eval

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/semroute/semroute/intents"
	"github.com/semroute/semroute/router"
	"github.com/semroute/semroute/router/judge"
)

// JudgeStage is the progress stage of the judge's calls.
const JudgeStage = "judge"

// JudgeOptions run the routing judge on the test rows the decision is
// unsure of, as the service would: no cache (every row is a fresh call,
// so the figures are what a first sight of each prompt costs).
type JudgeOptions struct {
	// LLM is the judge's model call: judge.Upstream for a configured
	// model, a fake in tests.
	LLM judge.Completer
	// Model names the judge in the report.
	Model string
	// Below: a row whose decision scores under it, or falls back, is
	// judged (config.JudgeConfig.Below).
	Below float64
	// Timeout bounds a call (0: none but the context's).
	Timeout time.Duration
	// Examples is how many utterances of each candidate the prompt shows
	// (default 3).
	Examples int
	// Parallel is how many calls are in flight at once (default 4).
	Parallel int
}

// JudgeReport is what the judge did with the test rows. The candidates it
// was shown are each row's Cascade.K best intents, as in the cascade
// table, so with a judge that is right whenever it can be, Accuracy is
// the table's ceiling at Below.
type JudgeReport struct {
	Model string  `json:"model"`
	Below float64 `json:"below"`
	K     int     `json:"k"`
	// Summary is quality over every test row with the judge: accuracy, in-
	// scope accuracy, and out-of-scope rows falling back (oos_recall).
	Summary
	// Ceiling is the cascade's ceiling at Below, for comparison.
	Ceiling float64 `json:"ceiling"`
	// Judged is the share of test rows the judge was asked about; Calls
	// is their number, and Answered the calls whose answer counted.
	Judged   float64 `json:"judged"`
	Calls    int     `json:"calls"`
	Answered int     `json:"answered"`
	// Errors counts the calls whose answer did not count, by kind
	// (judge.ErrorKind: timeout, malformed, not_offered, error, ...);
	// their rows keep the embedding decision.
	Errors map[string]int `json:"errors"`
	// Fixed counts rows the embeddings got wrong and the judge right;
	// Broke, the other way round.
	Fixed int `json:"fixed"`
	Broke int `json:"broke"`
	// CostUSD is what the calls cost, from the usage the model reported
	// and its configured price; per call, and per test row (every row,
	// judged or not: what routing a prompt costs on average).
	CostUSD       float64 `json:"cost_usd"`
	CostPerCall   float64 `json:"cost_per_call_usd"`
	CostPerPrompt float64 `json:"cost_per_prompt_usd"`
	// LatencyMS is the calls' latency, retries included.
	LatencyMS JudgeLatency `json:"latency_ms"`
	// Points is the cascade with this judge at each threshold of the
	// cascade table up to Below, and at Below: the rows judged at a lower
	// threshold are a subset of those judged at Below, so these cost no
	// further calls. Thresholds above Below would; run with a higher
	// --judge-below for them.
	Points  []JudgePoint `json:"points"`
	Seconds float64      `json:"seconds"`
}

// JudgeLatency summarises the judge's calls' latencies in milliseconds.
type JudgeLatency struct {
	P50  float64 `json:"p50"`
	P95  float64 `json:"p95"`
	Mean float64 `json:"mean"`
}

// JudgePoint is the cascade with the judge at one threshold.
type JudgePoint struct {
	Threshold float64 `json:"threshold"`
	// Judged is the share of rows the judge is asked about at this
	// threshold; Share is the cascade table's share (it also counts rows
	// without a word to match, which the judge is not asked about).
	Judged float64 `json:"judged"`
	Share  float64 `json:"share"`
	Summary
	Ceiling float64 `json:"ceiling"`
	CostUSD float64 `json:"cost_usd"`
	Errors  int     `json:"errors"`
}

// judged is one row's outcome.
type judged struct {
	asked   bool
	pred    string
	kind    string // why the answer did not count, "" when it did
	cost    float64
	latency time.Duration
}

// RunJudge asks the judge about each row of rows (scored by r, with at
// least k candidates) that it is needed for at opt.Below, opt.Parallel
// at a time, and measures the routing with its answers. progress, when
// set, hears the calls done.
func RunJudge(ctx context.Context, r *router.Router, rows []Scored, k int, opt JudgeOptions, progress func(done, total int)) (*JudgeReport, error) {
	start := time.Now()
	opt.Examples = cmp.Or(opt.Examples, 3)
	opt.Parallel = max(opt.Parallel, 1)
	j := judge.New(opt.LLM, judge.Options{Model: opt.Model, Timeout: opt.Timeout, Below: opt.Below, TopK: k, Examples: opt.Examples})
	var ask []int
	for i, s := range rows {
		if j.Needed(r.Decide(s.Scores)) {
			ask = append(ask, i)
		}
	}
	out := make([]judged, len(rows))
	var next, done atomic.Int64
	var wg sync.WaitGroup
	for range min(opt.Parallel, max(len(ask), 1)) {
		wg.Go(func() {
			for {
				n := int(next.Add(1) - 1)
				if n >= len(ask) || ctx.Err() != nil {
					return
				}
				i := ask[n]
				d, v, err := j.Route(ctx, r, r.Decide(rows[i].Scores), rows[i].Text, nil)
				out[i] = judged{asked: true, pred: predOf(d), cost: v.Cost, latency: v.Latency}
				if err != nil {
					out[i].kind = judge.ErrorKind(err)
				}
				if c := done.Add(1); progress != nil {
					progress(int(c), len(ask))
				}
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("eval: judge: %w", err)
	}
	gate := r.Gate()
	rep := &JudgeReport{Model: opt.Model, Below: opt.Below, K: k, Errors: map[string]int{}, Calls: len(ask)}
	emb := make([]string, len(rows))
	with := make([]string, len(rows))
	var lat []float64
	for i, s := range rows {
		emb[i], _ = Predict(s, &gate)
		with[i] = emb[i]
		o := out[i]
		if !o.asked {
			continue
		}
		with[i] = o.pred
		rep.CostUSD += o.cost
		lat = append(lat, float64(o.latency.Microseconds())/1e3)
		if o.kind != "" {
			rep.Errors[o.kind]++
		} else {
			rep.Answered++
		}
		switch {
		case emb[i] != s.Gold && with[i] == s.Gold:
			rep.Fixed++
		case emb[i] == s.Gold && with[i] != s.Gold:
			rep.Broke++
		}
	}
	rep.Summary = summarize(rows, with)
	rep.Judged = ratio(rep.Calls, len(rows))
	rep.CostPerCall = ratioF(rep.CostUSD, rep.Calls)
	rep.CostPerPrompt = ratioF(rep.CostUSD, len(rows))
	rep.LatencyMS = judgeLatency(lat)
	cands := Candidates(rows, k)
	rep.Ceiling = cascadePoint(rows, &gate, cands, opt.Below).Ceiling
	rep.Points = judgePoints(rows, &gate, cands, emb, out, opt.Below)
	rep.Seconds = since(start)
	return rep, nil
}

// judgePoints is the cascade with the judge's answers at each threshold of
// the cascade table up to below, and at below.
func judgePoints(rows []Scored, g *router.Gate, cands [][]string, emb []string, out []judged, below float64) []JudgePoint {
	var ts []float64
	for step := 0; step <= cascadeSteps; step++ {
		if t := float64(step) / cascadeSteps; t <= below {
			ts = append(ts, t)
		}
	}
	if !slices.Contains(ts, below) {
		ts = append(ts, below)
	}
	pts := make([]JudgePoint, 0, len(ts))
	pred := make([]string, len(rows))
	for _, t := range ts {
		p := JudgePoint{Threshold: t}
		asked := 0
		for i, s := range rows {
			pred[i] = emb[i]
			if o := out[i]; o.asked && !DecidedByEmbedding(s, g, t) {
				asked++
				pred[i] = o.pred
				p.CostUSD += o.cost
				if o.kind != "" {
					p.Errors++
				}
			}
		}
		c := cascadePoint(rows, g, cands, t)
		p.Judged, p.Share, p.Ceiling = ratio(asked, len(rows)), c.Judged, c.Ceiling
		p.Summary = summarize(rows, pred)
		pts = append(pts, p)
	}
	return pts
}

// predOf is a decision's intent, or intents.OOS when it falls back.
func predOf(d router.Decision) string {
	if d.Intent == nil {
		return intents.OOS
	}
	return *d.Intent
}

// summarize is Measure's headline for predictions pred of rows.
func summarize(rows []Scored, pred []string) Summary {
	var right, inScope, inRight, oos, predOOS, oosRight int
	for i, r := range rows {
		p := pred[i]
		if p == intents.OOS {
			predOOS++
		}
		if r.Gold == intents.OOS {
			oos++
		} else {
			inScope++
		}
		if p != r.Gold {
			continue
		}
		right++
		if r.Gold == intents.OOS {
			oosRight++
		} else {
			inRight++
		}
	}
	return Summary{Accuracy: ratio(right, len(rows)), InScopeAccuracy: ratio(inRight, inScope),
		OOSRecall: ratio(oosRight, oos), OOSPrecision: ratio(oosRight, predOOS)}
}

func judgeLatency(ms []float64) JudgeLatency {
	if len(ms) == 0 {
		return JudgeLatency{}
	}
	sort.Float64s(ms)
	sum := 0.0
	for _, v := range ms {
		sum += v
	}
	return JudgeLatency{P50: quantile(ms, 0.50), P95: quantile(ms, 0.95), Mean: sum / float64(len(ms))}
}
