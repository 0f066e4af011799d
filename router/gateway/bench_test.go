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
	mock := benchUpstream(b)
	cfg := benchConfig(b, emb.Word, mock.URL)
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
				benchPost(b, bc.url, body)
			}
		})
	}
}

// benchUpstream is a mock OpenAI-compatible upstream on loopback that
// answers every chat at once.
func benchUpstream(b *testing.B) *httptest.Server {
	mock := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":9}}`)
	}))
	b.Cleanup(mock.Close)
	return mock
}

// benchConfig is the benchmarks' service: 100 intents × 100 utterances
// (router.Synthetic), every intent and the fallback sent to the model
// "mock" at the upstream mockURL, data in a fresh directory.
func benchConfig(b *testing.B, word func(int) string, mockURL string) *config.Config {
	cfg := router.Synthetic(word, 100, 100, 1)
	cfg.Models = []config.Model{{Name: "mock", Provider: "openai", BaseURL: mockURL + "/v1", Model: "m", Balance: "weight", TimeoutMS: 10000}}
	t := intents.Target{Model: intents.Models{"mock"}}
	for i := range cfg.Intents {
		cfg.Intents[i].Target = t
	}
	cfg.Fallback, cfg.Index.DataDir = t, b.TempDir()
	return cfg
}

// benchPost posts body to url, fails b unless the answer is 200, and
// returns the answer's headers.
func benchPost(b *testing.B, url string, body []byte) http.Header {
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Fatal("status ", resp.StatusCode)
	}
	return resp.Header
}
