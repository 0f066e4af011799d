// Package pgvector is the index backend on PostgreSQL with pgvector, for
// deployments where several semroute replicas share one database. Each
// collection is a table with a vector column of its dimension and an HNSW
// index with cosine ops (halfvec optionally, to halve the memory).
//
// It holds only the vector index. The database under it (the connection
// pool, the versioned migrations run at Open under an advisory lock, so
// that replicas may start at once) is internal/postgres, and the other
// stores semroute keeps in the same database sit beside the interfaces
// they implement: intents/intentspg, moderation/handoff/handoffpg,
// router/spend/spendpg, router/cache/cachepg and
// router/judge/suggest/suggestpg, and rag/ragpg (which keeps replicas'
// rag collections in step), each opened on [Store.DB]. So this
// package imports nothing under router/ or moderation/ (internal/layout's
// test checks it). pgtest opens a Store for tests.
//
// It reads no environment variable: Options.DSN is required, and the
// command (cmd/semroute) passes $SEMROUTE_PG_DSN when the config has no
// index.dsn.
package pgvector
