package router

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/semroute/semroute/datasets"
	"github.com/semroute/semroute/embed/local/localtest"
	"github.com/semroute/semroute/intents"
	"github.com/semroute/semroute/router/config"
)

// inScopeAccuracy builds a router from train's labels with the given scorer
// and scores test's in-scope rows, thresholds aside: the share whose best
// intent is right.
func inScopeAccuracy(t *testing.T, train, test, scorer string) float64 {
	t.Helper()
	trainRows, err := intents.ReadLabeled(train)
	if err != nil {
		t.Fatal(err)
	}
	testRows, err := intents.ReadLabeled(test)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{Fallback: intents.Target{Handoff: "none"}}
	cfg.Routing.Scorer = scorer
	cfg.SetDefaults("")
	cfg.AddExamples(trainRows)
	start := time.Now()
	r, err := New(context.Background(), cfg, Options{Embedder: localtest.Open(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: router (%s scorer, %d exemplars) built in %v", filepath.Base(filepath.Dir(train)), scorer, r.Exemplars(), time.Since(start).Round(10*time.Millisecond))
	right, n := 0, 0
	for _, row := range testRows {
		if row.Label == intents.OOS {
			continue
		}
		s, err := r.Score(context.Background(), row.Text)
		if err != nil {
			t.Fatalf("line %d: %v", row.Line, err)
		}
		n++
		if s.Best >= 0 && r.intents[s.Best].Name == row.Label {
			right++
		}
	}
	return float64(right) / float64(n)
}

// TestQualityFloors are issue 2's floors for the embedded default.
func TestQualityFloors(t *testing.T) {
	root := datasets.Shared(t)
	for _, tc := range []struct {
		set   string
		floor float64
	}{{"clinc150", 0.88}, {"snips", 0.97}} {
		t.Run(tc.set, func(t *testing.T) {
			dir := filepath.Join(root, tc.set)
			train, test := filepath.Join(dir, "train.jsonl"), filepath.Join(dir, "test.jsonl")
			acc := inScopeAccuracy(t, train, test, config.ScorerHead)
			knn := inScopeAccuracy(t, train, test, config.ScorerKNN)
			t.Logf("%s in-scope test accuracy %.4f (floor %.2f); nearest-neighbour over the same vectors %.4f", tc.set, acc, tc.floor, knn)
			if acc < tc.floor {
				t.Errorf("%s in-scope accuracy %.4f < %.2f", tc.set, acc, tc.floor)
			}
			if acc <= knn {
				t.Errorf("the fitted head (%.4f) is no better than nearest-neighbour (%.4f)", acc, knn)
			}
		})
	}
}
