package eval

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/semroute/semroute/embed"
	"github.com/semroute/semroute/index/flat"
	"github.com/semroute/semroute/router"
)

// CascadeRecord is one query with each model's result, the format of
// ../shared/datasets/cascade_routellm and cascade_price_reversal.
type CascadeRecord struct {
	ID           string                 `json:"id"`
	Query        string                 `json:"query"`
	Contaminated bool                   `json:"contaminated"`
	Models       map[string]ModelResult `json:"models"`
	Line         int                    `json:"-"`
}

// ModelResult is one model's result on one query. Correct, when present,
// is the quality (1 or 0); otherwise Score is, scaled by the data's
// highest score (MT-Bench's judge scores 1–10).
type ModelResult struct {
	Correct *bool    `json:"correct"`
	Score   *float64 `json:"score"`
	Cost    *float64 `json:"cost"`
}

// ReadCascade reads cascade records (JSONL), reporting bad lines by number.
func ReadCascade(path string) ([]CascadeRecord, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []CascadeRecord
	var bad []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		var r CascadeRecord
		switch err := json.Unmarshal([]byte(text), &r); {
		case err != nil:
			bad = append(bad, fmt.Sprintf("line %d: not a JSON object: %v", line, err))
		case strings.TrimSpace(r.Query) == "":
			bad = append(bad, fmt.Sprintf("line %d: missing query", line))
		case len(r.Models) == 0:
			bad = append(bad, fmt.Sprintf("line %d: no models", line))
		default:
			r.Line = line
			out = append(out, r)
		}
		if len(bad) >= 20 {
			break
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("%s: %d bad line(s):\n  %s", path, len(bad), strings.Join(bad, "\n  "))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no records", path)
	}
	return out, nil
}

// CascadeOptions describe a cascade eval.
type CascadeOptions struct {
	Records  []CascadeRecord
	Embedder embed.Embedder
	// Models, cheapest first; the last is the strong model.
	Models []string
	// Cost per call by model, for records without their own cost.
	Cost map[string]float64
	// TestShare of the queries (by a hash of their id) is held out.
	TestShare float64
	K         int // neighbours the confidence is read from (default 20)
	// IncludeContaminated keeps records marked contaminated.
	IncludeContaminated bool
	// Target: fit the cheapest threshold whose train quality reaches
	// TargetQuality × the strong model's, or, with Budget > 0, the best
	// quality at a mean cost per query within Budget.
	TargetQuality float64
	Budget        float64
}

// CascadeReport is the result of EvalCascade.
type CascadeReport struct {
	Embedder  embed.Fingerprint `json:"embedder"`
	Models    []ModelStats      `json:"models"`
	TrainRows int               `json:"train_rows"`
	TestRows  int               `json:"test_rows"`
	Dropped   int               `json:"dropped_contaminated"`
	K         int               `json:"k"`
	// Curve is the test cost–quality curve as the threshold moves.
	Curve []CurvePoint `json:"curve"`
	// APGR, CPT50 and CPT80 of semroute's confidence, and of the random
	// and oracle routers, on the test rows.
	Semroute Summary2    `json:"semroute"`
	Random   Summary2    `json:"random"`
	Oracle   Summary2    `json:"oracle"`
	Fitted   *CascadeFit `json:"fitted,omitempty"`
}

// ModelStats is one model on the test rows.
type ModelStats struct {
	Name           string  `json:"name"`
	Quality        float64 `json:"quality"`
	CostPerQuery   float64 `json:"cost_per_query"`
	CostPerCorrect float64 `json:"cost_per_correct"`
}

// CurvePoint is the cascade at one threshold.
type CurvePoint struct {
	Threshold float64 `json:"threshold"`
	// CostShare is the extra cost over the cheapest model as a share of the
	// strong model's extra cost: with two models, the share of strong calls.
	CostShare      float64 `json:"cost_share"`
	Quality        float64 `json:"quality"`
	PGR            float64 `json:"pgr"`
	CostPerQuery   float64 `json:"cost_per_query"`
	CostPerCorrect float64 `json:"cost_per_correct"`
}

// Summary2 is a router's APGR and CPT figures.
type Summary2 struct {
	APGR  float64 `json:"apgr"`
	CPT50 float64 `json:"cpt50"`
	CPT80 float64 `json:"cpt80"`
}

