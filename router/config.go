package router

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/semroute/semroute/intents"
	"github.com/semroute/semroute/rag"
)

// Config is the whole semroute configuration, as written in YAML. Defaults
// are filled in by Load; Validate reports every problem at once.
type Config struct {
	Version  int            `yaml:"version"`
	Embedder EmbedderConfig `yaml:"embedder"`
	Index    IndexConfig    `yaml:"index"`
	Models   []Model        `yaml:"models"`
	// Upstream is how model calls fail over; Server is the HTTP service.
	Upstream UpstreamConfig `yaml:"upstream"`
	Server   ServerConfig   `yaml:"server"`
	// Moderation, when present, checks prompts (and, with output, answers).
	Moderation *ModerationConfig `yaml:"moderation,omitempty"`
	// Cache, when present, answers repeated requests without an upstream.
	Cache *CacheConfig `yaml:"cache,omitempty"`
	// Cascade configures cascade targets.
	Cascade *CascadeConfig `yaml:"cascade,omitempty"`
	// Segments override the routed target for matching requests, in order;
	// the first match wins.
	Segments []Segment `yaml:"segments,omitempty"`
	// Experiments split an intent's traffic among arms.
	Experiments []Experiment `yaml:"experiments,omitempty"`
	// Canaries send a share of a model's calls to a new model, and roll
	// back on their own when it misbehaves.
	Canaries []Canary `yaml:"canaries,omitempty"`
	// Teams group API key names, for budgets and spend.
	Teams map[string][]string `yaml:"teams,omitempty"`
	// Budgets cap spend per key, team, model or overall.
	Budgets []Budget `yaml:"budgets,omitempty"`
	// Handoff configures the queues for people.
	Handoff HandoffConfig `yaml:"handoff,omitempty"`
	// RAG are the document collections that rag targets name.
	RAG     []RAGCollection  `yaml:"rag,omitempty"`
	Routing RoutingConfig    `yaml:"routing"`
	Intents []intents.Intent `yaml:"intents"`
	// OutOfScope are examples of prompts that must not match any intent:
	// the head learns them as a class of their own, and a prompt nearest to
	// them goes to the fallback (reason matched_out_of_scope).
	OutOfScope []string `yaml:"out_of_scope,omitempty"`
	// Fallback is where out-of-scope prompts go.
	Fallback intents.Target `yaml:"fallback"`

	path string    // the file it was loaded from, for messages
	ast  *ast.File // the parsed file, to put line numbers on problems
	// decodeProblems are the values of the wrong type and unknown keys,
	// reported by Validate with its own problems.
	decodeProblems []Problem
	moreProblems   int // past maxProblems, only counted
}

// EmbedderConfig selects the embedder.
type EmbedderConfig struct {
	// Kind is "local" (the embedded default) or "openai" (any
	// OpenAI-compatible /v1/embeddings endpoint).
	Kind string `yaml:"kind"`
	// Path of the local vectors file; empty means the cache directory.
	Path string `yaml:"path,omitempty"`
	// For kind openai.
	BaseURL   string `yaml:"base_url,omitempty"`
	Model     string `yaml:"model,omitempty"`
	APIKeyEnv string `yaml:"api_key_env,omitempty"`
	Batch     int    `yaml:"batch,omitempty"`
	TimeoutMS int    `yaml:"timeout_ms,omitempty"`
	Retries   int    `yaml:"retries,omitempty"`
}

// IndexConfig selects where exemplars are stored.
type IndexConfig struct {
	// Kind is "memory" (chromem-go in process, persisted under DataDir) or
	// "pgvector" (PostgreSQL, shared by replicas).
	Kind    string `yaml:"kind"`
	DataDir string `yaml:"data_dir,omitempty"`
	// DSN of the PostgreSQL database; empty means $SEMROUTE_PG_DSN.
	DSN string `yaml:"dsn,omitempty"`
	// Schema holds semroute's tables (default semroute).
	Schema string `yaml:"schema,omitempty"`
	// HalfVec stores vectors as 16-bit floats, halving the memory.
	HalfVec bool `yaml:"halfvec,omitempty"`
	// EfSearch is hnsw.ef_search per query (default 100).
	EfSearch int `yaml:"ef_search,omitempty"`
}

