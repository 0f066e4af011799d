// Package ragpg keeps the replicas that share a pgvector database in step
// on its rag collections: the table semroute_rag_versions of the database
// internal/postgres opens and migrates (migration 8) holds each
// collection's version, which every ingest or delete bumps, NOTIFYing the
// other replicas (Watch hears it, and the gateway has the collection
// Sync); the table semroute_rag_changes (migration 9) logs, in the same
// transaction as each bump, the documents it changed, so that a replica
// catching up reads just those (Changed), for the latest Keep versions;
// and a per-collection advisory lock under which one replica at a time
// writes a collection. It implements rag.Coordinator; cmd/semroute
// wires it when the index backend is pgvector.
//
// It sits beside the collections it coordinates, as intents/intentspg
// beside the intents, so that rag imports no PostgreSQL code and the
// index no rag; internal/postgres's doc says why the stores are split
// this way.
package ragpg
