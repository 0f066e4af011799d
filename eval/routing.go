package eval

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/semroute/semroute/embed"
	"github.com/semroute/semroute/intents"
	"github.com/semroute/semroute/router"
	"github.com/semroute/semroute/router/config"
)

// Options describe one routing eval.
type Options struct {
	// Config supplies intents and routing settings; nil means
	// config.Default(), with every intent from Train.
	Config   *config.Config
	Embedder embed.Embedder
	// Train rows become intents' utterances (and out-of-scope examples);
	// Val, when given, is what thresholds are fitted on; Test is only
	// measured.
	Train, Val, Test []intents.Example
	// Names of the files, for the report.
	TrainFile, ValFile, TestFile string
	// Fit fits thresholds on Val, or on Train by Folds-fold
	// cross-validation when there is no Val.
	Fit    bool
	FitOpt FitOptions
	Folds  int // default 5
	// Thresholds are used when not fitting (nil: the config's or defaults).
	Thresholds *router.Thresholds
	// TopK is how many candidates the cascade table assumes a judge is
	// shown (default DefaultTopK); top_k_recall ranks at least 10.
	TopK int
	// Judge, when set, runs the routing judge on the test rows the
	// decision is unsure of (RunJudge), shown the top TopK intents.
	Judge *JudgeOptions
	// Progress, when set, hears how far each stage is.
	Progress func(stage string, done, total int)
	Logger   *slog.Logger
}

// Report is a routing eval's result; its JSON form is what
// `semroute eval --json` prints.
type Report struct {
	Metrics
	Thresholds router.Thresholds `json:"thresholds"`
	Embedder   embed.Fingerprint `json:"embedder"`
	Scorer     string            `json:"scorer"`
	LatencyUS  Latency           `json:"latency_us"`
	// Sweep is test quality as the global threshold moves, the fitted (or
	// configured) margin and min_similarity fixed.
	Sweep []SweepPoint `json:"sweep"`
	// TopKRecall is, for k = 1, 3, 5, 10, the share of in-scope test rows
	// whose intent is among the k best, thresholds aside.
	TopKRecall map[string]float64 `json:"top_k_recall"`
	// Cascade is the routing cascade on the test rows: what the
	// embeddings decide at each threshold, and what a judge could do with
	// the rest.
	Cascade *Cascade `json:"cascade"`
	// Judge is what the routing judge did with the test rows (with
	// Options.Judge).
	Judge *JudgeReport `json:"judge,omitempty"`
	Fit   *FitReport   `json:"fit,omitempty"`
	// Calibration is what cross-validation on the intents' utterances
	// chose when the router was built: the head's blend and the default
	// threshold (absent when it did not run).
	Calibration *router.Calibration `json:"calibration,omitempty"`
	Data        DataReport          `json:"data"`
	// Seconds is where the time went.
	Seconds Timing `json:"seconds"`
}

// FitReport says how thresholds were fitted.
type FitReport struct {
	Objective string `json:"objective"`
	// On is "val" or "train (K-fold cross-validation)".
	On   string `json:"on"`
	Rows int    `json:"rows"`
	// Value is the objective on the rows fitted on; GlobalValue is its
	// value before per-intent thresholds.
	Value       float64 `json:"value"`
	GlobalValue float64 `json:"global_value"`
	// GlobalOnly is test quality with the fitted global cut-offs alone,
	// to show what per-intent thresholds add (nil when none were fitted).
	GlobalOnly *Summary `json:"global_only,omitempty"`
}

// Summary is the headline of Metrics.
type Summary struct {
	Accuracy        float64 `json:"accuracy"`
	InScopeAccuracy float64 `json:"in_scope_accuracy"`
	OOSRecall       float64 `json:"oos_recall"`
	OOSPrecision    float64 `json:"oos_precision"`
}

