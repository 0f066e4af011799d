package eval

import (
	"bytes"
	"fmt"
	"html"
	"io"
	"math"
	"path/filepath"
	"strings"
)

// WriteRAGText writes a readable summary of a retrieval eval.
func WriteRAGText(w io.Writer, rep *RAGReport) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "semroute eval rag · %d questions over %d documents (%d chunks, ingested at %.0f chunks/s); embedder %s\n\n",
		rep.Questions, rep.Documents, rep.Chunks, rep.ChunksPerSec, rep.Embedder.String())
	fmt.Fprintf(&b, "  %-7s %9s %9s %10s %8s %9s %12s\n", "mode", "recall@1", "recall@5", "recall@10", "MRR@10", "nDCG@10", "p50 / p99")
	for _, m := range rep.Modes {
		fmt.Fprintf(&b, "  %-7s %9.4f %9.4f %10.4f %8.4f %9.4f %5.0f / %.0f µs\n", m.Mode, m.Recall1, m.Recall5, m.Recall10, m.MRR10, m.NDCG10, m.LatencyUS.P50, m.LatencyUS.P99)
	}
	if a := rep.Answers; a != nil {
		fmt.Fprintf(&b, "\nanswers (%d, from hybrid passages): exact match %.4f, token F1 %.4f\n", a.N, a.ExactMatch, a.F1)
	}
	_, err := w.Write(b.Bytes())
	return err
}

// WriteRAGReports writes rag-report.json, .md and .html into dir.
func WriteRAGReports(dir string, rep *RAGReport) error {
	if err := SaveJSON(filepath.Join(dir, "rag-report.json"), rep); err != nil {
		return err
	}
	var text bytes.Buffer
	WriteRAGText(&text, rep)
	md := "# Retrieval eval\n\n```\n" + text.String() + "```\n"
	if err := writeFileAtomic(filepath.Join(dir, "rag-report.md"), []byte(md)); err != nil {
		return err
	}
	// Grouped bars: recall@5 and MRR@10 by mode.
	var svg strings.Builder
	const barW, gap, h = 26, 40, 220
	w := len(rep.Modes)*(2*barW+gap) + 60
	fmt.Fprintf(&svg, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" role="img">`, w, h+40)
	for i, m := range rep.Modes {
		x := 40 + i*(2*barW+gap)
		for j, v := range []float64{m.Recall5, m.MRR10} {
			color := []string{"#1f77b4", "#ff7f0e"}[j]
			bh := math.Max(v, 0) * h
			fmt.Fprintf(&svg, `<rect x="%d" y="%.1f" width="%d" height="%.1f" fill="%s"><title>%s %.4f</title></rect>`, x+j*barW, h-bh, barW-2, bh, color,
				[]string{"recall@5", "MRR@10"}[j], v)
			fmt.Fprintf(&svg, `<text x="%d" y="%.1f" font-size="10" text-anchor="middle">%.2f</text>`, x+j*barW+barW/2, h-bh-3, v)
		}
		fmt.Fprintf(&svg, `<text x="%d" y="%d" font-size="12" text-anchor="middle">%s</text>`, x+barW, h+16, html.EscapeString(m.Mode))
	}
	fmt.Fprintf(&svg, `<text x="40" y="%d" font-size="11" fill="#1f77b4">■ recall@5</text><text x="140" y="%d" font-size="11" fill="#ff7f0e">■ MRR@10</text></svg>`, h+34, h+34)
	page := `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>semroute retrieval eval</title>
<style>body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1000px;padding:0 1em}pre{background:#f6f6f6;padding:1em}</style>
</head><body><h1>Retrieval eval</h1><pre>` + html.EscapeString(text.String()) + `</pre><h2>Recall@5 and MRR@10 by mode</h2>` + svg.String() + `</body></html>`
	return writeFileAtomic(filepath.Join(dir, "rag-report.html"), []byte(page))
}
