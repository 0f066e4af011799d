package eval

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/semroute/semroute/datasets"
	"github.com/semroute/semroute/embed/local/localtest"
	"github.com/semroute/semroute/rag"
)

// TestEncoderFloors holds the trained encoder (`make encoder`, opt-in
// with embedder {kind: local, model: encoder}) to what made it worth
// shipping (issue 23, point 7): RAG vector retrieval well above GloVe's
// (NQ-Open recall@5 0.744 with GloVe; the floor is 0.80, the encoder
// measured 0.843), and routing no worse, on the same few-shot floors as
// TestFewShotFloors, with the encoder's own similarity gate.
func TestEncoderFloors(t *testing.T) {
	enc := localtest.OpenEncoder(t)
	dir := filepath.Join(datasets.Shared(t), "rag_nq_open_oracle")
	qs, err := ReadRAGQuestions(filepath.Join(dir, "questions.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	docs, err := rag.ReadFile(filepath.Join(dir, "corpus.jsonl"), 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := EvalRAG(context.Background(), RAGOptions{Questions: qs, Corpus: docs, Embedder: enc})
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]RAGModeStat{}
	for _, m := range rep.Modes {
		by[m.Mode] = m
		t.Logf("NQ-Open, encoder, %-6s recall@1 %.4f recall@5 %.4f recall@10 %.4f MRR@10 %.4f", m.Mode, m.Recall1, m.Recall5, m.Recall10, m.MRR10)
	}
	if v := by[rag.ModeVector]; v.Recall5 < 0.80 {
		t.Errorf("encoder's vector recall@5 on NQ-Open %.4f, floor 0.80 (GloVe: 0.744)", v.Recall5)
	}
	if h, b := by[rag.ModeHybrid], by[rag.ModeBM25]; h.Recall5 <= b.Recall5 || h.MRR10 <= b.MRR10 {
		t.Errorf("hybrid (recall@5 %.4f, MRR@10 %.4f) does not beat BM25 (%.4f, %.4f)", h.Recall5, h.MRR10, b.Recall5, b.MRR10)
	}

	cd := filepath.Join(datasets.Shared(t), "clinc150")
	train := SampleShots(readLabeled(t, filepath.Join(cd, "train.jsonl")), 10, 1)
	fr, _, err := Run(context.Background(), Options{Embedder: enc, Train: train,
		Test: readLabeled(t, filepath.Join(cd, "test.jsonl"))})
	if err != nil {
		t.Fatal(err)
	}
	k := fr.TopKRecall
	t.Logf("CLINC150 10-shot, encoder: top-1 %.4f, top-10 %.4f, min_similarity %.2f: in-scope accuracy %.4f, OOS fall-back %.4f",
		k["1"], k["10"], fr.Thresholds.MinSimilarity, fr.InScopeAccuracy, fr.OOSRecall)
	if k["1"] < 0.79 || k["10"] < 0.95 || fr.InScopeAccuracy < 0.74 || fr.OOSRecall < 0.75 {
		t.Errorf("below TestFewShotFloors' floors: top-1 %.4f (0.79), top-10 %.4f (0.95), in-scope %.4f (0.74), OOS %.4f (0.75)",
			k["1"], k["10"], fr.InScopeAccuracy, fr.OOSRecall)
	}
}
