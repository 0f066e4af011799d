package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/semroute/semroute/router/config"
)

// Request is a chat completion request as the client sent it.
type Request struct {
	// Body holds every field of the client's JSON body, untouched; an
	// OpenAI-compatible upstream gets them all back with model replaced.
	Body map[string]json.RawMessage
	// Raw is the body as the client sent it, when nothing in Body was
	// changed since: it is sent on with only the model's value replaced.
	Raw      []byte
	Stream   bool
	Messages []Message
}

// Message is one chat message; Content is its text (the text parts of an
// array content, joined).
type Message struct {
	Role    string
	Content string
}

// Usage is the token usage an upstream reported, or estimated when it
// reported none (see estimate).
type Usage struct {
	PromptTokens     int  `json:"prompt_tokens"`
	CompletionTokens int  `json:"completion_tokens"`
	Estimated        bool `json:"-"`
}

// Result is a successful call.
type Result struct {
	Model      string // the configured model name that answered
	Deployment string
	// Body is the OpenAI-format response (not for streams).
	Body     []byte
	Usage    Usage
	Cost     float64 // USD, from Usage and the model's price
	Attempts int
}

// Stream receives a streamed answer as OpenAI-format SSE bytes.
type Stream interface {
	// Attempting is told which model the next bytes will come from.
	Attempting(model string)
	// Write sends SSE bytes to the client; the first call commits the
	// response. It must not keep p.
	Write(p []byte) error
	// Started reports whether anything has been written.
	Started() bool
}

// Observer hears about calls, for metrics. Every method may be called from
// many goroutines.
type Observer interface {
	Attempt(model, deployment string, d time.Duration, err *Error)
	Retry(model string)
	Breaker(model, deployment string, open bool)
}

type nopObserver struct{}

func (nopObserver) Attempt(string, string, time.Duration, *Error) {}
func (nopObserver) Retry(string)                                  {}
func (nopObserver) Breaker(string, string, bool)                  {}

// provider talks to one kind of upstream.
type provider interface {
	chat(ctx context.Context, m *Model, d *Deployment, req *Request, s Stream) (body []byte, u Usage, err error)
}

// Model is a configured model and its deployments.
type Model struct {
	config.Model
	deps     []*Deployment
	provider provider
	// missing names an API key variable that is not set; the model is then
	// unconfigured and skipped.
	missing string
	mu      sync.Mutex
	rr      int // round robin among equals
}

// Deployment is one endpoint of a model.
type Deployment struct {
	BaseURL  string
	h1       *h1Target // where the plain-HTTP client posts, nil for net/http
	apiKey   string
	weight   int
	current  int // smooth weighted round robin state, under Model.mu
	inFlight atomic.Int64
	latency  atomic.Uint64 // EWMA seconds, float64 bits
	br       breaker
	llm      any // the provider's client for this deployment, lazily made
	llmOnce  sync.Once
	llmErr   error
	// noStreamOptions: the upstream refused stream_options, so its
	// streams are sent without it.
	noStreamOptions atomic.Bool
}

// Pool is the set of configured models.
type Pool struct {
	models  map[string]*Model
	cfg     config.UpstreamConfig
	obs     Observer
	client  *http.Client
	h1      *h1Client // for http:// deployments
	sleep   func(ctx context.Context, d time.Duration) error
	jitter  func() float64
	nowFunc func() time.Time
}

// NewPool builds the models of cfg. API keys are the values lookup gives
// now for the variables the models' api_key_env name (cmd passes its
// environment's; this package reads none itself; nil finds none); a model
// whose key variable is unset is kept but unconfigured.
func NewPool(cfg *config.Config, obs Observer, lookup func(string) (string, bool)) *Pool {
	if lookup == nil {
		lookup = func(string) (string, bool) { return "", false }
	}
	if obs == nil {
		obs = nopObserver{}
	}
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   true,
	}
	p := &Pool{models: map[string]*Model{}, cfg: cfg.Upstream, obs: obs, client: &http.Client{Transport: tr}, h1: newH1Client(),
		sleep: sleepCtx, jitter: rand.Float64, nowFunc: time.Now}
	for _, mc := range cfg.Models {
		m := &Model{Model: mc}
		switch mc.Provider {
		case "anthropic", "ollama":
			m.provider = langchainProvider{pool: p}
		default:
			m.provider = openaiProvider{pool: p}
		}
		deps := mc.Deployments
		if len(deps) == 0 {
			deps = []config.Deployment{{BaseURL: mc.BaseURL, APIKeyEnv: mc.APIKeyEnv, Weight: 1}}
		}
		for _, dc := range deps {
			keyEnv := dc.APIKeyEnv
			if keyEnv == "" {
				keyEnv = mc.APIKeyEnv
			}
			d := &Deployment{BaseURL: dc.BaseURL, weight: max(dc.Weight, 0)}

			if dc.Weight == 0 {
				d.weight = 1
			}
			if keyEnv != "" {
				d.apiKey, _ = lookup(keyEnv)
				if d.apiKey == "" {
					m.missing = keyEnv
				}
			}
			// A key with a control character would break the request's
			// head: net/http refuses it with an error that says so.
			if m.provider == (openaiProvider{pool: p}) && !strings.ContainsFunc(d.apiKey, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
				d.h1 = h1For(dc.BaseURL, "chat/completions")
			}
			m.deps = append(m.deps, d)
		}
		p.models[mc.Name] = m
	}
	return p
}

