package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/semroute/semroute/embed/local"
	"github.com/semroute/semroute/index"
	"github.com/semroute/semroute/index/chromem"
	"github.com/semroute/semroute/router"
)

// runBench measures, in one run on this machine, the decision against a
// baseline: chromem-go's own query over the same exemplar vectors (what a
// router built directly on chromem-go would do per prompt).
func runBench(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "proxy" {
		return runBenchProxy(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "soak" {
		return runBenchSoak(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "rag" {
		return runBenchRAG(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "pgvector" {
		return runBenchPgvector(ctx, args[1:], stdout, stderr)
	}
	fs := newFlags("bench", stderr)
	nIntents := fs.Int("intents", 100, "synthetic intents")
	per := fs.Int("per", 100, "utterances per intent (exemplars = intents × per)")
	queries := fs.Int("queries", 5000, "prompts routed per measurement")
	vectors := fs.String("vectors", "", "the vectors file (default: the cache directory)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *nIntents < 2 || *per < 1 || *queries < 10 {
		return usageError{fmt.Errorf("want --intents ≥ 2, --per ≥ 1, --queries ≥ 10")}
	}
	emb, err := local.Open(vectorsPath(*vectors))
	if err != nil {
		return err
	}
	defer emb.Close()
	cfg := router.Synthetic(emb.Word, *nIntents, *per, 1)
	start := time.Now()
	r, err := router.New(ctx, cfg, router.Options{Embedder: emb})
	if err != nil {
		return err
	}
	build := time.Since(start)
	var prompts []string
	for i, in := range cfg.Intents {
		prompts = append(prompts, in.Utterances[i%len(in.Utterances)]+" please")
	}

	// Embedding throughput, one goroutine.
	vec := make([]float32, emb.Dim())
	start = time.Now()
	for i := 0; i < *queries*4; i++ {
		emb.EmbedTo(vec, prompts[i%len(prompts)])
	}
	perSec := float64(*queries*4) / time.Since(start).Seconds()

	decide, err := measure(*queries, func(i int) error {
		_, err := r.Route(ctx, prompts[i%len(prompts)])
		return err
	})
	if err != nil {
		return err
	}

	idx, _ := chromem.Open("")
	all, err := emb.Embed(ctx, flatten(cfg))
	if err != nil {
		return err
	}
	recs := records(all)
	if err := idx.Upsert(ctx, "bench", recs); err != nil {
		return err
	}
	baseline, err := measure(*queries, func(i int) error {
		v := emb.EmbedTo(vec, prompts[i%len(prompts)])
		_, err := idx.Search(ctx, "bench", v, 10)
		return err
	})
	if err != nil {
		return err
	}

	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "semroute bench: %d intents × %d utterances = %d exemplars, %d-d, scorer %s, build %v\n\n",
		*nIntents, *per, r.Exemplars(), emb.Dim(), r.Scorer(), build.Round(time.Millisecond))
	fmt.Fprintln(tw, "measure\tp50\tp99\tper second")
	fmt.Fprintf(tw, "embed one prompt (1 core)\t\t\t%.0f\n", perSec)
	fmt.Fprintf(tw, "semroute decision\t%v\t%v\t%.0f\n", decide.p50, decide.p99, decide.rate)
	fmt.Fprintf(tw, "baseline: embed + chromem-go query (k=10)\t%v\t%v\t%.0f\n", baseline.p50, baseline.p99, baseline.rate)
	fmt.Fprintf(tw, "ratio baseline/semroute (p50)\t%.1f×\t\t\n", float64(baseline.p50)/float64(decide.p50))
	return tw.Flush()
}

type timing struct {
	p50, p99 time.Duration
	rate     float64
}

// measure times n calls of f, one at a time.
func measure(n int, f func(i int) error) (timing, error) {
	ts, err := measureEach(n, f)
	if err != nil {
		return timing{}, err
	}
	return ts[0], nil
}

// measureEach calls fs in turn, n times each, and times each f's calls
// apart: what they share (the machine's load, its caches' state) is the
// same for all. A timing's rate is its calls over the time they took.
func measureEach(n int, fs ...func(i int) error) ([]timing, error) {
	lat := make([][]time.Duration, len(fs))
	for k := range fs {
		lat[k] = make([]time.Duration, n)
	}
	spent := make([]time.Duration, len(fs))
	for i := range n {
		for k, f := range fs {
			t0 := time.Now()
			if err := f(i); err != nil {
				return nil, err
			}
			lat[k][i] = time.Since(t0)
			spent[k] += lat[k][i]
		}
	}
	out := make([]timing, len(fs))
	for k, l := range lat {
		slices.Sort(l)
		out[k] = timing{p50: l[n/2].Round(100 * time.Nanosecond), p99: l[n*99/100].Round(100 * time.Nanosecond), rate: float64(n) / spent[k].Seconds()}
	}
	return out, nil
}

func flatten(cfg *router.Config) []string {
	var out []string
	for _, in := range cfg.Intents {
		out = append(out, in.Utterances...)
	}
	return out
}

func records(vecs [][]float32) []index.Record {
	recs := make([]index.Record, len(vecs))
	for i, v := range vecs {
		recs[i] = index.Record{ID: fmt.Sprint(i), Text: "x", Vector: v}
	}
	return recs
}
