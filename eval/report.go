package eval

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// WriteText writes a readable summary of rep.
func WriteText(w io.Writer, rep *Report) error {
	var b bytes.Buffer
	m := rep.Metrics
	fmt.Fprintf(&b, "semroute eval · %s: %d rows (%d in scope, %d out of scope)\n", rep.Data.Test, m.N, m.InScope, m.OutOfScope)
	fmt.Fprintf(&b, "router: %s\n", routerLine(rep))
	fmt.Fprintf(&b, "thresholds: %s\n\n", thresholdsLine(rep))
	fmt.Fprintf(&b, "  accuracy            %.4f   (every row; out of scope is a class)\n", m.Accuracy)
	fmt.Fprintf(&b, "  in-scope accuracy   %.4f\n", m.InScopeAccuracy)
	fmt.Fprintf(&b, "  out of scope        precision %.4f  recall %.4f  F1 %.4f\n", m.OOSPrecision, m.OOSRecall, m.OOSF1)
	fmt.Fprintf(&b, "  macro F1            %.4f\n", m.MacroF1)
	fmt.Fprintf(&b, "  latency per prompt  p50 %.1f µs  p99 %.1f µs\n", rep.LatencyUS.P50, rep.LatencyUS.P99)
	if g := rep.Fit; g != nil && g.GlobalOnly != nil {
		fmt.Fprintf(&b, "  without per-intent thresholds: in-scope accuracy %.4f, OOS recall %.4f\n", g.GlobalOnly.InScopeAccuracy, g.GlobalOnly.OOSRecall)
	}
	if len(rep.TopKRecall) > 0 {
		fmt.Fprintf(&b, "  top-k recall        %s   (in scope, thresholds aside)\n", topKLine(rep))
	}
	if c := rep.Cascade; c != nil {
		fmt.Fprintf(&b, "\ncascade (the rest to a judge shown the top %d):\n  threshold  judged  decided accuracy  rest top-%d recall  ceiling\n", c.K, c.K)
		for i, p := range c.Points {
			if i%4 == 0 {
				fmt.Fprintf(&b, "  %9.2f  %6.3f  %16.4f  %17.4f  %7.4f\n", p.Threshold, p.Judged, p.DecidedAccuracy, p.RestTopKRecall, p.Ceiling)
			}
		}
	}
	writeJudgeText(&b, rep)
	if len(m.TopConfusions) > 0 {
		b.WriteString("\ntop confusions (gold → predicted):\n")
		for _, c := range m.TopConfusions[:min(10, len(m.TopConfusions))] {
			fmt.Fprintf(&b, "  %4d  %s → %s   e.g. %q\n", c.Count, c.Gold, c.Pred, clip(c.Example, 60))
		}
	}
	if worst := worstIntents(m, 10); len(worst) > 0 {
		b.WriteString("\nlowest F1:\n")
		for _, name := range worst {
			c := m.PerIntent[name]
			fmt.Fprintf(&b, "  %.3f  %s (precision %.3f, recall %.3f, support %d)\n", c.F1, name, c.Precision, c.Recall, c.Support)
		}
	}
	fmt.Fprintf(&b, "\ntime: build %.2f s, fit %.2f s, test %.2f s, total %.2f s\n", rep.Seconds.Build, rep.Seconds.Fit, rep.Seconds.Test, rep.Seconds.Total)
	_, err := w.Write(b.Bytes())
	return err
}

// topKLine is the top-k recalls in the order of TopKs.
func topKLine(rep *Report) string {
	var parts []string
	for _, k := range TopKs {
		if v, ok := rep.TopKRecall[strconv.Itoa(k)]; ok {
			parts = append(parts, fmt.Sprintf("top-%d %.4f", k, v))
		}
	}
	return strings.Join(parts, "  ")
}

func routerLine(rep *Report) string {
	fp := rep.Embedder
	return fmt.Sprintf("%d intents, %d example utterances, %d out-of-scope examples; %s scorer; embedder %s",
		rep.Data.Intents, rep.Data.Exemplars, rep.Data.OOSTrained, rep.Scorer, fp.String())
}

func thresholdsLine(rep *Report) string {
	t := rep.Thresholds
	s := fmt.Sprintf("global %.2f, margin %.2f, min_similarity %.2f, %d per-intent", t.Global, t.Margin, t.MinSimilarity, len(t.PerIntent))
	if f := rep.Fit; f != nil {
		s += fmt.Sprintf(" — fitted on %s (%d rows) for %s", f.On, f.Rows, f.Objective)
	} else {
		s += " — not fitted (config or defaults)"
	}
	if c := rep.Calibration; c != nil {
		s += fmt.Sprintf("; default threshold %.2f and head blend %g calibrated on %d held-out utterances (%d-fold)", c.Threshold, c.Blend, c.HeldOut, c.Folds)
	}
	return s
}

