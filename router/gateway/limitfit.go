package gateway

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/semroute/semroute/intents"
	"github.com/semroute/semroute/router/upstream"
)

// How a model's fit to a request's limits is judged (README,
// "Per-request limits"):
//
//   - its estimated cost: the prompt's tokens (upstream.PromptTokens, the
//     bytes/4 estimate streams without usage are booked on) at its input
//     price, plus its output at its output price; the output is the
//     request's max_completion_tokens or max_tokens when set (the worst
//     case), else the model's observed mean completion tokens, else
//     defaultOutputTokens; times n when n > 1.
//   - its observed latency: the 90th percentile of its last
//     latencySamples successful calls (the time of a whole call, a
//     stream's included); a call cut at a request's max_latency_ms counts
//     as a sample of that limit. It fits when strictly under the limit; a
//     model with no sample yet fits.

const (
	// defaultOutputTokens is a model's output before any answer of its
	// was seen.
	defaultOutputTokens = 256
	// latencySamples is how many recent calls the latency percentile is
	// over, per model.
	latencySamples = 32
	// outputWeight is the weight of a new answer in the mean completion
	// tokens (exponentially weighted, so that it follows a model's
	// change).
	outputWeight = 0.2
)

// observed is what the gateway saw of each model, for the limits. It
// outlives reloads; it is per process, not shared between replicas.
type observed struct {
	mu     sync.Mutex
	models map[string]*modelStats
}

type modelStats struct {
	lat     [latencySamples]time.Duration
	n, next int
	out     float64 // mean completion tokens, 0 before the first answer
}

func (o *observed) stats(model string) *modelStats {
	if o.models == nil {
		o.models = map[string]*modelStats{}
	}
	m := o.models[model]
	if m == nil {
		m = &modelStats{}
		o.models[model] = m
	}
	return m
}

// latency records a call's time.
func (o *observed) latency(model string, d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	m := o.stats(model)
	m.lat[m.next] = d
	m.next = (m.next + 1) % latencySamples
	m.n = min(m.n+1, latencySamples)
}

// answered records an answer's completion tokens.
func (o *observed) answered(res upstream.Result) {
	o.mu.Lock()
	defer o.mu.Unlock()
	m := o.stats(res.Model)
	t := float64(res.Usage.CompletionTokens)
	if m.out == 0 {
		m.out = math.Max(t, 1)
	} else {
		m.out = (1-outputWeight)*m.out + outputWeight*t
	}
}

// p90 is model's 90th-percentile latency; false with no sample.
func (o *observed) p90(model string) (time.Duration, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	m := o.models[model]
	if m == nil || m.n == 0 {
		return 0, false
	}
	s := slices.Clone(m.lat[:m.n])
	slices.Sort(s)
	return s[int(math.Ceil(0.9*float64(len(s))))-1], true
}

// outputTokens is model's mean completion tokens, or defaultOutputTokens.
func (o *observed) outputTokens(model string) float64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	if m := o.models[model]; m != nil && m.out > 0 {
		return m.out
	}
	return defaultOutputTokens
}

// observers sends the pool's calls to the metrics and to observed.
type observers struct {
	upstream.Observer
	seen *observed
}

func (o observers) Attempt(model, dep string, d time.Duration, err *upstream.Error) {
	o.Observer.Attempt(model, dep, d, err)
	if err == nil && d > 0 {
		o.seen.latency(model, d)
	}
}

// fit is one model measured against a request's limits.
type fit struct {
	model    string
	cost     float64       // estimated USD
	latency  time.Duration // observed p90
	measured bool          // latency has samples
}

// fitOf estimates model for req.
func (s *Server) fitOf(st *state, req *chatRequest, model string) fit {
	out := float64(0)
	if mt, ok := intField(req.Body, "max_completion_tokens"); ok {
		out = float64(mt)
	} else if mt, ok := intField(req.Body, "max_tokens"); ok {
		out = float64(mt)
	} else {
		out = s.seen.outputTokens(model)
	}
	if n, ok := intField(req.Body, "n"); ok {
		out *= float64(n)
	}
	p := priceOf(st.cfg, model)
	f := fit{model: model, cost: (float64(upstream.PromptTokens(req.Messages))*p.Input + out*p.Output) / 1e6}
	f.latency, f.measured = s.seen.p90(model)
	return f
}