// Model is an upstream model that model targets name.
type Model struct {
	Name      string `yaml:"name"`
	Provider  string `yaml:"provider,omitempty"` // openai (default), anthropic, ollama
	BaseURL   string `yaml:"base_url,omitempty"`
	Model     string `yaml:"model"`
	APIKeyEnv string `yaml:"api_key_env,omitempty"`
	TimeoutMS int    `yaml:"timeout_ms,omitempty"`
	// Deployments serve the same model from several endpoints or keys;
	// without them the model has one, from BaseURL and APIKeyEnv.
	Deployments []Deployment `yaml:"deployments,omitempty"`
	// Balance picks among deployments: weight (default), least_in_flight
	// or latency.
	Balance string `yaml:"balance,omitempty"`
	// Price is in US dollars per million tokens.
	Price Price `yaml:"price,omitempty"`
}

// Deployment is one endpoint of a model.
type Deployment struct {
	BaseURL   string `yaml:"base_url"`
	APIKeyEnv string `yaml:"api_key_env,omitempty"`
	Weight    int    `yaml:"weight,omitempty"` // default 1
}

// Price is a model's price in US dollars per million tokens.
type Price struct {
	Input  float64 `yaml:"input"`
	Output float64 `yaml:"output"`
}

// ModerationConfig is the moderation policy.
type ModerationConfig struct {
	Input  *bool `yaml:"input,omitempty"`  // check prompts before routing (default true)
	Output bool  `yaml:"output,omitempty"` // check answers; streams are then buffered
	// Actions map a category (pii, jailbreak, violence_weapons, self_harm,
	// sexual_minors, sexual_content, hate_harassment, malware_intrusion,
	// fraud, economic_crime, exploitation, disinformation, illegal_drugs,
	// privacy_abuse, or default) to block, redact, flag or
	// handoff. Defaults: pii redact, everything else block.
	Actions map[string]string `yaml:"actions,omitempty"`
	// HandoffQueue takes prompts whose action is handoff (default safety).
	HandoffQueue string `yaml:"handoff_queue,omitempty"`
	// Refusal answers blocked prompts.
	Refusal string `yaml:"refusal,omitempty"`
	// Exemplars replace the built-in ones (datasets/moderation/safety.jsonl).
	Exemplars string `yaml:"exemplars,omitempty"`
	// LearnIntents adds utterances of the intents (all but those whose
	// target is a moderation action) to the safe exemplars, up to 1,000
	// taken evenly across intents: they are what this deployment's users
	// ask (default true).
	LearnIntents *bool `yaml:"learn_intents,omitempty"`
	// External is an OpenAI-compatible /v1/moderations endpoint whose
	// findings join semroute's own.
	External *ExternalModeration `yaml:"external,omitempty"`
}

// ExternalModeration is an OpenAI-compatible moderation endpoint.
type ExternalModeration struct {
	BaseURL   string `yaml:"base_url"`
	Model     string `yaml:"model,omitempty"`
	APIKeyEnv string `yaml:"api_key_env,omitempty"`
	TimeoutMS int    `yaml:"timeout_ms,omitempty"` // default 5000
	// Combine is how its verdict joins semroute's: any (either flags it,
	// default) or both (a category counts only when both flag the text as
	// unsafe).
	Combine string `yaml:"combine,omitempty"`
	// OnError: open (go on with semroute's own findings, default) or
	// closed (block when the endpoint fails).
	OnError string `yaml:"on_error,omitempty"`
}

// Action is what the policy does about a category.
func (m *ModerationConfig) Action(category string) string {
	if a, ok := m.Actions[category]; ok {
		return a
	}
	if category == "pii" {
		return "redact"
	}
	if a, ok := m.Actions["default"]; ok {
		return a
	}
	return "block"
}

