package telemetry

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// TestOutgoingMatchesTheW3CPropagator: the headers written by hand (for
// the plain-HTTP client) and set on an http.Header are what
// OpenTelemetry's own W3C propagator writes, for sampled and unsampled
// spans, with and without a tracestate.
func TestOutgoingMatchesTheW3CPropagator(t *testing.T) {
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ts, _ := trace.ParseTraceState("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE")
	for _, sc := range []trace.SpanContext{
		trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}),
		trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid}),
		trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled, TraceState: ts}),
	} {
		want := http.Header{}
		propagation.TraceContext{}.Inject(trace.ContextWithSpanContext(context.Background(), sc), propagation.HeaderCarrier(want))
		ctx := WithRequestID(trace.ContextWithSpanContext(context.Background(), sc), "req-1")
		got := http.Header{}
		OutgoingOf(ctx).Set(got)
		head := string(OutgoingOf(ctx).AppendHead(nil))
		for _, k := range []string{"Traceparent", "Tracestate"} {
			if got.Get(k) != want.Get(k) {
				t.Errorf("Set: %s %q, the propagator's %q", k, got.Get(k), want.Get(k))
			}
			if v := want.Get(k); v != "" && !strings.Contains(head, "\r\n"+k+": "+v) {
				t.Errorf("AppendHead %q lacks %s: %s", head, k, v)
			}
		}
		if want.Get("Tracestate") == "" && strings.Contains(head, "Tracestate") {
			t.Errorf("AppendHead wrote an empty tracestate: %q", head)
		}
		if got.Get("X-Request-Id") != "req-1" || !strings.HasSuffix(head, "\r\nX-Request-Id: req-1") {
			t.Errorf("request id: header %q, head %q", got.Get("X-Request-Id"), head)
		}
	}
	if head := OutgoingOf(context.Background()).AppendHead(nil); len(head) != 0 {
		t.Errorf("an empty context wrote %q", head)
	}
}

// TestAppendHeadAllocatesNothing: the plain-HTTP client's head gains the
// trace headers without an allocation (no tracestate).
func TestAppendHeadAllocatesNothing(t *testing.T) {
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ctx := WithRequestID(trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid})), "req-1")
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { buf = OutgoingOf(ctx).AppendHead(buf[:0]) }); n != 0 {
		t.Errorf("%v allocations", n)
	}
}

func TestSampler(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ratio float64
		want  string // the sampler's description, "" for an error
	}{
		{"", 0.1, "ParentBased{root:TraceIDRatioBased{0.1}"},
		{"parentbased_traceidratio", 0.5, "ParentBased{root:TraceIDRatioBased{0.5}"},
		{"always_on", 1, "AlwaysOnSampler"},
		{"always_off", 1, "AlwaysOffSampler"},
		{"traceidratio", 0.25, "TraceIDRatioBased{0.25}"},
		{"parentbased_always_on", 1, "ParentBased{root:AlwaysOnSampler"},
		{"parentbased_always_off", 1, "ParentBased{root:AlwaysOffSampler"},
		{"jaeger_remote", 1, ""},
		{"traceidratio", 1.5, ""},
	} {
		s, err := Sampler(tc.name, tc.ratio)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("Sampler(%q, %v) = %s, want an error", tc.name, tc.ratio, s.Description())
		case tc.want != "" && (err != nil || !strings.HasPrefix(s.Description(), tc.want)):
			t.Errorf("Sampler(%q, %v) = %v, %v; want %s", tc.name, tc.ratio, s, err, tc.want)
		}
	}
}

func TestTracesURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:4318":                 "http://127.0.0.1:4318/v1/traces",
		"http://collector:4318/":                "http://collector:4318/v1/traces",
		"https://otel.example/custom/v1/traces": "https://otel.example/custom/v1/traces",
		"collector:4318":                        "",
		"ftp://x":                               "",
	} {
		got, err := TracesURL(in)
		if (want == "") != (err != nil) || got != want {
			t.Errorf("TracesURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestParseHeaders(t *testing.T) {
	h, err := ParseHeaders("api-key=secret%20value, x-tenant = acme")
	if err != nil || h["api-key"] != "secret value" || h["x-tenant"] != "acme" || len(h) != 2 {
		t.Errorf("ParseHeaders = %v, %v", h, err)
	}
	if _, err := ParseHeaders("api-key"); err == nil || !strings.Contains(err.Error(), "not key=value") {
		t.Errorf("a header without = : %v", err)
	}
}

func TestStartRefusesABadEndpoint(t *testing.T) {
	if _, err := Start(Settings{Endpoint: "collector:4318"}); err == nil || !strings.Contains(err.Error(), "is not an http(s) URL") {
		t.Errorf("Start: %v", err)
	}
	if _, err := Start(Settings{Endpoint: "http://127.0.0.1:1/v1/traces", Sampler: "sometimes"}); err == nil || !strings.Contains(err.Error(), `unknown sampler "sometimes"`) {
		t.Errorf("Start: %v", err)
	}
}
