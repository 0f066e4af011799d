package main

import (
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/semroute/semroute/embed/local/localtest"
	"github.com/semroute/semroute/router/config"
)

// TestTelemetrySettings: the config's telemetry section wins where it sets
// a value, the OTEL_* variables fill in the rest; a wrong variable is
// refused naming it; neither means off.
func TestTelemetrySettings(t *testing.T) {
	tenth := 0.1
	for _, tc := range []struct {
		name     string
		cfg      *config.TelemetryConfig
		env      map[string]string
		on       bool
		endpoint string
		sampler  string
		ratio    float64
		service  string
		err      string
	}{
		{name: "nothing: off"},
		{name: "config", cfg: &config.TelemetryConfig{OTLPEndpoint: "http://c:4318", Sample: &tenth}, on: true,
			endpoint: "http://c:4318/v1/traces", sampler: "parentbased_traceidratio", ratio: 0.1},
		{name: "config without sample: every trace", cfg: &config.TelemetryConfig{OTLPEndpoint: "http://c:4318/v1/traces", ServiceName: "edge"}, on: true,
			endpoint: "http://c:4318/v1/traces", sampler: "parentbased_always_on", ratio: 1, service: "edge"},
		{name: "base endpoint variable", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318/otlp/", "OTEL_SERVICE_NAME": "sr"}, on: true,
			endpoint: "http://c:4318/otlp/v1/traces", sampler: "parentbased_always_on", ratio: 1, service: "sr"},
		{name: "traces endpoint variable as it is", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://b:4318/t"}, on: true,
			endpoint: "http://b:4318/t", sampler: "parentbased_always_on", ratio: 1},
		{name: "config wins", cfg: &config.TelemetryConfig{OTLPEndpoint: "http://c:4318", Sample: &tenth},
			env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://env:4318", "OTEL_TRACES_SAMPLER": "always_on", "OTEL_SERVICE_NAME": "env"}, on: true,
			endpoint: "http://c:4318/v1/traces", sampler: "parentbased_traceidratio", ratio: 0.1, service: "env"},
		{name: "sampler variables", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.25"}, on: true,
			endpoint: "http://c:4318/v1/traces", sampler: "traceidratio", ratio: 0.25},
		{name: "disabled", cfg: &config.TelemetryConfig{OTLPEndpoint: "http://c:4318"}, env: map[string]string{"OTEL_SDK_DISABLED": "true"}},
		{name: "exporter none", cfg: &config.TelemetryConfig{OTLPEndpoint: "http://c:4318"}, env: map[string]string{"OTEL_TRACES_EXPORTER": "none"}},
		{name: "exporter zipkin", env: map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, err: "OTEL_TRACES_EXPORTER=zipkin: semroute exports traces over otlp only"},
		{name: "grpc", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, err: "OTEL_EXPORTER_OTLP_PROTOCOL=grpc: semroute exports over OTLP/HTTP only"},
		{name: "bad endpoint", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "c:4318"}, err: `OTEL_EXPORTER_OTLP_ENDPOINT: "c:4318" is not an http(s) URL`},
		{name: "bad ratio", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_SAMPLER_ARG": "2"}, err: "OTEL_TRACES_SAMPLER_ARG=2: 2 is outside [0, 1]"},
		{name: "bad sampler", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_SAMPLER": "xray"}, err: `OTEL_TRACES_SAMPLER: unknown sampler "xray"`},
		{name: "bad timeout", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_EXPORTER_OTLP_TIMEOUT": "soon"}, err: "OTEL_EXPORTER_OTLP_TIMEOUT=soon: want a timeout in milliseconds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, on, err := telemetrySettings(tc.cfg, func(k string) string { return tc.env[k] })
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || on != tc.on {
				t.Fatalf("on %v, err %v; want on %v", on, err, tc.on)
			}
			if on && (s.Endpoint != tc.endpoint || s.Sampler != tc.sampler || s.Ratio != tc.ratio || s.ServiceName != tc.service) {
				t.Errorf("settings %+v", s)
			}
		})
	}
}

// otlpSink counts the OTLP/HTTP posts it gets and keeps the spans' names
// and trace ids.
type otlpSink struct {
	*httptest.Server
	mu    sync.Mutex
	posts int
	spans map[string]string // name → trace id
}

func newOTLPSink(t *testing.T) *otlpSink {
	s := &otlpSink{spans: map[string]string{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var msg coltracepb.ExportTraceServiceRequest
		err := proto.Unmarshal(raw, &msg)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.posts++
		if err != nil || r.URL.Path != "/v1/traces" {
			http.Error(w, "want a protobuf ExportTraceServiceRequest at /v1/traces", http.StatusBadRequest)
			return
		}
		for _, rs := range msg.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				for _, sp := range ss.Spans {
					s.spans[sp.Name] = hex.EncodeToString(sp.TraceId)
				}
			}
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	t.Cleanup(s.Close)
	return s
}

// serveOnce runs serve on the demo config, routes one prompt with a
// caller's traceparent, stops it, and returns its log.
func serveOnce(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--config", demoConfig(t), "--addr", "127.0.0.1:0"}, strings.NewReader(""), io.Discard, &stderr)
	}()
	addrRE := regexp.MustCompile(`listening on (http://[0-9.:]+)`)
	var base string
	for deadline := time.Now().Add(20 * time.Second); base == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := addrRE.FindStringSubmatch(stderr.String()); m != nil {
			if resp, err := http.Get(m[1] + "/readyz"); err == nil && resp.StatusCode == 200 {
				resp.Body.Close()
				base = m[1]
			}
		}
	}
	if base == "" {
		t.Fatalf("the service did not become ready:\n%s", stderr.String())
	}
	req, _ := http.NewRequest("POST", base+"/v1/route", strings.NewReader(`{"input":"I forgot my password"}`))
	req.Header.Set("Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve exited %d:\n%s", code, stderr.String())
	}
	return stderr.String()
}

// TestServeExportsTraces: serve with OTEL_EXPORTER_OTLP_ENDPOINT set sends
// a request's spans (in the caller's trace) to the collector by the time
// it has stopped; with OTEL_SDK_DISABLED=true it sends the same collector
// nothing, and with no endpoint anywhere it starts no tracing.
func TestServeExportsTraces(t *testing.T) {
	localtest.Open(t)
	for _, k := range []string{"OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL",
		"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG", "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Run("on", func(t *testing.T) {
		sink := newOTLPSink(t)
		t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", sink.URL)
		serveOnce(t)
		sink.mu.Lock()
		defer sink.mu.Unlock()
		for _, name := range []string{"POST /v1/route", "embed", "decision"} {
			if sink.spans[name] != "4bf92f3577b34da6a3ce929d0e0e4736" {
				t.Errorf("span %q: trace %q (spans %v)", name, sink.spans[name], sink.spans)
			}
		}
	})
	t.Run("disabled", func(t *testing.T) {
		sink := newOTLPSink(t)
		t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", sink.URL)
		t.Setenv("OTEL_SDK_DISABLED", "true")
		serveOnce(t)
		sink.mu.Lock()
		defer sink.mu.Unlock()
		if sink.posts != 0 {
			t.Errorf("serve with OTEL_SDK_DISABLED=true posted %d times to the collector", sink.posts)
		}
	})
	t.Run("no variable", func(t *testing.T) {
		t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
		os.Unsetenv("OTEL_EXPORTER_OTLP_ENDPOINT")
		if log := serveOnce(t); strings.Contains(log, "tracing on") {
			t.Errorf("serve traced with no endpoint anywhere:\n%s", log)
		}
	})
}
