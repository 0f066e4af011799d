package router

import (
	"context"
	"reflect"
	"testing"

	"github.com/semroute/semroute/embed/local/localtest"
	"github.com/semroute/semroute/intents/classify"
	"github.com/semroute/semroute/router/config"
)

// TestCalibratedDefaults: the demo's default threshold comes from
// cross-validation on its utterances, the same on every build; the
// config's threshold, a thresholds file, and NoCalibration each win over it.
func TestCalibratedDefaults(t *testing.T) {
	emb := localtest.Open(t)
	r := demoRouter(t, Options{Embedder: emb})
	cal, ok := r.Calibration()
	if !ok || cal.Folds != classify.CalFolds || cal.HeldOut < 100 {
		t.Fatalf("calibration %+v, ok %v: want %d folds over the demo's utterances", cal, ok, classify.CalFolds)
	}
	if g := r.Thresholds().Global; g != cal.Threshold || g <= 0 || g > classify.CalMaxThreshold {
		t.Errorf("default threshold %v, calibrated %v: want the calibrated one, in (0, %v]", g, cal.Threshold, classify.CalMaxThreshold)
	}
	again := demoRouter(t, Options{Embedder: emb})
	if c2, _ := again.Calibration(); !reflect.DeepEqual(c2, cal) {
		t.Errorf("a second build calibrated %+v, the first %+v", c2, cal)
	}
	for _, p := range []string{"where is my order", "I forgot my password", "write me a poem about cats"} {
		a, _ := r.Score(context.Background(), p)
		b, _ := again.Score(context.Background(), p)
		if a.S1 != b.S1 || a.Best != b.Best {
			t.Errorf("%q scored %v / %v on two builds", p, a.S1, b.S1)
		}
	}

	cfg, err := config.Load("../datasets/demo/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Routing.Threshold = new(0.42)
	if r, err := New(context.Background(), cfg, Options{Embedder: emb}); err != nil || r.Thresholds().Global != 0.42 {
		t.Errorf("routing.threshold 0.42 in the config: global %v, %v", r.Thresholds().Global, err)
	}
	file := &Thresholds{Embedder: emb.Fingerprint(), Scorer: config.ScorerHead, Global: 0.07}
	if g := demoRouter(t, Options{Embedder: emb, Thresholds: file}).Thresholds().Global; g != 0.07 {
		t.Errorf("a thresholds file's 0.07: global %v", g)
	}
	plain := demoRouter(t, Options{Embedder: emb, Head: HeadOptions{NoCalibration: true}})
	if _, ok := plain.Calibration(); ok || plain.Thresholds().Global != defaultHeadThreshold {
		t.Errorf("NoCalibration: global %v, want %v", plain.Thresholds().Global, defaultHeadThreshold)
	}
}
