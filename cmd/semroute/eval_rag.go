package main

import (
	"context"
	"errors"
	"io"
	"strings"

	"github.com/semroute/semroute/eval"
	"github.com/semroute/semroute/rag"
	"github.com/semroute/semroute/router/upstream"
)

func runEvalRAG(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("eval rag", stderr)
	questions := fs.String("questions", "", "questions, JSONL {\"id\",\"question\",\"answers\",\"passage_ids\"} (required)")
	corpus := fs.String("corpus", "", "the corpus, JSONL {\"id\",\"title\",\"text\"} (required)")
	config := fs.String("config", "", "YAML config whose embedder (and, with --model, models) to use")
	model := fs.String("model", "", "answer every question with this model (tier, comma-separated) from the config, and score the answers")
	weight := fs.Float64("vector-weight", 0, "hybrid's vector weight (default: the collection default, 0.2)")
	out := fs.String("out", "", "write rag-report.json, .md and .html into this directory")
	asJSON := fs.Bool("json", false, "print the report as one JSON object")
	quiet := fs.Bool("quiet", false, "no progress bars")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *questions == "" || *corpus == "" {
		return usageError{errors.New("--questions FILE and --corpus FILE are required")}
	}
	if *model != "" && *config == "" {
		return usageError{errors.New("--model needs --config, where the model is defined")}
	}
	cfg, err := configOrDefault(*config)
	if err != nil {
		return err
	}
	qs, err := eval.ReadRAGQuestions(*questions)
	if err != nil {
		return err
	}
	docs, err := rag.ReadFile(*corpus, 1<<30)
	if err != nil {
		return err
	}
	emb, closeEmb, err := openEmbedder(ctx, cfg.Embedder)
	if err != nil {
		return err
	}
	defer closeEmb()
	opt := eval.RAGOptions{Questions: qs, Corpus: docs, Embedder: emb, VectorWeight: *weight}
	if *model != "" {
		a := &rag.Answerer{Pool: upstream.NewPool(cfg, nil, lookupEnv), Models: strings.Split(*model, ",")}
		opt.Answer = func(ctx context.Context, q string, ps []rag.Passage) (string, error) {
			ans, err := a.Answer(ctx, q, ps, nil)
			return ans.Text, err
		}
	}
	bars := newBars(stderr, *quiet)
	opt.Progress = bars.update
	rep, err := eval.EvalRAG(ctx, opt)
	bars.finish()
	if err != nil {
		return err
	}
	return emitReport(stdout, stderr, "eval rag", *out, "rag-report", *asJSON, rep,
		func(dir string) error { return eval.WriteRAGReports(dir, rep) },
		func(w io.Writer) error { return eval.WriteRAGText(w, rep) })
}
