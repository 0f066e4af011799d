package eval

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// writeJudgeText writes the judge's section of the text report.
func writeJudgeText(b *bytes.Buffer, rep *Report) {
	j := rep.Judge
	if j == nil {
		return
	}
	fmt.Fprintf(b, "\njudge %s (asked about rows scoring under %.2f or falling back; shown the top %d; no cache):\n", j.Model, j.Below, j.K)
	fmt.Fprintf(b, "  accuracy            %.4f   (ceiling %.4f; %.4f without the judge)\n", j.Accuracy, j.Ceiling, rep.Accuracy)
	fmt.Fprintf(b, "  in-scope accuracy   %.4f   (%.4f without)\n", j.InScopeAccuracy, rep.InScopeAccuracy)
	fmt.Fprintf(b, "  out of scope        fall back %.4f (%.4f without), precision %.4f\n", j.OOSRecall, rep.OOSRecall, j.OOSPrecision)
	fmt.Fprintf(b, "  judged              %d of %d rows (%.1f %%); %d answers counted; errors: %s\n", j.Calls, rep.N, 100*j.Judged, j.Answered, errorsLine(j.Errors))
	fmt.Fprintf(b, "  changed             rows made right %d, made wrong %d\n", j.Fixed, j.Broke)
	fmt.Fprintf(b, "  cost                $%.6f in all, $%.6f a call, $%.6f a test row\n", j.CostUSD, j.CostPerCall, j.CostPerPrompt)
	fmt.Fprintf(b, "  latency per call    p50 %.1f ms  p95 %.1f ms\n", j.LatencyMS.P50, j.LatencyMS.P95)
	b.WriteString("  threshold  judged  accuracy  in-scope  OOS fall-back  ceiling  cost (USD)\n")
	for _, p := range j.Points {
		fmt.Fprintf(b, "  %9.2f  %6.3f  %8.4f  %8.4f  %13.4f  %7.4f  %.6f\n", p.Threshold, p.Judged, p.Accuracy, p.InScopeAccuracy, p.OOSRecall, p.Ceiling, p.CostUSD)
	}
	fmt.Fprintf(b, "  (thresholds above %.2f would need more calls: raise --judge-below)\n", j.Below)
}

// writeJudgeMarkdown writes the judge's section of report.md.
func writeJudgeMarkdown(b *bytes.Buffer, rep *Report) {
	j := rep.Judge
	if j == nil {
		return
	}
	fmt.Fprintf(b, "## Routing judge: %s\n\n", mdCell(j.Model))
	fmt.Fprintf(b, "Asked about the rows scoring under %.2f or falling back, shown the top %d intents each, without a cache: %d of %d rows (%.1f %%).\n\n",
		j.Below, j.K, j.Calls, rep.N, 100*j.Judged)
	b.WriteString("| metric | with the judge | without |\n|---|---|---|\n")
	fmt.Fprintf(b, "| accuracy (ceiling %.4f) | %.4f | %.4f |\n", j.Ceiling, j.Accuracy, rep.Accuracy)
	fmt.Fprintf(b, "| in-scope accuracy | %.4f | %.4f |\n", j.InScopeAccuracy, rep.InScopeAccuracy)
	fmt.Fprintf(b, "| out of scope falling back | %.4f | %.4f |\n", j.OOSRecall, rep.OOSRecall)
	fmt.Fprintf(b, "| out-of-scope precision | %.4f | %.4f |\n\n", j.OOSPrecision, rep.OOSPrecision)
	fmt.Fprintf(b, "- Answers counted: %d; errors: %s; rows made right %d, made wrong %d\n", j.Answered, errorsLine(j.Errors), j.Fixed, j.Broke)
	fmt.Fprintf(b, "- Cost: $%.6f in all, $%.6f a call, $%.6f a test row\n", j.CostUSD, j.CostPerCall, j.CostPerPrompt)
	fmt.Fprintf(b, "- Latency per call: p50 %.1f ms, p95 %.1f ms\n\n", j.LatencyMS.P50, j.LatencyMS.P95)
	b.WriteString("| threshold | judged | accuracy | in-scope accuracy | OOS fall-back | ceiling | cost (USD) | errors |\n|---|---|---|---|---|---|---|---|\n")
	for _, p := range j.Points {
		fmt.Fprintf(b, "| %.2f | %.4f | %.4f | %.4f | %.4f | %.4f | %.6f | %d |\n", p.Threshold, p.Judged, p.Accuracy, p.InScopeAccuracy, p.OOSRecall, p.Ceiling, p.CostUSD, p.Errors)
	}
	fmt.Fprintf(b, "\nThresholds above %.2f would need more calls (a higher `--judge-below`).\n\n", j.Below)
}

// errorsLine lists error counts by kind, or "none".
func errorsLine(errs map[string]int) string {
	if len(errs) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(errs)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, errs[k]))
	}
	return strings.Join(parts, ", ")
}
