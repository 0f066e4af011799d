package router

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/semroute/semroute/embed/local/localtest"
	"github.com/semroute/semroute/internal/cold"
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
		// Prompts from every intent, so the head's weights are not all in
		// cache, as with real traffic.
		var prompts []string
		for i, in := range cfg.Intents {
			prompts = append(prompts, in.Utterances[(i*7)%len(in.Utterances)]+" please")
		}
		prompts = append(prompts, "where is my order")
		b.Run(fmt.Sprintf("exemplars=%d", size.intents*size.per), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, err := r.Route(context.Background(), prompts[i%len(prompts)]); err != nil {
					b.Fatal(err)
				}
			}
		})
		// Cold: the weights out of the core's caches between decisions
		// (package cold), as the gateway sees the decision.
		b.Run(fmt.Sprintf("exemplars=%d/cold", size.intents*size.per), func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				cold.Evict()
				b.StartTimer()
				if _, err := r.Route(context.Background(), prompts[i%len(prompts)]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecisionLength is the decision at 10,000 exemplars for prompts of
// 10 to 1,000 words (utterances of several intents run together): its
// cost grows with the prompt's words and n-grams.
func BenchmarkDecisionLength(b *testing.B) {
	emb := localtest.Open(b)
	cfg := Synthetic(emb.Word, 100, 100, 1)
	r, err := New(context.Background(), cfg, Options{Embedder: emb})
	if err != nil {
		b.Fatal(err)
	}
	for _, words := range []int{10, 50, 200, 1000} {
		var prompts []string
		for i := range 50 {
			var w []string
			for len(w) < words {
				w = append(w, strings.Fields(cfg.Intents[(i+len(w))%len(cfg.Intents)].Utterances[len(w)%100])...)
			}
			prompts = append(prompts, strings.Join(w[:words], " "))
		}
		b.Run(fmt.Sprintf("words=%d", words), func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				if _, err := r.Route(context.Background(), prompts[i%len(prompts)]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