// CascadeFit is the fitted threshold and how it does.
type CascadeFit struct {
	Objective string  `json:"objective"`
	Threshold float64 `json:"threshold"`
	// On the training rows (leave-one-out confidence) and on test.
	TrainQuality float64 `json:"train_quality"`
	TrainCost    float64 `json:"train_cost_per_query"`
	TestQuality  float64 `json:"test_quality"`
	TestCost     float64 `json:"test_cost_per_query"`
	// QualityVsStrong is test quality over the strong model's; CostSaving is
	// the share of the strong model's cost saved.
	QualityVsStrong float64 `json:"quality_vs_strong"`
	CostSaving      float64 `json:"cost_saving"`
	CostShare       float64 `json:"cost_share"`
}

// CascadeThresholds is the fitted cascade as written for serve time.
type CascadeThresholds = router.Cascade

// query is a record reduced to what the eval needs.
type query struct {
	q    []float64 // quality by model
	cost []float64 // cost by model
	conf []float64 // predicted quality by model (all but the last)
}

// EvalCascade embeds the queries, predicts each cheap model's quality from
// the nearest training queries, and measures the cascade "answer with the
// cheapest model predicted to reach the threshold, else the strong one".
func EvalCascade(ctx context.Context, opt CascadeOptions) (*CascadeReport, *CascadeThresholds, error) {
	if len(opt.Models) < 2 {
		return nil, nil, errors.New("cascade: give at least two models, cheapest first")
	}
	if opt.K <= 0 {
		opt.K = 20
	}
	if opt.TestShare <= 0 || opt.TestShare >= 1 {
		return nil, nil, fmt.Errorf("cascade: test share %v outside (0, 1)", opt.TestShare)
	}
	rep := &CascadeReport{Embedder: opt.Embedder.Fingerprint(), K: opt.K}
	maxScore := 0.0
	for _, r := range opt.Records {
		for _, m := range r.Models {
			if m.Correct == nil && m.Score != nil {
				maxScore = max(maxScore, *m.Score)
			}
		}
	}
	var train, test []query
	var trainText, testText []string
	for _, r := range opt.Records {
		if r.Contaminated && !opt.IncludeContaminated {
			rep.Dropped++
			continue
		}
		q := query{q: make([]float64, len(opt.Models)), cost: make([]float64, len(opt.Models))}
		for i, name := range opt.Models {
			m, ok := r.Models[name]
			if !ok {
				return nil, nil, fmt.Errorf("cascade: line %d (%s): no result for model %q", r.Line, r.ID, name)
			}
			switch {
			case m.Correct != nil:
				q.q[i] = b2f(*m.Correct)
			case m.Score != nil && maxScore > 0:
				q.q[i] = *m.Score / maxScore
			default:
				return nil, nil, fmt.Errorf("cascade: line %d (%s): model %q has neither correct nor score", r.Line, r.ID, name)
			}
			switch c, ok := opt.Cost[name]; {
			case m.Cost != nil:
				q.cost[i] = *m.Cost
			case ok:
				q.cost[i] = c
			default:
				return nil, nil, fmt.Errorf("cascade: model %q has no cost in the data (line %d); give --cost %s=USD_PER_CALL", name, r.Line, name)
			}
		}
		if inTest(r.ID, r.Query, opt.TestShare) {
			test, testText = append(test, q), append(testText, r.Query)
		} else {
			train, trainText = append(train, q), append(trainText, r.Query)
		}
	}
	if len(train) < opt.K+1 || len(test) == 0 {
		return nil, nil, fmt.Errorf("cascade: %d training and %d test queries: too few", len(train), len(test))
	}
	rep.TrainRows, rep.TestRows = len(train), len(test)

	trainVecs, err := opt.Embedder.Embed(ctx, trainText)
	if err != nil {
		return nil, nil, fmt.Errorf("cascade: embed: %w", err)
	}
	testVecs, err := opt.Embedder.Embed(ctx, testText)
	if err != nil {
		return nil, nil, fmt.Errorf("cascade: embed: %w", err)
	}
	for _, v := range append(trainVecs, testVecs...) {
		flat.Normalize(v)
	}
	slab := flat.New(opt.Embedder.Fingerprint().Dim, trainVecs)
	predict(slab, train, train, trainVecs, opt.K, true)
	predict(slab, train, test, testVecs, opt.K, false)

	n := len(opt.Models)
	for i, name := range opt.Models {
		q, c := 0.0, 0.0
		for _, t := range test {
			q += t.q[i]
			c += t.cost[i]
		}
		rep.Models = append(rep.Models, ModelStats{Name: name, Quality: q / float64(len(test)),
			CostPerQuery: c / float64(len(test)), CostPerCorrect: c / max(q, 1e-12)})
	}
	weak, strong := rep.Models[0], rep.Models[n-1]

	// The curve: thresholds on a grid, plus the two ends.
	for k := 0; k <= 100; k++ {
		t := float64(k) / 100
		rep.Curve = append(rep.Curve, point(test, t, weak, strong))
	}
	rep.Curve = append(rep.Curve, point(test, math.Inf(1), weak, strong))
	slices.SortStableFunc(rep.Curve, func(a, b CurvePoint) int { return cmp.Compare(a.CostShare, b.CostShare) })
	rep.Semroute = summarise(rep.Curve)
	rep.Random = Summary2{APGR: 0.5, CPT50: 0.5, CPT80: 0.8} // PGR(c) = c in expectation
	rep.Oracle = oracle(test, weak, strong)

	var fitted *CascadeThresholds
	if opt.TargetQuality > 0 || opt.Budget > 0 {
		f, obj := fitCascade(train, opt)
		tr := point(train, f, rep.Models[0], rep.Models[n-1])
		te := point(test, f, weak, strong)
		rep.Fitted = &CascadeFit{Objective: obj, Threshold: f, TrainQuality: tr.Quality, TrainCost: tr.CostPerQuery,
			TestQuality: te.Quality, TestCost: te.CostPerQuery, QualityVsStrong: te.Quality / max(strong.Quality, 1e-12),
			CostSaving: 1 - te.CostPerQuery/max(strong.CostPerQuery, 1e-12), CostShare: te.CostShare}
		fitted = &CascadeThresholds{Embedder: rep.Embedder, Models: opt.Models, Threshold: f, K: opt.K, Objective: obj}
		for i, q := range train {
			fitted.Train = append(fitted.Train, router.CascadeExample{Query: trainText[i], Quality: q.q[:len(q.q)-1]})
		}
	}
	return rep, fitted, nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// inTest puts a query in the test split by a hash of its id (or text), so
// the split is stable across runs and machines.
func inTest(id, text string, share float64) bool {
	h := fnv.New64a()
	io.WriteString(h, cmp.Or(id, text))
	return float64(h.Sum64()%10000)/10000 < share
}

// predict sets each query's predicted quality per cheap model: the
// similarity-weighted mean quality of its K nearest training queries
// (itself left out when loo).
func predict(slab *flat.Slab, train, qs []query, vecs [][]float32, k int, loo bool) {
	var hits []flat.Result
	var sc flat.Scratch
	cheap := len(train[0].q) - 1
	for i := range qs {
		kk := k
		if loo {
			kk++
		}
		hits = slab.Search(vecs[i], kk, hits, &sc)
		qs[i].conf = make([]float64, cheap)
		var wsum float64
		for _, h := range hits {
			if loo && int(h.Index) == i {
				continue
			}
			w := math.Max(float64(h.Score), 0) + 1e-6
			for m := range cheap {
				qs[i].conf[m] += w * train[h.Index].q[m]
			}
			wsum += w
		}
		for m := range cheap {
			qs[i].conf[m] /= wsum
		}
	}
}

// choose is the model a query goes to at threshold t.
func choose(q query, t float64) int {
	for m, c := range q.conf {
		if c >= t {
			return m
		}
	}
	return len(q.q) - 1
}

func point(qs []query, t float64, weak, strong ModelStats) CurvePoint {
	var qual, cost float64
	for _, q := range qs {
		m := choose(q, t)
		qual += q.q[m]
		cost += q.cost[m]
	}
	n := float64(len(qs))
	p := CurvePoint{Threshold: t, Quality: qual / n, CostPerQuery: cost / n, CostPerCorrect: cost / max(qual, 1e-12)}
	if math.IsInf(t, 1) {
		p.Threshold = 1.01 // JSON has no infinity: past every confidence
	}
	p.CostShare = (p.CostPerQuery - weak.CostPerQuery) / max(strong.CostPerQuery-weak.CostPerQuery, 1e-12)
	p.PGR = (p.Quality - weak.Quality) / nonZero(strong.Quality-weak.Quality)
	return p
}

func nonZero(v float64) float64 {
	if math.Abs(v) < 1e-12 {
		return 1e-12
	}
	return v
}

// summarise computes APGR, the area under PGR over cost share in [0, 1],
// and CPT(50 %) and CPT(80 %), the least cost shares that recover half and
// 80 % of the gap, from a curve sorted by cost share. It reads the curve's
// frontier (the best PGR at each cost) joined by straight lines: a router
// reaches any point between two thresholds by choosing between them at
// random in the right proportion.
func summarise(curve []CurvePoint) Summary2 {
	type pt struct{ c, v float64 }
	var front []pt
	for _, p := range curve {
		c := clamp01(p.CostShare)
		if len(front) > 0 && p.PGR <= front[len(front)-1].v {
			continue
		}
		if len(front) > 0 && c <= front[len(front)-1].c {
			front[len(front)-1].v = p.PGR
			continue
		}
		front = append(front, pt{c, p.PGR})
	}
	if len(front) == 0 {
		return Summary2{CPT50: 1, CPT80: 1}
	}
	at := func(c float64) float64 {
		if c < front[0].c {
			return 0
		}
		for i := 1; i < len(front); i++ {
			if a, b := front[i-1], front[i]; c <= b.c {
				return a.v + (b.v-a.v)*(c-a.c)/(b.c-a.c)
			}
		}
		return front[len(front)-1].v
	}
	cpt := func(x float64) float64 {
		if front[0].v >= x {
			return front[0].c
		}
		for i := 1; i < len(front); i++ {
			if a, b := front[i-1], front[i]; b.v >= x {
				return a.c + (b.c-a.c)*(x-a.v)/(b.v-a.v)
			}
		}
		return 1
	}
	var s Summary2
	const steps = 1000
	for i := 0; i <= steps; i++ {
		w := 1.0
		if i == 0 || i == steps {
			w = 0.5
		}
		s.APGR += w * at(float64(i)/steps) / steps
	}
	s.CPT50, s.CPT80 = cpt(0.5), cpt(0.8)
	return s
}

// oracle sends to the strong model exactly the queries it gains on, in
// order of gain.
func oracle(qs []query, weak, strong ModelStats) Summary2 {
	n := len(qs[0].q) - 1
	gain := make([]float64, len(qs))
	for i, q := range qs {
		gain[i] = q.q[n] - q.q[0]
	}
	order := make([]int, len(qs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(gain[b], gain[a]) })
	var curve []CurvePoint
	qual, cost := 0.0, 0.0
	for _, q := range qs {
		qual += q.q[0]
		cost += q.cost[0]
	}
	N := float64(len(qs))
	add := func() {
		p := CurvePoint{Quality: qual / N, CostPerQuery: cost / N}
		p.CostShare = (p.CostPerQuery - weak.CostPerQuery) / max(strong.CostPerQuery-weak.CostPerQuery, 1e-12)
		p.PGR = (p.Quality - weak.Quality) / nonZero(strong.Quality-weak.Quality)
		curve = append(curve, p)
	}
	add()
	for _, i := range order {
		qual += gain[i]
		cost += qs[i].cost[n] - qs[i].cost[0]
		add()
	}
	return summarise(curve)
}

// fitCascade picks the threshold on the training rows' leave-one-out
// confidences.
func fitCascade(train []query, opt CascadeOptions) (float64, string) {
	n := len(opt.Models) - 1
	strongQ := 0.0
	for _, q := range train {
		strongQ += q.q[n]
	}
	strongQ /= float64(len(train))
	var weak, strong ModelStats
	weak.Quality, strong.Quality = 0, strongQ
	cands := []float64{}
	for k := 0; k <= 100; k++ {
		cands = append(cands, float64(k)/100)
	}
	cands = append(cands, math.Inf(1))
	if opt.Budget > 0 {
		bestT, bestQ := math.Inf(1), math.Inf(-1)
		for _, t := range cands {
			p := point(train, t, weak, strong)
			if p.CostPerQuery <= opt.Budget && p.Quality > bestQ {
				bestT, bestQ = t, p.Quality
			}
		}
		if math.IsInf(bestQ, -1) {
			bestT = 0 // nothing fits the budget: the cheapest routing
		}
		return clampT(bestT), fmt.Sprintf("budget=%g", opt.Budget)
	}
	// The cheapest threshold that reaches the target quality: the lowest
	// cost among those that do.
	bestT, bestC := math.Inf(1), math.Inf(1)
	for _, t := range cands {
		p := point(train, t, weak, strong)
		if p.Quality >= opt.TargetQuality*strongQ && p.CostPerQuery < bestC {
			bestT, bestC = t, p.CostPerQuery
		}
	}
	return clampT(bestT), fmt.Sprintf("quality=%g", opt.TargetQuality)
}

// clampT keeps "always the strong model" finite for JSON.
func clampT(t float64) float64 { return min(t, 1.01) }