// DataReport describes the data evaluated.
type DataReport struct {
	Train      string `json:"train"`
	Val        string `json:"val,omitempty"`
	Test       string `json:"test"`
	TrainRows  int    `json:"train_rows"`
	ValRows    int    `json:"val_rows,omitempty"`
	TestRows   int    `json:"test_rows"`
	Intents    int    `json:"intents"`
	Exemplars  int    `json:"exemplars"`
	OOSTrained int    `json:"oos_examples"`
}

// Timing is seconds by stage.
type Timing struct {
	Build float64 `json:"build"`
	Fit   float64 `json:"fit"`
	Test  float64 `json:"test"`
	Judge float64 `json:"judge,omitempty"`
	Total float64 `json:"total"`
}

// Run builds a router from the config and Train, fits thresholds when
// asked, and measures Test.
func Run(ctx context.Context, opt Options) (*Report, *router.Thresholds, error) {
	start := time.Now()
	if opt.Embedder == nil {
		return nil, nil, errors.New("eval: no embedder")
	}
	if len(opt.Test) == 0 {
		return nil, nil, errors.New("eval: the test set has no rows")
	}
	if opt.Folds == 0 {
		opt.Folds = 5
	}
	if opt.TopK <= 0 {
		opt.TopK = DefaultTopK
	}
	if opt.Folds < 2 {
		return nil, nil, fmt.Errorf("eval: %d folds; cross-validation needs at least 2", opt.Folds)
	}
	base := opt.Config
	if base == nil {
		base = config.Default()
	}
	cfg := base.Clone()
	cfg.AddExamples(opt.Train)
	if err := cfg.Validate(); err != nil {
		return nil, nil, fmt.Errorf("eval: intents from the config and the training rows: %w", err)
	}
	r, err := router.New(ctx, cfg, router.Options{Embedder: opt.Embedder, Thresholds: opt.Thresholds, Logger: opt.Logger,
		Head: router.HeadOptions{Progress: headProgress(opt.Progress, "fit intent head", len(opt.Train))}})
	if err != nil {
		return nil, nil, err
	}
	rep := &Report{Embedder: opt.Embedder.Fingerprint(), Scorer: r.Scorer(), Data: DataReport{
		Train: opt.TrainFile, Val: opt.ValFile, Test: opt.TestFile,
		TrainRows: len(opt.Train), ValRows: len(opt.Val), TestRows: len(opt.Test),
		Intents: len(r.Intents()), Exemplars: r.Exemplars(), OOSTrained: len(cfg.OutOfScope)}}
	rep.Seconds.Build = since(start)
	if c, ok := r.Calibration(); ok {
		rep.Calibration = &c
	}

	var fitted *router.Thresholds
	var globalOnly *router.Router
	if opt.Fit {
		t0 := time.Now()
		rows, on, err := fitRows(ctx, r, base, opt)
		if err != nil {
			return nil, nil, err
		}
		f := Fit(rows, opt.FitOpt)
		fitted = f.Thresholds(r, opt.FitOpt.Objective)
		rep.Fit = &FitReport{Objective: opt.FitOpt.Objective.String(), On: on, Rows: len(rows), Value: f.Value, GlobalValue: f.GlobalValue}
		if len(f.PerIntent) > 0 {
			g := *fitted
			g.PerIntent = nil
			globalOnly = r.WithThresholds(&g)
		}
		r = r.WithThresholds(fitted)
		rep.Seconds.Fit = since(t0)
	}

	t0 := time.Now()
	scored, err := ScoreTopAll(ctx, r, opt.Test, max(opt.TopK, slices.Max(TopKs)), progressOf(opt.Progress, "test", len(opt.Test)))
	if err != nil {
		return nil, nil, fmt.Errorf("eval: test: %w", err)
	}
	gate := r.Gate()
	rep.Metrics = Measure(scored, &gate)
	rep.Thresholds = r.Thresholds()
	rep.LatencyUS = latencyOf(scored)
	rep.Sweep = Sweep(scored, &gate)
	rep.TopKRecall = topKRecalls(scored)
	rep.Cascade = CascadeTable(scored, &gate, opt.TopK)
	if globalOnly != nil {
		g := globalOnly.Gate()
		m := Measure(scored, &g)
		rep.Fit.GlobalOnly = &Summary{Accuracy: m.Accuracy, InScopeAccuracy: m.InScopeAccuracy, OOSRecall: m.OOSRecall, OOSPrecision: m.OOSPrecision}
	}
	rep.Seconds.Test = since(t0)
	if opt.Judge != nil {
		var p func(done, total int)
		if opt.Progress != nil {
			p = func(done, total int) { opt.Progress(JudgeStage, done, total) }
		}
		if rep.Judge, err = RunJudge(ctx, r, scored, opt.TopK, *opt.Judge, p); err != nil {
			return nil, nil, err
		}
		rep.Seconds.Judge = rep.Judge.Seconds
	}
	rep.Seconds.Total = since(start)
	return rep, fitted, nil
}

