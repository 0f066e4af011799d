package config

import (
	"cmp"
	"path/filepath"
)

// SetDefaults fills in what the config leaves out, taking relative paths
// from dir (the config file's folder; "" for none). Load and Parse call
// it; a config built in code (router.Synthetic, tests) calls it before use.
func (c *Config) SetDefaults(dir string) {
	c.defaultCore()
	c.defaultServing()
	c.defaultFeatures()
	c.defaultFeedback()
	c.resolvePaths(dir)
}

// defaultCore fills in the version, embedder, index, routing and judge.
func (c *Config) defaultCore() {
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
}

// defaultServing fills in the upstream calls' retries and breakers and the
// server's.
func (c *Config) defaultServing() {
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
}

// defaultFeatures fills in moderation, experiments, canaries, the cache,
// handoff, RAG collections, models and the cascade.
func (c *Config) defaultFeatures() {
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
	if c.Cascade != nil && c.Cascade.LogprobThreshold == nil {
		c.Cascade.LogprobThreshold = new(-1.0)
	}
}

// resolvePaths takes the relative paths in the config (data_dir,
// thresholds_file, the vectors file, the cascade's file, the moderation
// exemplars) from dir, the config file's folder.
func (c *Config) resolvePaths(dir string) {
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
	}
	if c.Moderation != nil {
		rel(&c.Moderation.Exemplars)
	}
}
