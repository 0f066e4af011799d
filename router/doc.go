// Package router is semroute's core: it builds a Router from a config
// (router/config: intents, targets, models, fallback) and turns each prompt
// into a Decision — the "decision" step of the data path (HTTP →
// pre-moderation → embed → index search → decision → target → …).
//
// Building a router embeds every example utterance (reusing vectors already
// in the index of record), fits a head on them (intents/classify: a sparse
// softmax blended with a dense logistic regression, the blend and the
// default threshold chosen by cross-validation on the utterances), and compiles
// the vectors into a contiguous slab for the hot path. Routing a prompt embeds
// it, scores every intent, applies the per-intent threshold and the
// top-1/top-2 margin, and names the nearest example utterance of the winner.
// A Router is immutable and safe for concurrent use; a changed config means
// building a new one and swapping it in.
//
// It reads no environment variable (nor does router/config, whose
// ValidateDSN takes the value of $SEMROUTE_PG_DSN that the command read).
package router
