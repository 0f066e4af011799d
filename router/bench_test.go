package router

import (
	"context"
	"fmt"
	"testing"

	"github.com/semroute/semroute/embed/local/localtest"
)

// BenchmarkDecision is the whole decision — embed, score every intent, find
// the nearest utterance, apply thresholds — at 1k and 10k exemplars.
func BenchmarkDecision(b *testing.B) {
	emb := localtest.Open(b)
	for _, size := range []struct{ intents, per int }{{10, 100}, {100, 100}} {
		cfg := Synthetic(emb.Word, size.intents, size.per, 1)
		r, err := New(context.Background(), cfg, Options{Embedder: emb})
		if err != nil {
			b.Fatal(err)
		}
		prompts := []string{cfg.Intents[0].Utterances[3], "where is my order", cfg.Intents[size.intents-1].Utterances[7]}
		b.Run(fmt.Sprintf("exemplars=%d", size.intents*size.per), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, err := r.Route(context.Background(), prompts[i%len(prompts)]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
