package router

import (
	"fmt"

	"github.com/semroute/semroute/intents"
	"github.com/semroute/semroute/intents/classify"
	"github.com/semroute/semroute/router/config"
)

// Synthetic makes a config of n intents with per utterances each, for
// benchmarks at sizes no real intent set has (classify.Synthetic's texts).
// word(i) returns a vocabulary word by frequency rank (i < 20,000).
func Synthetic(word func(int) string, n, per int, seed uint64) *config.Config {
	target := intents.Target{Handoff: "bench"}
	cfg := &config.Config{Fallback: target}
	for i, texts := range classify.Synthetic(word, n, per, seed) {
		cfg.Intents = append(cfg.Intents, intents.Intent{Name: fmt.Sprintf("intent%05d", i), Target: target, Utterances: texts})
	}
	cfg.SetDefaults("")
	return cfg
}
