package eval

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/semroute/semroute/datasets"
	"github.com/semroute/semroute/embed/local/localtest"
	"github.com/semroute/semroute/intents"
	"github.com/semroute/semroute/router"
	"github.com/semroute/semroute/router/config"
)

// capTolerance is how far below the same router with no threshold the
// default threshold may take in-scope accuracy on a validation view.
const capTolerance = 0.005

// TestCalibrationCapOnValidation re-derives the router's cap on the
// calibrated default threshold (calMaxThreshold) from validation data
// alone, never a test split. The rule, written down before the numbers:
// the cap is the largest threshold k/100 at which, on the views with many
// utterances an intent, in-scope accuracy with the default threshold is
// within 0.5 points of the same router with no threshold (margin,
// min_similarity and the out-of-scope class unchanged). OOS fall-back only
// rises with the cap, so the largest that passes is the one to keep.
//
// The views: CLINC150 train.jsonl → val.jsonl (3,000 in-scope rows, 100
// out-of-scope), and SNIPS train.jsonl split by holdOut (20 % of each
// label held out, seed 1). Their cross-validation alone would set the
// threshold far above the cap (about 0.5), so the default threshold is
// the cap on both. The test fails when the cap breaks the rule on a view,
// or when the next grid step passes on every view (re-derive the cap).
func TestCalibrationCapOnValidation(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the full CLINC150 and SNIPS routers")
	}
	dir := datasets.Shared(t)
	snipsTrain, snipsVal := holdOut(readLabeled(t, filepath.Join(dir, "snips", "train.jsonl")), 0.2, 1)
	views := []struct {
		name       string
		train, val []intents.Example
	}{
		{"CLINC150 train → val", readLabeled(t, filepath.Join(dir, "clinc150", "train.jsonl")),
			readLabeled(t, filepath.Join(dir, "clinc150", "val.jsonl"))},
		{"SNIPS train, 80 % → 20 % of each label", snipsTrain, snipsVal},
	}
	emb := localtest.Open(t)
	var capped []float64
	nextPasses := true
	for _, v := range views {
		cfg := config.Default().Clone()
		cfg.AddExamples(v.train)
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		r, err := router.New(context.Background(), cfg, router.Options{Embedder: emb})
		if err != nil {
			t.Fatal(err)
		}
		cal, ok := r.Calibration()
		if !ok || r.Thresholds().Global != cal.Threshold {
			t.Fatalf("%s: calibrated %v (ok %v), default threshold %v", v.name, cal.Threshold, ok, r.Thresholds().Global)
		}
		scored, err := ScoreAll(context.Background(), r, v.val, nil)
		if err != nil {
			t.Fatal(err)
		}
		at := func(th float64) Metrics {
			g := r.Gate()
			for i := range g.Threshold {
				g.Threshold[i] = th
			}
			return Measure(scored, &g)
		}
		m0 := at(0)
		var b strings.Builder
		fmt.Fprintf(&b, "%s (%d rows, blend %.2f, default threshold %.2f): no threshold: in-scope %.4f, OOS fall-back %.4f\n",
			v.name, len(v.val), cal.Blend, cal.Threshold, m0.InScopeAccuracy, m0.OOSRecall)
		for k := 15; k <= 40; k++ {
			m := at(float64(k) / 100)
			fmt.Fprintf(&b, "  threshold %.2f: in-scope %.4f (%+.2f points), OOS fall-back %.4f\n",
				float64(k)/100, m.InScopeAccuracy, 100*(m.InScopeAccuracy-m0.InScopeAccuracy), m.OOSRecall)
		}
		t.Log(b.String())
		if d := at(cal.Threshold).InScopeAccuracy - m0.InScopeAccuracy; d < -capTolerance-1e-9 {
			t.Errorf("%s: the default threshold %.2f costs %.2f points of in-scope accuracy (at most %.1f)", v.name, cal.Threshold, -100*d, 100*capTolerance)
		}
		next := math.Round(cal.Threshold*100+1) / 100
		if at(next).InScopeAccuracy-m0.InScopeAccuracy < -capTolerance-1e-9 {
			nextPasses = false
		}
		capped = append(capped, cal.Threshold)
	}
	if capped[0] != capped[1] {
		t.Errorf("default thresholds %v: the cap should set both", capped)
	}
	if nextPasses {
		t.Errorf("a cap of %.2f passes on every view too: the rule chooses the largest, re-derive calMaxThreshold", capped[0]+0.01)
	}
}

// holdOut splits rows into a training part and, for each label, a seeded
// share frac of its rows held out.
func holdOut(rows []intents.Example, frac float64, seed uint64) (train, held []intents.Example) {
	labels, byLabel := groupByLabel(rows)
	rng := rand.New(rand.NewPCG(seed, 0xf35))
	out := make([]bool, len(rows))
	for _, l := range labels { // in order of first appearance: deterministic
		idx := byLabel[l]
		rng.Shuffle(len(idx), func(a, b int) { idx[a], idx[b] = idx[b], idx[a] })
		for _, i := range idx[:int(math.Round(frac*float64(len(idx))))] {
			out[i] = true
		}
	}
	for i, r := range rows {
		if out[i] {
			held = append(held, r)
		} else {
			train = append(train, r)
		}
	}
	return train, held
}
