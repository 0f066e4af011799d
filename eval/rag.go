package eval

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/semroute/semroute/embed"
	"github.com/semroute/semroute/index/chromem"
	"github.com/semroute/semroute/rag"
)

// RAGQuestion is one question of a retrieval set (the format of
// ../shared/datasets/rag_nq_open_oracle and rag_pubmedqa).
type RAGQuestion struct {
	ID         string   `json:"id"`
	Question   string   `json:"question"`
	Answers    []string `json:"answers"`
	PassageIDs []string `json:"passage_ids"`
}

// ReadRAGQuestions reads questions, reporting bad lines by number.
func ReadRAGQuestions(path string) ([]RAGQuestion, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []RAGQuestion
	var bad []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for line := 1; sc.Scan(); line++ {
		b := strings.TrimSpace(sc.Text())
		if b == "" {
			continue
		}
		var q RAGQuestion
		switch err := json.Unmarshal([]byte(b), &q); {
		case err != nil:
			bad = append(bad, fmt.Sprintf("line %d: not a JSON object: %v", line, err))
		case strings.TrimSpace(q.Question) == "":
			bad = append(bad, fmt.Sprintf("line %d: missing question", line))
		case len(q.PassageIDs) == 0:
			bad = append(bad, fmt.Sprintf("line %d: no passage_ids", line))
		default:
			out = append(out, q)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("%s: %d bad line(s):\n  %s", path, len(bad), strings.Join(bad[:min(len(bad), 20)], "\n  "))
	}
	return out, nil
}

// RAGOptions describe a retrieval eval.
type RAGOptions struct {
	Questions []RAGQuestion
	Corpus    []rag.Document
	Embedder  embed.Embedder
	Chunk     rag.ChunkOptions
	// VectorWeight is hybrid's (0: the collection default).
	VectorWeight float64
	// Answer, when set, answers each question from the hybrid passages.
	Answer   func(ctx context.Context, question string, ps []rag.Passage) (string, error)
	Progress func(stage string, done, total int)
}

// RAGReport is a retrieval eval's result.
type RAGReport struct {
	Questions int           `json:"questions"`
	Documents int           `json:"documents"`
	Chunks    int           `json:"chunks"`
	Modes     []RAGModeStat `json:"modes"`
	// Answers are scored against the gold answers when a model answered.
	Answers       *AnswerStats      `json:"answers,omitempty"`
	Embedder      embed.Fingerprint `json:"embedder"`
	IngestSeconds float64           `json:"ingest_seconds"`
	ChunksPerSec  float64           `json:"chunks_per_second"`
}

// RAGModeStat is one retrieval mode's quality at document level: a
// question's hit is the first retrieved chunk of a gold passage.
type RAGModeStat struct {
	Mode      string  `json:"mode"`
	Recall1   float64 `json:"recall_at_1"`
	Recall5   float64 `json:"recall_at_5"`
	Recall10  float64 `json:"recall_at_10"`
	MRR10     float64 `json:"mrr_at_10"`
	NDCG10    float64 `json:"ndcg_at_10"`
	LatencyUS Latency `json:"latency_us"`
}

// AnswerStats are SQuAD-style exact match and token F1, best over the gold
// answers.
type AnswerStats struct {
	N          int     `json:"n"`
	ExactMatch float64 `json:"exact_match"`
	F1         float64 `json:"f1"`
}

// EvalRAG ingests the corpus into a fresh in-memory collection and measures
// every retrieval mode on the questions.
func EvalRAG(ctx context.Context, opt RAGOptions) (*RAGReport, error) {
	idx, err := chromem.Open("")
	if err != nil {
		return nil, err
	}
	defer idx.Close()
	col, err := rag.Open(ctx, "eval", rag.Options{Index: idx, Embedder: opt.Embedder, Chunk: opt.Chunk, VectorWeight: opt.VectorWeight})
	if err != nil {
		return nil, err
	}
	rep := &RAGReport{Questions: len(opt.Questions), Embedder: opt.Embedder.Fingerprint()}
	start := time.Now()
	const batch = 256
	for lo := 0; lo < len(opt.Corpus); lo += batch {
		st, err := col.Ingest(ctx, opt.Corpus[lo:min(lo+batch, len(opt.Corpus))])
		if err != nil {
			return nil, err
		}
		rep.Chunks += st.Chunks
		tell(opt.Progress, "ingest", min(lo+batch, len(opt.Corpus)), len(opt.Corpus))
	}
	rep.Documents = col.Documents()
	rep.IngestSeconds = since(start)
	rep.ChunksPerSec = float64(rep.Chunks) / max(rep.IngestSeconds, 1e-9)

	for _, mode := range []string{rag.ModeVector, rag.ModeBM25, rag.ModeHybrid, rag.ModeRRF} {
		st := RAGModeStat{Mode: mode}
		var lat []Scored
		for i, q := range opt.Questions {
			t0 := time.Now()
			ps, err := col.Search(ctx, rag.Query{Text: q.Question, K: 30, Mode: mode})
			if err != nil {
				return nil, fmt.Errorf("question %s: %w", q.ID, err)
			}
			lat = append(lat, Scored{LatencyUS: float64(time.Since(t0).Nanoseconds()) / 1e3})
			r1, r5, r10, mrr, ndcg := rankMetrics(docsOf(ps), q.PassageIDs)
			st.Recall1 += r1
			st.Recall5 += r5
			st.Recall10 += r10
			st.MRR10 += mrr
			st.NDCG10 += ndcg
			tell(opt.Progress, "retrieve ("+mode+")", i+1, len(opt.Questions))
		}
		n := float64(max(len(opt.Questions), 1))
		st.Recall1, st.Recall5, st.Recall10, st.MRR10, st.NDCG10 = st.Recall1/n, st.Recall5/n, st.Recall10/n, st.MRR10/n, st.NDCG10/n
		st.LatencyUS = latencyOf(lat)
		rep.Modes = append(rep.Modes, st)
	}
	if opt.Answer != nil {
		a := &AnswerStats{}
		for i, q := range opt.Questions {
			ps, err := col.Search(ctx, rag.Query{Text: q.Question, K: 5})
			if err != nil {
				return nil, err
			}
			text, err := opt.Answer(ctx, q.Question, ps)
			if err != nil {
				return nil, fmt.Errorf("answer %s: %w", q.ID, err)
			}
			em, f := 0.0, 0.0
			for _, g := range q.Answers {
				em = max(em, exactMatch(text, g))
				f = max(f, tokenF1(text, g))
			}
			a.ExactMatch += em
			a.F1 += f
			a.N++
			tell(opt.Progress, "answer", i+1, len(opt.Questions))
		}
		a.ExactMatch /= float64(max(a.N, 1))
		a.F1 /= float64(max(a.N, 1))
		rep.Answers = a
	}
	return rep, nil
}

// docsOf is the passages' documents in order, each once.
func docsOf(ps []rag.Passage) []string {
	var out []string
	for _, p := range ps {
		if !slices.Contains(out, p.Doc) {
			out = append(out, p.Doc)
		}
	}
	return out
}

// rankMetrics scores a document ranking against the gold documents.
func rankMetrics(ranked, gold []string) (r1, r5, r10, mrr, ndcg float64) {
	isGold := map[string]bool{}
	for _, g := range gold {
		isGold[g] = true
	}
	var dcg float64
	first := 0
	for i, d := range ranked[:min(10, len(ranked))] {
		if !isGold[d] {
			continue
		}
		dcg += 1 / math.Log2(float64(i+2))
		if first == 0 {
			first = i + 1
		}
	}
	var idcg float64
	for i := range min(len(isGold), 10) {
		idcg += 1 / math.Log2(float64(i+2))
	}
	hit := func(k int) float64 {
		if first > 0 && first <= k {
			return 1
		}
		return 0
	}
	if first > 0 {
		mrr = 1 / float64(first)
	}
	return hit(1), hit(5), hit(10), mrr, dcg / idcg
}

// normalize is SQuAD's answer normalization: lower case, no punctuation,
// no articles, single spaces.
func normalize(s string) []string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsPunct(r) {
			return ' '
		}
		return unicode.ToLower(r)
	}, s)
	var out []string
	for _, w := range strings.Fields(s) {
		if w != "a" && w != "an" && w != "the" {
			out = append(out, w)
		}
	}
	return out
}

func exactMatch(pred, gold string) float64 {
	if slices.Equal(normalize(pred), normalize(gold)) {
		return 1
	}
	return 0
}

func tokenF1(pred, gold string) float64 {
	p, g := normalize(pred), normalize(gold)
	if len(p) == 0 || len(g) == 0 {
		return exactMatch(pred, gold)
	}
	count := map[string]int{}
	for _, w := range g {
		count[w]++
	}
	same := 0
	for _, w := range p {
		if count[w] > 0 {
			count[w]--
			same++
		}
	}
	if same == 0 {
		return 0
	}
	prec, rec := float64(same)/float64(len(p)), float64(same)/float64(len(g))
	return 2 * prec * rec / (prec + rec)
}

// tell reports progress when someone listens.
func tell(p func(string, int, int), stage string, done, total int) {
	if p != nil {
		p(stage, done, total)
	}
}
