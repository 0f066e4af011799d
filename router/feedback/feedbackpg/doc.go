// Package feedbackpg keeps route records and feedback in PostgreSQL (the
// pgvector backend's database), so that every replica finds the record of
// a request another replica routed. It passes feedbacktest.Run as the
// data directory's logs do.
package feedbackpg
