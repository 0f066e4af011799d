package gateway

import (
	"compress/gzip"
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/semroute/semroute/internal/telemetry"
)

// otlpReceiver is a collector's OTLP/HTTP traces endpoint on loopback: it
// decodes each POST /v1/traces (protobuf) and keeps the spans.
type otlpReceiver struct {
	*httptest.Server
	mu       sync.Mutex
	spans    []*tracepb.Span
	services []string
	posts    int
	bad      []string // what it could not take
}

func newOTLPReceiver(t *testing.T) *otlpReceiver {
	r := &otlpReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.posts++
		if req.Method != http.MethodPost || req.URL.Path != "/v1/traces" || req.Header.Get("Content-Type") != "application/x-protobuf" {
			r.bad = append(r.bad, req.Method+" "+req.URL.Path+" "+req.Header.Get("Content-Type"))
			http.Error(w, "want POST /v1/traces in protobuf", http.StatusBadRequest)
			return
		}
		var body io.Reader = req.Body
		if req.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(req.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		raw, _ := io.ReadAll(body)
		var msg coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(raw, &msg); err != nil {
			r.bad = append(r.bad, "undecodable: "+err.Error())
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for _, rs := range msg.ResourceSpans {
			for _, kv := range rs.GetResource().GetAttributes() {
				if kv.Key == "service.name" {
					r.services = append(r.services, kv.GetValue().GetStringValue())
				}
			}
			for _, ss := range rs.ScopeSpans {
				r.spans = append(r.spans, ss.Spans...)
			}
		}
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(out)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *otlpReceiver) received() (spans []*tracepb.Span, services []string, posts int, bad []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*tracepb.Span(nil), r.spans...), append([]string(nil), r.services...), r.posts, append([]string(nil), r.bad...)
}

func otlpAttr(s *tracepb.Span, key string) string {
	for _, kv := range s.Attributes {
		if kv.Key == key {
			return kv.GetValue().GetStringValue()
		}
	}
	return ""
}

// TestTracesReachAnOTLPReceiver: with the provider cmd makes
// (telemetry.Start: the OTLP/HTTP exporter, batching), a chat request's
// spans arrive at a collector's endpoint on loopback, in protobuf, in the
// caller's trace, with the decision's attributes and semroute's service
// name.
func TestTracesReachAnOTLPReceiver(t *testing.T) {
	recv := newOTLPReceiver(t)
	tp, err := telemetry.Start(telemetry.Settings{Endpoint: recv.URL + "/v1/traces", Sampler: "parentbased_always_on", ServiceName: "semroute-test"})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := startTraced(t, Options{Tracer: tp}, "")
	code, hd := h.chatWith(t, prompt, map[string]string{"Traceparent": "00-" + callerTrace + "-" + callerSpan + "-01", "X-Request-Id": "otlp-test-1"})
	if code != 200 {
		t.Fatalf("chat: %d %v", code, hd)
	}
	// Shutdown flushes the batch: what serve does on its way out. The
	// server span ends just after the answer; Shutdown waits for it only
	// if it has ended, so wait for the handler first.
	h.http.Close()
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans, services, posts, bad := recv.received()
	if len(bad) > 0 || posts == 0 {
		t.Fatalf("the receiver got %d posts; refused %v", posts, bad)
	}
	byName := map[string]*tracepb.Span{}
	for _, s := range spans {
		if hex.EncodeToString(s.TraceId) != callerTrace {
			t.Errorf("span %s in trace %x, want the caller's", s.Name, s.TraceId)
		}
		byName[s.Name] = s
	}
	for _, name := range []string{"POST /v1/chat/completions", "embed", "decision", "judge", "upstream.attempt"} {
		if byName[name] == nil {
			t.Errorf("no span %s at the receiver (got %d spans)", name, len(spans))
		}
	}
	if d := byName["decision"]; d != nil {
		if otlpAttr(d, "semroute.intent") != "weather" || otlpAttr(d, "semroute.decided_by") != "judge" || otlpAttr(d, "semroute.request_id") != "otlp-test-1" {
			t.Errorf("decision span at the receiver: %v", d.Attributes)
		}
	}
	if s := byName["POST /v1/chat/completions"]; s != nil && hex.EncodeToString(s.ParentSpanId) != callerSpan {
		t.Errorf("server span's parent %x, want the caller's %s", s.ParentSpanId, callerSpan)
	}
	if len(services) == 0 || services[0] != "semroute-test" {
		t.Errorf("service names %v", services)
	}
}
