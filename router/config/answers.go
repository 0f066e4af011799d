package config

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

// HandoffConfig configures human handoff.
type HandoffConfig struct {
	// Message answers the client; {ticket} becomes the ticket's id.
	Message string `yaml:"message,omitempty"`
	// Webhooks are called with each new ticket of their queue.
	Webhooks map[string]string `yaml:"webhooks,omitempty"`
}
