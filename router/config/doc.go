// Package config is semroute's configuration: the YAML file's types (the
// intents and fallback, embedder and index, models and upstream, server and
// API keys, routing, judge, moderation, cache, cascade, budgets, experiments,
// handoff and RAG collections), Load and Parse (which decode leniently so
// that every wrong value and unknown key is reported at once, with its line),
// the defaults, and Validate.
//
// It is a package of its own so that the packages that only need a config
// type (router/upstream, router/gateway, router/judge, cmd/semroute, eval)
// do not import the decision core, router, for it; router.New takes a
// *Config. A feature whose config type must not depend on anything under
// router keeps it beside itself (rag.CollectionConfig, aliased here as
// RAGCollection).
//
// It reads no environment variable: Validate accepts a pgvector index
// without a dsn, and ValidateDSN takes the value of $SEMROUTE_PG_DSN that
// the command (cmd/semroute) read.
package config
