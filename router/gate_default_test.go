package router

import (
	"context"
	"testing"

	"github.com/semroute/semroute/embed"
	"github.com/semroute/semroute/embed/local/localtest"
	"github.com/semroute/semroute/intents"
	"github.com/semroute/semroute/router/config"
)

// ownGate is an embedder that names the similarity gate its vectors want,
// as the local embedder does (0.5 for GloVe, 0.3 for the trained encoder).
type ownGate struct {
	embed.Embedder
	min float64
}

func (g ownGate) MinSimilarity() float64 { return g.min }

// TestGateDefaultFromEmbedder: with nothing configured, min_similarity is
// the embedder's own; the config's still wins.
func TestGateDefaultFromEmbedder(t *testing.T) {
	emb := localtest.Open(t)
	q := intents.Target{Handoff: "q"}
	build := func(e embed.Embedder, minSim *float64) *Router {
		cfg := &config.Config{Fallback: q, Intents: []intents.Intent{
			{Name: "refund", Utterances: []string{"I want my money back", "refund my order"}, Target: q},
			{Name: "weather", Utterances: []string{"what is the weather like", "will it rain today"}, Target: q},
		}}
		cfg.Routing.MinSimilarity = minSim
		cfg.SetDefaults("")
		r, err := New(context.Background(), cfg, Options{Embedder: e})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if got := build(emb, nil).gate.MinSimilarity; got != 0.5 {
		t.Errorf("GloVe file: min_similarity %v, want 0.5", got)
	}
	if got := build(ownGate{emb, 0.3}, nil).gate.MinSimilarity; got != 0.3 {
		t.Errorf("an embedder wanting 0.3: min_similarity %v", got)
	}
	set := 0.42
	if got := build(ownGate{emb, 0.3}, &set).gate.MinSimilarity; got != set {
		t.Errorf("configured 0.42: min_similarity %v", got)
	}
}
