package eval

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/semroute/semroute/embed"
	"github.com/semroute/semroute/router"
)

// SaveJSON writes v as indented JSON to path, atomically.
func SaveJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return writeFileAtomic(path, append(data, '\n'))
}

// LoadCascadeThresholds reads a fitted cascade (router.LoadCascade).
func LoadCascadeThresholds(path string, fp embed.Fingerprint) (*CascadeThresholds, error) {
	return router.LoadCascade(path, fp)
}

// WriteCascadeText writes a readable summary of rep.
func WriteCascadeText(w io.Writer, rep *CascadeReport) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "semroute eval cascade · %d train / %d test queries (%d contaminated dropped); confidence from the %d nearest training queries\n\n",
		rep.TrainRows, rep.TestRows, rep.Dropped, rep.K)
	fmt.Fprintf(&b, "  %-40s %8s %14s %16s\n", "model", "quality", "cost/query", "cost/correct")
	for _, m := range rep.Models {
		fmt.Fprintf(&b, "  %-40s %8.4f %14.6f %16.6f\n", clip(m.Name, 40), m.Quality, m.CostPerQuery, m.CostPerCorrect)
	}
	fmt.Fprintf(&b, "\n  %-10s %6s %8s %8s\n", "router", "APGR", "CPT(50%)", "CPT(80%)")
	for _, r := range []struct {
		name string
		s    Summary2
	}{{"semroute", rep.Semroute}, {"random", rep.Random}, {"oracle", rep.Oracle}} {
		fmt.Fprintf(&b, "  %-10s %6.3f %7.1f%% %7.1f%%\n", r.name, r.s.APGR, 100*r.s.CPT50, 100*r.s.CPT80)
	}
	if f := rep.Fitted; f != nil {
		fmt.Fprintf(&b, "\nfitted (%s) threshold %.2f: test quality %.4f (%.1f%% of the strong model's) at %.6f per query, %.1f%% of the strong model's cost saved (cost share %.1f%%)\n",
			f.Objective, f.Threshold, f.TestQuality, 100*f.QualityVsStrong, f.TestCost, 100*f.CostSaving, 100*f.CostShare)
	}
	_, err := w.Write(b.Bytes())
	return err
}

// WriteCascadeReports writes cascade-report.json, .md and .html into dir.
func WriteCascadeReports(dir string, rep *CascadeReport) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write reports: %w", err)
	}
	if err := SaveJSON(filepath.Join(dir, "cascade-report.json"), rep); err != nil {
		return err
	}
	var text bytes.Buffer
	if err := WriteCascadeText(&text, rep); err != nil {
		return err
	}
	var md bytes.Buffer
	md.WriteString("# Cascade eval\n\n```\n")
	md.Write(text.Bytes())
	md.WriteString("```\n\n## Cost–quality curve (test)\n\n| threshold | cost share | quality | PGR | cost/query | cost/correct |\n|---|---|---|---|---|---|\n")
	for i, p := range rep.Curve {
		if i%5 == 0 || i == len(rep.Curve)-1 {
			fmt.Fprintf(&md, "| %.2f | %.3f | %.4f | %.3f | %.6f | %.6f |\n", p.Threshold, p.CostShare, p.Quality, p.PGR, p.CostPerQuery, p.CostPerCorrect)
		}
	}
	if err := writeFileAtomic(filepath.Join(dir, "cascade-report.md"), md.Bytes()); err != nil {
		return err
	}
	var x, y []float64
	for _, p := range rep.Curve {
		x = append(x, clamp01(p.CostShare))
		y = append(y, p.PGR)
	}
	chart := lineSVG([]series{
		{"semroute", "#1f77b4", x, y},
		{"random", "#999999", []float64{0, 1}, []float64{0, 1}},
	}, "cost share (with two models: share of strong-model calls)", math.NaN())
	var page strings.Builder
	page.WriteString(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>semroute cascade eval</title>
<style>body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1000px;padding:0 1em}pre{background:#f6f6f6;padding:1em}svg text{font:11px system-ui,sans-serif}</style>
</head><body><h1>Cascade eval</h1><pre>`)
	page.WriteString(html.EscapeString(text.String()))
	page.WriteString(`</pre><h2>Performance gap recovered against cost</h2>`)
	page.WriteString(chart)
	page.WriteString(`</body></html>`)
	return writeFileAtomic(filepath.Join(dir, "cascade-report.html"), []byte(page.String()))
}
