// Package cachepg is the response cache (router/cache) in PostgreSQL,
// shared by replicas: the table semroute_cache of the database
// internal/postgres opens and migrates (migration 3), with the semantic
// match done by pgvector's cosine distance. The routing judge's cached
// answers use it too, under keys of their own. cmd/semroute uses it when
// the index backend is pgvector.
//
// It sits beside what it implements rather than in index/pgvector, where
// it was, so that the index imports nothing of the later steps of the data
// path; internal/postgres's doc says why the stores are split this way.
package cachepg
