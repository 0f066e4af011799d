// Package intents defines what semroute routes to: intents, each made of
// example utterances and a target (a model tier, a RAG collection, a
// moderation action or a human handoff queue), and reads them from labeled
// files (JSONL or CSV) as well as from the YAML config. It feeds the embed
// and index steps of the data path; the router turns the intents into a
// decision.
package intents