// CacheConfig is the response cache.
type CacheConfig struct {
	MaxBytes int64 `yaml:"max_bytes,omitempty"` // in-process bound (default 64 MiB), LRU
	TTLS     int   `yaml:"ttl_s,omitempty"`     // entry lifetime (default 3600)
	// Semantic also matches a last user turn within SemanticThreshold
	// cosine of a cached one, with identical earlier turns and parameters.
	Semantic          bool               `yaml:"semantic,omitempty"`
	SemanticThreshold float64            `yaml:"semantic_threshold,omitempty"` // default 0.95
	PerIntent         map[string]float64 `yaml:"per_intent,omitempty"`         // semantic threshold by intent
	// AllowTemperature caches requests whose temperature is not 0 (or not
	// given, which OpenAI takes as 1).
	AllowTemperature bool `yaml:"allow_temperature,omitempty"`
}

// CascadeConfig is how cascade targets decide to escalate.
type CascadeConfig struct {
	// File is the fitted cascade from `semroute eval cascade --out` (its
	// threshold, its neighbours' data and the embedder fingerprint); without
	// it the prompt gives no signal.
	File string `yaml:"file,omitempty"`
	// LogprobThreshold escalates an answer whose mean token log-probability
	// is below it, when the upstream returns logprobs (default -1; 0 off).
	LogprobThreshold *float64 `yaml:"logprob_threshold,omitempty"`
	// Verifier, when set, is a model asked whether a cheaper stage's
	// answer is right; a "no" escalates.
	Verifier string `yaml:"verifier,omitempty"`
}

// Segment is a rule on request metadata.
type Segment struct {
	Name string `yaml:"name"`
	// When: every given condition must hold.
	Header map[string]string `yaml:"header,omitempty"` // header name → value (case-insensitive)
	Team   string            `yaml:"team,omitempty"`
	Key    string            `yaml:"key,omitempty"`
	Intent string            `yaml:"intent,omitempty"`
	// Language is the detected language of the last user turn: en, de,
	// fr, es, it, pt, nl by their function words; ru, zh, ja, ko, ar, he,
	// el, hi, th by script.
	Language string         `yaml:"language,omitempty"`
	Target   intents.Target `yaml:"target"`
}

// Experiment is an A/B split of one intent's traffic.
type Experiment struct {
	Name   string `yaml:"name"`
	Intent string `yaml:"intent"`
	Arms   []Arm  `yaml:"arms"`
}

// Arm is one side of an experiment: a model tier and its weight.
type Arm struct {
	Name   string         `yaml:"name"`
	Model  intents.Models `yaml:"model"`
	Weight int            `yaml:"weight,omitempty"` // default 1
}

// Canary sends Percent of Model's calls to Canary, and stops (rolls back)
// when over the last WindowS seconds, with at least MinRequests, the
// canary's error rate passes MaxErrorRate or its p95 latency MaxP95MS.
type Canary struct {
	Name         string  `yaml:"name"`
	Model        string  `yaml:"model"`
	Canary       string  `yaml:"canary"`
	Percent      float64 `yaml:"percent"`
	WindowS      int     `yaml:"window_s,omitempty"`     // default 300
	MinRequests  int     `yaml:"min_requests,omitempty"` // default 20
	MaxErrorRate float64 `yaml:"max_error_rate,omitempty"`
	MaxP95MS     int     `yaml:"max_p95_ms,omitempty"`
}

// Budget caps spend in a window. Near the cap (DowngradeAt of the limit)
// requests go to the cheapest model of their tier; at the cap they are
// refused with a 429 until the window resets.
type Budget struct {
	Name        string    `yaml:"name"`
	Scope       string    `yaml:"scope"`        // key, team, model or global
	ID          string    `yaml:"id,omitempty"` // the key's name, team or model
	Window      string    `yaml:"window"`       // daily or monthly (UTC)
	LimitUSD    float64   `yaml:"limit_usd"`
	DowngradeAt float64   `yaml:"downgrade_at,omitempty"` // fraction of the limit; 0 never
	Alerts      []float64 `yaml:"alerts,omitempty"`       // fractions that call the webhook once per window
	Webhook     string    `yaml:"webhook,omitempty"`
}

// HandoffConfig configures human handoff.
type HandoffConfig struct {
	// Message answers the client; {ticket} becomes the ticket's id.
	Message string `yaml:"message,omitempty"`
	// Webhooks are called with each new ticket of their queue.
	Webhooks map[string]string `yaml:"webhooks,omitempty"`
}

