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

// BenchmarkChatFeedback is BenchmarkChat's request, and the same prompt
// to /v1/route, with feedback off and on (a route record fsynced in
// data_dir before the answer), one client at a time and, for chat, 16
// (parallel: records share fsyncs). The mock upstream answers at once, so
// nothing hides the write: the worst case; /v1/route has no upstream call
// to overlap.
func BenchmarkChatFeedback(b *testing.B) {
	emb := localtest.Open(b)
	mock := benchUpstream(b)
	for _, on := range []bool{false, true} {
		cfg := benchConfig(b, emb.Word, mock.URL)
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
		send := func(b *testing.B, path string, body []byte) { benchPost(b, hs.URL+path, body) }
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