// fitRows scores prompts the router was not built from: Val, or each fold
// of Train with a router built from the other folds.
func fitRows(ctx context.Context, r *router.Router, base *config.Config, opt Options) ([]Scored, string, error) {
	if len(opt.Val) > 0 {
		rows, err := ScoreAll(ctx, r, opt.Val, progressOf(opt.Progress, "val", len(opt.Val)))
		if err != nil {
			return nil, "", fmt.Errorf("eval: val: %w", err)
		}
		return rows, "val", nil
	}
	if len(opt.Train) < opt.Folds {
		return nil, "", fmt.Errorf("eval: %d training rows cannot be split into %d folds; give --val", len(opt.Train), opt.Folds)
	}
	fold := folds(opt.Train, opt.Folds)
	var all []Scored
	for k := range opt.Folds {
		var in, out []intents.Example
		for i, ex := range opt.Train {
			if fold[i] == k {
				out = append(out, ex)
			} else {
				in = append(in, ex)
			}
		}
		cfg := base.Clone()
		cfg.AddExamples(in)
		fr, err := router.New(ctx, cfg, router.Options{Embedder: opt.Embedder, Logger: opt.Logger,
			Head: router.HeadOptions{Progress: headProgress(opt.Progress, fmt.Sprintf("fold %d/%d: fit head", k+1, opt.Folds), len(in))}})
		if err != nil {
			return nil, "", fmt.Errorf("eval: fold %d: %w", k+1, err)
		}
		rows, err := ScoreAll(ctx, fr, out, progressOf(opt.Progress, fmt.Sprintf("fold %d/%d: score", k+1, opt.Folds), len(out)))
		if err != nil {
			return nil, "", fmt.Errorf("eval: fold %d: %w", k+1, err)
		}
		all = append(all, rows...)
	}
	return all, fmt.Sprintf("train (%d-fold cross-validation)", opt.Folds), nil
}

// folds assigns rows to k folds, each label's rows spread evenly.
func folds(rows []intents.Example, k int) []int {
	next := map[string]int{}
	out := make([]int, len(rows))
	for i, ex := range rows {
		n, ok := next[ex.Label]
		if !ok {
			n = len(next) % k // start labels on different folds
		}
		out[i] = n % k
		next[ex.Label] = n + 1
	}
	return out
}

func progressOf(p func(string, int, int), stage string, total int) func(int) {
	if p == nil {
		return nil
	}
	return func(done int) { p(stage, done, total) }
}

// headProgress reports head epochs in utterances seen, so that the size of
// the work shows.
func headProgress(p func(string, int, int), stage string, rows int) func(int, int) {
	if p == nil {
		return nil
	}
	return func(epoch, epochs int) { p(stage, epoch*rows, epochs*rows) }
}

func since(t time.Time) float64 { return time.Since(t).Seconds() }
