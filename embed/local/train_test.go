package local

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// trainFixture writes a vectors file of 60 words in 8 dimensions, drawn at
// random, and pairs whose two sides use words of one of six topics: the
// random vectors know nothing of the topics, so only training can bring a
// pair's sides together.
func trainFixture(t *testing.T) (*Embedder, []SourcePairs) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 7))
	const words, dim, topics = 60, 8, 6
	v := Vocab{Source: "fixture", Dim: dim}
	for i := range words {
		v.Words = append(v.Words, fmt.Sprintf("w%02d", i))
	}
	for range words * dim {
		v.Vectors = append(v.Vectors, float32(rng.NormFloat64()))
	}
	path := filepath.Join(t.TempDir(), FileName)
	if err := Write(path, v); err != nil {
		t.Fatal(err)
	}
	e, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	sentence := func(topic int) string {
		var ws []string
		for range 3 + rng.IntN(3) {
			ws = append(ws, v.Words[topic+topics*rng.IntN(words/topics)])
		}
		return strings.Join(ws, " ")
	}
	var ps []Pair
	for range 3000 {
		k := rng.IntN(topics)
		ps = append(ps, Pair{A: sentence(k), B: sentence(k)})
	}
	sp := SourcePairs{Source: PairSource{Folder: "fixture"}}
	for _, p := range ps {
		if HeldOut(p) {
			sp.Held = append(sp.Held, p)
		} else {
			sp.Train = append(sp.Train, p)
		}
	}
	if len(sp.Held) < 32 {
		t.Fatalf("only %d held-out pairs in the fixture", len(sp.Held))
	}
	return e, []SourcePairs{sp}
}

func TestTrainReducesLossAndIsDeterministic(t *testing.T) {
	e, data := trainFixture(t)
	o := TrainOptions{Seed: 1, Epochs: 4, Batch: 16, LR: 0.02, LRMap: 0.01}
	v1, st, err := Train(e, data, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("held-out loss %.4f → %.4f; epochs %.4f", st.HeldLossBefore, st.HeldLossAfter, st.EpochLoss)
	if !(st.HeldLossAfter < 0.8*st.HeldLossBefore) {
		t.Errorf("held-out loss %.4f before, %.4f after: want it down by a fifth at least", st.HeldLossBefore, st.HeldLossAfter)
	}
	if n := len(st.EpochLoss); n != 4 || !(st.EpochLoss[n-1] < st.EpochLoss[0]) {
		t.Errorf("epoch losses %v: want 4, falling", st.EpochLoss)
	}
	v2, _, err := Train(e, data, o)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(v1.Vectors, v2.Vectors) || !slices.Equal(v1.Words, v2.Words) {
		t.Error("two runs with seed 1 trained different vectors")
	}
	o.Seed = 2
	v3, _, err := Train(e, data, o)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(v1.Vectors, v3.Vectors) {
		t.Error("seeds 1 and 2 trained the same vectors")
	}
}

// TestTrainedSeparation: on held-out pairs, the trained file's cosine
// tells a pair from a random pairing better than the untrained one's.
func TestTrainedSeparation(t *testing.T) {
	e, data := trainFixture(t)
	v, _, err := Train(e, data, TrainOptions{Seed: 1, Epochs: 4, Batch: 16, LR: 0.02, LRMap: 0.01})
	if err != nil {
		t.Fatal(err)
	}
	trained := writeOpen(t, v)
	ctx := context.Background()
	before, err := MeasureSeparation(ctx, e, data[0].Held, 1, 0.95)
	if err != nil {
		t.Fatal(err)
	}
	after, err := MeasureSeparation(ctx, trained, data[0].Held, 1, 0.95)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("AUC against random pairings %.3f → %.3f", before.AUCRandom, after.AUCRandom)
	if !(after.AUCRandom > before.AUCRandom+0.05) {
		t.Errorf("AUC against random pairings %.3f before, %.3f after training", before.AUCRandom, after.AUCRandom)
	}
}

// TestFingerprintFollowsWeights: trained weights give another fingerprint
// than the file they started from, and other weights another again, so
// thresholds, heads and stored indexes made with one are refused with the
// other.
func TestFingerprintFollowsWeights(t *testing.T) {
	e, data := trainFixture(t)
	o := TrainOptions{Seed: 1, Epochs: 1, Batch: 16}
	v1, _, err := Train(e, data, o)
	if err != nil {
		t.Fatal(err)
	}
	o.Seed = 2
	v2, _, err := Train(e, data, o)
	if err != nil {
		t.Fatal(err)
	}
	f1, f2 := writeOpen(t, v1).Fingerprint(), writeOpen(t, v2).Fingerprint()
	if f1 == e.Fingerprint() || f2 == e.Fingerprint() || f1 == f2 {
		t.Errorf("fingerprints: base %s, seed 1 %s, seed 2 %s: want three different", e.Fingerprint(), f1, f2)
	}
	if f1.Model != "semroute-enc1" {
		t.Errorf("trained file's model %q, want semroute-enc1", f1.Model)
	}
	if again := writeOpen(t, v1).Fingerprint(); again != f1 {
		t.Errorf("the same weights written twice: %s, then %s", f1, again)
	}
}

func writeOpen(t *testing.T, v Vocab) *Embedder {
	t.Helper()
	path := filepath.Join(t.TempDir(), EncoderFileName)
	if err := Write(path, v); err != nil {
		t.Fatal(err)
	}
	e, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func TestReadPairsNamesBadLine(t *testing.T) {
	dir := t.TempDir()
	writeGz(t, filepath.Join(dir, "src", "pairs.jsonl.gz"), "{\"a\":\"x\",\"b\":\"y\"}\n{\"a\":\"x\"}\n")
	_, err := ReadPairs(dir, "src")
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("err = %v, want one naming line 2", err)
	}
	writeGz(t, filepath.Join(dir, "bad", "pairs.jsonl.gz"), "{\"a\":\"x\",\"b\":\"y\"}\nnot json\n")
	if _, err := ReadPairs(dir, "bad"); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("err = %v, want one naming line 2", err)
	}
}

func TestAUC(t *testing.T) {
	for _, tc := range []struct {
		pos, neg []float64
		want     float64
	}{
		{[]float64{0.9, 0.8}, []float64{0.1, 0.2}, 1},
		{[]float64{0.1}, []float64{0.9}, 0},
		{[]float64{0.5, 0.5}, []float64{0.5}, 0.5},
		{[]float64{0.9, 0.3}, []float64{0.5}, 0.5},
	} {
		if got := auc(tc.pos, tc.neg); got != tc.want {
			t.Errorf("auc(%v, %v) = %v, want %v", tc.pos, tc.neg, got, tc.want)
		}
	}
}

func writeGz(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(body))
	zw.Close()
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestMinSimilarityFollowsTheFile: the gate default is GloVe's for an
// imported file and the encoder's for a trained one.
func TestMinSimilarityFollowsTheFile(t *testing.T) {
	e, data := trainFixture(t)
	if got := e.MinSimilarity(); got != gloveMinSimilarity {
		t.Errorf("imported file: MinSimilarity %v, want %v", got, gloveMinSimilarity)
	}
	v, _, err := Train(e, data, TrainOptions{Seed: 1, Epochs: 1, Batch: 16})
	if err != nil {
		t.Fatal(err)
	}
	if got := writeOpen(t, v).MinSimilarity(); got != encoderMinSimilarity {
		t.Errorf("trained file: MinSimilarity %v, want %v", got, encoderMinSimilarity)
	}
}
