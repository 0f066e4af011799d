package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/semroute/semroute/embed/local"
	"github.com/semroute/semroute/index"
	"github.com/semroute/semroute/index/flat"
	"github.com/semroute/semroute/index/pgvector"
	"github.com/semroute/semroute/intents"
)

// runBenchPgvector measures the pgvector backend against exact search in
// one run: load rate, HNSW build time, query latency and recall@10 by
// ef_search, and, given CLINC150, whether nearest-exemplar decisions agree.
func runBenchPgvector(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench pgvector", stderr)
	dsn := fs.String("dsn", "", "PostgreSQL DSN (default $SEMROUTE_PG_DSN)")
	sizes := fs.String("sizes", "10000,100000", "collection sizes")
	dims := fs.String("dims", "100,384", "vector dimensions")
	efs := fs.String("ef", "40,100,200", "hnsw.ef_search values")
	queries := fs.Int("queries", 500, "queries per measurement")
	halfvec := fs.Bool("halfvec", false, "store halfvec")
	clinc := fs.String("clinc", "", "the CLINC150 folder: also compare nearest-exemplar decisions with exact search")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	st, err := pgvector.Open(ctx, pgvector.Options{DSN: indexDSN(*dsn), Schema: "semroute_bench", HalfVec: *halfvec})
	if err != nil {
		return err
	}
	defer st.Close()
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "semroute bench pgvector: HNSW m=16 ef_construction=64, halfvec=%v, %d queries, recall@10 against exact search\n\n", *halfvec, *queries)
	fmt.Fprintln(tw, "n × D\tload (COPY, then HNSW build)\tHNSW rebuild\tef_search\tp50\tp99\trecall@10")
	for _, n := range ints(*sizes) {
		for _, d := range ints(*dims) {
			if err := benchOne(ctx, tw, st, n, d, ints(*efs), *queries); err != nil {
				return err
			}
		}
	}
	if *clinc != "" {
		if err := benchAgreement(ctx, tw, st, *clinc, ints(*efs)); err != nil {
			return err
		}
	}
	return tw.Flush()
}

func ints(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if v, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && v > 0 {
			out = append(out, v)
		}
	}
	return out
}

// clustered makes n unit vectors around 1,000 random centres, like
// embeddings of utterances about a thousand topics.
func clustered(rng *rand.Rand, n, d int, centres [][]float32) [][]float32 {
	out := make([][]float32, n)
	for i := range out {
		c := centres[rng.IntN(len(centres))]
		v := make([]float32, d)
		for j := range v {
			v[j] = c[j] + float32(rng.NormFloat64()*0.5/math.Sqrt(float64(d)))
		}
		flat.Normalize(v)
		out[i] = v
	}
	return out
}

func benchOne(ctx context.Context, tw io.Writer, st *pgvector.Store, n, d int, efs []int, nq int) error {
	rng := rand.New(rand.NewPCG(uint64(n), uint64(d)))
	centres := clustered(rng, 1000, d, [][]float32{make([]float32, d)})
	for i := range centres { // random directions
		for j := range centres[i] {
			centres[i][j] = float32(rng.NormFloat64())
		}
		flat.Normalize(centres[i])
	}
	vecs := clustered(rng, n, d, centres)
	qs := clustered(rng, nq, d, centres)
	name := fmt.Sprintf("bench_%d_%d", n, d)
	st.Drop(ctx, name)
	defer st.Drop(ctx, name)
	recs := make([]index.Record, n)
	for i, v := range vecs {
		recs[i] = index.Record{ID: strconv.Itoa(i), Text: "x", Vector: v}
	}
	start := time.Now()
	if err := st.Upsert(ctx, name, recs); err != nil { // COPY, then the HNSW build
		return err
	}
	load := time.Since(start)
	start = time.Now()
	if err := st.Reindex(ctx, name); err != nil {
		return err
	}
	build := time.Since(start)
	slab := flat.New(d, vecs)
	var sc flat.Scratch
	exact := make([]map[string]bool, nq)
	for i, q := range qs {
		exact[i] = map[string]bool{}
		for _, h := range slab.Search(q, 10, nil, &sc) {
			exact[i][strconv.Itoa(int(h.Index))] = true
		}
	}
	for _, ef := range efs {
		lat := make([]time.Duration, nq)
		found := 0
		for i, q := range qs {
			t0 := time.Now()
			hits, err := st.SearchEf(ctx, name, q, 10, ef)
			lat[i] = time.Since(t0)
			if err != nil {
				return err
			}
			for _, h := range hits {
				if exact[i][h.ID] {
					found++
				}
			}
		}
		slices.Sort(lat)
		fmt.Fprintf(tw, "%d × %d\t%v (%.0f rows/s)\t%v\t%d\t%v\t%v\t%.3f\n", n, d, load.Round(time.Millisecond), float64(n)/load.Seconds(),
			build.Round(time.Millisecond), ef, lat[nq/2].Round(time.Microsecond), lat[nq*99/100].Round(time.Microsecond), float64(found)/float64(10*nq))
	}
	return nil
}

