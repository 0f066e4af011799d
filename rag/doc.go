// Package rag will answer knowledge questions from the user's own documents:
// the target of intents with `target: {rag: COLLECTION}` (ingest, chunking,
// hybrid retrieval over the index, answers with citations). Until it lands,
// such intents are routed and reported, and the service refuses to answer
// them with an error naming the missing capability — never a fake answer.
package rag
