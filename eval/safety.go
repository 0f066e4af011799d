package eval

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"

	"github.com/semroute/semroute/moderation"
)

// SafetyReport is the moderation detector measured on labeled rows.
type SafetyReport struct {
	N         int     `json:"n"`
	Unsafe    int     `json:"unsafe"`
	Safe      int     `json:"safe"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	// FalsePositiveRate is the share of safe rows flagged.
	FalsePositiveRate float64 `json:"false_positive_rate"`
	// PerCategory is recall on the unsafe rows of each category of the
	// data (or false-positive rate on its safe rows).
	PerCategory map[string]SafetyCategory `json:"per_category"`
	// Sweep scales every fitted threshold.
	Sweep      []SafetyPoint      `json:"sweep"`
	Thresholds map[string]float64 `json:"thresholds"`
	// Errors are the rows the detector got wrong at the fitted thresholds,
	// up to maxSafetyErrors of each kind, in file order.
	Errors []SafetyError `json:"errors"`
}

// SafetyError is one row the detector got wrong: an unsafe row missed or a
// safe row flagged, with the flag that fired (or, for a miss, the
// strongest score below its threshold).
type SafetyError struct {
	Line     int     `json:"line"`
	Label    string  `json:"label"`
	Category string  `json:"category"` // of the data
	Flagged  string  `json:"flagged"`  // the detector's category (for a miss, its best guess)
	Score    float64 `json:"score"`
	Text     string  `json:"text"` // clipped to 60 characters
}

const maxSafetyErrors = 20

// SafetyCategory is one data category's figures.
type SafetyCategory struct {
	Unsafe            int     `json:"unsafe"`
	Recall            float64 `json:"recall"`
	Safe              int     `json:"safe"`
	FalsePositiveRate float64 `json:"false_positive_rate"`
}

// SafetyPoint is recall and false-positive rate at one threshold scale.
type SafetyPoint struct {
	Scale             float64 `json:"scale"`
	Recall            float64 `json:"recall"`
	FalsePositiveRate float64 `json:"false_positive_rate"`
}

// EvalSafety runs the detector over rows. PII alone does not count as
// unsafe: it is redacted, not refused.
func EvalSafety(ctx context.Context, d *moderation.Detector, rows []moderation.Example) (*SafetyReport, error) {
	rep := &SafetyReport{N: len(rows), PerCategory: map[string]SafetyCategory{}, Thresholds: d.Thresholds}
	flaggedAt := func(scale float64, record bool) ([]bool, error) {
		out := make([]bool, len(rows))
		for i, r := range rows {
			flags, _, err := d.Check(ctx, r.Text, scale)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", r.Line, err)
			}
			out[i] = moderation.Unsafe(flags)
			if !record || out[i] == (r.Label == "unsafe") {
				continue
			}
			e := SafetyError{Line: r.Line, Label: r.Label, Category: r.Category, Text: clip(r.Text, 60)}
			if !out[i] { // the semantic score it had, below its threshold
				if flags, _, err = d.Check(ctx, r.Text, 0); err != nil {
					return nil, fmt.Errorf("line %d: %w", r.Line, err)
				}
			}
			for _, f := range flags {
				if f.Category != moderation.CategoryPII && f.Score >= e.Score {
					e.Flagged, e.Score = f.Category, f.Score
				}
			}
			if n := countLabel(rep.Errors, r.Label); n < maxSafetyErrors {
				rep.Errors = append(rep.Errors, e)
			}
		}
		return out, nil
	}
	flagged, err := flaggedAt(1, true)
	if err != nil {
		return nil, err
	}
	tp, fp, fn, tn := count(rows, flagged)
	rep.Unsafe, rep.Safe = tp+fn, fp+tn
	rep.Precision, rep.Recall = ratio(tp, tp+fp), ratio(tp, tp+fn)
	rep.F1 = f1(rep.Precision, rep.Recall)
	rep.FalsePositiveRate = ratio(fp, fp+tn)
	for i, r := range rows {
		c := rep.PerCategory[r.Category]
		if r.Label == "unsafe" {
			c.Unsafe++
			if flagged[i] {
				c.Recall++
			}
		} else {
			c.Safe++
			if flagged[i] {
				c.FalsePositiveRate++
			}
		}
		rep.PerCategory[r.Category] = c
	}
	for k, c := range rep.PerCategory {
		c.Recall = ratioF(c.Recall, c.Unsafe)
		c.FalsePositiveRate = ratioF(c.FalsePositiveRate, c.Safe)
		rep.PerCategory[k] = c
	}
	for _, scale := range []float64{0, 0.25, 0.5, 0.75, 1, 1.5, 2, 3} {
		f, err := flaggedAt(scale, false)
		if err != nil {
			return nil, err
		}
		tp, fp, fn, tn := count(rows, f)
		rep.Sweep = append(rep.Sweep, SafetyPoint{Scale: scale, Recall: ratio(tp, tp+fn), FalsePositiveRate: ratio(fp, fp+tn)})
	}
	return rep, nil
}

func countLabel(errs []SafetyError, label string) int {
	n := 0
	for _, e := range errs {
		if e.Label == label {
			n++
		}
	}
	return n
}

func count(rows []moderation.Example, flagged []bool) (tp, fp, fn, tn int) {
	for i, r := range rows {
		switch {
		case r.Label == "unsafe" && flagged[i]:
			tp++
		case r.Label == "unsafe":
			fn++
		case flagged[i]:
			fp++
		default:
			tn++
		}
	}
	return
}

// WriteSafetyText writes a readable summary.
func WriteSafetyText(w io.Writer, rep *SafetyReport) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "semroute eval safety · %d rows (%d unsafe, %d safe)\n\n", rep.N, rep.Unsafe, rep.Safe)
	fmt.Fprintf(&b, "  unsafe: precision %.3f  recall %.3f  F1 %.3f\n  false-positive rate on safe rows: %.3f\n\n", rep.Precision, rep.Recall, rep.F1, rep.FalsePositiveRate)
	cats := make([]string, 0, len(rep.PerCategory))
	for c := range rep.PerCategory {
		cats = append(cats, c)
	}
	slices.Sort(cats)
	fmt.Fprintf(&b, "  %-32s %8s %8s %8s %8s\n", "category (of the data)", "unsafe", "recall", "safe", "FPR")
	for _, c := range cats {
		v := rep.PerCategory[c]
		fmt.Fprintf(&b, "  %-32s %8d %8.3f %8d %8.3f\n", clip(c, 32), v.Unsafe, v.Recall, v.Safe, v.FalsePositiveRate)
	}
	b.WriteString("\n  threshold scale → recall / false-positive rate:")
	for _, p := range rep.Sweep {
		fmt.Fprintf(&b, "  %.2f→%.2f/%.2f", p.Scale, p.Recall, p.FalsePositiveRate)
	}
	b.WriteString("\n")
	for _, kind := range []struct{ label, title string }{{"safe", "safe rows flagged"}, {"unsafe", "unsafe rows missed"}} {
		if countLabel(rep.Errors, kind.label) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n  %s (line, category of the data → the detector's, score):\n", kind.title)
		for _, e := range rep.Errors {
			if e.Label != kind.label {
				continue
			}
			fmt.Fprintf(&b, "  %5d  %-18s → %-18s %.2f  %q\n", e.Line, clip(e.Category, 18), clip(e.Flagged, 18), e.Score, e.Text)
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

// WriteSafetyReports writes safety-report.json, .md and .html into dir.
func WriteSafetyReports(dir string, rep *SafetyReport) error {
	if err := SaveJSON(filepath.Join(dir, "safety-report.json"), rep); err != nil {
		return err
	}
	var text bytes.Buffer
	WriteSafetyText(&text, rep)
	if err := writeFileAtomic(filepath.Join(dir, "safety-report.md"), []byte("# Safety eval\n\n```\n"+text.String()+"```\n")); err != nil {
		return err
	}
	var x, rec, fpr []float64
	for _, p := range rep.Sweep {
		x = append(x, math.Min(p.Scale/3, 1))
		rec = append(rec, p.Recall)
		fpr = append(fpr, p.FalsePositiveRate)
	}
	chart := lineSVG([]series{{"unsafe recall", "#d62728", x, rec}, {"false-positive rate", "#1f77b4", x, fpr}}, "threshold scale (0 to 3)", 1.0/3)
	page := `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>semroute safety eval</title><style>body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1000px;padding:0 1em}pre{background:#f6f6f6;padding:1em}</style></head><body><h1>Safety eval</h1><pre>` +
		htmlEscape(text.String()) + `</pre><h2>Recall and false positives as the thresholds scale</h2>` + chart + `</body></html>`
	return writeFileAtomic(filepath.Join(dir, "safety-report.html"), []byte(page))
}
