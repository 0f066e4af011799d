package config

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
