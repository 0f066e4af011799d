package router

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/semroute/semroute/intents"
	"github.com/semroute/semroute/router/config"
)

// Synthetic makes a config of n intents with per utterances each, for
// benchmarks at sizes no real intent set has: every intent draws its
// utterances (5 to 12 words) from its own topic words plus common ones.
// word(i) returns a vocabulary word by frequency rank (i < 20,000).
func Synthetic(word func(int) string, n, per int, seed uint64) *config.Config {
	rng := rand.New(rand.NewPCG(seed, 11))
	target := intents.Target{Handoff: "bench"}
	cfg := &config.Config{Fallback: target}
	for i := 0; i < n; i++ {
		topic := make([]string, 8)
		for j := range topic {
			topic[j] = word(500 + rng.IntN(19500))
		}
		in := intents.Intent{Name: fmt.Sprintf("intent%05d", i), Target: target}
		for u := 0; u < per; u++ {
			var b strings.Builder
			for w := 5 + rng.IntN(8); w > 0; w-- {
				if rng.IntN(2) == 0 {
					b.WriteString(topic[rng.IntN(len(topic))])
				} else {
					b.WriteString(word(rng.IntN(500)))
				}
				b.WriteByte(' ')
			}
			in.Utterances = append(in.Utterances, strings.TrimSpace(b.String()))
		}
		cfg.Intents = append(cfg.Intents, in)
	}
	cfg.SetDefaults("")
	return cfg
}
