package gateway

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/semroute/semroute/embed/local/localtest"
	"github.com/semroute/semroute/intents"
	"github.com/semroute/semroute/router"
	"github.com/semroute/semroute/router/config"
)

// BenchmarkChatSpend measures what recording spend costs a chat
// completion: BenchmarkChat's service (100 intents × 100 utterances, a
// mock upstream on loopback) without budgets or teams (not recorded), and
// with a team (each answer booked in the ledger, an fsync); then the same
// for a cache hit, which books what it saved when spend is recorded.
func BenchmarkChatSpend(b *testing.B) {
	emb := localtest.Open(b)
	mock := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":9}}`)
	}))
	defer mock.Close()
	for _, bc := range []struct {
		name           string
		recorded, hits bool
	}{{"upstream/not-recorded", false, false}, {"upstream/recorded", true, false}, {"cache-hit/not-recorded", false, true}, {"cache-hit/recorded", true, true}} {
		cfg := router.Synthetic(emb.Word, 100, 100, 1)
		cfg.Models = []config.Model{{Name: "mock", Provider: "openai", BaseURL: mock.URL + "/v1", Model: "m", Balance: "weight", TimeoutMS: 10000,
			Price: config.Price{Input: 1, Output: 2}}}
		t := intents.Target{Model: intents.Models{"mock"}}
		for i := range cfg.Intents {
			cfg.Intents[i].Target = t
		}
		cfg.Fallback, cfg.Index.DataDir = t, b.TempDir()
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
				resp, err := http.Post(hs.URL+"/v1/chat/completions", "application/json", bytes.NewReader(body))
				if err != nil || resp.StatusCode != 200 {
					b.Fatal(err, resp.StatusCode)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if got := resp.Header.Get("X-Semroute-Cache"); bc.hits && got != "hit-exact" && got != "miss" {
					b.Fatalf("X-Semroute-Cache: %q", got)
				}
			}
		})
		hs.Close()
	}
}
