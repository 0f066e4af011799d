// Package feedback keeps what each routed request was routed to, and what
// clients and people say about it afterwards: "request X should have gone
// to intent Y", or a rating. It sits beside the decision on the data path:
// the gateway records every routed request (Recorder, a group commit off
// the request path) and answers POST /v1/feedback from the record; `semroute
// eval --feedback` turns corrected routes into labeled rows; the intents
// API adds a corrected prompt as an utterance.
//
// Store is kept two ways: Log, append-only logs in the data directory (one
// process), and feedbackpg, tables in PostgreSQL (shared by replicas). Both
// pass feedbacktest.Run.
package feedback
