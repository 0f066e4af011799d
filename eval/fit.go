package eval

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/semroute/semroute/intents"
	"github.com/semroute/semroute/router"
)

// Objective is what threshold fitting maximises.
type Objective struct {
	// Kind is "accuracy" (over all rows, oos a class), "oos_f1", or
	// "oos_recall": the best in-scope accuracy whose OOS recall is at least
	// Target.
	Kind   string  `json:"kind"`
	Target float64 `json:"target,omitempty"`
}

// ParseObjective reads "accuracy", "oos_f1" or "oos_recall=0.8".
func ParseObjective(s string) (Objective, error) {
	kind, arg, hasArg := strings.Cut(strings.TrimSpace(s), "=")
	switch kind {
	case "accuracy", "oos_f1":
		if hasArg {
			return Objective{}, fmt.Errorf("objective %q takes no value", kind)
		}
		return Objective{Kind: kind}, nil
	case "oos_recall":
		v, err := strconv.ParseFloat(arg, 64)
		if !hasArg || err != nil || v <= 0 || v > 1 {
			return Objective{}, fmt.Errorf("objective oos_recall needs a target recall in (0, 1], e.g. oos_recall=0.8")
		}
		return Objective{Kind: kind, Target: v}, nil
	}
	return Objective{}, fmt.Errorf("unknown objective %q; want accuracy, oos_f1 or oos_recall=R", s)
}

func (o Objective) String() string {
	if o.Kind == "oos_recall" {
		return fmt.Sprintf("oos_recall=%g", o.Target)
	}
	return o.Kind
}

// counts are what every objective is computed from, for one setting of the
// cut-offs.
type counts struct {
	n, nIn, nOOS int
	accCorrect   int // in-scope rows routed to their own intent
	accIn        int // in-scope rows routed to some intent
	accOOS       int // out-of-scope rows routed to some intent
}

func (c counts) add(d counts, sign int) counts {
	c.accCorrect += sign * d.accCorrect
	c.accIn += sign * d.accIn
	c.accOOS += sign * d.accOOS
	return c
}

func (c counts) inScopeAccuracy() float64 { return ratio(c.accCorrect, c.nIn) }
func (c counts) oosRecall() float64       { return ratio(c.nOOS-c.accOOS, c.nOOS) }
func (c counts) oosPrecision() float64 {
	return ratio(c.nOOS-c.accOOS, c.n-c.accIn-c.accOOS)
}
func (c counts) accuracy() float64 { return ratio(c.accCorrect+c.nOOS-c.accOOS, c.n) }

// value is the objective at c: higher is better. For oos_recall an
// infeasible setting scores below every feasible one, ordered by recall.
func (o Objective) value(c counts) float64 {
	switch o.Kind {
	case "oos_f1":
		return f1(c.oosPrecision(), c.oosRecall())
	case "oos_recall":
		if c.oosRecall() >= o.Target {
			return c.inScopeAccuracy()
		}
		return c.oosRecall() - 1
	}
	return c.accuracy()
}

// Grids the fit searches. Thresholds and margins are the head's
// probabilities (or the knn scorer's similarities); min_similarity is a
// cosine similarity.
const (
	steps      = 100 // threshold grid: k/steps for k = 0..steps
	maxMargin  = 50  // margins k/steps for k = 0..maxMargin
	maxMinSim  = 90  // min_similarity k/steps for k = 0..maxMinSim, by 2
	simStep    = 2
	perIntentR = 25 // per-intent thresholds move at most this many steps from the global
)

// FitOptions steer Fit.
type FitOptions struct {
	Objective Objective
	// PerIntent also fits a threshold per intent where that gains at least
	// MinGain rows' worth of the objective (default 2) on intents with at
	// least MinSupport rows (default 10).
	PerIntent  bool
	MinGain    float64
	MinSupport int
}

// Fitted is the result of Fit.
type Fitted struct {
	Global        float64
	Margin        float64
	MinSimilarity float64
	PerIntent     map[string]float64
	// Value is the objective on the rows fitted on; GlobalValue is its
	// value before per-intent thresholds.
	Value, GlobalValue float64
}

// Thresholds turns f into the file form, tied to r's embedder and scorer.
func (f Fitted) Thresholds(r *router.Router, obj Objective) *router.Thresholds {
	return &router.Thresholds{Embedder: r.Embedder().Fingerprint(), Scorer: r.Scorer(), Global: f.Global,
		Margin: f.Margin, MinSimilarity: f.MinSimilarity, PerIntent: f.PerIntent, Objective: obj.String()}
}

// prepared is a scored row reduced to what the gate reads.
type prepared struct {
	best     int     // -1: no words
	conf, mg float64 // confidence (what the threshold applies to), margin
	sim      float64
	oosHit   bool // nearer the out-of-scope examples than any intent
	gold     bool // in scope
	correct  bool
	bucket   int // largest k with k/steps ≤ conf
}

// prepare reduces rows for fitting; best indexes names, the intents that
// are some row's best, in order of appearance.
func prepare(rows []Scored) (ps []prepared, names []string, c counts) {
	ps = make([]prepared, len(rows))
	c.n = len(rows)
	ids := map[string]int{}
	for i, r := range rows {
		s := r.Scores
		p := prepared{best: -1, conf: s.Confidence(), mg: s.S1 - s.S2, sim: math.Inf(1), gold: r.Gold != intents.OOS}
		if !s.NoWords && r.Best != "" {
			id, ok := ids[r.Best]
			if !ok {
				id = len(names)
				ids[r.Best] = id
				names = append(names, r.Best)
			}
			p.best = id
		}
		if s.Nearest >= 0 {
			p.sim = s.Similarity
		}
		p.oosHit = s.OOS > s.S1
		p.correct = p.gold && p.best >= 0 && r.Best == r.Gold
		p.bucket = bucket(p.conf)
		if p.gold {
			c.nIn++
		} else {
			c.nOOS++
		}
		ps[i] = p
	}
	return ps, names, c
}

