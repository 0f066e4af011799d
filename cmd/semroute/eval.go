package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/semroute/semroute/eval"
	"github.com/semroute/semroute/intents"
	"github.com/semroute/semroute/router"
	"github.com/semroute/semroute/router/config"
	"github.com/semroute/semroute/router/judge"
	"github.com/semroute/semroute/router/upstream"
)

func runEval(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "cascade" {
		return runEvalCascade(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "safety" {
		return runEvalSafety(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "rag" {
		return runEvalRAG(ctx, args[1:], stdout, stderr)
	}
	if wantsFeedback(args) {
		return runEvalFeedback(args, stdout, stderr)
	}
	fs := newFlags("eval", stderr)
	config := fs.String("config", "", "YAML config with intents and routing settings (optional: intents can come from --train alone)")
	train := fs.String("train", "", "labeled training rows, JSONL {\"text\",\"label\"} or CSV text,label; label oos = out of scope (optional with --config: its own intents)")
	val := fs.String("val", "", "labeled validation rows to fit thresholds on (default: cross-validate on --train)")
	test := fs.String("test", "", "labeled test rows, only measured (required)")
	fit := fs.Bool("fit", false, "fit the global threshold, margin, min_similarity and per-intent thresholds")
	objective := fs.String("objective", "accuracy", "what --fit maximises: accuracy, oos_f1, or oos_recall=R (best in-scope accuracy with OOS recall ≥ R)")
	perIntent := fs.Bool("per-intent", true, "with --fit, also fit per-intent thresholds where they gain")
	folds := fs.Int("folds", 5, "cross-validation folds when fitting without --val")
	thresholds := fs.String("thresholds", "", "where --fit writes thresholds (default: the config's routing.thresholds_file, else thresholds.json in --out or here)")
	out := fs.String("out", "", "write report.json, report.md and report.html into this directory")
	asJSON := fs.Bool("json", false, "print the report as one JSON object")
	quiet := fs.Bool("quiet", false, "no progress bars on stderr")
	lf := addLabelFlags(fs, "eval", stderr)
	shots := fs.Int("shots", 0, "train on a seeded sample of at most N rows of each --train label (oos included)")
	seed := fs.Uint64("seed", 1, "with --shots, the sample's seed: the same seed, the same rows")
	topK := fs.Int("top-k", eval.DefaultTopK, "candidates a judge is shown, for the report's cascade table and --judge (unless given: the config's routing.judge.top_k when it has one)")
	judgeModel := fs.String("judge", "", "run the routing judge with this model of --config on the test rows the decision is unsure of (real calls: they cost)")
	judgeBelow := fs.Float64("judge-below", 0, "with --judge, judge rows scoring under this, and every fallback (default: the config's routing.judge.below, else 0.5)")
	parallel := fs.Int("parallel", 4, "with --judge, calls in flight at once")
	fs.String("feedback", "", "instead of evaluating, write the corrected routes of a data_dir (or a saved GET /v1/feedback answer) as labeled rows, JSONL {\"text\",\"label\"}, to stdout or --out FILE (see eval_feedback.go)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := checkEvalFlags(*config, *train, *test, *val, *shots, *topK, *fit); err != nil {
		return err
	}
	obj, err := eval.ParseObjective(*objective)
	if err != nil {
		return usageError{err}
	}
	opt := eval.Options{TrainFile: *train, ValFile: *val, TestFile: *test, Fit: *fit, Folds: *folds,
		FitOpt: eval.FitOptions{Objective: obj, PerIntent: *perIntent}}
	if err := readEvalRows(lf, &opt, *train, *val, *test); err != nil {
		return err
	}
	if *shots > 0 {
		opt.Train = eval.SampleShots(opt.Train, *shots, *seed)
		opt.TrainFile = fmt.Sprintf("%s (%d a label, seed %d)", *train, *shots, *seed)
	}
	cfg, err := evalConfig(*config, opt.Train)
	if err != nil {
		return err
	}
	opt.Config = cfg
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	opt.TopK = *topK
	if j := cfg.Routing.Judge; j != nil && !set["top-k"] {
		opt.TopK = j.TopK
	}
	if *judgeModel != "" {
		opt.Judge, err = evalJudge(cfg, *config, *judgeModel, *judgeBelow, set["judge-below"], *parallel)
	}
	if err != nil {
		return err
	}
	emb, closeEmb, err := openEmbedder(ctx, cfg.Embedder)
	if err != nil {
		return err
	}
	defer closeEmb()
	opt.Embedder = emb
	if !*fit && cfg.Routing.ThresholdsFile != "" {
		if opt.Thresholds, err = router.LoadThresholds(cfg.Routing.ThresholdsFile, emb.Fingerprint()); err != nil {
			return err
		}
	}
	opt.Logger = slog.New(slog.DiscardHandler)
	bars := newBars(stderr, *quiet)
	opt.Progress = bars.update
	rep, fitted, err := eval.Run(ctx, opt)
	bars.finish()
	if err != nil {
		return err
	}

	if j := rep.Judge; j != nil && j.Calls > 0 && j.Answered == 0 {
		fmt.Fprintf(stderr, "semroute eval: none of the judge's %d calls gave an answer that counts (%v); every decision is the embeddings'\n", j.Calls, j.Errors)
	}
	if fitted != nil {
		if err := saveFitted(fitted, *thresholds, cfg.Routing.ThresholdsFile, *out, stderr); err != nil {
			return err
		}
	}
	return emitReport(stdout, stderr, "eval", *out, "report", *asJSON, rep,
		func(dir string) error { return eval.WriteReports(dir, rep) },
		func(w io.Writer) error { return eval.WriteText(w, rep) })
}

// readEvalRows reads the train, val and test rows named (an empty path:
// none) into opt.
func readEvalRows(lf *labelFlags, opt *eval.Options, train, val, test string) error {
	for _, f := range []struct {
		path string
		dst  *[]intents.Example
	}{{train, &opt.Train}, {val, &opt.Val}, {test, &opt.Test}} {
		if f.path == "" {
			continue
		}
		var err error
		if *f.dst, err = lf.read(f.path); err != nil {
			return err
		}
	}
	return nil
}

// saveFitted writes fitted thresholds to path, else the config's
// thresholds file, else thresholds.json in the report's directory or here.
func saveFitted(fitted *router.Thresholds, path, configured, out string, stderr io.Writer) error {
	switch {
	case path != "":
	case configured != "":
		path = configured
	case out != "":
		path = filepath.Join(out, "thresholds.json")
	default:
		path = "thresholds.json"
	}
	if err := fitted.Save(path); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "semroute eval: wrote fitted thresholds to %s\n", path)
	return nil
}

// evalConfig loads the config at path (config.Default() without one),
// which may leave its intents to the training rows: it must be valid with
// them added, as the eval adds them.
func evalConfig(path string, train []intents.Example) (*config.Config, error) {
	if path == "" {
		return config.Default(), nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	cfg, err := config.Parse(data, path)
	if err != nil {
		return nil, err
	}
	check := cfg.Clone()
	check.AddExamples(train)
	if err := check.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// evalJudge is the judge of `eval --judge MODEL`: MODEL of cfg called
// through the upstream pool (no budgets, no cache), asked about rows
// scoring under below (the config's routing.judge.below unless given,
// else 0.5), parallel calls at a time, with the config's judge timeout
// and examples or their defaults.
func evalJudge(cfg *config.Config, config, model string, below float64, belowSet bool, parallel int) (*eval.JudgeOptions, error) {
	if config == "" {
		return nil, usageError{fmt.Errorf("--judge %s needs --config FILE defining the model", model)}
	}
	var names []string
	for _, m := range cfg.Models {
		names = append(names, m.Name)
	}
	if !slices.Contains(names, model) {
		return nil, usageError{fmt.Errorf("--judge %q: not a model of %s (its models: %s)", model, config, strings.Join(names, ", "))}
	}
	opt := &eval.JudgeOptions{Model: model, Below: 0.5, Timeout: 3 * time.Second, Examples: 3, Parallel: parallel}
	if j := cfg.Routing.Judge; j != nil {
		opt.Below, opt.Timeout, opt.Examples = j.Below, time.Duration(j.TimeoutMS)*time.Millisecond, j.Examples
	}
	if belowSet {
		opt.Below = below
	}
	switch {
	case opt.Below <= 0 || opt.Below > 1:
		return nil, usageError{fmt.Errorf("--judge-below %v: want a score in (0, 1]", opt.Below)}
	case parallel < 1:
		return nil, usageError{fmt.Errorf("--parallel %d: want at least 1", parallel)}
	}
	pool := upstream.NewPool(cfg, nil, lookupEnv)
	if env := pool.Model(model).Unconfigured(); env != "" {
		return nil, fmt.Errorf("--judge %s: the model is not configured: set %s (its api_key_env) to its API key", model, env)
	}
	opt.LLM = judge.Upstream(pool, model)
	return opt, nil
}

// checkEvalFlags refuses flags that do not go together.
func checkEvalFlags(config, train, test, val string, shots, topK int, fit bool) error {
	switch {
	case test == "":
		return usageError{fmt.Errorf("--test FILE is required")}
	case shots < 0:
		return usageError{fmt.Errorf("--shots %d: want a number of rows a label, at least 1", shots)}
	case shots > 0 && train == "":
		return usageError{fmt.Errorf("--shots samples --train, which is missing")}
	case train == "" && config == "":
		return usageError{fmt.Errorf("--train FILE or --config FILE (its own intents) is required")}
	case topK < 1:
		return usageError{fmt.Errorf("--top-k %d: want at least 1", topK)}
	case fit && train == "" && val == "":
		return usageError{fmt.Errorf("--fit needs --val FILE, or --train FILE to cross-validate on")}
	}
	return nil
}

// emitReport writes an eval's report files into dir (when set), then the
// report to stdout: as one JSON object, or as text.
func emitReport(stdout, stderr io.Writer, cmd, dir, base string, asJSON bool, rep any,
	files func(dir string) error, text func(io.Writer) error) error {
	if dir != "" {
		if err := files(dir); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "semroute %s: wrote %s\n", cmd, filepath.Join(dir, base+".{json,md,html}"))
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return text(stdout)
}

// bars shows one progress bar per stage of a long run on stderr.
type bars struct {
	mu    sync.Mutex
	w     io.Writer
	off   bool
	stage string
	bar   *progressbar.ProgressBar
	done  int
}

// minBar is the least number of items worth a progress bar.
const minBar = 1000

func newBars(w io.Writer, quiet bool) *bars { return &bars{w: w, off: quiet} }

func (b *bars) update(stage string, done, total int) {
	if b.off || total < minBar && stage != eval.JudgeStage { // the judge's calls are slow: a bar for any number
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if stage != b.stage {
		b.finishLocked()
		b.stage, b.done = stage, 0
		b.bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(b.w), progressbar.OptionSetDescription(stage),
			progressbar.OptionShowCount(), progressbar.OptionSetWidth(30), progressbar.OptionThrottle(100_000_000),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(b.w) }))
	}
	if done > b.done { // workers report out of order
		b.done = done
		b.bar.Set(done)
	}
}

func (b *bars) finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.finishLocked()
}

func (b *bars) finishLocked() {
	if b.bar != nil && !b.bar.IsFinished() {
		b.bar.Finish()
	}
	b.bar, b.stage = nil, ""
}
