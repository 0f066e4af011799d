package config

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
