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
