package config

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
