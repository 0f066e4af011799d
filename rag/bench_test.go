package rag

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/semroute/semroute/datasets"
	"github.com/semroute/semroute/embed/local/localtest"
	"github.com/semroute/semroute/index/chromem"
)

// BenchmarkSearch queries NQ-Open's 2,600 passages in each mode.
func BenchmarkSearch(b *testing.B) {
	docs, err := ReadFile(filepath.Join(datasets.Shared(b), "rag_nq_open_oracle", "corpus.jsonl"), 1<<30)
	if err != nil {
		b.Fatal(err)
	}
	idx, _ := chromem.Open("")
	c, _ := Open(context.Background(), "nq", Options{Index: idx, Embedder: localtest.Open(b)})
	if _, err := c.Ingest(context.Background(), docs); err != nil {
		b.Fatal(err)
	}
	for _, mode := range []string{ModeBM25, ModeVector, ModeHybrid} {
		b.Run(fmt.Sprintf("mode=%s", mode), func(b *testing.B) {
			for b.Loop() {
				if _, err := c.Search(context.Background(), Query{Text: "who got the first nobel prize in physics", K: 5, Mode: mode}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSearchSynthetic queries collections of `semroute bench rag`'s
// synthetic documents (80 words, a third of them from one of 2,000
// topics, the rest from the 300 commonest words), k = 5, by mode.
func BenchmarkSearchSynthetic(b *testing.B) {
	emb := localtest.Open(b)
	for _, n := range []int{10_000, 100_000} {
		syn := NewSynthetic(emb.Word, uint64(n))
		docs := syn.Docs(n)
		idx, _ := chromem.Open("")
		c, _ := Open(context.Background(), "bench", Options{Index: idx, Embedder: emb})
		if _, err := c.Ingest(context.Background(), docs); err != nil {
			b.Fatal(err)
		}
		queries := make([]string, 300)
		for i := range queries {
			queries[i] = syn.Query()
		}
		// The retrievers alone at fusion's depth, candidates(5) = 50.
		b.Run(fmt.Sprintf("chunks=%d/bm25-top50", n), func(b *testing.B) {
			i := 0
			for b.Loop() {
				c.mem.lexical(queries[i%len(queries)], candidates(5), nil)
				i++
			}
		})
		b.Run(fmt.Sprintf("chunks=%d/vector-top50", n), func(b *testing.B) {
			qv := make([][]float32, len(queries))
			for i, q := range queries {
				qv[i], _ = c.embedOne(context.Background(), q)
			}
			i := 0
			for b.Loop() {
				c.mem.nearest(qv[i%len(qv)], candidates(5), nil)
				i++
			}
		})
		for _, mode := range []string{ModeBM25, ModeVector, ModeHybrid} {
			b.Run(fmt.Sprintf("chunks=%d/mode=%s", n, mode), func(b *testing.B) {
				i := 0
				for b.Loop() {
					if _, err := c.Search(context.Background(), Query{Text: queries[i%len(queries)], K: 5, Mode: mode}); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		}
		idx.Close()
	}
}
