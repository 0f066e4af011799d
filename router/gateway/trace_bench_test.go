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

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/semroute/semroute/embed/local/localtest"
	"github.com/semroute/semroute/intents"
	"github.com/semroute/semroute/router"
	"github.com/semroute/semroute/router/config"
)

// discard is an exporter that drops every span: what tracing costs the
// request path, without a collector's.
type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }

// BenchmarkChatTraced is BenchmarkChat's request (100 intents × 100
// utterances, a mock upstream on loopback) through semroute untraced,
// traced with every trace sampled (spans batched to an exporter that drops
// them), and traced with none sampled (sample: 0).
func BenchmarkChatTraced(b *testing.B) {
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
	body := fmt.Appendf(nil, `{"model":"auto","messages":[{"role":"user","content":%q}]}`, cfg.Intents[3].Utterances[0]+" please")
	for _, bc := range []struct {
		name    string
		sampler sdktrace.Sampler // nil: no tracer
	}{{"off", nil}, {"sampled", sdktrace.AlwaysSample()}, {"unsampled", sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0))}} {
		b.Run(bc.name, func(b *testing.B) {
			opt := Options{LookupEnv: os.LookupEnv, Embedder: emb}
			if bc.sampler != nil {
				tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discard{}), sdktrace.WithSampler(bc.sampler))
				defer tp.Shutdown(context.Background())
				opt.Tracer = tp
			}
			srv := New(opt)
			if err := srv.Load(context.Background(), cfg); err != nil {
				b.Fatal(err)
			}
			hs := httptest.NewServer(srv.Handler())
			defer hs.Close()
			b.ReportAllocs()
			for b.Loop() {
				resp, err := http.Post(hs.URL+"/v1/chat/completions", "application/json", bytes.NewReader(body))
				if err != nil || resp.StatusCode != 200 {
					b.Fatal(err, resp.StatusCode)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}
