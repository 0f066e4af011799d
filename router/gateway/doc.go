// Package gateway is semroute's HTTP service: one OpenAI-compatible endpoint
// that routes chat completions by meaning, the routing decision on its own
// (/v1/route), the intents API, health, readiness and Prometheus metrics.
// Every error answers in OpenAI's format. Prompts and keys stay out of the
// logs unless debug logging is on.
package gateway