// RAGCollection configures one document collection. The type lives
// beside the feature, in rag (rag.CollectionConfig), so that rag imports
// nothing of the decision core.
type RAGCollection = rag.CollectionConfig

// RAGNamed returns the named collection's config, or nil.
func (c *Config) RAGNamed(name string) *RAGCollection {
	for i := range c.RAG {
		if c.RAG[i].Name == name {
			return &c.RAG[i]
		}
	}
	return nil
}

// UpstreamConfig bounds retries and sets the circuit breakers.
type UpstreamConfig struct {
	// Retries of one model before falling back to the next (default 2).
	Retries *int `yaml:"retries,omitempty"`
	// BackoffMS is the first retry's delay, doubled each time with jitter
	// (default 100), up to MaxBackoffMS (default 2000). A Retry-After
	// header is honoured up to MaxBackoffMS.
	BackoffMS    int `yaml:"backoff_ms,omitempty"`
	MaxBackoffMS int `yaml:"max_backoff_ms,omitempty"`
	// A deployment's breaker opens after BreakerFailures failures in a row
	// (default 5) and lets a trial request through after BreakerCooldownMS
	// (default 10000).
	BreakerFailures   int `yaml:"breaker_failures,omitempty"`
	BreakerCooldownMS int `yaml:"breaker_cooldown_ms,omitempty"`
}

// ServerConfig is the HTTP service's.
type ServerConfig struct {
	Addr string `yaml:"addr,omitempty"` // default 127.0.0.1:8080
	// AutoModels are the model names that route by meaning (default
	// ["auto"]).
	AutoModels []string `yaml:"auto_models,omitempty"`
	// RouteTurns is how many of the last user turns are routed on
	// (default 1).
	RouteTurns   int      `yaml:"route_turns,omitempty"`
	MaxBodyBytes int64    `yaml:"max_body_bytes,omitempty"` // default 1 MiB
	APIKeys      []APIKey `yaml:"api_keys,omitempty"`
	// ShutdownMS bounds the drain of in-flight requests (default 15000).
	ShutdownMS int `yaml:"shutdown_ms,omitempty"`
	// MemoryLimitMB is Go's soft memory limit in MiB (debug.SetMemoryLimit):
	// the collector runs as often as it must to keep the memory the Go
	// runtime holds (heap, stacks, its own) under it (default 256; 0: no
	// limit). GOMEMLIMIT in the environment wins.
	MemoryLimitMB *int `yaml:"memory_limit_mb,omitempty"`
	// GCFloorMB is deprecated and ignored (serve warns): it became a GOGC
	// fixed at start, which let a small live heap grow to 250 MB resident
	// under load. MemoryLimitMB bounds memory instead.
	GCFloorMB *int `yaml:"gc_floor_mb,omitempty"`
	// Playground sets up the page at / (see PlaygroundConfig).
	Playground *PlaygroundConfig `yaml:"playground,omitempty"`
}

// APIKey is one accepted key: its SHA-256 (hex) or the env var that holds
// it, and its scope, client or admin.
type APIKey struct {
	Name   string `yaml:"name"`
	SHA256 string `yaml:"sha256,omitempty"`
	Env    string `yaml:"env,omitempty"`
	Scope  string `yaml:"scope"`
}

// RoutingConfig tunes the decision.
type RoutingConfig struct {
	// Threshold is the least score (the head's probability) an intent needs;
	// below it the prompt is out of scope. Intents may override it.
	Threshold *float64 `yaml:"threshold,omitempty"`
	// Margin is the least lead of the best intent's score over the second's.
	Margin *float64 `yaml:"margin,omitempty"`
	// MinSimilarity is the least cosine similarity between the prompt and
	// the best intent's nearest example utterance. It catches out-of-scope
	// prompts that the head, which must pick some intent, scores high.
	MinSimilarity *float64 `yaml:"min_similarity,omitempty"`
	// Alternatives is how many runner-up intents a decision lists.
	Alternatives int `yaml:"alternatives,omitempty"`
	// Scorer is "head" (a softmax head fitted on the utterances), "knn"
	// (nearest exemplars' cosine) or "auto" (head unless fitting it would be
	// too slow for the number of intents).
	Scorer string `yaml:"scorer,omitempty"`
	// ThresholdsFile holds fitted thresholds (`semroute eval --fit`).
	ThresholdsFile string `yaml:"thresholds_file,omitempty"`
	// ExamplesTarget is the target of intents that come from a labeled
	// file (--examples) and are not in the config; default: the fallback.
	ExamplesTarget *intents.Target `yaml:"examples_target,omitempty"`
	// MaxWords caps the words a prompt is routed on: a longer one is routed
	// on its first and last MaxWords/2 words (default 512; 0: no cap). The
	// decision's cost grows with the prompt, about 0.3 µs a word.
	MaxWords *int `yaml:"max_words,omitempty"`
	// Judge, when set, asks a model to choose among the best intents for
	// the prompts the embeddings are unsure of (router/judge).
	Judge *JudgeConfig `yaml:"judge,omitempty"`
}