// benchAgreement compares the intent of the nearest exemplar found by
// pgvector and by exact search for CLINC150's test prompts.
func benchAgreement(ctx context.Context, tw io.Writer, st *pgvector.Store, dir string, efs []int) error {
	emb, err := local.Open(vectorsPath(""))
	if err != nil {
		return err
	}
	defer emb.Close()
	train, err := intents.ReadLabeled(filepath.Join(dir, "train.jsonl"))
	if err != nil {
		return err
	}
	test, err := intents.ReadLabeled(filepath.Join(dir, "test.jsonl"))
	if err != nil {
		return err
	}
	texts := make([]string, len(train))
	for i, ex := range train {
		texts[i] = ex.Text
	}
	vecs, err := emb.Embed(ctx, texts)
	if err != nil {
		return err
	}
	recs := make([]index.Record, len(vecs))
	var keep [][]float32
	var labels []string
	for i, v := range vecs {
		flat.Normalize(v)
		recs[i] = index.Record{ID: strconv.Itoa(len(keep)), Text: train[i].Text, Metadata: map[string]string{"intent": train[i].Label}, Vector: v}
		keep, labels = append(keep, v), append(labels, train[i].Label)
	}
	const name = "bench_clinc"
	st.Drop(ctx, name)
	defer st.Drop(ctx, name)
	if err := st.Upsert(ctx, name, recs); err != nil {
		return err
	}
	tb, ib, err := st.Size(ctx, name)
	if err != nil {
		return err
	}
	slab := flat.New(emb.Dim(), keep)
	var sc flat.Scratch
	fmt.Fprintf(tw, "\nCLINC150: nearest exemplar's intent, pgvector against exact, %d test prompts over %d exemplars (D=%d)\n", len(test), len(keep), emb.Dim())
	fmt.Fprintf(tw, "on disk: table %.1f MB (%.0f bytes an exemplar), HNSW index %.1f MB (%.0f bytes an exemplar)\n",
		float64(tb)/1e6, float64(tb)/float64(len(keep)), float64(ib)/1e6, float64(ib)/float64(len(keep)))
	fmt.Fprintln(tw, "ef_search\tagreement")
	for _, ef := range efs {
		same := 0
		for _, ex := range test {
			q := emb.EmbedTo(make([]float32, emb.Dim()), ex.Text)
			flat.Normalize(q)
			want := slab.Search(q, 1, nil, &sc)
			hits, err := st.SearchEf(ctx, name, q, 1, ef)
			if err != nil {
				return err
			}
			if len(hits) == 1 && len(want) == 1 && hits[0].Metadata["intent"] == labels[want[0].Index] {
				same++
			}
		}
		fmt.Fprintf(tw, "%d\t%.4f\n", ef, float64(same)/float64(len(test)))
	}
	return nil
}