// Model returns the named model, or nil.
func (p *Pool) Model(name string) *Model { return p.models[name] }

// Unconfigured names the unset variable that keeps model m from being
// called, or "".
func (m *Model) Unconfigured() string { return m.missing }

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Call sends req to the first model of tier that answers, retrying and
// falling back as configured. On failure the error is the last model's
// *Error, and stream.Started() says whether part of an answer went out;
// the Result then has that part's model, usage and cost.
func (p *Pool) Call(ctx context.Context, tier []string, req *Request, stream Stream) (Result, error) {
	var last *Error
	attempts := 0
	for i, name := range tier {
		m := p.models[name]
		if m == nil {
			last = &Error{Model: name, Kind: KindUnconfigured, Err: fmt.Errorf("model %q is not defined", name)}
			continue
		}
		if m.missing != "" {
			last = &Error{Model: name, Kind: KindUnconfigured, Err: fmt.Errorf("model %s is not configured: set %s (its api_key_env) to its API key", name, m.missing)}
			p.obs.Attempt(name, "", 0, last)
			continue
		}
		var buf [4]*Deployment
		failed := buf[:0] // the model's deployments that failed this call
		retries := *p.cfg.Retries
		for try := 0; try <= retries; try++ {
			d := m.pick(p.nowFunc(), failed)
			if d == nil {
				last = &Error{Model: name, Kind: KindBreakerOpen, Err: errors.New("every deployment's circuit breaker is open")}
				p.obs.Attempt(name, "", 0, last)
				break // the next model
			}
			if try > 0 {
				p.obs.Retry(name)
				// Another deployment is tried at once; one that failed
				// only after the backoff.
				if slices.Contains(failed, d) {
					if err := p.sleep(ctx, p.backoff(try, last)); err != nil {
						d.br.release()
						return Result{Attempts: attempts}, &Error{Model: name, Kind: KindCanceled, Err: err}
					}
				}
			}
			attempts++
			if stream != nil {
				stream.Attempting(name)
			}
			actx, sp := startAttempt(ctx, m, d, attempts, try, i > 0)
			res, err := p.attempt(actx, m, d, req, stream)
			endAttempt(sp, err)
			if err == nil {
				res.Attempts = attempts
				return res, nil
			}
			last = err
			if stream != nil && stream.Started() || !err.Retryable() || ctx.Err() != nil {
				res.Attempts = attempts // with a started stream's usage
				return res, err
			}
			if !slices.Contains(failed, d) {
				failed = append(failed, d)
			}
		}
	}
	if last == nil {
		last = &Error{Kind: KindUnconfigured, Err: errors.New("the target names no model")}
	}
	return Result{Attempts: attempts}, last
}

// backoff is the delay before retry try (1, 2, …): exponential with full
// jitter, at least the upstream's Retry-After, at most MaxBackoffMS.
func (p *Pool) backoff(try int, last *Error) time.Duration {
	base := time.Duration(p.cfg.BackoffMS) * time.Millisecond
	ceil := time.Duration(p.cfg.MaxBackoffMS) * time.Millisecond
	d := time.Duration(float64(base) * math.Pow(2, float64(try-1)) * (0.5 + p.jitter()/2))
	if last != nil && last.RetryAfter > d {
		d = last.RetryAfter
	}
	return min(d, ceil)
}