// JudgeConfig is the routing judge: when a decision's score is under Below,
// or it would fall back, Model is asked to choose among the TopK best
// intents, or none.
type JudgeConfig struct {
	Model string  `yaml:"model"`           // a model defined under models
	Below float64 `yaml:"below"`           // in (0, 1]
	TopK  int     `yaml:"top_k,omitempty"` // intents offered (default 10, at least 2)
	// TimeoutMS bounds the judge's call, retries included (default 3000);
	// past it the embedding decision stands.
	TimeoutMS int `yaml:"timeout_ms,omitempty"`
	// Examples is how many utterances of each intent the prompt shows
	// (default 3).
	Examples int `yaml:"examples,omitempty"`
	// SemanticThreshold is the least cosine between a prompt and a judged
	// one for the judge's cached answer to be reused (default 0.95; 1:
	// identical prompts only).
	SemanticThreshold float64 `yaml:"semantic_threshold,omitempty"`
	CacheTTLS         int     `yaml:"cache_ttl_s,omitempty"` // default 86400
	// MaxSuggestions bounds the judged prompts kept as suggested
	// utterances (default 1000); past it the least recently seen goes.
	MaxSuggestions int `yaml:"max_suggestions,omitempty"`
}

// Defaults used where the config is silent.
const (
	DefaultDataDir = "./data"
	// DefaultMemoryLimitMB is server.memory_limit_mb's default: above the
	// demo's and CLINC150's live heaps with a full 64 MiB response cache,
	// so the limit bounds memory without making the collector run hot.
	DefaultMemoryLimitMB = 256
	DefaultAlternatives  = 3
	DefaultMaxWords      = 512
)

// Load reads, fills in defaults and validates the config at path. Relative
// paths in it (data_dir, thresholds_file, the vectors file) are taken from
// the config file's directory.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	c, err := Parse(data, path)
	if err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// Parse decodes YAML and fills in defaults. It returns an error for a file
// it cannot read at all (empty, not YAML, a local tag). Values of the wrong
// type and unknown keys are kept as problems that Validate reports with its
// own, all together: a config from Parse must be validated before use.
// name is used in messages and to resolve relative paths.
func Parse(data []byte, name string) (*Config, error) {
	if len(strings.TrimSpace(string(data))) == 0 {
		return nil, fmt.Errorf("load config %s: the file is empty; see datasets/demo/config.yaml for an example", name)
	}
	c := &Config{}
	var file *ast.File
	var tag *ast.TagNode
	var strict error // the strict decoder's
	err := safely(func() error {
		var err error
		// Keys given twice are left to the decoding, which reports them
		// with the file's other problems.
		if file, err = parser.ParseBytes(data, 0, parser.AllowDuplicateMapKey()); err != nil {
			return err
		}
		if tag = firstTag(file); tag != nil && !strings.HasPrefix(tag.Start.Value, "!!") {
			// A config has no use for a local tag, and the decoder no way
			// to read one ("!include" is not YAML).
			return fmt.Errorf("line %d: %s: the tag %s is not supported; write the value itself", tag.Start.Position.Line, nodePath(tag), tag.Start.Value)
		}
		strict = yaml.UnmarshalWithOptions(data, c, yaml.DisallowUnknownField())
		return nil
	})
	var fault decoderFault
	if errors.As(err, &fault) && tag != nil {
		err = fmt.Errorf("%w; the tag %s at line %d (%s) is the likely cause", err, tag.Start.Value, tag.Start.Position.Line, nodePath(tag))
	}
	if err == nil {
		err = c.readFieldByField(file, strict)
	}
	if err != nil {
		return nil, fmt.Errorf("load config %s: %s", name, yaml.FormatError(err, false, false))
	}
	// Set after decoding: a document that is null zeroes the whole struct.
	c.path, c.ast = name, file
	c.setDefaults(filepath.Dir(name))
	return c, nil
}