// intField reads a positive integer member of a body; false otherwise
// (the upstream refuses what is wrong).
func intField(body map[string]json.RawMessage, key string) (int, bool) {
	raw, ok := body[key]
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(string(raw))
	return n, err == nil && n > 0
}

// fits reports whether f is within l, alone or after spent and took of
// the stages before it (a cascade's).
func (l *limits) fits(f fit, spent float64, took time.Duration) bool {
	if l.hasCost && spent+f.cost > l.costUSD+centEpsilon {
		return false
	}
	// Strictly under: a call cut at the limit counts as a sample of it.
	return l.latency <= 0 || took+f.latency < l.latency
}

// limitTier keeps the models of tier that fit req's limits, in their
// order (the fallbacks among them kept). When a limit skipped one it says
// so in x-semroute-limit; when none fits it answers 422 (false).
func (s *Server) limitTier(c *gin.Context, st *state, req *chatRequest, tier intents.Models) (intents.Models, bool) {
	return s.limitModels(c, st, req, tier, false)
}

// limitCascade keeps the stages of a cascade that fit req's limits
// together: a stage whose answer is escalated has been paid for and waited
// on, so the worst case is the sum over the stages called. Stages are kept
// in order while the sums of their estimated costs and observed latencies
// fit; one that does not is dropped (the verifier's calls are not
// counted).
func (s *Server) limitCascade(c *gin.Context, st *state, req *chatRequest, stages intents.Models) (intents.Models, bool) {
	return s.limitModels(c, st, req, stages, true)
}

func (s *Server) limitModels(c *gin.Context, st *state, req *chatRequest, models intents.Models, summed bool) (intents.Models, bool) {
	l := req.limits
	if l == nil {
		return models, true
	}
	var kept intents.Models
	var skipped []string
	var all []fit
	spent, took := 0.0, time.Duration(0)
	for _, m := range models {
		f := s.fitOf(st, req, m)
		all = append(all, f)
		if !l.fits(f, spent, took) {
			skipped = append(skipped, m)
			continue
		}
		kept = append(kept, m)
		if summed {
			spent, took = spent+f.cost, took+f.latency
		}
	}
	if len(kept) == 0 {
		answerError(c, l.noneFits(all))
		return nil, false
	}
	if len(skipped) > 0 {
		c.Writer.Header().Set("X-Semroute-Limit", l.header(skipped))
	}
	return kept, true
}

// noneFits is the error when no model fits: it names the limit, the
// cheapest estimate or lowest latency there is, and every model
// considered.
func (l *limits) noneFits(all []fit) *requestError {
	cheapest, fastest := all[0], fit{}
	var parts []string
	for _, f := range all {
		if f.cost < cheapest.cost {
			cheapest = f
		}
		if f.measured && (fastest.model == "" || f.latency < fastest.latency) {
			fastest = f
		}
		p := fmt.Sprintf("%s (estimated %s USD", f.model, usd(f.cost))
		if f.measured {
			p += fmt.Sprintf(", p90 latency %d ms", f.latency.Milliseconds())
		}
		parts = append(parts, p+")")
	}
	var why []string
	param := ""
	if l.hasCost && cheapest.cost > l.costUSD+centEpsilon {
		why = append(why, fmt.Sprintf("max_cost_usd %s (from %s) is below the cheapest estimate, %s USD for %s",
			strconv.FormatFloat(l.costUSD, 'g', -1, 64), l.costFrom, usd(cheapest.cost), cheapest.model))
		param = metaCost
	}
	if l.latency > 0 && fastest.model != "" && fastest.latency >= l.latency {
		why = append(why, fmt.Sprintf("max_latency_ms %s is below the lowest observed latency, %d ms for %s",
			l.latencyFmt, fastest.latency.Milliseconds(), fastest.model))
		if param == "" {
			param = metaLatency
		}
	}
	if len(why) == 0 { // each limit excludes some, together all
		why = append(why, "no model is within both max_cost_usd and max_latency_ms")
		param = metaCost
	}
	return &requestError{kind: kindLimit, code: codeLimit, param: param,
		msg: "no model of this request's target fits its limits: " + strings.Join(why, "; ") + "; considered " + strings.Join(parts, ", ")}
}

func usd(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }
