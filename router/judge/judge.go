package judge

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/semroute/semroute/intents"
	"github.com/semroute/semroute/router/cache"
)

// Completion is a model's answer to the judge's prompt.
type Completion struct {
	Text  string  // the answer's text
	Model string  // the configured model that answered
	Cost  float64 // US dollars
}

// Completer is the judge's one model call.
type Completer interface {
	Complete(ctx context.Context, messages []Message) (Completion, error)
}

// CompleterFunc makes a function a Completer.
type CompleterFunc func(ctx context.Context, messages []Message) (Completion, error)

// Complete calls f.
func (f CompleterFunc) Complete(ctx context.Context, messages []Message) (Completion, error) {
	return f(ctx, messages)
}

// Cache keeps the judge's answers: router/cache's in-process cache, or
// the PostgreSQL one (router/cache/cachepg) that replicas share.
type Cache interface {
	Get(k cache.Key, threshold float64) (cache.Entry, string, bool)
	Put(k cache.Key, e cache.Entry)
}

// Options configure a Judge. Only Timeout matters to Choose without a
// cache; Below, TopK and Examples are for Route.
type Options struct {
	// Timeout bounds a call (0: the context's own deadline only).
	Timeout time.Duration
	// Cache, when set, keeps answers; SemanticThreshold > 0 also reuses
	// the answer for a prompt whose embedding is at least that close.
	Cache             Cache
	SemanticThreshold float64
	// Version names what answers depend on besides the prompt and the
	// candidates (the model and the intent set: see Version); it is part
	// of every cache key, so a new one invalidates the cached answers.
	Version string
	// Model names the judge's model in reports when a call gave none
	// (a timeout, an error).
	Model string
	// Below, TopK and Examples: see config.JudgeConfig.
	Below    float64
	TopK     int
	Examples int
}

// Judge asks a model to choose among candidate intents. It is safe for
// concurrent use.
type Judge struct {
	llm Completer
	opt Options
}

// New makes a judge that calls llm.
func New(llm Completer, opt Options) *Judge { return &Judge{llm: llm, opt: opt} }

// WithCompleter returns a judge like j that calls llm: the gateway gives
// each request a caller that books its cost to the request's key.
func (j *Judge) WithCompleter(llm Completer) *Judge { c := *j; c.llm = llm; return &c }

// Verdict is the judge's choice and what it took.
type Verdict struct {
	// Intent is the chosen candidate's name; nil when none fits (the
	// prompt is out of scope).
	Intent *string
	// Model and Cost are the call's (zero from the cache); Cost is set
	// even when the answer did not count, as it was paid for.
	Model   string
	Cost    float64
	Latency time.Duration
	Cached  string // exact or semantic when the answer came from the cache
}

// ErrNoCandidates is returned when there is nothing to choose from.
var ErrNoCandidates = errors.New("no candidate intents to choose from")

// Choose asks which candidate fits prompt, or none. An error (a timeout,
// a failed call, ErrMalformed, ErrNotOffered) means the judge gave no
// answer that counts; the Verdict then still reports the call's model,
// cost and latency.
func (j *Judge) Choose(ctx context.Context, prompt string, candidates []Candidate) (Verdict, error) {
	return j.ChooseVec(ctx, prompt, nil, candidates)
}

// ChooseVec is Choose with the prompt's unit embedding, for the cache's
// semantic matches (nil: exact matches only).
func (j *Judge) ChooseVec(ctx context.Context, prompt string, vec []float32, candidates []Candidate) (Verdict, error) {
	start := time.Now()
	if len(candidates) == 0 {
		return Verdict{}, ErrNoCandidates
	}
	key := j.key(prompt, vec, candidates)
	if v, ok := j.cached(key, candidates); ok {
		v.Latency = time.Since(start)
		return v, nil
	}
	if j.opt.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, j.opt.Timeout)
		defer cancel()
	}
	c, err := j.llm.Complete(ctx, Prompt(prompt, candidates))
	v := Verdict{Model: c.Model, Cost: c.Cost, Latency: time.Since(start)}
	if err != nil {
		return v, fmt.Errorf("judge: %w", err)
	}
	if v.Intent, err = Parse(c.Text, candidates); err != nil {
		return v, fmt.Errorf("judge: %w", err)
	}
	if j.opt.Cache != nil {
		body, _ := json.Marshal(map[string]*string{"intent": v.Intent})
		j.opt.Cache.Put(key, cache.Entry{Body: body, Model: c.Model, Cost: c.Cost})
	}
	return v, nil
}

// cached is the cache's answer for key, when it names one of candidates
// (a semantic match was judged among others) or none.
func (j *Judge) cached(key cache.Key, candidates []Candidate) (Verdict, bool) {
	if j.opt.Cache == nil {
		return Verdict{}, false
	}
	threshold := 0.0
	if key.Vec != nil {
		threshold = j.opt.SemanticThreshold
	}
	e, kind, ok := j.opt.Cache.Get(key, threshold)
	if !ok {
		return Verdict{}, false
	}
	intent, err := Parse(string(e.Body), candidates)
	if err != nil {
		return Verdict{}, false
	}
	return Verdict{Intent: intent, Model: e.Model, Cached: kind}, true
}

// key is the cache key of a question: exact on the version, the
// candidates offered and the prompt; semantic within the version and the
// best candidate. A near-identical prompt has the same best intent, and
// the in-process cache scans only the 64 newest entries of a context: one
// context per best intent keeps the answers of 64 prompts for each.
func (j *Judge) key(prompt string, vec []float32, candidates []Candidate) cache.Key {
	h := sha256.New()
	fmt.Fprintf(h, "judge\x00%s\x00%s\x00", promptVersion, j.opt.Version)
	for _, c := range candidates {
		fmt.Fprintf(h, "%d:%s\x00", len(c.Name), c.Name)
	}
	h.Write([]byte(prompt))
	exact := h.Sum(nil)
	ctx := sha256.Sum256([]byte("judge\x00" + promptVersion + "\x00" + j.opt.Version + "\x00" + candidates[0].Name))
	return cache.Key{Exact: hex.EncodeToString(exact[:16]), Context: hex.EncodeToString(ctx[:16]), Vec: vec}
}

// promptVersion changes with System and Prompt, so that answers to an
// older prompt are not reused.
const promptVersion = "1"

// Version names a judge model and intent set for the cache: any change of
// either (a name, a description, an utterance, a target) gives another.
func Version(model string, list []intents.Intent) string {
	h := sha256.New()
	fmt.Fprintf(h, "%d:%s\x00", len(model), model)
	json.NewEncoder(h).Encode(list)
	return hex.EncodeToString(h.Sum(nil)[:12])
}
