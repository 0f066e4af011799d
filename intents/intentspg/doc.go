// Package intentspg keeps the intents as changed through the service's
// intents API in PostgreSQL, so that every replica serves the same ones:
// the tables semroute_intents and semroute_intents_version of the database
// internal/postgres opens and migrates (migration 1). Each change bumps the
// version and NOTIFYs the other replicas, which Watch hears. It implements
// the gateway's IntentStore; cmd/semroute uses it when the index backend
// is pgvector.
//
// It sits beside the intents it stores (the interface is the gateway's, at
// the consumer) rather than in index/pgvector, where it was, so that the
// index imports nothing of the later steps of the data path;
// internal/postgres's doc says why the stores are split this way.
package intentspg
