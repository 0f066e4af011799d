// Package spendpg keeps the spend ledger (router/spend) in PostgreSQL:
// each booking and its running totals in one transaction, so that replicas
// share one exact ledger. Its tables, semroute_spend and
// semroute_spend_totals, are those of the database internal/postgres opens
// and migrates (migrations 3, 5 and 6); the totals keep what cache hits
// and cascades saved under dim 'saved', by source. cmd/semroute uses it
// when the index backend is pgvector.
//
// It sits beside what it implements rather than in index/pgvector, where
// it was, so that the index imports nothing of the later steps of the data
// path; internal/postgres's doc says why the stores are split this way.
package spendpg
