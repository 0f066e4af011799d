package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/semroute/semroute/eval"
)

// multiFlag collects a repeated flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func runEvalCascade(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("eval cascade", stderr)
	var data, costs multiFlag
	fs.Var(&data, "data", "cascade records, JSONL {\"id\",\"query\",\"models\":{NAME:{\"correct\"|\"score\",\"cost\"}}} (repeatable)")
	models := fs.String("models", "", "models to cascade, cheapest first, comma-separated (default: the data's models by quality, lowest first)")
	fs.Var(&costs, "cost", "MODEL=USD cost per call, for data without per-query costs (repeatable)")
	config := fs.String("config", "", "YAML config whose embedder to use (default: the embedded default)")
	testShare := fs.Float64("test-share", 0.3, "share of the queries held out for test (split by a hash of the id)")
	k := fs.Int("k", 20, "nearest training queries the confidence is read from")
	target := fs.Float64("target-quality", 0, "fit the cheapest threshold reaching this share of the strong model's quality (e.g. 0.95)")
	budget := fs.Float64("budget", 0, "fit the best threshold within this mean cost per query (USD)")
	contaminated := fs.Bool("include-contaminated", false, "keep records marked contaminated (RouteLLM drops them)")
	thresholds := fs.String("thresholds", "", "where a fitted threshold is written (default: cascade.json in --out, or here)")
	out := fs.String("out", "", "write cascade.json, cascade.md and cascade.html into this directory")
	asJSON := fs.Bool("json", false, "print the report as one JSON object")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if len(data) == 0 {
		return usageError{fmt.Errorf("--data FILE is required")}
	}
	if *target > 0 && *budget > 0 {
		return usageError{fmt.Errorf("give --target-quality or --budget, not both")}
	}
	opt := eval.CascadeOptions{TestShare: *testShare, K: *k, TargetQuality: *target, Budget: *budget,
		IncludeContaminated: *contaminated, Cost: map[string]float64{}}
	for _, c := range costs {
		name, v, ok := strings.Cut(c, "=")
		f, err := strconv.ParseFloat(v, 64)
		if !ok || err != nil || f < 0 {
			return usageError{fmt.Errorf("--cost %q: want MODEL=USD, e.g. gpt-4o=0.003", c)}
		}
		opt.Cost[name] = f
	}
	for _, path := range data {
		recs, err := eval.ReadCascade(path)
		if err != nil {
			return err
		}
		opt.Records = append(opt.Records, recs...)
	}
	if *models != "" {
		opt.Models = strings.Split(*models, ",")
	} else {
		opt.Models = modelsByQuality(opt.Records)
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
	opt.Embedder = emb
	rep, fitted, err := eval.EvalCascade(ctx, opt)
	if err != nil {
		return err
	}
	if fitted != nil {
		path := cmp.Or(*thresholds, "cascade.json")
		if *thresholds == "" && *out != "" {
			path = filepath.Join(*out, "cascade.json")
		}
		if err := eval.SaveJSON(path, fitted); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "semroute eval cascade: wrote the fitted threshold to %s\n", path)
	}
	return emitReport(stdout, stderr, "eval cascade", *out, "cascade-report", *asJSON, rep,
		func(dir string) error { return eval.WriteCascadeReports(dir, rep) },
		func(w io.Writer) error { return eval.WriteCascadeText(w, rep) })
}

// modelsByQuality lists the models every record has, cheapest first by
// their per-query costs when every record has one, else by mean quality,
// lowest first (the weaker model taken to be the cheaper).
func modelsByQuality(recs []eval.CascadeRecord) []string {
	sum, cost := map[string]float64{}, map[string]float64{}
	count, costs := map[string]int{}, map[string]int{}
	for _, r := range recs {
		for name, m := range r.Models {
			count[name]++
			if m.Cost != nil {
				costs[name]++
				cost[name] += *m.Cost
			}
			switch {
			case m.Correct != nil && *m.Correct:
				sum[name]++
			case m.Correct == nil && m.Score != nil:
				sum[name] += *m.Score
			}
		}
	}
	var names []string
	for name, c := range count {
		if c == len(recs) {
			names = append(names, name)
		}
	}
	byCost := true
	for _, name := range names {
		byCost = byCost && costs[name] == len(recs)
	}
	key := sum
	if byCost {
		key = cost
	}
	slices.SortFunc(names, func(a, b string) int { return cmp.Or(cmp.Compare(key[a], key[b]), cmp.Compare(a, b)) })
	return names
}