// worstIntents names the n intents with the lowest F1.
func worstIntents(m Metrics, n int) []string {
	names := make([]string, 0, len(m.PerIntent))
	for name, c := range m.PerIntent {
		if c.Support > 0 {
			names = append(names, name)
		}
	}
	slices.SortFunc(names, func(a, b string) int {
		return cmp.Or(cmp.Compare(m.PerIntent[a].F1, m.PerIntent[b].F1), cmp.Compare(a, b))
	})
	return names[:min(n, len(names))]
}

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// WriteReports writes report.json, report.md and report.html into dir.
func WriteReports(dir string, rep *Report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write reports: %w", err)
	}
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	var md, page bytes.Buffer
	writeMarkdown(&md, rep)
	if err := writeHTML(&page, rep); err != nil {
		return err
	}
	for name, data := range map[string][]byte{"report.json": append(js, '\n'), "report.md": md.Bytes(), "report.html": page.Bytes()} {
		if err := writeFileAtomic(filepath.Join(dir, name), data); err != nil {
			return err
		}
	}
	return nil
}

func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func writeMarkdown(b *bytes.Buffer, rep *Report) {
	m := rep.Metrics
	fmt.Fprintf(b, "# Routing eval: %s\n\n", rep.Data.Test)
	fmt.Fprintf(b, "- Test: %d rows, %d in scope, %d out of scope\n", m.N, m.InScope, m.OutOfScope)
	fmt.Fprintf(b, "- Train: %s (%d rows)", rep.Data.Train, rep.Data.TrainRows)
	if rep.Data.Val != "" {
		fmt.Fprintf(b, "; val: %s (%d rows)", rep.Data.Val, rep.Data.ValRows)
	}
	fmt.Fprintf(b, "\n- Router: %s\n- Thresholds: %s\n\n", routerLine(rep), thresholdsLine(rep))
	b.WriteString("| metric | value |\n|---|---|\n")
	for _, kv := range []struct {
		k string
		v float64
	}{{"accuracy (every row, out of scope a class)", m.Accuracy}, {"in-scope accuracy", m.InScopeAccuracy},
		{"out-of-scope precision", m.OOSPrecision}, {"out-of-scope recall", m.OOSRecall}, {"out-of-scope F1", m.OOSF1},
		{"macro F1", m.MacroF1}} {
		fmt.Fprintf(b, "| %s | %.4f |\n", kv.k, kv.v)
	}
	fmt.Fprintf(b, "| latency per prompt p50 / p99 | %.1f / %.1f µs |\n\n", rep.LatencyUS.P50, rep.LatencyUS.P99)
	if len(rep.TopKRecall) > 0 {
		fmt.Fprintf(b, "Top-k recall (in-scope rows, thresholds aside): %s.\n\n", topKLine(rep))
	}
	if c := rep.Cascade; c != nil {
		fmt.Fprintf(b, "## Cascade (the rest to a judge shown the top %d)\n\n| threshold | judged | decided accuracy | rest top-%d recall | ceiling |\n|---|---|---|---|---|\n", c.K, c.K)
		for _, p := range c.Points {
			fmt.Fprintf(b, "| %.2f | %.4f | %.4f | %.4f | %.4f |\n", p.Threshold, p.Judged, p.DecidedAccuracy, p.RestTopKRecall, p.Ceiling)
		}
		b.WriteString("\n")
	}
	writeJudgeMarkdown(b, rep)
	if g := rep.Fit; g != nil && g.GlobalOnly != nil {
		fmt.Fprintf(b, "Without the per-intent thresholds: in-scope accuracy %.4f, out-of-scope recall %.4f.\n\n", g.GlobalOnly.InScopeAccuracy, g.GlobalOnly.OOSRecall)
	}
	if len(m.TopConfusions) > 0 {
		b.WriteString("## Top confusions\n\n| count | gold | predicted | example |\n|---|---|---|---|\n")
		for _, c := range m.TopConfusions {
			fmt.Fprintf(b, "| %d | %s | %s | %s |\n", c.Count, mdCell(c.Gold), mdCell(c.Pred), mdCell(clip(c.Example, 80)))
		}
		b.WriteString("\n")
	}
	b.WriteString("## Threshold sweep (test)\n\n| threshold | accuracy | in-scope accuracy | OOS recall | OOS precision |\n|---|---|---|---|---|\n")
	for i, p := range rep.Sweep {
		if i%5 == 0 {
			fmt.Fprintf(b, "| %.2f | %.4f | %.4f | %.4f | %.4f |\n", p.Threshold, p.Accuracy, p.InScopeAccuracy, p.OOSRecall, p.OOSPrecision)
		}
	}
	b.WriteString("\n## Per intent (lowest F1 first)\n\n| intent | precision | recall | F1 | support |\n|---|---|---|---|---|\n")
	for _, name := range worstIntents(m, len(m.PerIntent)) {
		c := m.PerIntent[name]
		fmt.Fprintf(b, "| %s | %.3f | %.3f | %.3f | %d |\n", mdCell(name), c.Precision, c.Recall, c.F1, c.Support)
	}
}

