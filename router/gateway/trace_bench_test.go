package gateway

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/semroute/semroute/embed/local/localtest"
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
	mock := benchUpstream(b)
	cfg := benchConfig(b, emb.Word, mock.URL)
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
				benchPost(b, hs.URL+"/v1/chat/completions", body)
			}
		})
	}
}
