package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/semroute/semroute/embed/local"
	"github.com/semroute/semroute/index/chromem"
	"github.com/semroute/semroute/rag"
)

// runBenchRAG measures ingest throughput and query latency by mode at
// several collection sizes, on synthetic documents (one chunk each).
func runBenchRAG(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench rag", stderr)
	sizes := fs.String("chunks", "10000,100000", "collection sizes, in chunks")
	queries := fs.Int("queries", 300, "queries per mode")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	emb, err := local.Open(vectorsPath(""))
	if err != nil {
		return err
	}
	defer emb.Close()
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "semroute bench rag: synthetic 80-word documents (one chunk each) from 2,000 topics, in-memory chromem-go index")
	fmt.Fprintln(tw, "\nchunks\tingest\theap/chunk\tmode\tp50\tp99")
	for _, n := range ints(*sizes) {
		syn := rag.NewSynthetic(emb.Word, uint64(n))
		docs := syn.Docs(n)
		before := heapInUse()
		idx, _ := chromem.Open("")
		col, err := rag.Open(ctx, "bench", rag.Options{Index: idx, Embedder: emb})
		if err != nil {
			return err
		}
		start := time.Now()
		for lo := 0; lo < n; lo += 1000 {
			if _, err := col.Ingest(ctx, docs[lo:min(lo+1000, n)]); err != nil {
				return err
			}
		}
		took := time.Since(start)
		perChunk := float64(heapInUse()-before) / float64(col.Chunks())
		runtime.KeepAlive(docs) // alive across both measurements
		for _, mode := range []string{rag.ModeBM25, rag.ModeVector, rag.ModeHybrid} {
			lat := make([]time.Duration, *queries)
			for i := range lat {
				q := syn.Query()
				t0 := time.Now()
				if _, err := col.Search(ctx, rag.Query{Text: q, K: 5, Mode: mode}); err != nil {
					return err
				}
				lat[i] = time.Since(t0)
			}
			slices.Sort(lat)
			fmt.Fprintf(tw, "%d\t%v (%.0f chunks/s)\t%.0f B\t%s\t%v\t%v\n", n, took.Round(time.Millisecond), float64(col.Chunks())/took.Seconds(), perChunk, mode,
				lat[len(lat)/2].Round(time.Microsecond), lat[len(lat)*99/100].Round(time.Microsecond))
		}
		idx.Close()
	}
	return tw.Flush()
}

// heapInUse is the live heap after a collection: what a collection holds
// is the difference across its ingest.
func heapInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
