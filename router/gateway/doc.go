// Package gateway is semroute's HTTP service: one OpenAI-compatible endpoint
// that routes chat completions by meaning, the routing decision on its own
// (/v1/route), the intents API, health, readiness and Prometheus metrics.
// Every error answers in OpenAI's format. Prompts and keys stay out of the
// logs unless debug logging is on.
//
// A chat completion's steps read in order in Server.chat (handlers.go):
// readChat → moderateInput (pre-moderation) → decideChat (the decision,
// with the routing judge when unsure) → chooseTarget (segments, a
// moderation intent's action) → answer, which hands the request to the
// target: a model tier (models.go, with the response cache, experiments,
// canaries, the request's own limits (limits.go, limitfit.go) and
// budgets), a cascade (cascade.go), a RAG collection (rag.go)
// or a person (handoff.go); post-moderation runs on the answer there. What
// a step finds travels in the request's exchange (exchange.go): the key's
// name, intent, decision, target, moderation findings, answering model and
// cost; gin context keys and response headers are not read back.
//
// Steps report what went wrong as an error kind (errors.go); statuses
// there is the one table of kind → HTTP status and OpenAI error type.
//
// What a config builds (router, upstream pool, keys, moderation detector,
// routing judge, cascade model, open RAG collections, caches) is a state
// (state.go), swapped atomically on reload or intent change and read by
// requests without a lock. Server keeps what outlives states: the stores
// opened on first use (spend ledger, handoff tickets, suggestions; their
// own lock is held only while opening), budget reservations, canary
// outcomes, each model's observed latency and output (for per-request
// limits) and the response cache's writer.
package gateway
