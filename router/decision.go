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
	// DecidedBy is who chose: embedding (the scores and thresholds) or
	// judge (the routing judge, asked because the score was under
	// routing.judge.below or the prompt would fall back).
	DecidedBy string `json:"decided_by"`
	// Judge reports the judge's call, when it was asked.
	Judge *JudgeReport `json:"judge,omitempty"`

	ranked []Alternative // the best intents, best first (see Ranked)
}

// Ranked is the decision's best intents by score, best first: at least
// the best and its alternatives, and routing.judge.top_k of them with a
// judge configured. It is not part of the JSON.
func (d Decision) Ranked() []Alternative { return d.ranked }

// JudgeReport is what the routing judge did for a decision.
type JudgeReport struct {
	Model string `json:"model"`
	// Intent is the judge's choice; null when it found none fitting or
	// its answer did not count (then Error says why).
	Intent *string `json:"intent"`
	// Cache is exact or semantic when the answer came from the judge's
	// cache (no call, no cost).
	Cache     string  `json:"cache,omitempty"`
	LatencyMS float64 `json:"latency_ms"`
	CostUSD   float64 `json:"cost_usd"`
	// Error says why the judge's answer did not count (a timeout, an
	// error, an answer that is not {"intent": NAME} naming an offered
	// intent): the embedding decision stands.
	Error string `json:"error,omitempty"`
}

// Who decides.
const (
	DecidedByEmbedding = "embedding"
	DecidedByJudge     = "judge"
)

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
	// ReasonJudged: the routing judge found no intent fitting.
	ReasonJudged = "judged_out_of_scope"
)
