package gateway

import (
	"regexp"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/semroute/semroute/router/upstream"
)

// metrics are the service's Prometheus series, on a registry of its own.
type metrics struct {
	reg          *prometheus.Registry
	requests     *prometheus.CounterVec
	decisions    *prometheus.CounterVec
	outOfScope   prometheus.Counter
	routed       prometheus.Counter
	routeLatency prometheus.Histogram
	upLatency    *prometheus.HistogramVec
	upErrors     *prometheus.CounterVec
	retries      *prometheus.CounterVec
	breaker      *prometheus.GaugeVec
	tokens       *prometheus.CounterVec
	cost         *prometheus.CounterVec
	usageSource  *prometheus.CounterVec
	tickets      *prometheus.CounterVec
	moderation   *prometheus.CounterVec
	cache        *prometheus.CounterVec
	cacheSaved   prometheus.Counter
	cacheStores  *prometheus.CounterVec
	spend        *prometheus.CounterVec
	cascade      *prometheus.CounterVec
	cascadeSaved prometheus.Counter
	cascadeExtra prometheus.Counter
	armRequests  *prometheus.CounterVec
	armLatency   *prometheus.HistogramVec
	armCost      *prometheus.CounterVec
	canaryState  *prometheus.GaugeVec
	judge        *prometheus.CounterVec
	judgeLatency prometheus.Histogram
	suggestions  *prometheus.CounterVec
	// feedback counts feedback by routed intent and rating;
	// recordFailures the route records that could not be written.
	feedback       *prometheus.CounterVec
	recordFailures prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "semroute_requests_total", Help: "HTTP requests by route and status."}, []string{"route", "status"})
	m.decisions = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "semroute_decisions_total", Help: "Routing decisions by intent (oos when out of scope), target, and who decided (embedding or judge)."}, []string{"intent", "target", "decided_by"})
	m.outOfScope = prometheus.NewCounter(prometheus.CounterOpts{Name: "semroute_out_of_scope_total", Help: "Decisions that went to the fallback; divide by semroute_routed_total for the out-of-scope rate."})
	m.routed = prometheus.NewCounter(prometheus.CounterOpts{Name: "semroute_routed_total", Help: "Routing decisions made."})
	m.routeLatency = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "semroute_routing_seconds", Help: "Time to embed, score and decide.",
		Buckets: prometheus.ExponentialBuckets(5e-6, 2, 14)})
	m.upLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "semroute_upstream_seconds", Help: "Upstream call time by model (streams: until the last byte).",
		Buckets: prometheus.ExponentialBuckets(1e-3, 2, 16)}, []string{"model"})
	m.upErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "semroute_upstream_errors_total", Help: "Failed upstream attempts by model and kind."}, []string{"model", "kind"})
	m.retries = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "semroute_upstream_retries_total", Help: "Retries by model."}, []string{"model"})
	m.breaker = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "semroute_breaker_open", Help: "1 while a deployment's circuit breaker is open."}, []string{"model", "deployment"})
	m.tokens = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "semroute_tokens_total", Help: "Tokens by model and kind (prompt, completion)."}, []string{"model", "kind"})
	m.cost = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "semroute_cost_usd_total", Help: "Cost in US dollars by model, from token usage and the configured prices."}, []string{"model"})
	m.usageSource = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "semroute_usage_source_total", Help: "Answers by model and where the token usage they were booked on came from: reported by the upstream, or estimated (UTF-8 bytes / 4) when it reported none."}, []string{"model", "source"})
	m.tickets = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "semroute_handoff_tickets_total", Help: "Handoff tickets by queue and event (created, claimed, replied, resolved)."}, []string{"queue", "event"})
	m.moderation = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "semroute_moderation_flags_total", Help: "Moderation findings by category and the action the policy took."}, []string{"category", "action"})
	m.cache = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "semroute_cache_lookups_total", Help: "Response cache lookups by result (hit_exact, hit_semantic, miss, bypass, off); hit ratio = hits / (hits + misses)."}, []string{"result"})
	m.cacheSaved = prometheus.NewCounter(prometheus.CounterOpts{Name: "semroute_cache_saved_usd_total", Help: "What the answers served from the cache cost when they were made."})
	m.cacheStores = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "semroute_cache_stores_total", Help: "Answers handed to the response cache, by result (stored, or dropped when the store queue is full)."}, []string{"result"})
	m.spend = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "semroute_spend_usd_total", Help: "Booked spend by API key name, team and model."}, []string{"key", "team", "model"})
	m.cascade = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "semroute_cascade_answers_total", Help: "Cascade answers by the model (stage) that gave them."}, []string{"model"})
	m.cascadeSaved = prometheus.NewCounter(prometheus.CounterOpts{Name: "semroute_cascade_saved_usd_total", Help: "Cost saved by cascades against sending the same answer's tokens to the strongest stage."})
	m.cascadeExtra = prometheus.NewCounter(prometheus.CounterOpts{Name: "semroute_cascade_extra_usd_total", Help: "What escalations cost beyond the strongest stage alone."})
	m.armRequests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "semroute_arm_requests_total", Help: "Requests by experiment or canary arm and outcome (ok, error)."}, []string{"arm", "outcome"})
	m.armLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "semroute_arm_seconds", Help: "Upstream time by arm.", Buckets: prometheus.ExponentialBuckets(1e-3, 2, 16)}, []string{"arm"})
	m.armCost = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "semroute_arm_cost_usd_total", Help: "Cost by arm."}, []string{"arm"})
	m.canaryState = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "semroute_canary_rolled_back", Help: "1 once a canary was rolled back."}, []string{"canary"})
	m.judge = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "semroute_judge_total", Help: "Routing judge consultations by result: chose, none (out of scope), cache_exact, cache_semantic, or why the answer did not count (malformed, not_offered, timeout, declined, error)."}, []string{"result"})
	m.judgeLatency = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "semroute_judge_seconds", Help: "Time of the routing judge's calls (cache hits aside).", Buckets: prometheus.ExponentialBuckets(1e-3, 2, 16)})
	m.suggestions = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "semroute_judge_suggestions_total", Help: "Judged prompts handed to the suggestions store, by result (stored, failed, too_long)."}, []string{"result"})
	m.feedback = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "semroute_feedback_total", Help: "Feedback by the intent the request was routed to (oos when out of scope) and rating (-1, 1, none); a correction names the right intent in the stored feedback."}, []string{"intent", "rating"})
	m.recordFailures = prometheus.NewCounter(prometheus.CounterOpts{Name: "semroute_feedback_record_failures_total", Help: "Routed requests whose record (for feedback) could not be written; their answers say X-Semroute-Feedback: unrecorded."})
	m.reg.MustRegister(m.feedback, m.recordFailures)
	m.reg.MustRegister(m.judge, m.judgeLatency, m.suggestions, m.armRequests, m.armLatency, m.armCost, m.canaryState, m.cascade, m.cascadeSaved, m.cascadeExtra, m.spend, m.cache, m.cacheSaved, m.cacheStores, m.moderation, m.tickets, m.requests, m.decisions, m.outOfScope, m.routed, m.routeLatency, m.upLatency, m.upErrors, m.retries, m.breaker, m.tokens, m.cost, m.usageSource,
		// The live heap (go_gc_heap_live_bytes) beside Go's defaults, to
		// compare with server.memory_limit_mb (go_gc_gomemlimit_bytes).
		collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(collectors.GoRuntimeMetricsRule{Matcher: regexp.MustCompile(`^/gc/heap/live:bytes$`)})),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Attempt, Retry and Breaker make metrics an upstream.Observer.
func (m *metrics) Attempt(model, _ string, d time.Duration, err *upstream.Error) {
	if d > 0 {
		m.upLatency.WithLabelValues(model).Observe(d.Seconds())
	}
	if err != nil {
		m.upErrors.WithLabelValues(model, err.Kind).Inc()
	}
}

func (m *metrics) Retry(model string) { m.retries.WithLabelValues(model).Inc() }

func (m *metrics) Breaker(model, dep string, open bool) {
	v := 0.0
	if open {
		v = 1
	}
	m.breaker.WithLabelValues(model, dep).Set(v)
}

func (m *metrics) usage(res upstream.Result) {
	m.tokens.WithLabelValues(res.Model, "prompt").Add(float64(res.Usage.PromptTokens))
	m.tokens.WithLabelValues(res.Model, "completion").Add(float64(res.Usage.CompletionTokens))
	m.cost.WithLabelValues(res.Model).Add(res.Cost)
	m.usageSource.WithLabelValues(res.Model, usageSource(res.Usage)).Inc()
}
