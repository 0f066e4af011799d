package router

import "github.com/semroute/semroute/intents"

// Decision is where one prompt goes, and why.
type Decision struct {
	// Intent is the matched intent, nil when the prompt is out of scope.
	Intent *string `json:"intent"`
	// Score is the best intent's confidence, which the threshold applies
	// to: its probability times its coverage.
	Score float64 `json:"score"`
	// Probability is the head's probability of the best intent, or the
	// nearest exemplar's cosine similarity with the knn scorer.
	Probability float64 `json:"probability"`
	// Coverage is the share, by weight, of the prompt's words and n-grams
	// found in the best intent's utterances.
	Coverage float64 `json:"coverage"`
	// Margin is the best probability minus the runner-up's.
	Margin float64 `json:"margin"`
	// Threshold is the score the best intent needed.
	Threshold float64        `json:"threshold"`
	Target    intents.Target `json:"target"`
	// Fallback is true when the prompt went to the fallback target.
	Fallback bool `json:"fallback"`
	// Reason says why a prompt fell back: matched_out_of_scope (nearer the
	// out-of-scope examples than any intent), below_threshold, below_margin,
	// below_similarity, no_words (nothing in the prompt to match).
	Reason           string        `json:"reason,omitempty"`
	Alternatives     []Alternative `json:"alternatives"`
	MatchedUtterance string        `json:"matched_utterance,omitempty"`
	// Similarity is the cosine similarity of the prompt and the matched
	// utterance.
	Similarity float64 `json:"similarity"`
	LatencyUS  float64 `json:"latency_us"`
}

// Alternative is an intent that scored below the best one (or the best
// itself, when the prompt fell back).
type Alternative struct {
	Intent string  `json:"intent"`
	Score  float64 `json:"score"`
}

// Reasons for falling back.
const (
	ReasonOutOfScope = "matched_out_of_scope"
	ReasonThreshold  = "below_threshold"
	ReasonMargin     = "below_margin"
	ReasonSimilarity = "below_similarity"
	ReasonNoWords    = "no_words"
)
