package eval

import (
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/semroute/semroute/intents"
	"github.com/semroute/semroute/router"
)

// TopKs are the k that a report's top_k_recall gives.
var TopKs = []int{1, 3, 5, 10}

// DefaultTopK is how many candidates the cascade table assumes a judge is
// shown.
const DefaultTopK = 10

// TopKRecall is the share of the in-scope rows whose intent is among their
// k best (Scored.Top), thresholds aside. Rows must have been scored with at
// least k candidates (ScoreTopAll).
func TopKRecall(rows []Scored, k int) float64 {
	hit, n := 0, 0
	for _, r := range rows {
		if r.Gold == intents.OOS {
			continue
		}
		n++
		if slices.Contains(r.Top[:min(k, len(r.Top))], r.Gold) {
			hit++
		}
	}
	return ratio(hit, n)
}

// topKRecalls is TopKRecall for every k of TopKs, keyed by k.
func topKRecalls(rows []Scored) map[string]float64 {
	out := map[string]float64{}
	for _, k := range TopKs {
		out[strconv.Itoa(k)] = TopKRecall(rows, k)
	}
	return out
}

// Candidates returns each row's k best intents, best first: what a judge
// choosing among the top k is shown for that row. The rows must have been
// scored with at least k candidates (ScoreTopAll).
func Candidates(rows []Scored, k int) [][]string {
	out := make([][]string, len(rows))
	for i, r := range rows {
		out[i] = r.Top[:min(k, len(r.Top))]
	}
	return out
}

// DecidedByEmbedding reports whether the embeddings decide row s at a
// cascade threshold below: its gate g routes it to an intent and its
// confidence is at least below. The rest (prompts that would fall back or
// score under below) is what a judge is asked about.
func DecidedByEmbedding(s Scored, g *router.Gate, below float64) bool {
	pred, _ := Predict(s, g)
	return pred != intents.OOS && s.Scores.Confidence() >= below
}

// Cascade is the routing cascade: for each threshold, which prompts the
// embeddings decide and what a judge could do with the rest.
type Cascade struct {
	// K is how many candidates a judge is shown for a prompt.
	K      int            `json:"k"`
	Points []CascadePoint `json:"points"`
}

// CascadePoint is the cascade at one threshold on the confidence.
type CascadePoint struct {
	Threshold float64 `json:"threshold"`
	// Decided is the share of all rows the embeddings decide
	// (DecidedByEmbedding); Judged is the rest.
	Decided float64 `json:"decided"`
	Judged  float64 `json:"judged"`
	// DecidedAccuracy is the share of the decided rows routed to their
	// own intent (an out-of-scope row decided is wrong).
	DecidedAccuracy float64 `json:"decided_accuracy"`
	// RestTopKRecall is the share of the rest's in-scope rows whose intent
	// is among their K candidates: the most a judge can get right of them.
	RestTopKRecall float64 `json:"rest_top_k_recall"`
	// Ceiling is the accuracy over all rows of a judge that is right
	// whenever it can be: the decided rows routed right, the rest's
	// in-scope rows with their intent among the candidates, and the
	// rest's out-of-scope rows (the judge answers none).
	Ceiling float64 `json:"ceiling"`
}

// cascadeSteps is the cascade table's grid: thresholds k/cascadeSteps.
const cascadeSteps = 20

// CascadeTable measures the cascade on rows scored with at least k
// candidates, under gate g, at thresholds 0, 0.05, …, 1.
func CascadeTable(rows []Scored, g *router.Gate, k int) *Cascade {
	c := &Cascade{K: k}
	cands := Candidates(rows, k)
	for step := 0; step <= cascadeSteps; step++ {
		c.Points = append(c.Points, cascadePoint(rows, g, cands, float64(step)/cascadeSteps))
	}
	return c
}

// cascadePoint is the cascade at threshold t, the rows' candidates cands.
func cascadePoint(rows []Scored, g *router.Gate, cands [][]string, t float64) CascadePoint {
	var decided, right, restIn, restHit, restOOS int
	for i, r := range rows {
		if DecidedByEmbedding(r, g, t) {
			decided++
			if r.Best == r.Gold {
				right++
			}
			continue
		}
		if r.Gold == intents.OOS {
			restOOS++
			continue
		}
		restIn++
		if slices.Contains(cands[i], r.Gold) {
			restHit++
		}
	}
	return CascadePoint{Threshold: t, Decided: ratio(decided, len(rows)),
		Judged: ratio(len(rows)-decided, len(rows)), DecidedAccuracy: ratio(right, decided),
		RestTopKRecall: ratio(restHit, restIn), Ceiling: ratio(right+restHit+restOOS, len(rows))}
}

// SampleShots returns at most n rows of each label of rows, chosen at
// random by seed (the same seed, the same rows), in the order of rows: a
// few-shot training set. Out-of-scope rows count as a label of their own.
func SampleShots(rows []intents.Example, n int, seed uint64) []intents.Example {
	labels, byLabel := groupByLabel(rows)
	rng := rand.New(rand.NewPCG(seed, 0xf35))
	var keep []int
	for _, l := range labels { // in order of first appearance: deterministic
		idx := byLabel[l]
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		keep = append(keep, idx[:min(n, len(idx))]...)
	}
	slices.Sort(keep)
	out := make([]intents.Example, len(keep))
	for i, k := range keep {
		out[i] = rows[k]
	}
	return out
}

// groupByLabel returns rows' labels in the order they first appear and,
// for each, the indexes of its rows.
func groupByLabel(rows []intents.Example) (labels []string, byLabel map[string][]int) {
	byLabel = map[string][]int{}
	for i, r := range rows {
		if _, ok := byLabel[r.Label]; !ok {
			labels = append(labels, r.Label)
		}
		byLabel[r.Label] = append(byLabel[r.Label], i)
	}
	return labels, byLabel
}
