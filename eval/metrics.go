package eval

import (
	"cmp"
	"slices"

	"github.com/semroute/semroute/intents"
	"github.com/semroute/semroute/router"
)

// Metrics are routing quality on a set of labeled prompts. Out-of-scope
// (intents.OOS) counts as a class of its own in Accuracy and MacroF1.
type Metrics struct {
	N int `json:"n"`
	// Accuracy is over all rows: the predicted intent, or oos when the
	// prompt fell back, equals the label.
	Accuracy float64 `json:"accuracy"`
	// InScopeAccuracy is over the in-scope rows only; one that fell back
	// counts as wrong.
	InScopeAccuracy float64 `json:"in_scope_accuracy"`
	InScope         int     `json:"in_scope"`
	OutOfScope      int     `json:"out_of_scope"`
	OOSPrecision    float64 `json:"oos_precision"`
	OOSRecall       float64 `json:"oos_recall"`
	OOSF1           float64 `json:"oos_f1"`
	// MacroF1 is the unweighted mean F1 over every label that occurs as
	// gold or prediction, oos included.
	MacroF1       float64                 `json:"macro_f1"`
	PerIntent     map[string]ClassMetrics `json:"per_intent"`
	TopConfusions []Confusion             `json:"top_confusions"`
	// Confused is the confusion matrix of the labels most often confused.
	Confused Matrix `json:"confusion_matrix"`
	// FallbackReasons counts why prompts fell back.
	FallbackReasons map[string]int `json:"fallback_reasons"`
}

// ClassMetrics are one label's precision, recall and F1.
type ClassMetrics struct {
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	Support   int     `json:"support"` // gold rows with this label
}

// Confusion is a (gold, predicted) pair that differ, with how often it
// happened and one prompt where it did.
type Confusion struct {
	Gold    string `json:"gold"`
	Pred    string `json:"pred"`
	Count   int    `json:"count"`
	Example string `json:"example"`
}

// Matrix counts rows by gold label (Counts[i]) and prediction (Counts[i][j]).
type Matrix struct {
	Labels []string `json:"labels"`
	Counts [][]int  `json:"counts"`
}

// maxConfusions is how many confusions a report lists; maxMatrix is how
// many labels the confusion matrix shows.
const (
	maxConfusions = 20
	maxMatrix     = 12
)

// Predict is what the router decides for a scored row under gate g (the
// gate of the router that scored it): the intent's name, or intents.OOS
// when it falls back.
func Predict(s Scored, g *router.Gate) (pred, reason string) {
	if reason = g.Reject(s.Scores); reason != "" {
		return intents.OOS, reason
	}
	return s.Best, ""
}

// Measure scores the rows' predictions under gate g, the gate of the router
// that scored them.
func Measure(rows []Scored, g *router.Gate) Metrics {
	m := Metrics{N: len(rows), PerIntent: map[string]ClassMetrics{}, FallbackReasons: map[string]int{}}
	type pair struct{ gold, pred string }
	conf := map[pair]*Confusion{}
	tp, goldN, predN := map[string]int{}, map[string]int{}, map[string]int{}
	right, inRight := 0, 0
	for _, r := range rows {
		pred, reason := Predict(r, g)
		if reason != "" {
			m.FallbackReasons[reason]++
		}
		goldN[r.Gold]++
		predN[pred]++
		if r.Gold == intents.OOS {
			m.OutOfScope++
		} else {
			m.InScope++
		}
		if pred == r.Gold {
			tp[pred]++
			right++
			if r.Gold != intents.OOS {
				inRight++
			}
			continue
		}
		p := pair{r.Gold, pred}
		if c := conf[p]; c != nil {
			c.Count++
		} else {
			conf[p] = &Confusion{Gold: r.Gold, Pred: pred, Count: 1, Example: r.Text}
		}
	}
	m.Accuracy = ratio(right, m.N)
	m.InScopeAccuracy = ratio(inRight, m.InScope)
	labels := map[string]bool{}
	for l := range goldN {
		labels[l] = true
	}
	for l := range predN {
		labels[l] = true
	}
	sumF1 := 0.0
	for l := range labels {
		c := classMetrics(tp[l], predN[l], goldN[l])
		sumF1 += c.F1
		if l == intents.OOS {
			m.OOSPrecision, m.OOSRecall, m.OOSF1 = c.Precision, c.Recall, c.F1
		} else {
			m.PerIntent[l] = c
		}
	}
	m.MacroF1 = ratioF(sumF1, len(labels))
	all := make([]Confusion, 0, len(conf))
	for _, c := range conf {
		all = append(all, *c)
	}
	slices.SortFunc(all, func(a, b Confusion) int {
		return cmp.Or(b.Count-a.Count, cmp.Compare(a.Gold, b.Gold), cmp.Compare(a.Pred, b.Pred))
	})
	m.TopConfusions = all[:min(len(all), maxConfusions)]

	// The matrix: labels in order of first appearance in the worst pairs.
	at := map[string]int{}
	for _, c := range all {
		for _, l := range []string{c.Gold, c.Pred} {
			if _, ok := at[l]; !ok && len(at) < maxMatrix {
				at[l] = len(m.Confused.Labels)
				m.Confused.Labels = append(m.Confused.Labels, l)
			}
		}
	}
	m.Confused.Counts = make([][]int, len(m.Confused.Labels))
	for i := range m.Confused.Counts {
		m.Confused.Counts[i] = make([]int, len(m.Confused.Labels))
		m.Confused.Counts[i][i] = tp[m.Confused.Labels[i]]
	}
	for _, c := range all {
		i, ok1 := at[c.Gold]
		j, ok2 := at[c.Pred]
		if ok1 && ok2 {
			m.Confused.Counts[i][j] = c.Count
		}
	}
	return m
}

func classMetrics(tp, predicted, support int) ClassMetrics {
	c := ClassMetrics{Precision: ratio(tp, predicted), Recall: ratio(tp, support), Support: support}
	c.F1 = f1(c.Precision, c.Recall)
	return c
}

func f1(p, r float64) float64 {
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}

// ratio is a/b, and 0 when b is 0 (a metric over no rows).
func ratio(a, b int) float64 { return ratioF(float64(a), b) }

func ratioF(a float64, b int) float64 {
	if b == 0 {
		return 0
	}
	return a / float64(b)
}