// attempt makes one call to deployment d and tells its breaker, the
// latency balance and the observer how it went. A call the caller gave up
// on (ctx done: its client went away, not the call's own timeout_ms) is
// neither: it only gives back a half-open breaker's trial.
func (p *Pool) attempt(ctx context.Context, m *Model, d *Deployment, req *Request, s Stream) (Result, *Error) {
	d.inFlight.Add(1)
	start := p.nowFunc()
	body, usage, err := m.provider.chat(ctx, m, d, req, s)
	took := p.nowFunc().Sub(start)
	d.inFlight.Add(-1)
	var ue *Error
	if err != nil && !errors.As(err, &ue) {
		ue = classify(m.Name, d.BaseURL, err)
	}
	if ue != nil {
		ue.Model, ue.Deployment = m.Name, d.BaseURL
		if ctx.Err() != nil { // the caller's own context, not the call's timeout
			ue.Kind = KindCanceled
		}
	}
	switch {
	case ue == nil:
		p.obs.Attempt(m.Name, d.BaseURL, took, nil)
		d.observeLatency(took.Seconds())
		if d.br.success() {
			p.obs.Breaker(m.Name, d.BaseURL, false)
		}
	case ue.Kind == KindCanceled, ue.Kind == KindClient:
		// Says nothing about the deployment's health.
		if ue.Kind == KindClient {
			p.obs.Attempt(m.Name, d.BaseURL, took, ue)
		}
		d.br.release()
	default:
		p.obs.Attempt(m.Name, d.BaseURL, took, ue)
		if d.br.failure(p.nowFunc(), p.cfg.BreakerFailures, time.Duration(p.cfg.BreakerCooldownMS)*time.Millisecond) {
			p.obs.Breaker(m.Name, d.BaseURL, true)
		}
	}
	if ue != nil && (s == nil || !s.Started()) {
		return Result{}, ue
	}
	// Also what the part of a broken stream that went out cost.
	cost := (float64(usage.PromptTokens)*m.Price.Input + float64(usage.CompletionTokens)*m.Price.Output) / 1e6
	res := Result{Model: m.Name, Deployment: d.BaseURL, Body: body, Usage: usage, Cost: cost}
	if ue != nil {
		return res, ue
	}
	return res, nil
}

func (d *Deployment) observeLatency(s float64) {
	for {
		old := d.latency.Load()
		v := math.Float64frombits(old)
		nv := s
		if v > 0 {
			nv = 0.8*v + 0.2*s
		}
		if d.latency.CompareAndSwap(old, math.Float64bits(nv)) {
			return
		}
	}
}

// pick chooses a deployment whose breaker lets a request through, by the
// model's balance policy, among those not in failed if any is left; nil
// when none lets it through.
func (m *Model) pick(now time.Time, failed []*Deployment) *Deployment {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ok []*Deployment
	for _, d := range m.deps {
		if d.br.allows(now) && !slices.Contains(failed, d) {
			ok = append(ok, d)
		}
	}
	if len(ok) == 0 && len(failed) > 0 { // only those that failed are left
		for _, d := range failed {
			if d.br.allows(now) {
				ok = append(ok, d)
			}
		}
	}
	if len(ok) == 0 {
		return nil
	}
	var best *Deployment
	switch m.Balance {
	case "least_in_flight":
		m.rr++
		for i := range ok {
			d := ok[(i+m.rr)%len(ok)]
			if best == nil || d.inFlight.Load() < best.inFlight.Load() {
				best = d
			}
		}
	case "latency":
		m.rr++
		for i := range ok {
			d := ok[(i+m.rr)%len(ok)]
			if d.latency.Load() == 0 { // not measured yet: try it
				best = d
				break
			}
			if best == nil || math.Float64frombits(d.latency.Load()) < math.Float64frombits(best.latency.Load()) {
				best = d
			}
		}
	default: // smooth weighted round robin
		total := 0
		for _, d := range ok {
			d.current += d.weight
			total += d.weight
			if best == nil || d.current > best.current {
				best = d
			}
		}
		best.current -= total
	}
	best.br.take(now)
	return best
}

// breaker is a deployment's circuit breaker: closed, open after enough
// failures in a row, half open (one trial request) after the cooldown.
type breaker struct {
	mu        sync.Mutex
	failures  int
	openUntil time.Time
	open      bool
	trial     bool // a half-open trial is in flight
}

func (b *breaker) allows(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return !b.open || (!now.Before(b.openUntil) && !b.trial)
}

// take marks a half-open trial as taken.
func (b *breaker) take(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.open && !now.Before(b.openUntil) {
		b.trial = true
	}
}

// release gives back a half-open trial that ended in neither a success nor
// a failure (the caller went away, or the upstream refused the request
// itself), so that the next request can be the trial.
func (b *breaker) release() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.trial = false
}

// success closes the breaker; it reports whether it was open.
func (b *breaker) success() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	was := b.open
	b.failures, b.open, b.trial = 0, false, false
	return was
}

// failure counts a failure; it reports whether the breaker opened now.
func (b *breaker) failure(now time.Time, threshold int, cooldown time.Duration) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures++
	if b.open { // the trial failed: stay open for another cooldown
		b.openUntil, b.trial = now.Add(cooldown), false
		return false
	}
	if threshold > 0 && b.failures >= threshold {
		b.open, b.openUntil = true, now.Add(cooldown)
		return true
	}
	return false
}
