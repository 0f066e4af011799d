package gateway

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/semroute/semroute/intents"
	"github.com/semroute/semroute/internal/telemetry"
	"github.com/semroute/semroute/moderation"
	"github.com/semroute/semroute/rag"
	"github.com/semroute/semroute/router"
	"github.com/semroute/semroute/router/judge"
	"github.com/semroute/semroute/router/upstream"
)

// The spans of a request (README "Traces"): the server's, and one per
// step under it. An upstream attempt's span is router/upstream's.
const (
	spanModerationIn  = "moderation.input"
	spanModerationOut = "moderation.output"
	spanEmbed         = "embed"
	spanDecision      = "decision"
	spanJudge         = "judge"
	spanCache         = "cache.lookup"
	spanRAG           = "rag.retrieve"
)

// Attributes of semroute's spans; prompts only with Options.Debug.
const (
	attrRequestID  = "semroute.request_id"
	attrIntent     = "semroute.intent"
	attrScore      = "semroute.score"
	attrTarget     = "semroute.target"
	attrDecidedBy  = "semroute.decided_by"
	attrFallback   = "semroute.fallback"
	attrReason     = "semroute.reason"
	attrPrompt     = "semroute.prompt"
	attrModel      = "semroute.model"
	attrCost       = "semroute.cost_usd"
	attrAction     = "semroute.moderation.action"
	attrCategories = "semroute.moderation.categories"
	attrCache      = "semroute.cache"
	attrJudgeModel = "semroute.judge.model"
	attrJudgeCache = "semroute.judge.cache"
	attrJudgeError = "semroute.judge.error"
	attrCollection = "semroute.rag.collection"
	attrPassages   = "semroute.rag.passages"
	attrTopSim     = "semroute.rag.top_similarity"
)

// tracer is the server's tracer, nil when tracing is off: then no step
// makes a span, allocates or reads a clock for one.
func tracerOf(tp trace.TracerProvider) trace.Tracer {
	if tp == nil {
		return nil
	}
	return tp.Tracer(telemetry.Tracer)
}

// untraced are the routes that get no span: probes and scrapes.
var untraced = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}

// traceRequest puts the request id in the request's context, for the
// upstream calls to send on, and, with tracing on, starts the server's
// span: a child of the caller's traceparent when it sent one.
func (s *Server) traceRequest(c *gin.Context) {
	ctx := telemetry.WithRequestID(c.Request.Context(), exchangeOf(c).id)
	if s.tr == nil || untraced[c.Request.URL.Path] {
		c.Request = c.Request.WithContext(ctx)
		return
	}
	ctx = propagation.TraceContext{}.Extract(ctx, propagation.HeaderCarrier(c.Request.Header))
	ctx, sp := s.tr.Start(ctx, c.Request.Method+" "+c.Request.URL.Path, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("http.request.method", c.Request.Method), attribute.String("url.path", c.Request.URL.Path)))
	c.Request = c.Request.WithContext(ctx)
	c.Next()
	x, code := exchangeOf(c), status(c)
	if route := c.FullPath(); route != "" {
		sp.SetName(c.Request.Method + " " + route)
		sp.SetAttributes(attribute.String("http.route", route))
	} else { // no route: the method alone, so that unknown paths make no new span names
		sp.SetName(c.Request.Method)
	}
	sp.SetAttributes(attribute.Int("http.response.status_code", code), attribute.String(attrRequestID, x.id))
	if x.intent != "" {
		sp.SetAttributes(attribute.String(attrIntent, x.intent), attribute.String(attrTarget, x.target.String()))
	}
	if x.model != "" {
		sp.SetAttributes(attribute.String(attrModel, x.model), attribute.Float64(attrCost, x.cost))
	}
	if code >= 500 {
		sp.SetStatus(codes.Error, http.StatusText(code))
	}
	sp.End()
}

// step starts a step's span under ctx's, or returns nil with tracing off.
// In a trace that is not sampled it makes none and returns ctx's own
// (non-recording) span, on which every call is a no-op: the upstreams
// still get the trace's traceparent, unsampled.
func (s *Server) step(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if s.tr == nil {
		return ctx, nil
	}
	if parent := trace.SpanFromContext(ctx); !parent.IsRecording() {
		return ctx, parent
	}
	ctx, sp := s.tr.Start(ctx, name, opts...)
	sp.SetAttributes(attribute.String(attrRequestID, telemetry.RequestID(ctx)))
	return ctx, sp
}

// routeTraced routes text as decide does, with the embed and decision
// spans (and the judge's, when it is asked). The router notes when the
// embedding was done, so the two spans are drawn after the fact from the
// times it gives: no span is made inside the router.
func (s *Server) routeTraced(c *gin.Context, st *state, x *exchange, text string, keepVec bool) (router.Decision, error) {
	var embedded time.Time
	ctx := c.Request.Context()
	start := time.Now()
	d, vec, err := st.router.RouteTimed(ctx, text, nil, &embedded)
	end := time.Now()
	if embedded.IsZero() { // the router failed before the embedding was done
		embedded = end
	}
	_, esp := s.step(ctx, spanEmbed, trace.WithTimestamp(start))
	esp.SetAttributes(attribute.String("semroute.embedder", st.router.Embedder().Fingerprint().String()))
	if err != nil && embedded.Equal(end) {
		esp.SetStatus(codes.Error, err.Error())
	}
	esp.End(trace.WithTimestamp(embedded))
	_, dsp := s.step(ctx, spanDecision, trace.WithTimestamp(embedded))
	if s.opt.Debug {
		dsp.SetAttributes(attribute.String(attrPrompt, text))
	}
	if keepVec {
		x.routed = routed{text, vec}
	}
	if err == nil && st.judge != nil {
		d = s.judged(c, st, d, text, vec)
	}
	if err != nil {
		dsp.SetStatus(codes.Error, err.Error())
	} else {
		dsp.SetAttributes(decisionAttrs(d)...)
	}
	dsp.End(trace.WithTimestamp(end))
	return d, err
}

// decisionAttrs are a decision's span attributes: intent ("" out of
// scope), score, target, who decided and why it fell back.
func decisionAttrs(d router.Decision) []attribute.KeyValue {
	intent := intents.OOS
	if d.Intent != nil {
		intent = *d.Intent
	}
	return []attribute.KeyValue{attribute.String(attrIntent, intent), attribute.Float64(attrScore, d.Score),
		attribute.String(attrTarget, d.Target.String()), attribute.String(attrDecidedBy, d.DecidedBy),
		attribute.Bool(attrFallback, d.Fallback), attribute.String(attrReason, d.Reason)}
}

// judgeRoute asks the routing judge about d (judge.Route), in the judge's
// span when it is asked: its upstream attempt is the span's child.
func (s *Server) judgeRoute(c *gin.Context, st *state, j *judge.Judge, d router.Decision, text string, vec []float32) (router.Decision, judge.Verdict, error) {
	ctx := c.Request.Context()
	if s.tr == nil || !j.Needed(d) {
		return j.Route(ctx, st.router, d, text, vec)
	}
	ctx, sp := s.step(ctx, spanJudge, trace.WithAttributes(attribute.String(attrJudgeModel, st.cfg.Routing.Judge.Model)))
	defer sp.End()
	out, v, err := j.Route(ctx, st.router, d, text, vec)
	if r := out.Judge; r != nil {
		choice := "none"
		if r.Intent != nil {
			choice = *r.Intent
		}
		sp.SetAttributes(attribute.String(attrIntent, choice), attribute.String(attrJudgeCache, r.Cache), attribute.Float64(attrCost, r.CostUSD))
		if r.Error != "" {
			sp.SetAttributes(attribute.String(attrJudgeError, r.Error))
			sp.SetStatus(codes.Error, r.Error)
		}
	}
	return out, v, err
}

// moderate is judge (moderation's check of texts) in the span name.
func (s *Server) moderate(c *gin.Context, st *state, name string, texts ...string) (verdict, [][]moderation.Span, error) {
	if s.tr == nil {
		return s.judge(c.Request.Context(), st, texts...)
	}
	ctx, sp := s.step(c.Request.Context(), name)
	defer sp.End()
	v, spans, err := s.judge(ctx, st, texts...)
	if err != nil {
		sp.SetStatus(codes.Error, err.Error())
		return v, spans, err
	}
	cats := make([]string, len(v.flags))
	for i, f := range v.flags {
		cats[i] = f.Category
	}
	sp.SetAttributes(attribute.String(attrAction, v.action), attribute.StringSlice(attrCategories, cats))
	if s.opt.Debug {
		sp.SetAttributes(attribute.String(attrPrompt, strings.Join(texts, "\n")))
	}
	return v, spans, err
}

// lookupCache is fromCache in the cache.lookup span, with its result
// (hit-exact, hit-semantic, miss, bypass, off:why).
func (s *Server) lookupCache(c *gin.Context, st *state, x *exchange, target intents.Target, req *chatRequest) (bool, func(upstream.Result)) {
	if s.tr == nil || st.cfg.Cache == nil {
		return s.fromCache(c, st, x, target, req)
	}
	_, sp := s.step(c.Request.Context(), spanCache)
	defer sp.End()
	answered, keep := s.fromCache(c, st, x, target, req)
	sp.SetAttributes(attribute.String(attrCache, c.Writer.Header().Get("X-Semroute-Cache")))
	return answered, keep
}

// retrieve is a collection's search in the rag.retrieve span.
func (s *Server) retrieve(ctx context.Context, col *rag.Collection, name string, q rag.Query) ([]rag.Passage, error) {
	if s.tr == nil {
		return col.Search(ctx, q)
	}
	ctx, sp := s.step(ctx, spanRAG, trace.WithAttributes(attribute.String(attrCollection, name),
		attribute.String("semroute.rag.mode", q.Mode), attribute.Int("semroute.rag.k", q.K)))
	defer sp.End()
	ps, err := col.Search(ctx, q)
	if err != nil {
		sp.SetStatus(codes.Error, err.Error())
		return ps, err
	}
	sp.SetAttributes(attribute.Int(attrPassages, len(ps)))
	if len(ps) > 0 {
		sp.SetAttributes(attribute.Float64(attrTopSim, ps[0].Similarity))
	}
	if s.opt.Debug {
		sp.SetAttributes(attribute.String(attrPrompt, q.Text))
	}
	return ps, nil
}
