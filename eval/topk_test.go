package eval

import (
	"math"
	"slices"
	"testing"

	"github.com/semroute/semroute/intents"
	"github.com/semroute/semroute/router"
)

func scoredRow(gold, best string, conf float64, top ...string) Scored {
	b := 0
	if best == "b" {
		b = 1
	}
	return Scored{Gold: gold, Best: best, Top: top, Scores: router.Scores{Best: b, Second: -1, S1: conf, Coverage: 1, Nearest: -1}}
}

// TestCascadeTable works the cascade out by hand on four rows: one right
// and sure, one wrong with its intent second, an out-of-scope one, and
// one below the gate's threshold whose intent is not a candidate.
func TestCascadeTable(t *testing.T) {
	rows := []Scored{
		scoredRow("a", "a", 0.9, "a", "b"),
		scoredRow("b", "a", 0.5, "a", "b"),
		scoredRow(intents.OOS, "b", 0.3, "b", "a"),
		scoredRow("a", "b", 0.1, "b", "c"),
	}
	g := &router.Gate{Threshold: []float64{0.2, 0.2}}
	if got := TopKRecall(rows, 1); math.Abs(got-1.0/3) > 1e-12 {
		t.Errorf("top-1 recall %v, want 1/3", got)
	}
	if got := TopKRecall(rows, 2); math.Abs(got-2.0/3) > 1e-12 {
		t.Errorf("top-2 recall %v, want 2/3", got)
	}
	if got := Candidates(rows, 1); !slices.Equal(got[1], []string{"a"}) || !slices.Equal(got[3], []string{"b"}) {
		t.Errorf("candidates %v", got)
	}
	c := CascadeTable(rows, g, 2)
	want := map[float64]CascadePoint{
		0:   {Decided: 0.75, Judged: 0.25, DecidedAccuracy: 1.0 / 3, RestTopKRecall: 0, Ceiling: 0.25},
		0.4: {Decided: 0.5, Judged: 0.5, DecidedAccuracy: 0.5, RestTopKRecall: 0, Ceiling: 0.5},
		0.6: {Decided: 0.25, Judged: 0.75, DecidedAccuracy: 1, RestTopKRecall: 0.5, Ceiling: 0.75},
		1:   {Decided: 0, Judged: 1, DecidedAccuracy: 0, RestTopKRecall: 2.0 / 3, Ceiling: 0.75},
	}
	if c.K != 2 || len(c.Points) != cascadeSteps+1 {
		t.Fatalf("k %d, %d points", c.K, len(c.Points))
	}
	for _, p := range c.Points {
		w, ok := want[p.Threshold]
		if !ok {
			continue
		}
		w.Threshold = p.Threshold
		if math.Abs(p.Decided-w.Decided)+math.Abs(p.Judged-w.Judged)+math.Abs(p.DecidedAccuracy-w.DecidedAccuracy)+
			math.Abs(p.RestTopKRecall-w.RestTopKRecall)+math.Abs(p.Ceiling-w.Ceiling) > 1e-9 {
			t.Errorf("at %.2f: %+v, want %+v", p.Threshold, p, w)
		}
		delete(want, p.Threshold)
	}
	if len(want) > 0 {
		t.Errorf("thresholds missing from the table: %v", want)
	}
}

// TestSampleShots: at most n rows a label, in file order, the same rows
// for the same seed and other rows for other seeds.
func TestSampleShots(t *testing.T) {
	var rows []intents.Example
	for i := range 40 {
		l := "x"
		if i%8 == 0 {
			l = "y" // 5 rows
		}
		rows = append(rows, intents.Example{Text: string(rune('A' + i)), Label: l, Line: i + 1})
	}
	a := SampleShots(rows, 6, 1)
	count := map[string]int{}
	for i, r := range a {
		count[r.Label]++
		if i > 0 && a[i-1].Line >= r.Line {
			t.Errorf("rows out of file order: line %d after %d", r.Line, a[i-1].Line)
		}
	}
	if count["x"] != 6 || count["y"] != 5 {
		t.Errorf("counts %v, want 6 x and all 5 y", count)
	}
	if !slices.Equal(a, SampleShots(rows, 6, 1)) {
		t.Error("the same seed gave another sample")
	}
	distinct := map[string]bool{}
	for seed := range uint64(10) {
		var key []byte
		for _, r := range SampleShots(rows, 6, seed) {
			key = append(key, r.Text...)
		}
		distinct[string(key)] = true
	}
	if len(distinct) < 5 {
		t.Errorf("10 seeds gave %d distinct samples", len(distinct))
	}
}
