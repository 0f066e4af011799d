package eval

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// The report's charts are drawn as inline SVG, so that report.html needs
// nothing from the network.

// maxBars is how many intents the F1 chart shows.
const maxBars = 40

// series is one line of a line chart.
type series struct {
	name  string
	color string
	x, y  []float64
}

// lineSVG draws series over x and y in [0, 1], with a dashed mark at markX
// (none when NaN).
func lineSVG(lines []series, xLabel string, markX float64) string {
	return dotsSVG(lines, len(lines), xLabel, markX)
}

// dotsSVG is lineSVG that also marks each point of lines[from:] with a dot
// (a series of one point is a dot alone).
func dotsSVG(lines []series, from int, xLabel string, markX float64) string {
	const w, h, left, right, top, bottom = 640, 300, 50, 150, 10, 40
	pw, ph := float64(w-left-right), float64(h-top-bottom)
	px := func(x float64) float64 { return left + x*pw }
	py := func(y float64) float64 { return top + (1-y)*ph }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" role="img">`, w, h)
	for i := 0; i <= 10; i += 2 {
		v := float64(i) / 10
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#eee"/>`, px(0), py(v), px(1), py(v))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end">%.1f</text>`, px(0)-6, py(v)+4, v)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%.1f</text>`, px(v), py(0)+16, v)
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`, px(0.5), h-4, html.EscapeString(xLabel))
	fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#999"/>`, px(0), py(1), pw, ph)
	if !math.IsNaN(markX) {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#555" stroke-dasharray="4 3"/>`, px(markX), py(0), px(markX), py(1))
	}
	for i, s := range lines {
		var pts []string
		for k := range s.x {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(s.x[k]), py(clamp01(s.y[k]))))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`, s.color, strings.Join(pts, " "))
		for k := range s.x {
			if i >= from {
				fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"/>`, px(s.x[k]), py(clamp01(s.y[k])), s.color)
			}
		}
		ly := float64(top + 14 + 18*i)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="3"/>`, px(1)+12, ly-4, px(1)+30, ly-4, s.color)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f">%s</text>`, px(1)+36, ly, html.EscapeString(s.name))
	}
	b.WriteString(`</svg>`)
	return b.String()
}

func clamp01(v float64) float64 { return min(max(v, 0), 1) }

func sweepSVG(pts []SweepPoint, used float64) string {
	var x, acc, in, rec, prec []float64
	for _, p := range pts {
		x = append(x, p.Threshold)
		acc = append(acc, p.Accuracy)
		in = append(in, p.InScopeAccuracy)
		rec = append(rec, p.OOSRecall)
		prec = append(prec, p.OOSPrecision)
	}
	return lineSVG([]series{
		{"accuracy", "#1f77b4", x, acc},
		{"in-scope accuracy", "#2ca02c", x, in},
		{"OOS recall", "#d62728", x, rec},
		{"OOS precision", "#ff7f0e", x, prec},
	}, "global threshold (confidence)", used)
}

// cascadeSVG draws the cascade's accuracies against the share judged, and,
// with j, the accuracy with that judge at each threshold it covers (dots).
func cascadeSVG(c *Cascade, j *JudgeReport) string {
	if c == nil || len(c.Points) == 0 {
		return ""
	}
	var x, acc, ceil []float64
	for _, p := range c.Points {
		x = append(x, p.Judged)
		acc = append(acc, p.DecidedAccuracy)
		ceil = append(ceil, p.Ceiling)
	}
	lines := []series{
		{"decided accuracy", "#1f77b4", x, acc},
		{fmt.Sprintf("ceiling (top %d)", c.K), "#2ca02c", x, ceil},
	}
	if j != nil {
		var jx, jy []float64
		for _, p := range j.Points {
			jx, jy = append(jx, p.Share), append(jy, p.Accuracy)
		}
		lines = append(lines, series{"with " + clip(j.Model, 14), "#d62728", jx, jy})
	}
	return dotsSVG(lines, 2, "share of prompts judged", math.NaN())
}

// heatmapSVG draws a confusion matrix, cells shaded by their share of the
// row.
func heatmapSVG(m Matrix) string {
	n := len(m.Labels)
	if n == 0 {
		return `<p>No confusions.</p>`
	}
	const cell, labelW = 34, 190
	w, h := labelW+n*cell+10, labelW+n*cell+10
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" role="img">`, w, h)
	for i, l := range m.Labels {
		l = html.EscapeString(clip(l, 28))
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`, labelW-6, labelW+i*cell+cell/2+4, l)
		x := labelW + i*cell + cell/2
		fmt.Fprintf(&b, `<text transform="translate(%d,%d) rotate(-60)">%s</text>`, x+4, labelW-6, l)
	}
	for i, row := range m.Counts {
		total := 0
		for _, c := range row {
			total += c
		}
		for j, c := range row {
			share := 0.0
			if total > 0 {
				share = float64(c) / float64(total)
			}
			color := fmt.Sprintf("rgba(214,39,40,%.3f)", share) // off the diagonal: errors
			if i == j {
				color = fmt.Sprintf("rgba(31,119,180,%.3f)", share)
			}
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s" stroke="#eee"><title>%s → %s: %d</title></rect>`,
				labelW+j*cell, labelW+i*cell, cell, cell, color, html.EscapeString(m.Labels[i]), html.EscapeString(m.Labels[j]), c)
			if c > 0 {
				fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">%d</text>`, labelW+j*cell+cell/2, labelW+i*cell+cell/2+4, c)
			}
		}
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// barsSVG draws the named intents' F1 as horizontal bars.
func barsSVG(m Metrics, names []string) string {
	if len(names) == 0 {
		return `<p>No intents.</p>`
	}
	const row, labelW, barW = 16, 220, 400
	h := len(names)*row + 30
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" role="img">`, labelW+barW+60, h)
	for i, name := range names {
		c := m.PerIntent[name]
		y := i * row
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`, labelW-6, y+12, html.EscapeString(clip(name, 34)))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="#1f77b4"><title>precision %.3f, recall %.3f, support %d</title></rect>`,
			labelW, y+2, c.F1*barW, row-4, c.Precision, c.Recall, c.Support)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d">%.2f</text>`, float64(labelW)+c.F1*barW+4, y+12, c.F1)
	}
	for _, v := range []float64{0, 0.5, 1} {
		x := float64(labelW) + v*barW
		fmt.Fprintf(&b, `<line x1="%.1f" y1="0" x2="%.1f" y2="%d" stroke="#ccc"/><text x="%.1f" y="%d" text-anchor="middle">%.1f</text>`,
			x, x, len(names)*row, x, len(names)*row+14, v)
	}
	b.WriteString(`</svg>`)
	return b.String()
}

func htmlEscape(s string) string { return html.EscapeString(s) }
