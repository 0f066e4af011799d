package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
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
		rng := rand.New(rand.NewPCG(uint64(n), 3))
		topics := make([][]string, 2000)
		for i := range topics {
			for range 12 {
				topics[i] = append(topics[i], emb.Word(300+rng.IntN(30000)))
			}
		}
		text := func(topic []string, words int) string {
			var b strings.Builder
			for range words {
				if rng.IntN(3) == 0 {
					b.WriteString(topic[rng.IntN(len(topic))])
				} else {
					b.WriteString(emb.Word(rng.IntN(300)))
				}
				b.WriteByte(' ')
			}
			return b.String()
		}
		docs := make([]rag.Document, n)
		for i := range docs {
			docs[i] = rag.Document{ID: fmt.Sprint(i), Title: fmt.Sprint("doc ", i), Text: text(topics[rng.IntN(len(topics))], 80)}
		}
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
				q := text(topics[rng.IntN(len(topics))], 8)
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
