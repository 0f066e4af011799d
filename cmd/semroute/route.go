package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/semroute/semroute/intents"
	"github.com/semroute/semroute/router"
	"github.com/semroute/semroute/router/cache"
	"github.com/semroute/semroute/router/judge"
	"github.com/semroute/semroute/router/upstream"
)

func runRoute(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("route", stderr)
	config := fs.String("config", "", "the YAML config (required)")
	examples := fs.String("examples", "", "a labeled file (JSONL {\"text\",\"label\"} or CSV text,label) whose labels become intents")
	prompts := fs.String("prompts", "", "route the texts of a labeled file (JSONL or CSV) and mark each against its label")
	format := fs.String("format", "json", "json: one object a prompt; text: one readable line a prompt")
	verbose := fs.Bool("v", false, "log what the router does to stderr")
	lf := addLabelFlags(fs, "route", stderr)
	noJudge := fs.Bool("no-judge", false, "do not ask the routing judge (routing.judge) about unsure decisions")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *format != "json" && *format != "text" {
		return usageError{fmt.Errorf("--format %q: want json or text", *format)}
	}
	cfg, err := loadConfigWith(*config, *examples, lf)
	if err != nil {
		return err
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	r, closeRouter, err := buildRouter(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeRouter()

	out := bufio.NewWriter(stdout)
	defer out.Flush()
	failed := 0
	var j *judge.Judge
	if cfg.Routing.Judge != nil && !*noJudge {
		j = cliJudge(cfg)
	}
	// where names a prompt in a message, e.g. "line 3" or "argument 2".
	emit := func(prompt, where string) router.Decision {
		var d router.Decision
		var vec []float32
		var err error
		if !utf8.ValidString(prompt) {
			off := intents.InvalidUTF8([]byte(prompt))
			// Routed as it is, the bad bytes would only separate words:
			// say so rather than route a text that was not meant.
			err = fmt.Errorf("invalid UTF-8 at byte %d of %s", off, where)
		} else {
			d, vec, err = r.RouteVec(ctx, prompt, nil)
		}
		if err != nil {
			failed++
		} else if j != nil {
			// A judge whose answer does not count says why in the
			// decision's judge.error; the embedding decision stands.
			d, _, _ = j.Route(ctx, r, d, prompt, vec)
		}
		writeDecision(out, *format, prompt, d, err)
		return d
	}
	switch {
	case *prompts != "":
		exs, err := lf.read(*prompts)
		if err != nil {
			return err
		}
		right := 0
		for _, ex := range exs {
			d := emit(ex.Text, fmt.Sprintf("line %d", ex.Line))
			got := intents.OOS
			if d.Intent != nil {
				got = *d.Intent
			}
			if got == ex.Label {
				right++
			} else if *format == "text" {
				fmt.Fprintf(out, "%22s ✗ expected %s\n", "", ex.Label)
			}
		}
		if *format == "text" {
			fmt.Fprintf(out, "\n%d of %d prompts routed as labeled (%s: intents %d, example utterances %d, scorer %s)\n",
				right, len(exs), *prompts, len(r.Intents()), r.Exemplars(), r.Scorer())
		}
	case fs.NArg() > 0:
		for i, p := range fs.Args() {
			emit(p, fmt.Sprintf("argument %d", i+1))
		}
	default:
		sc := bufio.NewScanner(stdin)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for line := 1; sc.Scan(); line++ {
			if strings.TrimSpace(sc.Text()) == "" {
				continue // blank lines separate, they are not prompts
			}
			emit(sc.Text(), fmt.Sprintf("line %d", line))
		}
		if err := sc.Err(); err != nil {
			return fmt.Errorf("read prompts from stdin: %w", err)
		}
	}
	if failed > 0 {
		out.Flush()
		return fmt.Errorf("%d prompt(s) could not be routed", failed)
	}
	return nil
}

// cliJudge is cfg's routing judge, calling its model directly (no budgets
// or spend ledger here) with an in-process cache for the run.
func cliJudge(cfg *router.Config) *judge.Judge {
	opt := judge.FromConfig(cfg)
	opt.Cache = cache.New(8<<20, time.Duration(cfg.Routing.Judge.CacheTTLS)*time.Second)
	return judge.New(judge.Upstream(upstream.NewPool(cfg, nil, lookupEnv), cfg.Routing.Judge.Model), opt)
}

func writeDecision(w io.Writer, format, prompt string, d router.Decision, err error) {
	if format == "text" {
		if err != nil {
			fmt.Fprintf(w, "%-22s %s\n", "error: "+err.Error(), clip(strings.ToValidUTF8(prompt, "\uFFFD"), 60))
			return
		}
		intent := "(out of scope)"
		if d.Intent != nil {
			intent = *d.Intent
		}
		by := ""
		if d.DecidedBy == router.DecidedByJudge {
			by = " (judge)"
		}
		fmt.Fprintf(w, "%-22s %.2f  → %-22s %q%s\n", intent, d.Score, d.Target.String(), clip(prompt, 60), by)
		return
	}
	if err != nil {
		json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
		return
	}
	json.NewEncoder(w).Encode(d)
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
