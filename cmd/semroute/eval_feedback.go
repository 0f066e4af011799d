package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/semroute/semroute/eval"
	"github.com/semroute/semroute/router/feedback"
)

// wantsFeedback reports whether eval's arguments ask for --feedback.
func wantsFeedback(args []string) bool {
	return slices.ContainsFunc(args, func(a string) bool {
		a = strings.TrimLeft(a, "-")
		return a == "feedback" || strings.HasPrefix(a, "feedback=")
	})
}

// runEvalFeedback writes the corrected routes as labeled rows (JSONL
// {"text","label"}, what --test and --train read) and says on stderr what
// was left out.
func runEvalFeedback(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("eval", stderr)
	src := fs.String("feedback", "", "a data_dir (its feedback/feedback.log), a feedback log, or a saved GET /v1/feedback answer (for PostgreSQL)")
	out := fs.String("out", "", "write the rows to this file (default: stdout)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *src == "" {
		return usageError{fmt.Errorf("--feedback needs a data_dir or a file")}
	}
	list, err := feedback.ReadFile(*src)
	if err != nil {
		return err
	}
	rows := eval.RowsFromFeedback(list)
	w := stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for _, r := range rows.Rows {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write rows: %w", err)
	}
	fmt.Fprintf(stderr, "semroute eval --feedback: %d feedback, %d labeled rows; skipped %d without an intent (ratings only), %d whose prompt was not kept (feedback.keep_prompts off), %d repeats\n",
		len(list), len(rows.Rows), rows.NoIntent, rows.NoPrompt, rows.Repeats)
	return nil
}