// bucket is the largest k in [-1, steps] with gridValue(k) ≤ v.
func bucket(v float64) int {
	k := min(max(int(math.Floor(v*steps)), -1), steps)
	for k < steps && gridValue(k+1) <= v {
		k++
	}
	for k >= 0 && gridValue(k) > v {
		k--
	}
	return k
}

func gridValue(k int) float64 { return float64(k) / steps }

// passes reports whether p gets past every cut-off but the threshold.
func (p *prepared) passes(margin, minSim float64) bool {
	return p.best >= 0 && !p.oosHit && p.mg >= margin && p.sim >= minSim
}

// accepted[k] counts the rows routed to an intent at threshold k/steps.
type sweepCounts [steps + 1]counts

// sweep counts, for every threshold on the grid, the rows of ps (filtered
// by keep) that would be routed.
func sweep(ps []prepared, margin, minSim float64, keep func(*prepared) bool) *sweepCounts {
	var hist sweepCounts
	for i := range ps {
		p := &ps[i]
		if p.bucket < 0 || !p.passes(margin, minSim) || (keep != nil && !keep(p)) {
			continue
		}
		h := &hist[p.bucket]
		switch {
		case !p.gold:
			h.accOOS++
		case p.correct:
			h.accCorrect++
			h.accIn++
		default:
			h.accIn++
		}
	}
	for k := steps - 1; k >= 0; k-- { // a row accepted at k is accepted below k too
		hist[k] = hist[k].add(hist[k+1], 1)
	}
	return &hist
}

// Fit chooses the global threshold, margin and min_similarity (and, when
// asked, per-intent thresholds) that maximise the objective on rows: scores
// of prompts the router was not fitted on (a validation set, or
// cross-validation folds).
func Fit(rows []Scored, opt FitOptions) Fitted {
	if opt.MinGain <= 0 {
		opt.MinGain = 2
	}
	if opt.MinSupport <= 0 {
		opt.MinSupport = 10
	}
	ps, names, base := prepare(rows)
	obj := opt.Objective
	best := Fitted{Value: math.Inf(-1)}
	var bestK int
	for mk := 0; mk <= maxMargin; mk++ {
		for sk := 0; sk <= maxMinSim; sk += simStep {
			m, s := gridValue(mk), gridValue(sk)
			h := sweep(ps, m, s, nil)
			for k := range h {
				c := base.add(h[k], 1)
				if v := obj.value(c); v > best.Value {
					best = Fitted{Global: gridValue(k), Margin: m, MinSimilarity: s, Value: v}
					bestK = k
				}
			}
		}
	}
	best.GlobalValue = best.Value
	if !opt.PerIntent {
		return best
	}

	// Per-intent thresholds, one coordinate at a time: moving intent i's
	// threshold changes only the rows whose best intent is i.
	total := base.add(sweep(ps, best.Margin, best.MinSimilarity, nil)[bestK], 1)
	support := make([]int, len(names))
	for i := range ps {
		if ps[i].best >= 0 {
			support[ps[i].best]++
		}
	}
	minGain := opt.MinGain / float64(max(len(rows), 1))
	for i, name := range names {
		if support[i] < opt.MinSupport {
			continue
		}
		h := sweep(ps, best.Margin, best.MinSimilarity, func(p *prepared) bool { return p.best == i })
		without := total.add(h[bestK], -1)
		cur := obj.value(total)
		pick, pickV := bestK, cur
		for k := max(bestK-perIntentR, 0); k <= min(bestK+perIntentR, steps); k++ {
			v := obj.value(without.add(h[k], 1))
			closer := abs(k-bestK) < abs(pick-bestK)
			if v > pickV+1e-12 || (v == pickV && closer) {
				pick, pickV = k, v
			}
		}
		if pick != bestK && pickV-cur >= minGain {
			// Go half way: a few rows of one intent are weak evidence, and
			// the full move overfits them (on CLINC150 the full move cost
			// 2 points of test OOS recall).
			pick = bestK + (pick-bestK)/2
			if best.PerIntent == nil {
				best.PerIntent = map[string]float64{}
			}
			best.PerIntent[name] = gridValue(pick)
			total = without.add(h[pick], 1)
			best.Value = obj.value(total)
		}
	}
	return best
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// SweepPoint is quality at one global threshold, other cut-offs fixed.
type SweepPoint struct {
	Threshold       float64 `json:"threshold"`
	Accuracy        float64 `json:"accuracy"`
	InScopeAccuracy float64 `json:"in_scope_accuracy"`
	OOSRecall       float64 `json:"oos_recall"`
	OOSPrecision    float64 `json:"oos_precision"`
}

// Sweep measures rows at every global threshold k/50 with g's margin and
// min_similarity (per-intent thresholds set aside).
func Sweep(rows []Scored, g *router.Gate) []SweepPoint {
	ps, _, base := prepare(rows)
	h := sweep(ps, g.Margin, g.MinSimilarity, nil)
	var out []SweepPoint
	for k := 0; k <= steps; k += 2 {
		c := base.add(h[k], 1)
		out = append(out, SweepPoint{Threshold: gridValue(k), Accuracy: c.accuracy(),
			InScopeAccuracy: c.inScopeAccuracy(), OOSRecall: c.oosRecall(), OOSPrecision: c.oosPrecision()})
	}
	return out
}