// readFieldByField reads the file again field by field: where the strict
// decoder failed (strict), to find every problem, not only the first; where
// it did not, for the keys it drops without a word. The problems wait for
// Validate.
func (c *Config) readFieldByField(file *ast.File, strict error) error {
	lenient := &Config{}
	var problems []Problem
	if err := safely(func() error {
		problems, c.moreProblems = decodeLeniently(file, lenient)
		return nil
	}); err != nil {
		return strict // the library panicked on a leaf: go by the strict decoder
	}
	if strict != nil {
		more := c.moreProblems
		*c = *lenient
		c.moreProblems = more
		if len(problems) == 0 {
			problems = []Problem{problemOf(strict)}
		}
	}
	c.decodeProblems = problems
	return nil
}

// nodePath is a node's field path, as problems name fields
// ("intents[0].utterances").
func nodePath(n ast.Node) string {
	p := strings.TrimPrefix(strings.TrimPrefix(n.GetPath(), "$"), ".")
	if p == "" {
		return "the document"
	}
	return p
}

// decoderFault is a panic of the YAML library, turned into an error.
type decoderFault struct{ v any }

func (f decoderFault) Error() string {
	return fmt.Sprintf("the YAML decoder failed on this file (%v)", f.v)
}

// safely runs a step of the YAML library, which on some malformed input
// panics instead of returning an error (goccy/go-yaml issue 735: a tag on a
// scalar where a list belongs). A config reloaded on SIGHUP must not take
// the service down with it.
func safely(step func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = decoderFault{r}
		}
	}()
	return step()
}

// firstTag returns the file's first tag (!name or !!type), or nil.
func firstTag(file *ast.File) *ast.TagNode {
	var found *ast.TagNode
	for _, doc := range file.Docs {
		if doc.Body != nil && found == nil {
			ast.Walk(tagFinder{&found}, doc.Body)
		}
	}
	return found
}

type tagFinder struct{ found **ast.TagNode }

func (v tagFinder) Visit(n ast.Node) ast.Visitor {
	if *v.found != nil {
		return nil
	}
	if t, ok := n.(*ast.TagNode); ok {
		*v.found = t
		return nil
	}
	return v
}

