// Package rag answers knowledge questions from the user's own documents: the
// target of intents with `target: {rag: COLLECTION}`. Documents (plain text,
// Markdown, HTML, JSONL corpora) are split into chunks along their
// structure, embedded, and stored in the configured index backend. Queries
// are answered by vector search, BM25 over the same chunks, or both fused,
// and, when the collection has a model, by that model from the retrieved
// passages, citing them as [1], [2]. Without a model the passages are
// returned as they are, never an invented answer.
//
// The index backend is the store of record; a collection searches a copy
// in memory (corpus.go): its chunks numbered by slot, an inverted index
// for BM25 searched by MaxScore (maxscore.go), and, unless the backend
// searches by itself (pgvector, where one replica's copy would miss
// another's ingests), the chunks' vectors in a quantized flat.Slab, the
// routing core's. Both retrievers return their exact top k, the same
// chunks and scores as scoring every chunk would (search_test.go checks
// it against the store's records).
//
// With pgvector several replicas share the store, and each keeps its own
// copy: Sync (sync.go) catches a copy up with what others wrote, and
// writers go through a Coordinator (rag/ragpg, in PostgreSQL) that locks
// the collection across replicas and bumps its version, logging which
// documents changed, on which the others Sync, reading just those. A search reads the copy as it is and never waits on that.
//
// rag imports nothing under router/: a collection's config type,
// CollectionConfig, sits here (config.Config's rag entries are of it), and
// the answering model is a Completer, which *upstream.Pool satisfies.
package rag
