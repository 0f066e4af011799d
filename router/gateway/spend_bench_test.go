package gateway

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/semroute/semroute/embed/local/localtest"
	"github.com/semroute/semroute/router/config"
)

// BenchmarkChatSpend measures what recording spend costs a chat
// completion: BenchmarkChat's service (100 intents × 100 utterances, a
// mock upstream on loopback) without budgets or teams (not recorded), and
// with a team (each answer booked in the ledger, an fsync); then the same
// for a cache hit, which books what it saved when spend is recorded.
func BenchmarkChatSpend(b *testing.B) {
	emb := localtest.Open(b)
	mock := benchUpstream(b)
	for _, bc := range []struct {
		name           string
		recorded, hits bool
	}{{"upstream/not-recorded", false, false}, {"upstream/recorded", true, false}, {"cache-hit/not-recorded", false, true}, {"cache-hit/recorded", true, true}} {
		cfg := benchConfig(b, emb.Word, mock.URL)
		cfg.Models[0].Price = config.Price{Input: 1, Output: 2}
		if bc.recorded {
			cfg.Teams = map[string][]string{"team": {"app"}}
		}
		if bc.hits {
			cfg.Cache = &config.CacheConfig{}
		}
		srv := New(Options{LookupEnv: os.LookupEnv, Embedder: emb})
		if err := srv.Load(context.Background(), cfg); err != nil {
			b.Fatal(err)
		}
		hs := httptest.NewServer(srv.Handler())
		body := fmt.Appendf(nil, `{"model":"auto","temperature":0,"messages":[{"role":"user","content":%q}]}`, cfg.Intents[3].Utterances[0]+" please")
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				hdr := benchPost(b, hs.URL+"/v1/chat/completions", body)
				if got := hdr.Get("X-Semroute-Cache"); bc.hits && got != "hit-exact" && got != "miss" {
					b.Fatalf("X-Semroute-Cache: %q", got)
				}
			}
		})
		hs.Close()
	}
}
