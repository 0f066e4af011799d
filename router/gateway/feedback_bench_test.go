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

// BenchmarkChatFeedback is BenchmarkChat's request, and the same prompt
// to /v1/route, with feedback off and on (a route record fsynced in
// data_dir before the answer), one client at a time and, for chat, 16
// (parallel: records share fsyncs). The mock upstream answers at once, so
// nothing hides the write: the worst case; /v1/route has no upstream call
// to overlap.
func BenchmarkChatFeedback(b *testing.B) {
	emb := localtest.Open(b)
	mock := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":9}}`)
	}))
	defer mock.Close()
	for _, on := range []bool{false, true} {
		cfg := router.Synthetic(emb.Word, 100, 100, 1)
		cfg.Models = []config.Model{{Name: "mock", Provider: "openai", BaseURL: mock.URL + "/v1", Model: "m", Balance: "weight", TimeoutMS: 10000}}
		t := intents.Target{Model: intents.Models{"mock"}}
		for i := range cfg.Intents {
			cfg.Intents[i].Target = t
		}
		cfg.Fallback, cfg.Index.DataDir = t, b.TempDir()
		name := "off"
		if on {
			cfg.Feedback, name = &config.FeedbackConfig{KeepDays: 7, FeedbackKeepDays: 365, MaxComment: 1000, KeepPrompts: true}, "on"
		}
		srv := New(Options{LookupEnv: os.LookupEnv, Embedder: emb})
		if err := srv.Load(context.Background(), cfg); err != nil {
			b.Fatal(err)
		}
		hs := httptest.NewServer(srv.Handler())
		body := fmt.Appendf(nil, `{"model":"auto","messages":[{"role":"user","content":%q}]}`, cfg.Intents[3].Utterances[0]+" please")
		routeBody := fmt.Appendf(nil, `{"input":%q}`, cfg.Intents[3].Utterances[0]+" please")
		send := func(b *testing.B, path string, body []byte) {
			resp, err := http.Post(hs.URL+path, "application/json", bytes.NewReader(body))
			if err != nil || resp.StatusCode != 200 {
				b.Fatal(err, resp.StatusCode)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		b.Run("chat/"+name, func(b *testing.B) {
			for b.Loop() {
				send(b, "/v1/chat/completions", body)
			}
		})
		b.Run("chat/"+name+"/parallel", func(b *testing.B) {
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					send(b, "/v1/chat/completions", body)
				}
			})
		})
		b.Run("route/"+name, func(b *testing.B) {
			for b.Loop() {
				send(b, "/v1/route", routeBody)
			}
		})
		hs.Close()
		srv.closeFeedback()
	}
}
