// Package index stores vectors with their text and finds the nearest ones:
// the "index search" step of the data path (HTTP → pre-moderation → embed →
// index search → decision → …).
//
// It is a top-level folder of its own because two rooms use it: the router
// keeps the intents' example utterances here, and the RAG pipeline its
// document chunks, through the same [Index] interface. Backends live in
// sub-packages, as in litestream: [github.com/semroute/semroute/index/chromem]
// (chromem-go, in-process and persisted under data_dir, the default), and a
// pgvector backend for many replicas. [github.com/semroute/semroute/index/flat]
// is the compiled, contiguous copy the router scans on its hot path, and
// [github.com/semroute/semroute/index/indextest] the conformance suite every
// backend passes.
package index
