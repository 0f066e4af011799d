package gateway

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/semroute/semroute/embed/local/localtest"
)

// headerLog keeps the trace and request-id headers each call to a fake
// upstream carried.
type headerLog struct {
	mu    sync.Mutex
	calls []http.Header
}

func (l *headerLog) record(u *upstreamFake, fail bool) {
	u.setFault(func(_ int64, w http.ResponseWriter, r *http.Request) bool {
		l.mu.Lock()
		l.calls = append(l.calls, http.Header{"Traceparent": r.Header.Values("Traceparent"),
			"Tracestate": r.Header.Values("Tracestate"), "X-Request-Id": r.Header.Values("X-Request-Id")})
		l.mu.Unlock()
		if fail {
			http.Error(w, `{"error":{"message":"down"}}`, http.StatusInternalServerError)
		}
		return fail
	})
}

func (l *headerLog) all() []http.Header {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]http.Header(nil), l.calls...)
}

// startTraced runs a gateway as startJudged does (the judge asked about
// every prompt, answering weather), with opt's tracer and debug setting.
func startTraced(t *testing.T, opt Options, extra string) (*harness, *judgeFake) {
	t.Helper()
	h := &harness{dir: t.TempDir(), fast: newUpstream(t, "fast"), strong: newUpstream(t, "strong")}
	jf := newJudgeFake(t)
	jf.answer = func(string, string) string { return `{"intent": "weather"}` }
	intentsPart := strings.Replace(intentsYAML, "routing: {threshold: 0.05}", "routing: {threshold: 0.05, judge: {model: judge, below: 1}}", 1)
	yaml := fmt.Sprintf("version: 1\nindex: {kind: memory, data_dir: %s}\nmodels:\n  - {name: fast, base_url: %s/v1, model: small-1, price: {input: 1, output: 2}}\n  - {name: strong, base_url: %s/v1, model: large-1, price: {input: 10, output: 20}}\n  - {name: judge, base_url: %s/v1, model: judge-1, price: {input: 1, output: 2}}\nupstream: {backoff_ms: 1, max_backoff_ms: 5}\n%s%s",
		filepath.Join(h.dir, "data"), h.fast.URL, h.strong.URL, jf.URL, extra, intentsPart)
	h.cfgPath = filepath.Join(h.dir, "config.yaml")
	if err := os.WriteFile(h.cfgPath, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, idx := openIndex(t, h.cfgPath)
	opt.LookupEnv, opt.ConfigPath, opt.Embedder, opt.Index, opt.Logger = os.LookupEnv, h.cfgPath, localtest.Open(t), idx, testLogger(t)
	h.srv = New(opt)
	if err := h.srv.Load(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	h.http = httptest.NewServer(h.srv.Handler())
	t.Cleanup(h.http.Close)
	return h, jf
}

// chatWith posts a chat completion with the given headers.
func (h *harness) chatWith(t *testing.T, text string, header map[string]string) (int, http.Header) {
	t.Helper()
	body := fmt.Sprintf(`{"model":"auto","temperature":0,"messages":[{"role":"user","content":%q}]}`, text)
	req, _ := http.NewRequest("POST", h.http.URL+"/v1/chat/completions", strings.NewReader(body))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header
}

// The caller's trace: semroute's server span must be its child.
const (
	callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	callerSpan  = "00f067aa0ba902b7"
	prompt      = "will it rain tomorrow in the garden"
)

// waitSpans waits for the server's span (it ends just after the answer
// is written) and returns every span recorded.
func waitSpans(t *testing.T, exp *tracetest.InMemoryExporter, server string) tracetest.SpanStubs {
	t.Helper()
	for range 500 {
		for _, s := range exp.GetSpans() {
			if s.Name == server {
				return exp.GetSpans()
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no span %q among %v", server, names(exp.GetSpans()))
	return nil
}

func names(spans tracetest.SpanStubs) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return out
}

func attrs(s tracetest.SpanStub) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes {
		m[kv.Key] = kv.Value
	}
	return m
}

func byName(spans tracetest.SpanStubs, name string) []tracetest.SpanStub {
	var out []tracetest.SpanStub
	for _, s := range spans {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

// TestTraceOfAChat: one chat request makes a span per step, all in the
// caller's trace with the server's span as the caller's child: input
// moderation, embed, decision (with the intent, score, target and
// decided_by), the judge (with its own upstream attempt under it), the
// cache lookup, each upstream attempt (three on fast, which fails, then
// the fallback strong) and output moderation. The upstreams got a
// traceparent naming their attempt's span, and the request id. No span
// holds the prompt.
func TestTraceOfAChat(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	h, _ := startTraced(t, Options{Tracer: tp}, "moderation: {output: true}\ncache: {}\n")
	var fast, strong headerLog
	fast.record(h.fast, true)
	strong.record(h.strong, false)
	code, hd := h.chatWith(t, prompt, map[string]string{"Traceparent": "00-" + callerTrace + "-" + callerSpan + "-01", "X-Request-Id": "trace-test-1"})
	if code != 200 || hd.Get("X-Semroute-Model") != "strong" || hd.Get("X-Semroute-Intent") != "weather" {
		t.Fatalf("chat: %d %v", code, hd)
	}
	spans := waitSpans(t, exp, "POST /v1/chat/completions")

	server := byName(spans, "POST /v1/chat/completions")[0]
	if server.Parent.TraceID().String() != callerTrace || server.Parent.SpanID().String() != callerSpan || !server.Parent.IsRemote() {
		t.Errorf("the server span's parent is %v, want the caller's %s/%s", server.Parent, callerTrace, callerSpan)
	}
	if a := attrs(server); a["semroute.request_id"].AsString() != "trace-test-1" || a["http.response.status_code"].AsInt64() != 200 ||
		a["semroute.model"].AsString() != "strong" || a["http.route"].AsString() != "/v1/chat/completions" {
		t.Errorf("server span attributes %v", a)
	}
	for _, s := range spans {
		if s.SpanContext.TraceID().String() != callerTrace {
			t.Errorf("span %s is in trace %s, want the caller's", s.Name, s.SpanContext.TraceID())
		}
		if a := attrs(s); s.Name != "POST /v1/chat/completions" && a["semroute.request_id"].AsString() != "trace-test-1" {
			t.Errorf("span %s has request id %q", s.Name, a["semroute.request_id"].AsString())
		}
		for _, kv := range s.Attributes {
			if strings.Contains(kv.Value.Emit(), "rain tomorrow") {
				t.Errorf("span %s holds the prompt in %s without --debug", s.Name, kv.Key)
			}
		}
	}
	for _, name := range []string{"moderation.input", "embed", "decision", "judge", "cache.lookup", "moderation.output"} {
		got := byName(spans, name)
		if len(got) != 1 {
			t.Errorf("%d spans %s, want 1 (spans: %v)", len(got), name, names(spans))
			continue
		}
		if got[0].Parent.SpanID() != server.SpanContext.SpanID() {
			t.Errorf("span %s is not the server span's child", name)
		}
	}
	d := attrs(byName(spans, "decision")[0])
	if d["semroute.intent"].AsString() != "weather" || d["semroute.decided_by"].AsString() != "judge" ||
		d["semroute.target"].AsString() != hd.Get("X-Semroute-Target") || d["semroute.score"].AsFloat64() <= 0 ||
		fmt.Sprintf("%.4f", d["semroute.score"].AsFloat64()) != hd.Get("X-Semroute-Score") {
		t.Errorf("decision attributes %v; answer headers %v", d, hd)
	}
	if c := attrs(byName(spans, "cache.lookup")[0]); c["semroute.cache"].AsString() != "miss" {
		t.Errorf("cache.lookup %v, want a miss", c)
	}
	embed, decision := byName(spans, "embed")[0], byName(spans, "decision")[0]
	if embed.EndTime.After(decision.StartTime) || embed.StartTime.After(embed.EndTime) {
		t.Errorf("embed %v–%v does not come before decision %v", embed.StartTime, embed.EndTime, decision.StartTime)
	}

	attempts := byName(spans, "upstream.attempt")
	judgeSpan := byName(spans, "judge")[0]
	var onFast, onStrong, onJudge []tracetest.SpanStub
	for _, a := range attempts {
		switch attrs(a)["semroute.model"].AsString() {
		case "fast":
			onFast = append(onFast, a)
		case "strong":
			onStrong = append(onStrong, a)
		case "judge":
			onJudge = append(onJudge, a)
		}
	}
	if len(onFast) != 3 || len(onStrong) != 1 || len(onJudge) != 1 {
		t.Fatalf("attempts: %d on fast, %d on strong, %d on judge; want 3, 1, 1", len(onFast), len(onStrong), len(onJudge))
	}
	if onJudge[0].Parent.SpanID() != judgeSpan.SpanContext.SpanID() {
		t.Errorf("the judge's call is not the judge span's child")
	}
	for i, a := range onFast {
		at := attrs(a)
		if at["http.response.status_code"].AsInt64() != 500 || at["error.type"].AsString() != "server_error" ||
			at["semroute.retry"].AsBool() != (i > 0) || at["semroute.fallback"].AsBool() || at["semroute.deployment"].AsString() != h.fast.URL+"/v1" {
			t.Errorf("attempt %d on fast: %v", i+1, at)
		}
	}
	if at := attrs(onStrong[0]); at["http.response.status_code"].AsInt64() != 200 || !at["semroute.fallback"].AsBool() || at["semroute.attempt"].AsInt64() != 4 {
		t.Errorf("attempt on strong: %v", at)
	}

	// What the upstreams got: each call's traceparent names its own
	// attempt's span, in the caller's trace; the request id goes along.
	got := strong.all()
	if len(got) != 1 {
		t.Fatalf("strong was called %d times", len(got))
	}
	want := "00-" + callerTrace + "-" + onStrong[0].SpanContext.SpanID().String() + "-01"
	if got[0].Get("Traceparent") != want || got[0].Get("X-Request-Id") != "trace-test-1" {
		t.Errorf("strong got traceparent %q and request id %q, want %q and trace-test-1", got[0].Get("Traceparent"), got[0].Get("X-Request-Id"), want)
	}
	sent := map[string]bool{}
	for _, hd := range fast.all() {
		sent[hd.Get("Traceparent")] = true
	}
	for _, a := range onFast {
		if tp := "00-" + callerTrace + "-" + a.SpanContext.SpanID().String() + "-01"; !sent[tp] {
			t.Errorf("no call to fast carried %s (sent %v)", tp, sent)
		}
	}
}

// TestTracePromptOnlyWithDebug: with Debug the decision and moderation
// spans hold the prompt (semroute.prompt); TestTraceOfAChat shows none
// does without.
func TestTracePromptOnlyWithDebug(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	h, _ := startTraced(t, Options{Tracer: tp, Debug: true}, "moderation: {output: true}\n")
	if code, hd := h.chatWith(t, prompt, nil); code != 200 {
		t.Fatalf("chat: %d %v", code, hd)
	}
	spans := waitSpans(t, exp, "POST /v1/chat/completions")
	for _, name := range []string{"decision", "moderation.input"} {
		s := byName(spans, name)
		if len(s) != 1 || attrs(s[0])["semroute.prompt"].AsString() != prompt {
			t.Errorf("%s with --debug: %v, want semroute.prompt %q", name, s, prompt)
		}
	}
	// A new trace (no caller's): the root is semroute's server span.
	if s := byName(spans, "POST /v1/chat/completions")[0]; s.Parent.IsValid() {
		t.Errorf("the server span has parent %v without a traceparent", s.Parent)
	}
	// An unknown path's span is named by the method alone; probes get none.
	h.do(t, "GET", "/healthz", "", "")
	if code, _, _ := h.do(t, "POST", "/v1/no-such-thing", "", "{}"); code != 404 {
		t.Fatalf("unknown path: %d", code)
	}
	spans = waitSpans(t, exp, "POST")
	if a := attrs(byName(spans, "POST")[0]); a["url.path"].AsString() != "/v1/no-such-thing" || a["http.response.status_code"].AsInt64() != 404 {
		t.Errorf("unknown path's span %v", a)
	}
	if got := byName(spans, "GET /healthz"); len(got) != 0 {
		t.Errorf("/healthz traced: %v", got)
	}
}

// TestNoTracingSendsNoTraceparent: without a tracer no span is made and
// the upstream gets no traceparent, not even the caller's (semroute does
// not pass a caller's trace context through a hop it does not trace: the
// upstream's spans would claim the caller's span as their parent); it
// still gets the request id.
func TestNoTracingSendsNoTraceparent(t *testing.T) {
	h, _ := startTraced(t, Options{}, "")
	var fast headerLog
	fast.record(h.fast, false)
	code, hd := h.chatWith(t, prompt, map[string]string{"Traceparent": "00-" + callerTrace + "-" + callerSpan + "-01", "Tracestate": "k=v"})
	if code != 200 || hd.Get("X-Semroute-Model") != "fast" {
		t.Fatalf("chat: %d %v", code, hd)
	}
	got := fast.all()
	if len(got) != 1 {
		t.Fatalf("fast called %d times", len(got))
	}
	if got[0].Get("Traceparent") != "" || got[0].Get("Tracestate") != "" {
		t.Errorf("untraced call sent traceparent %q tracestate %q", got[0].Get("Traceparent"), got[0].Get("Tracestate"))
	}
	if id := got[0].Get("X-Request-Id"); id == "" || id != hd.Get("X-Request-Id") {
		t.Errorf("upstream got request id %q, the client %q", id, hd.Get("X-Request-Id"))
	}
}

// TestTraceOfARAGChat: a prompt routed to a collection has its retrieval's
// span, with the collection and what it found.
func TestTraceOfARAGChat(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	h, jf := startTraced(t, Options{Tracer: tp}, "server:\n  api_keys:\n    - {name: ops, sha256: "+sha("admin-secret")+", scope: admin}\n")
	jf.setAnswer(func(string, string) string { return `{"intent": "handbook"}` })
	code, _, _ := h.do(t, "POST", "/v1/rag/handbook/documents", "admin-secret", handbookDocs)
	if code != 200 {
		t.Fatalf("add document: %d", code)
	}
	if code, hd := h.chatWith(t, "how many vacation days do I get", map[string]string{"Authorization": "Bearer admin-secret"}); code != 200 || hd.Get("X-Semroute-Intent") != "handbook" {
		t.Fatalf("chat: %d %v", code, hd)
	}
	spans := waitSpans(t, exp, "POST /v1/chat/completions")
	r := byName(spans, "rag.retrieve")
	if len(r) != 1 {
		t.Fatalf("%d rag.retrieve spans among %v", len(r), names(spans))
	}
	a := attrs(r[0])
	if a["semroute.rag.collection"].AsString() != "handbook" || a["semroute.rag.passages"].AsInt64() < 1 || a["semroute.rag.top_similarity"].AsFloat64() <= 0 {
		t.Errorf("rag.retrieve attributes %v", a)
	}
	if _, ok := a["semroute.prompt"]; ok {
		t.Errorf("rag.retrieve holds the query without --debug")
	}
}

// TestUnsampledTraceRecordsNothing: with sample 0 a new trace records no
// span, and the upstream still gets its traceparent, flagged unsampled,
// so that the upstream does not record it either.
func TestUnsampledTraceRecordsNothing(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0))))
	h, _ := startTraced(t, Options{Tracer: tp}, "moderation: {output: true}\n")
	var fast headerLog
	fast.record(h.fast, false)
	if code, hd := h.chatWith(t, prompt, nil); code != 200 || hd.Get("X-Semroute-Model") != "fast" {
		t.Fatalf("chat: %d %v", code, hd)
	}
	if got := exp.GetSpans(); len(got) != 0 {
		t.Errorf("an unsampled request recorded %v", names(got))
	}
	got := fast.all()
	if len(got) != 1 {
		t.Fatalf("fast called %d times", len(got))
	}
	tp0 := got[0].Get("Traceparent")
	if len(tp0) != 55 || !strings.HasPrefix(tp0, "00-") || !strings.HasSuffix(tp0, "-00") || strings.Contains(tp0, "-00000000000000000000000000000000-") {
		t.Errorf("unsampled traceparent %q, want a valid one flagged 00", tp0)
	}
}
