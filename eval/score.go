package eval

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/semroute/semroute/intents"
	"github.com/semroute/semroute/router"
)

// Scored is one labeled prompt with the router's scores for it.
type Scored struct {
	Text   string
	Gold   string // the label; intents.OOS for out-of-scope
	Line   int    // line in the file it came from
	Scores router.Scores
	// Best is the best intent's name, "" when the prompt had no words.
	Best string
	// Top names the best intents, best first: as many as ScoreTopAll's k
	// (at least the best and the routing.alternatives runner-ups).
	Top []string
	// LatencyUS is the time to score and decide this prompt, measured while
	// every core scores prompts.
	LatencyUS float64
}

// ScoreAll scores rows with r on every core. progress, when not nil, is
// called with the number of rows done so far (from any goroutine).
func ScoreAll(ctx context.Context, r *router.Router, rows []intents.Example, progress func(done int)) ([]Scored, error) {
	return ScoreTopAll(ctx, r, rows, 0, progress)
}

// ScoreTopAll is ScoreAll that also ranks each row's k best intents
// (Scored.Top).
func ScoreTopAll(ctx context.Context, r *router.Router, rows []intents.Example, k int, progress func(done int)) ([]Scored, error) {
	out := make([]Scored, len(rows))
	names := make([]string, len(r.Intents()))
	for i, in := range r.Intents() {
		names[i] = in.Name
	}
	var next, done atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, runtime.GOMAXPROCS(0))
	for w := range errs {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(rows) || ctx.Err() != nil {
					return
				}
				ex := rows[i]
				start := time.Now()
				s, err := r.ScoreTop(ctx, ex.Text, k)
				if err != nil {
					errs[w] = fmt.Errorf("line %d: %w", ex.Line, err)
					next.Store(int64(len(rows))) // stop the others too
					return
				}
				_ = r.Decide(s)
				out[i] = Scored{Text: ex.Text, Gold: ex.Label, Line: ex.Line, Scores: s,
					LatencyUS: float64(time.Since(start).Nanoseconds()) / 1e3}
				if s.Best >= 0 {
					out[i].Best = names[s.Best]
				}
				for _, a := range s.Ranked() {
					out[i].Top = append(out[i].Top, a.Intent)
				}
				if n := done.Add(1); progress != nil {
					progress(int(n))
				}
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Latency summarises per-prompt latencies in microseconds.
type Latency struct {
	P50  float64 `json:"p50"`
	P99  float64 `json:"p99"`
	Mean float64 `json:"mean"`
}

func latencyOf(rows []Scored) Latency {
	if len(rows) == 0 {
		return Latency{}
	}
	v := make([]float64, len(rows))
	sum := 0.0
	for i, r := range rows {
		v[i] = r.LatencyUS
		sum += r.LatencyUS
	}
	sort.Float64s(v)
	return Latency{P50: quantile(v, 0.50), P99: quantile(v, 0.99), Mean: sum / float64(len(v))}
}

// quantile of sorted v, nearest rank.
func quantile(v []float64, q float64) float64 {
	i := int(q*float64(len(v)) + 0.5)
	return v[min(max(i-1, 0), len(v)-1)]
}
