package router

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/semroute/semroute/embed/local/localtest"
	"github.com/semroute/semroute/intents"
)

// sharedDatasets is ../shared/datasets beside the repository (or
// $SEMROUTE_DATASETS); tests that need it skip, saying so, when it is absent.
func sharedDatasets(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("SEMROUTE_DATASETS")
	if dir == "" {
		dir = filepath.Join("..", "..", "shared", "datasets")
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("skipping: the public datasets are not at %s (set SEMROUTE_DATASETS)", dir)
	}
	return dir
}

// inScopeAccuracy builds a router from train's labels and routes test's
// in-scope rows with thresholds off: the share whose best intent is right.
func inScopeAccuracy(t *testing.T, train, test string) float64 {
	t.Helper()
	trainRows, err := intents.ReadLabeled(train)
	if err != nil {
		t.Fatal(err)
	}
	testRows, err := intents.ReadLabeled(test)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &Config{Fallback: intents.Target{Handoff: "none"}}
	cfg.setDefaults("")
	cfg.AddExamples(trainRows)
	r, err := New(context.Background(), cfg, Options{Embedder: localtest.Open(t)})
	if err != nil {
		t.Fatal(err)
	}
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

func TestQualityFloorCLINC150(t *testing.T) {
	dir := filepath.Join(sharedDatasets(t), "clinc150")
	acc := inScopeAccuracy(t, filepath.Join(dir, "train.jsonl"), filepath.Join(dir, "test.jsonl"))
	t.Logf("CLINC150 in-scope accuracy %.4f (floor 0.88)", acc)
	if acc < 0.88 {
		t.Errorf("CLINC150 in-scope accuracy %.4f < 0.88", acc)
	}
}

func TestQualityFloorSNIPS(t *testing.T) {
	dir := filepath.Join(sharedDatasets(t), "snips")
	acc := inScopeAccuracy(t, filepath.Join(dir, "train.jsonl"), filepath.Join(dir, "test.jsonl"))
	t.Logf("SNIPS accuracy %.4f (floor 0.97)", acc)
	if acc < 0.97 {
		t.Errorf("SNIPS accuracy %.4f < 0.97", acc)
	}
}
