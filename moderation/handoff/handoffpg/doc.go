// Package handoffpg keeps the handoff tickets (moderation/handoff) in
// PostgreSQL, so that every replica serves the same queue: the table
// semroute_tickets of the database internal/postgres opens and migrates
// (migration 2). It passes handofftest, as the log in the data directory
// does. cmd/semroute uses it when the index backend is pgvector.
//
// It sits beside what it implements rather than in index/pgvector, where
// it was, so that the index imports nothing of the later steps of the data
// path; internal/postgres's doc says why the stores are split this way.
package handoffpg
