// Package spend is the ledger of what requests cost: each booking (time,
// key, team, model, intent, request id, USD, and what a cache hit or a
// cascade saved) is appended to a log with a CRC-32C and fsynced before
// the answer goes out, and summed in memory by day and month for every
// key, team, model, intent and overall, and the savings by source.
// Bookings hold a mutex, so concurrent requests book exactly their summed
// cost. Project extrapolates a budget's window from its spend so far, for
// GET /v1/spend and the cost dashboard.
package spend
