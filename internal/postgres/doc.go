// Package postgres is semroute's PostgreSQL database: the connection pool
// (with pgvector's types registered), the one versioned history of the
// schema's migrations, the advisory lock under which the schema changes,
// and the error wrapping every store shares. It holds no store itself.
//
// The stores sit beside the interfaces they implement, each in a package
// of its own that uses a [DB]:
//
//   - index/pgvector: the vector index (collections and their tables);
//   - intents/intentspg: the intents as changed through the intents API;
//   - moderation/handoff/handoffpg: the handoff tickets;
//   - router/spend/spendpg: the spend ledger;
//   - router/cache/cachepg: the response cache (and the routing judge's
//     cached answers);
//   - router/judge/suggest/suggestpg: the routing judge's suggestions.
//   - rag/ragpg: each rag collection's version and write lock, which keep
//     replicas' collections in step.
//
// Why this shape and not one package holding every store: a package of
// stores would import router/spend, router/cache, router/judge/suggest,
// moderation/handoff and intents at once, and index/pgvector, which needs
// the pool and the migrations, would then depend on all of them, against
// the data path (index/... imports nothing under router/ or moderation/).
// Here this package imports only pgx, each store imports only its own
// room's interface and this package, and index/pgvector imports no other
// room at all. Only cmd/semroute, which wires the service, sees them all.
//
// The migrations stay one list here, not one per store: an existing
// database records the versions it applied (semroute_migrations), and the
// numbers and their order must not change. Migration 1 made the index's
// collections table and the intents tables together; a new store appends a
// migration at the end.
package postgres
