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

// BenchmarkChat measures one chat completion through semroute (routing
// over 100 intents × 100 utterances, a mock upstream on loopback) against
// the same request sent to the mock directly.
func BenchmarkChat(b *testing.B) {
	emb := localtest.Open(b)
	mock := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":9}}`)
	}))
	defer mock.Close()
	cfg := router.Synthetic(emb.Word, 100, 100, 1)
	cfg.Models = []config.Model{{Name: "mock", Provider: "openai", BaseURL: mock.URL + "/v1", Model: "m", Balance: "weight", TimeoutMS: 10000}}
	t := intents.Target{Model: intents.Models{"mock"}}
	for i := range cfg.Intents {
		cfg.Intents[i].Target = t
	}
	cfg.Fallback, cfg.Index.DataDir = t, b.TempDir()
	srv := New(Options{LookupEnv: os.LookupEnv, Embedder: emb})
	if err := srv.Load(context.Background(), cfg); err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	body := fmt.Appendf(nil, `{"model":"auto","messages":[{"role":"user","content":%q}]}`, cfg.Intents[3].Utterances[0]+" please")
	for _, bc := range []struct{ name, url string }{{"direct", mock.URL + "/v1/chat/completions"}, {"semroute", hs.URL + "/v1/chat/completions"}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				resp, err := http.Post(bc.url, "application/json", bytes.NewReader(body))
				if err != nil || resp.StatusCode != 200 {
					b.Fatal(err, resp.StatusCode)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}
