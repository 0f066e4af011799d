// Package suggestpg keeps the routing judge's suggested utterances
// (router/judge/suggest) in PostgreSQL, shared by replicas: the table
// semroute_suggestions of the database internal/postgres opens and
// migrates (migration 4). It passes suggesttest, as the log in the data
// directory does. cmd/semroute uses it when the index backend is pgvector.
//
// It sits beside what it implements rather than in index/pgvector, where
// it was, so that the index imports nothing of the later steps of the data
// path; internal/postgres's doc says why the stores are split this way.
package suggestpg