func (c *Config) setDefaults(dir string) {
	if c.Version == 0 {
		c.Version = 1
	}
	if c.Embedder.Kind == "" {
		c.Embedder.Kind = "local"
	}
	if c.Index.Kind == "" {
		c.Index.Kind = "memory"
	}
	if c.Index.DataDir == "" {
		c.Index.DataDir = DefaultDataDir
	}
	if c.Routing.MaxWords == nil {
		c.Routing.MaxWords = new(DefaultMaxWords)
	}
	if c.Routing.Alternatives == 0 {
		c.Routing.Alternatives = DefaultAlternatives
	}
	if c.Routing.Scorer == "" {
		c.Routing.Scorer = ScorerAuto
	}
	if j := c.Routing.Judge; j != nil {
		j.TopK = cmp.Or(j.TopK, 10)
		j.TimeoutMS = cmp.Or(j.TimeoutMS, 3000)
		j.Examples = cmp.Or(j.Examples, 3)
		j.SemanticThreshold = cmp.Or(j.SemanticThreshold, 0.95)
		j.CacheTTLS = cmp.Or(j.CacheTTLS, 86400)
		j.MaxSuggestions = cmp.Or(j.MaxSuggestions, 1000)
	}
	u := &c.Upstream
	if u.Retries == nil {
		u.Retries = new(2)
	}
	u.BackoffMS = cmp.Or(u.BackoffMS, 100)
	u.MaxBackoffMS = cmp.Or(u.MaxBackoffMS, 2000)
	u.BreakerFailures = cmp.Or(u.BreakerFailures, 5)
	u.BreakerCooldownMS = cmp.Or(u.BreakerCooldownMS, 10000)
	s := &c.Server
	s.Addr = cmp.Or(s.Addr, "127.0.0.1:8080")
	if len(s.AutoModels) == 0 {
		s.AutoModels = []string{"auto"}
	}
	s.RouteTurns = cmp.Or(s.RouteTurns, 1)
	s.MaxBodyBytes = cmp.Or(s.MaxBodyBytes, 1<<20)
	s.ShutdownMS = cmp.Or(s.ShutdownMS, 15000)
	if s.MemoryLimitMB == nil {
		s.MemoryLimitMB = new(DefaultMemoryLimitMB)
	}
	if m := c.Moderation; m != nil {
		if m.Input == nil {
			m.Input = new(true)
		}
		m.HandoffQueue = cmp.Or(m.HandoffQueue, "safety")
		m.Refusal = cmp.Or(m.Refusal, "I can't help with that request.")
		if e := m.External; e != nil {
			e.TimeoutMS = cmp.Or(e.TimeoutMS, 5000)
			e.Combine = cmp.Or(e.Combine, "any")
			e.OnError = cmp.Or(e.OnError, "open")
		}
	}
	for i := range c.Experiments {
		for j := range c.Experiments[i].Arms {
			c.Experiments[i].Arms[j].Weight = cmp.Or(c.Experiments[i].Arms[j].Weight, 1)
		}
	}
	for i := range c.Canaries {
		c.Canaries[i].WindowS = cmp.Or(c.Canaries[i].WindowS, 300)
		c.Canaries[i].MinRequests = cmp.Or(c.Canaries[i].MinRequests, 20)
	}
	if cc := c.Cache; cc != nil {
		cc.MaxBytes = cmp.Or(cc.MaxBytes, 64<<20)
		cc.TTLS = cmp.Or(cc.TTLS, 3600)
		cc.SemanticThreshold = cmp.Or(cc.SemanticThreshold, 0.95)
	}
	c.Handoff.Message = cmp.Or(c.Handoff.Message, "Thank you. A person will follow up on this; your ticket is {ticket}.")
	for i := range c.RAG {
		r := &c.RAG[i]
		r.K = cmp.Or(r.K, 5)
		r.Mode = cmp.Or(r.Mode, "hybrid")
		r.BelowFloor = cmp.Or(r.BelowFloor, "answer")
		if r.Floor == nil {
			r.Floor = new(0.2)
		}
	}
	for i := range c.Models {
		m := &c.Models[i]
		m.Provider = cmp.Or(m.Provider, "openai")
		m.Balance = cmp.Or(m.Balance, "weight")
		m.TimeoutMS = cmp.Or(m.TimeoutMS, 60000)
	}
	rel := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) && dir != "" {
			*p = filepath.Join(dir, *p)
		}
	}
	rel(&c.Index.DataDir)
	rel(&c.Routing.ThresholdsFile)
	rel(&c.Embedder.Path)
	if c.Server.Playground != nil {
		rel(&c.Server.Playground.ReportsDir)
	}
	if c.Cascade != nil {
		rel(&c.Cascade.File)
		if c.Cascade.LogprobThreshold == nil {
			c.Cascade.LogprobThreshold = new(-1.0)
		}
	}
	if c.Moderation != nil {
		rel(&c.Moderation.Exemplars)
	}
}

// Default is a config with every default, no intents, and a fallback that
// hands off to the queue "fallback": the base for intents that come from
// labeled files only.
func Default() *Config {
	c := &Config{Fallback: intents.Target{Handoff: "fallback"}}
	c.setDefaults("")
	return c
}

// Clone returns a copy of c whose intents and examples can be changed
// without changing c's.
func (c *Config) Clone() *Config {
	d := *c
	d.Intents = make([]intents.Intent, len(c.Intents))
	for i, in := range c.Intents {
		in.Utterances = slices.Clone(in.Utterances)
		d.Intents[i] = in
	}
	d.OutOfScope = slices.Clone(c.OutOfScope)
	d.Models = slices.Clone(c.Models)
	return &d
}