func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ").Replace(s)
}

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"pct": func(v float64) float64 { return 100 * v },
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>semroute eval: {{.Rep.Data.Test}}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1000px;color:#222;padding:0 1em}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:2em}
table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:3px 10px;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}.big{display:flex;gap:1.5em;flex-wrap:wrap}
.big div{border:1px solid #ddd;border-radius:6px;padding:.6em 1em}.big b{display:block;font-size:1.6em}
.muted{color:#666}svg text{font:11px system-ui,sans-serif}
</style></head><body>
<h1>Routing eval: {{.Rep.Data.Test}}</h1>
<p class="muted">{{.Rep.Metrics.N}} test rows ({{.Rep.Metrics.InScope}} in scope, {{.Rep.Metrics.OutOfScope}} out of scope) · router: {{.Router}}<br>thresholds: {{.Thresholds}}</p>
<div class="big">
<div>accuracy<b>{{printf "%.1f" (pct .Rep.Metrics.Accuracy)}} %</b></div>
<div>in-scope accuracy<b>{{printf "%.1f" (pct .Rep.Metrics.InScopeAccuracy)}} %</b></div>
<div>out-of-scope recall<b>{{printf "%.1f" (pct .Rep.Metrics.OOSRecall)}} %</b></div>
<div>out-of-scope precision<b>{{printf "%.1f" (pct .Rep.Metrics.OOSPrecision)}} %</b></div>
<div>macro F1<b>{{printf "%.3f" .Rep.Metrics.MacroF1}}</b></div>
<div>latency p50 / p99<b>{{printf "%.0f / %.0f" .Rep.LatencyUS.P50 .Rep.LatencyUS.P99}} µs</b></div>
</div>
<h2>Quality against the threshold</h2>
<p class="muted">Test rows at each global threshold, the other cut-offs as used; the dashed line is the threshold in use.</p>
{{.Sweep}}
{{if .Rep.Cascade}}<h2>The routing cascade</h2>
<p class="muted">At each threshold on the confidence, the embeddings decide the prompts at or above it that they would route; the rest would go to a judge shown the top {{.Rep.Cascade.K}} intents. Accuracy of the decided prompts, and the ceiling over all prompts for a judge that is right whenever the right intent (or none, for out-of-scope prompts) is among its choices, against the share judged.</p>
{{with .Rep.Judge}}<p>With the judge <b>{{.Model}}</b> (red: asked about the prompts scoring under each threshold up to {{printf "%.2f" .Below}}, or falling back; no cache): accuracy <b>{{printf "%.1f" (pct .Accuracy)}} %</b> at {{printf "%.2f" .Below}} (ceiling {{printf "%.1f" (pct .Ceiling)}} %), in-scope accuracy {{printf "%.1f" (pct .InScopeAccuracy)}} %, out of scope falling back {{printf "%.1f" (pct .OOSRecall)}} %; {{.Calls}} calls ({{printf "%.1f" (pct .Judged)}} % of the prompts), {{.Answered}} answers counted, ${{printf "%.6f" .CostUSD}} in all (${{printf "%.6f" .CostPerCall}} a call), latency p50 / p95 {{printf "%.0f / %.0f" .LatencyMS.P50 .LatencyMS.P95}} ms.</p>{{end}}
{{.CascadeChart}}{{end}}
<h2>Most confused labels</h2>
<p class="muted">Rows: gold label; columns: prediction. Darker is more.</p>
{{.Heatmap}}
<h2>Top confusions</h2>
<table><tr><th>count</th><th>gold</th><th>predicted</th><th>example</th></tr>
{{range .Rep.Metrics.TopConfusions}}<tr><td class="n">{{.Count}}</td><td>{{.Gold}}</td><td>{{.Pred}}</td><td>{{.Example}}</td></tr>
{{end}}</table>
<h2>F1 by intent</h2>
<p class="muted">{{.BarsNote}}</p>
{{.Bars}}
</body></html>
`))

func writeHTML(w io.Writer, rep *Report) error {
	worst := worstIntents(rep.Metrics, maxBars)
	note := "Every intent, lowest F1 first."
	if len(worst) < len(rep.Metrics.PerIntent) {
		note = fmt.Sprintf("The %d intents with the lowest F1 of %d; report.md lists them all.", len(worst), len(rep.Metrics.PerIntent))
	}
	return page.Execute(w, map[string]any{
		"Rep": rep, "Router": routerLine(rep), "Thresholds": thresholdsLine(rep),
		"Sweep":        template.HTML(sweepSVG(rep.Sweep, rep.Thresholds.Global)),
		"Heatmap":      template.HTML(heatmapSVG(rep.Metrics.Confused)),
		"CascadeChart": template.HTML(cascadeSVG(rep.Cascade, rep.Judge)),
		"Bars":         template.HTML(barsSVG(rep.Metrics, worst)),
		"BarsNote":     note,
	})
}
