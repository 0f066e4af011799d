package main

import (
	"context"
	"errors"
	"io"
	"os"

	"github.com/semroute/semroute/datasets"
	"github.com/semroute/semroute/eval"
	"github.com/semroute/semroute/moderation"
)

func runEvalSafety(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("eval safety", stderr)
	data := fs.String("data", "", "labeled rows, JSONL {\"text\",\"label\":\"unsafe\"|\"safe\",\"category\"} (required)")
	exemplars := fs.String("exemplars", "", "the detector's exemplars, same format (default: semroute's own, datasets/moderation/safety.jsonl)")
	config := fs.String("config", "", "YAML config whose embedder to use")
	out := fs.String("out", "", "write safety-report.json, .md and .html into this directory")
	asJSON := fs.Bool("json", false, "print the report as one JSON object")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *data == "" {
		return usageError{errors.New("--data FILE is required")}
	}
	raw, err := os.ReadFile(*data)
	if err != nil {
		return err
	}
	rows, err := moderation.ParseExamples(raw)
	if err != nil {
		return err
	}
	exRaw := datasets.Safety
	if *exemplars != "" {
		if exRaw, err = os.ReadFile(*exemplars); err != nil {
			return err
		}
	}
	exs, err := moderation.ParseExamples(exRaw)
	if err != nil {
		return err
	}
	cfg, err := configOrDefault(*config)
	if err != nil {
		return err
	}
	emb, closeEmb, err := openEmbedder(ctx, cfg.Embedder)
	if err != nil {
		return err
	}
	defer closeEmb()
	d, err := moderation.NewDetector(ctx, emb, exs)
	if err != nil {
		return err
	}
	rep, err := eval.EvalSafety(ctx, d, rows)
	if err != nil {
		return err
	}
	return emitReport(stdout, stderr, "eval safety", *out, "safety-report", *asJSON, rep,
		func(dir string) error { return eval.WriteSafetyReports(dir, rep) },
		func(w io.Writer) error { return eval.WriteSafetyText(w, rep) })
}
