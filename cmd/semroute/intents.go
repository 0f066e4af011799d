package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/semroute/semroute/intents"
	"github.com/semroute/semroute/intents/expand"
	"github.com/semroute/semroute/router"
	"github.com/semroute/semroute/router/upstream"
)

func runIntents(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	const sub = "semroute intents expand --config FILE --model NAME [--per N] [--out FILE]"
	switch {
	case len(args) > 0 && args[0] == "expand":
		return runIntentsExpand(ctx, args[1:], stdout, stderr)
	case len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help"):
		fmt.Fprintf(stdout, "Usage:\n  %s\n\nRun 'semroute intents expand --help' for its flags.\n", sub)
		return flag.ErrHelp
	}
	return usageError{errors.New("want a subcommand: " + sub)}
}

func runIntentsExpand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("intents expand", stderr)
	config := fs.String("config", "", "the YAML config: its intents, and the model to ask (required)")
	model := fs.String("model", "", "a model under the config's models: to write the paraphrases (required)")
	per := fs.Int("per", 20, "paraphrases wanted per intent (1–200)")
	out := fs.String("out", "", "the labeled JSONL file to write (default: stdout)")
	parallel := fs.Int("parallel", 4, "calls to the model at once")
	only := fs.String("intents", "", "expand only these intents, comma-separated (default: all)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *model == "":
		return usageError{errors.New("--model NAME is required: a model under the config's models")}
	case *per < 1 || *per > 200:
		return usageError{fmt.Errorf("--per %d: want 1 to 200", *per)}
	case *parallel < 1:
		return usageError{fmt.Errorf("--parallel %d: want at least 1", *parallel)}
	}
	cfg, err := loadConfig(*config, "")
	if err != nil {
		return err
	}
	list, err := selectIntents(cfg.Intents, *only)
	if err != nil {
		return err
	}
	pool, err := expandModel(cfg, *model)
	if err != nil {
		return err
	}
	seen := expand.Seen{}
	for _, in := range cfg.Intents {
		seen.Add(in.Utterances...)
	}
	seen.Add(cfg.OutOfScope...)
	results := expand.Run(ctx, pool, list, seen, expand.Options{Model: *model, Per: *per, Parallel: *parallel})
	// With every intent failed, an earlier file stays as it was.
	if slices.ContainsFunc(results, func(r expand.Result) bool { return r.Err == nil }) {
		if err := writeExpansions(*out, stdout, results); err != nil {
			return err
		}
	}
	return reportExpansions(stderr, *out, results)
}

// expandModel checks that name is a callable model of cfg and returns the
// pool that calls it.
func expandModel(cfg *router.Config, name string) (*upstream.Pool, error) {
	pool := upstream.NewPool(cfg, nil, lookupEnv)
	m := pool.Model(name)
	if m == nil {
		var names []string
		for _, mc := range cfg.Models {
			names = append(names, mc.Name)
		}
		return nil, usageError{fmt.Errorf("--model %q is not under the config's models (it has %v)", name, names)}
	}
	if v := m.Unconfigured(); v != "" {
		return nil, fmt.Errorf("model %s is not configured: set %s (its api_key_env) to its API key", name, v)
	}
	return pool, nil
}

// selectIntents returns the intents named in only (comma-separated), in
// the config's order, or all of them when only is empty.
func selectIntents(all []intents.Intent, only string) ([]intents.Intent, error) {
	if strings.TrimSpace(only) == "" {
		return all, nil
	}
	want := map[string]bool{}
	for _, n := range strings.Split(only, ",") {
		want[strings.TrimSpace(n)] = true
	}
	var list []intents.Intent
	for _, in := range all {
		if want[in.Name] {
			list = append(list, in)
			delete(want, in.Name)
		}
	}
	if len(want) > 0 {
		return nil, usageError{fmt.Errorf("--intents names %q, which the config does not define", slices.Sorted(maps.Keys(want)))}
	}
	return list, nil
}

// writeExpansions writes the kept paraphrases as {"text","label"} rows to
// path (a temporary file renamed into place once synced), or to stdout.
func writeExpansions(path string, stdout io.Writer, results []expand.Result) error {
	write := func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		enc := json.NewEncoder(bw)
		enc.SetEscapeHTML(false)
		for _, r := range results {
			for _, t := range r.Texts {
				if err := enc.Encode(intents.Example{Text: t, Label: r.Intent}); err != nil {
					return err
				}
			}
		}
		return bw.Flush()
	}
	if path == "" {
		return write(stdout)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(f.Name()) // after the rename, there is nothing to remove
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// reportExpansions tells, on stderr, what each intent got or why it
// failed, and fails when any intent did.
func reportExpansions(stderr io.Writer, path string, results []expand.Result) error {
	var failed []string
	rows, cost := 0, 0.0
	for _, r := range results {
		cost += r.Cost
		if r.Err != nil {
			failed = append(failed, r.Intent)
			fmt.Fprintf(stderr, "intent %s: failed: %v\n", r.Intent, r.Err)
			continue
		}
		rows += len(r.Texts)
		fmt.Fprintf(stderr, "intent %s: %d paraphrase(s)%s\n", r.Intent, len(r.Texts), droppedText(r.Dropped))
	}
	where := path
	if where == "" {
		where = "stdout"
	}
	if len(failed) == len(results) {
		fmt.Fprintf(stderr, "wrote nothing to %s: every intent failed (cost $%.4f)\n", where, cost)
	} else {
		fmt.Fprintf(stderr, "wrote %d row(s) for %d of %d intents to %s (cost $%.4f); review them before use: semroute route --examples FILE\n",
			rows, len(results)-len(failed), len(results), where, cost)
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d intents failed: %s", len(failed), len(results), strings.Join(failed, ", "))
	}
	return nil
}

func droppedText(d map[string]int) string {
	if len(d) == 0 {
		return ""
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(d)) {
		parts = append(parts, fmt.Sprintf("%d %s", d[k], k))
	}
	return " (dropped: " + strings.Join(parts, ", ") + ")"
}
