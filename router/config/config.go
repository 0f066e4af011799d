package config

import (
	"slices"

	"github.com/goccy/go-yaml/ast"

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
	// Feedback, when present, records what each routed request went to
	// and takes feedback on it.
	Feedback *FeedbackConfig `yaml:"feedback,omitempty"`
	// Cascade configures cascade targets.
	Cascade *CascadeConfig `yaml:"cascade,omitempty"`
	// Telemetry, when present, exports traces (see TelemetryConfig).
	Telemetry *TelemetryConfig `yaml:"telemetry,omitempty"`
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
	// Path of the local vectors file; empty means the Model's file in the
	// cache directory.
	Path string `yaml:"path,omitempty"`
	// Model is, for kind local, glove (the default: GloVe word vectors) or
	// encoder (the trained encoder, made by `make encoder`); for kind
	// openai, the embedding model's name.
	Model string `yaml:"model,omitempty"`
	// For kind openai.
	BaseURL   string `yaml:"base_url,omitempty"`
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

// Default is a config with every default, no intents, and a fallback that
// hands off to the queue "fallback": the base for intents that come from
// labeled files only.
func Default() *Config {
	c := &Config{Fallback: intents.Target{Handoff: "fallback"}}
	c.SetDefaults("")
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
