package config

import "github.com/semroute/semroute/intents"

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
