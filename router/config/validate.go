package config

import (
	"fmt"
	"net/url"
	"strings"
)

// Scorers of RoutingConfig.Scorer.
const (
	ScorerAuto = "auto"
	ScorerHead = "head"
	ScorerKNN  = "knn"
)

// Validate checks the config and returns a *ConfigError listing every
// problem, with the line of each in the YAML file, or nil. The values of
// the wrong type and unknown keys that Parse found are among them.
//
// A pgvector index may have no dsn here: the command takes
// $SEMROUTE_PG_DSN then, and checks with ValidateDSN that there is one.
func (c *Config) Validate() error { return c.validate(false, "") }

// ValidateDSN is Validate, also requiring a DSN for a pgvector index: in
// the config, else envDSN, the value of $SEMROUTE_PG_DSN that the command
// read (this package reads no environment variable).
func (c *Config) ValidateDSN(envDSN string) error { return c.validate(true, envDSN) }

// validate checks each section in turn (the order the problems of one line
// are listed in) and merges what it found with what Parse found.
func (c *Config) validate(needDSN bool, envDSN string) error {
	ps := &problems{c: c}
	if c.Version != 1 {
		ps.add("version", "version %d is not supported; this build reads version 1", c.Version)
	}
	c.validateEmbedder(ps)
	c.validateIndex(ps, needDSN, envDSN)
	models := c.validateModels(ps)
	c.validateRouting(ps)
	c.validateJudge(ps, models)
	c.validateServer(ps, models)
	c.validatePlayground(ps)
	if len(c.Intents) == 0 {
		ps.add("intents", "no intents; define at least one (name, utterances, target) or pass --examples FILE")
	}
	rags := c.validateRAG(ps, models)
	c.validateModeration(ps)
	keyNames := c.validateTeams(ps)
	c.validateBudgets(ps, keyNames, models)
	intentNames := map[string]bool{}
	for _, in := range c.Intents {
		intentNames[in.Name] = true
	}
	c.validateSegments(ps, keyNames, intentNames, models)
	c.validateExperiments(ps, intentNames, models)
	c.validateCanaries(ps, models)
	c.validateCache(ps, models)
	c.validateHandoff(ps)
	c.validateTelemetry(ps)
	c.validateFeedback(ps)
	c.validateIntents(ps, models)
	c.validateTargets(ps, rags, models)
	if list := mergeProblems(c.decodeProblems, ps.list, c.moreProblems+ps.more); len(list) > 0 {
		return &ConfigError{File: c.path, Problems: list}
	}
	return nil
}

func (c *Config) validateEmbedder(ps *problems) {
	e := c.Embedder
	switch e.Kind {
	case "local":
		if e.BaseURL != "" {
			ps.add("embedder.base_url", "is for kind openai; the local embedder takes path and model")
		}
		if e.Model != "" && e.Model != "glove" && e.Model != "encoder" {
			ps.add("embedder.model", "unknown local model %q; want glove (the default) or encoder (the trained encoder, made by `make encoder`)", e.Model)
		}
	case "openai":
		if e.BaseURL == "" {
			ps.add("embedder.base_url", "missing; the OpenAI-compatible endpoint, e.g. http://127.0.0.1:11434/v1")
		} else if err := checkURL(e.BaseURL); err != nil {
			ps.add("embedder.base_url", "%v", err)
		}
		if e.Model == "" {
			ps.add("embedder.model", "missing; the embedding model's name")
		}
	default:
		ps.add("embedder.kind", "unknown embedder kind %q; want local or openai", e.Kind)
	}
	if e.Batch < 0 || e.TimeoutMS < 0 || e.Retries < 0 {
		ps.add("embedder", "batch, timeout_ms and retries must not be negative")
	}
}

// validateIndex checks index: its kind, a dsn for pgvector when needDSN
// (in the config or envDSN), and ef_search.
func (c *Config) validateIndex(ps *problems, needDSN bool, envDSN string) {
	switch c.Index.Kind {
	case "memory":
	case "pgvector":
		if needDSN && c.Index.DSN == "" && envDSN == "" {
			ps.add("index.dsn", "missing; give the PostgreSQL DSN here or in SEMROUTE_PG_DSN")
		}
		if c.Index.EfSearch < 0 || c.Index.EfSearch > 1000 {
			ps.add("index.ef_search", "%d is outside [0, 1000]", c.Index.EfSearch)
		}
	default:
		ps.add("index.kind", "unknown index kind %q; want memory or pgvector", c.Index.Kind)
	}
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL", s)
	}
	return nil
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range strings.ToLower(s) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
