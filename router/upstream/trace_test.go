package upstream

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/semroute/semroute/internal/telemetry"
	"github.com/semroute/semroute/router/config"
)

// heard is what an upstream heard: the trace and request-id headers.
type heard struct {
	mu sync.Mutex
	h  []http.Header
}

func (l *heard) keep(r *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.h = append(l.h, r.Header.Clone())
}

func (l *heard) last(t *testing.T) http.Header {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.h) != 1 {
		t.Fatalf("the upstream was called %d times, want 1", len(l.h))
	}
	return l.h[0]
}

const openAIAnswer = `{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1}}`

// tracedUpstreams are the three ways a call leaves: the plain-HTTP client
// (an http:// OpenAI-compatible base URL), net/http (https), and
// langchaingo's client (Anthropic) on net/http's transport.
func tracedUpstreams(t *testing.T) map[string]func(*heard) (*Pool, string) {
	return map[string]func(*heard) (*Pool, string){
		"plain http": func(l *heard) (*Pool, string) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				l.keep(r)
				io.WriteString(w, openAIAnswer)
			}))
			t.Cleanup(srv.Close)
			p, _, _ := testPool(t, poolConfig(config.Model{Name: "m", BaseURL: srv.URL + "/v1", Model: "x"}))
			if p.models["m"].deps[0].h1 == nil {
				t.Fatal("an http:// deployment is not on the plain-HTTP client")
			}
			return p, "m"
		},
		"https": func(l *heard) (*Pool, string) {
			srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				l.keep(r)
				io.WriteString(w, openAIAnswer)
			}))
			t.Cleanup(srv.Close)
			p, _, _ := testPool(t, poolConfig(config.Model{Name: "m", BaseURL: srv.URL + "/v1", Model: "x"}))
			p.client = srv.Client() // trusts the test server's certificate
			return p, "m"
		},
		"langchaingo": func(l *heard) (*Pool, string) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				l.keep(r)
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, `{"id":"msg_1","type":"message","role":"assistant","model":"c","content":[{"type":"text","text":"ok"}],"stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":1}}`)
			}))
			t.Cleanup(srv.Close)
			t.Setenv("SEMROUTE_TEST_TRACE_KEY", "k")
			cfg := poolConfig(config.Model{Name: "c", BaseURL: srv.URL + "/v1", Model: "c", APIKeyEnv: "SEMROUTE_TEST_TRACE_KEY"})
			cfg.Models[0].Provider = "anthropic"
			p, _, _ := testPool(t, cfg)
			return p, "c"
		},
	}
}

// TestAttemptsCarryTraceContext: each client sends the traceparent of the
// attempt's own span (a child of the caller's span, in its trace), the
// caller's tracestate, and the request id from the context.
func TestAttemptsCarryTraceContext(t *testing.T) {
	for name, up := range tracedUpstreams(t) {
		t.Run(name, func(t *testing.T) {
			var l heard
			p, model := up(&l)
			exp := tracetest.NewInMemoryExporter()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
			ts, _ := trace.ParseTraceState("vendor=abc")
			ctx := trace.ContextWithSpanContext(context.Background(), trace.SpanContext{}.WithTraceState(ts))
			ctx, parent := tp.Tracer("test").Start(ctx, "caller")
			ctx = telemetry.WithRequestID(ctx, "req-42")
			if _, err := p.Call(ctx, []string{model}, chatReq(""), nil); err != nil {
				t.Fatal(err)
			}
			parent.End()
			var attempt *tracetest.SpanStub
			for _, s := range exp.GetSpans() {
				if s.Name == "upstream.attempt" {
					attempt = &s
				}
			}
			if attempt == nil || attempt.Parent.SpanID() != parent.SpanContext().SpanID() {
				t.Fatalf("no attempt span under the caller's: %v", exp.GetSpans())
			}
			h := l.last(t)
			want := "00-" + parent.SpanContext().TraceID().String() + "-" + attempt.SpanContext.SpanID().String() + "-01"
			if h.Get("Traceparent") != want || h.Get("Tracestate") != "vendor=abc" || h.Get("X-Request-Id") != "req-42" {
				t.Errorf("the upstream heard traceparent %q, tracestate %q, request id %q; want %q, vendor=abc, req-42",
					h.Get("Traceparent"), h.Get("Tracestate"), h.Get("X-Request-Id"), want)
			}
		})
	}
}

// TestUntracedCallsSendNoTraceparent: a context without a span sends no
// trace headers on any client, the request id only; and one without
// either sends neither.
func TestUntracedCallsSendNoTraceparent(t *testing.T) {
	for name, up := range tracedUpstreams(t) {
		t.Run(name, func(t *testing.T) {
			var l heard
			p, model := up(&l)
			if _, err := p.Call(telemetry.WithRequestID(context.Background(), "req-7"), []string{model}, chatReq(""), nil); err != nil {
				t.Fatal(err)
			}
			if _, err := p.Call(context.Background(), []string{model}, chatReq(""), nil); err != nil {
				t.Fatal(err)
			}
			l.mu.Lock()
			defer l.mu.Unlock()
			if len(l.h) != 2 {
				t.Fatalf("%d calls", len(l.h))
			}
			for i, h := range l.h {
				if h.Get("Traceparent") != "" || h.Get("Tracestate") != "" {
					t.Errorf("call %d sent traceparent %q, tracestate %q untraced", i+1, h.Get("Traceparent"), h.Get("Tracestate"))
				}
			}
			if l.h[0].Get("X-Request-Id") != "req-7" || l.h[1].Values("X-Request-Id") != nil {
				t.Errorf("request ids %q then %q, want req-7 then none", l.h[0].Get("X-Request-Id"), l.h[1].Get("X-Request-Id"))
			}
		})
	}
}
